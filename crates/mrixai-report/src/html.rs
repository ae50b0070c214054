//! HTML assembly: one page, inline CSS and SVG, no scripts, no external resources.

use crate::{Figure, ReportOptions, gallery::Gallery};
use mrixai_stats::analysis::Tables;
use mrixai_stats::table::{Field, Kind, Value, columns_of};
use mrixai_stats::tables::{Blocks, FindingRow};
use std::fmt::Write as _;
use std::path::Path;

/// Everything the page shows.
pub(crate) struct PageInput<'a> {
    pub run: &'a Path,
    pub scores: &'a Path,
    pub tables: &'a Tables,
    pub figures: &'a [Figure],
    pub gallery: Option<&'a Gallery>,
    pub run_json: Option<&'a serde_json::Value>,
    pub methods: &'a [String],
    pub metrics: &'a [String],
    pub primary: &'a str,
    pub n_models: usize,
    pub n_rows: usize,
    pub notes: &'a [String],
    pub opts: &'a ReportOptions,
}

/// Escapes text for HTML.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Formats a p-value (a dash when there is none).
pub(crate) fn fmt_p(p: f64) -> String {
    mrixai_stats::analysis::format_p(p, "—")
}

fn fmt_value(col: &str, v: &Value) -> String {
    match v {
        Value::F64(x) if col == "p" || col.starts_with("p_") || col.ends_with("pvalue") => {
            fmt_p(*x)
        }
        Value::F64(x) if x.is_nan() => "—".to_string(),
        Value::F64(x) if col == "df" || col.starts_with("df_") => format!("{x}"),
        Value::F64(x) => format!("{x:.4}"),
        Value::I64(x) => x.to_string(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        Value::Str(s) => esc(s),
        Value::Null => "—".to_string(),
    }
}

/// An HTML table of `cols` (column name, header) over the rows `keep` accepts.
fn rows_html<R: Field>(rows: &[R], cols: &[(&str, &str)], keep: impl Fn(&R) -> bool) -> String {
    // the columns are named here as text: a name the rows lack is shown, not left blank
    // (the report test fails on it)
    let names = columns_of::<R>();
    let at = |c: &str| names.iter().position(|n| n.0 == c);
    let missing: Vec<&str> = cols
        .iter()
        .map(|c| c.0)
        .filter(|c| at(c).is_none())
        .collect();
    if !missing.is_empty() {
        return format!(
            "<p class=\"note missing-column\">This table has no column {}.</p>",
            esc(&missing.join(", "))
        );
    }
    let kept: Vec<&R> = rows.iter().filter(|r| keep(r)).collect();
    if kept.is_empty() {
        return "<p class=\"note\">No rows.</p>".to_string();
    }
    let mut h = String::from("<div class=\"tw\"><table><thead><tr>");
    for (_, head) in cols {
        let _ = write!(h, "<th>{}</th>", esc(head));
    }
    h.push_str("</tr></thead><tbody>");
    let mut values = Vec::with_capacity(names.len());
    for r in kept {
        values.clear();
        r.put(&mut values);
        h.push_str("<tr>");
        for (c, _) in cols {
            let v = &values[at(c).unwrap_or_default()];
            let num = matches!(v, Value::F64(_) | Value::I64(_));
            let sig = (*c == "p_holm" || *c == "p") && v.f64() < 0.05;
            let cls = match (num, sig) {
                (true, true) => " class=\"num sig\"",
                (true, false) => " class=\"num\"",
                _ => "",
            };
            let _ = write!(h, "<td{cls}>{}</td>", fmt_value(c, v));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></div>");
    h
}

fn figure_html(f: &Figure, n: usize) -> String {
    format!(
        "<figure id=\"fig-{id}\">{svg}<p class=\"howto\"><b>How to read this:</b> {how}</p>\
         <figcaption><b>Figure {n}.</b> {cap} \
         <a class=\"file\" href=\"figures/{file}\">figures/{file}</a></figcaption></figure>\n",
        id = esc(f.file.trim_end_matches(".svg")),
        svg = f.svg,
        cap = esc(&f.caption),
        how = esc(&f.how_to_read),
        file = esc(&f.file),
    )
}

const CSS: &str = r#"
:root{--ink:#1f2933;--muted:#52606d;--line:#e4e7eb;--bg:#f7f8fa;--acc:#0b5394;--ok:#1e7b4a;--no:#8a5a00;--na:#6b7280}
*{box-sizing:border-box}
body{margin:0;font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#102a43;color:#fff;padding:28px 40px 22px}
header h1{margin:0 0 4px;font-size:26px;font-weight:600}
header p{margin:0;color:#bcccdc}
nav{background:#fff;border-bottom:1px solid var(--line);padding:8px 40px;position:sticky;top:0;z-index:2}
nav a{color:var(--acc);text-decoration:none;margin-right:18px;font-size:14px}
main{max-width:1280px;margin:0 auto;padding:10px 40px 60px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:18px 24px;margin:22px 0}
h2{font-size:20px;margin:0 0 12px;font-weight:600}
h3{font-size:16px;margin:18px 0 8px;font-weight:600}
.kpis{display:flex;gap:14px;flex-wrap:wrap;margin-top:14px}
.kpi{background:rgba(255,255,255,.08);border-radius:6px;padding:8px 14px}
.kpi b{display:block;font-size:20px;color:#fff}
.kpi span{font-size:12px;color:#bcccdc}
.finding{border:1px solid var(--line);border-left:5px solid var(--na);border-radius:6px;padding:12px 16px;margin:12px 0}
.finding.supported{border-left-color:var(--ok)}
.finding.not-supported{border-left-color:var(--no)}
.finding h3{margin:0 0 6px}
.badge{display:inline-block;font-size:12px;font-weight:600;padding:2px 9px;border-radius:10px;color:#fff;background:var(--na);margin-left:8px;vertical-align:middle}
.supported .badge{background:var(--ok)}
.not-supported .badge{background:var(--no)}
.finding .test{color:var(--muted);font-size:13px}
.finding .detail{font-size:13px;margin-top:6px}
figure{margin:16px 0 24px}
svg.fig{max-width:100%;height:auto;display:block;margin:0 auto;border:1px solid var(--line);border-radius:6px}
figcaption{font-size:13px;color:var(--muted);margin-top:6px}
a.file{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;margin-left:6px}
.tw{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;margin:8px 0 14px;width:auto}
th{background:#f0f4f8;text-align:left;font-weight:600;padding:5px 10px;border-bottom:2px solid var(--line);white-space:nowrap}
td{padding:4px 10px;border-bottom:1px solid var(--line);vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.sig{font-weight:600;color:var(--ok)}
details{margin:8px 0}
summary{cursor:pointer;color:var(--acc);font-size:14px}
.note{color:var(--muted);font-size:13px}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px;font-size:12px;overflow-x:auto;margin:4px 0}
.gal{display:grid;gap:10px;align-items:start}
.gal div{font-size:12px;color:var(--muted);text-align:center}
.gal img{width:100%;image-rendering:pixelated;border-radius:4px;display:block}
.gal .h{font-weight:600;color:var(--ink);align-self:end;overflow-wrap:anywhere}
.cbar-row{font-size:12px;color:var(--muted);display:flex;align-items:center;gap:8px}
.cbar{display:inline-block;width:160px;height:10px;border-radius:2px}
footer{color:var(--muted);font-size:12px;text-align:center;padding:20px}
.howto{font-size:13px;color:var(--muted);background:var(--bg);border-left:3px solid var(--line);padding:6px 10px;margin:6px 0 0}
"#;

fn findings_html(t: &[FindingRow]) -> String {
    let mut h = String::from(
        "<table><thead><tr><th>finding</th><th>effect</th><th>estimate</th><th>95 % CI</th>\
         <th>MDE (80 % power)</th><th>models</th><th>samples</th><th>p</th><th>verdict</th></tr></thead><tbody>",
    );
    for f in t {
        let _ = write!(
            h,
            "<tr><td>({n})</td><td>{effect}</td><td>{est}</td><td>{lo} to {hi}</td><td>{mde}</td>\
             <td>{nm}</td><td>{ns}</td><td>{p}</td><td>{v}</td></tr>",
            n = f.finding,
            effect = esc(&f.effect),
            est = fmt_num(f.estimate),
            lo = fmt_num(f.ci_low),
            hi = fmt_num(f.ci_high),
            mde = fmt_num(f.mde),
            nm = f.n_models,
            ns = f.n_samples,
            p = fmt_p(f.p),
            v = esc(&f.verdict),
        );
    }
    h.push_str("</tbody></table>");
    for f in t {
        let cls = f.verdict.replace(' ', "-");
        let _ = write!(
            h,
            "<div class=\"finding {cls}\"><h3>({n}) {claim} — {effect}<span class=\"badge\">{v} by this run (p = {p})</span></h3>\
             <div class=\"test\">{test}; metric <code>{metric}</code>; α = {alpha}</div>\
             <div class=\"detail\">{detail}</div></div>",
            n = f.finding,
            claim = esc(&f.claim),
            effect = esc(&f.effect),
            v = esc(&f.verdict),
            p = fmt_p(f.p),
            test = esc(&f.test),
            metric = esc(&f.metric),
            alpha = f.alpha,
            detail = esc(&f.detail),
        );
    }
    h
}

/// A number with four significant decimals, `–` for NaN.
fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        format!("{v:.4}")
    }
}

fn run_info_html(v: Option<&serde_json::Value>) -> String {
    let Some(v) = v else {
        return "<p class=\"note\"><code>run.json</code> is absent from the run folder: \
                configuration, seeds, versions, timings and machine are unknown."
            .into();
    };
    let mut h = String::from("<table><tbody>");
    match v.as_object() {
        Some(obj) => {
            for (k, val) in obj {
                let cell = match val {
                    serde_json::Value::String(s) => esc(s),
                    serde_json::Value::Object(_) | serde_json::Value::Array(_) => format!(
                        "<pre>{}</pre>",
                        esc(&serde_json::to_string_pretty(val).unwrap_or_default())
                    ),
                    other => esc(&other.to_string()),
                };
                let _ = write!(h, "<tr><th>{}</th><td>{cell}</td></tr>", esc(k));
            }
        }
        None => {
            let _ = write!(h, "<tr><td><pre>{}</pre></td></tr>", esc(&v.to_string()));
        }
    }
    h.push_str("</tbody></table>");
    h
}

fn gallery_html(g: Option<&Gallery>) -> String {
    let Some(g) = g else { return String::new() };
    let ncols = 1 + g.rows.first().map_or(0, |r| r.maps.len());
    let mut h = format!(
        "<p>Model <code>{}</code> (test accuracy {:.3}), test samples {} classified \
         correctly. First column: the image with the ground-truth contour (green); then |attribution| \
         of each method as a heat map over the image (normalised per map to its 99.5th percentile).{}</p>\
         <p class=\"cbar-row\">heat scale <span class=\"cbar\" style=\"background:{bar}\"></span> \
         0 → the map's 99.5th percentile of |attribution|</p>\
         <div class=\"gal\" style=\"grid-template-columns:repeat({ncols},minmax({min_px}px,1fr))\">",
        esc(&g.cell),
        g.accuracy,
        if g.every_model {
            "every model"
        } else {
            "this model (no sample is classified correctly by every model)"
        },
        if g.volumes {
            " Volumes: axial, coronal and sagittal slices through the lesion centre, side by side \
             (one colour scale per map)."
        } else {
            ""
        },
        bar = crate::gallery::colour_bar_css(),
        // a volume's three slices side by side need three times the width
        min_px = if g.volumes { 180 } else { 70 },
    );
    h.push_str("<div class=\"h\">image + GT</div>");
    if let Some(r) = g.rows.first() {
        for (m, _) in &r.maps {
            let _ = write!(h, "<div class=\"h\">{}</div>", esc(m));
        }
    }
    for r in &g.rows {
        let _ = write!(
            h,
            "<div><img alt=\"sample {s}\" src=\"{}\">sample {s}, label {l}</div>",
            r.image,
            s = r.sample,
            l = r.label
        );
        for (m, uri) in &r.maps {
            match uri {
                Some(u) => {
                    let _ = write!(
                        h,
                        "<div><img alt=\"{} sample {}\" src=\"{u}\"></div>",
                        esc(m),
                        r.sample
                    );
                }
                None => h.push_str("<div class=\"note\">no map</div>"),
            }
        }
    }
    h.push_str("</div>");
    h
}

/// The page being written: its input and the running figure number.
struct Page<'a> {
    p: &'a PageInput<'a>,
    fig_no: usize,
}

impl<'a> Page<'a> {
    /// The figure `{prefix}_{metric}.svg`.
    fn find(&self, prefix: &str, metric: &str) -> Option<&'a Figure> {
        let file = format!("{prefix}_{}.svg", crate::slug(metric));
        self.p.figures.iter().find(|f| f.file == file)
    }
    /// A figure with the next number.
    fn fig(&mut self, f: &Figure) -> String {
        self.fig_no += 1;
        figure_html(f, self.fig_no)
    }
    /// The findings with their forest plot, and the design.
    fn findings(&mut self) -> String {
        let p = self.p;
        let pm = p.primary;
        let mut body = String::new();
        // findings
        let _ = write!(
            body,
            "<section id=\"findings\"><h2>Findings</h2><p class=\"note\">The four findings of \
             Oliveira et al. (Front. AI 2024), tested on this run's primary metric <code>{}</code> \
             with the estimate, its 95 % CI and the minimal detectable effect (MDE) at 80 % power of this design. \
             Findings 1–3 pool the real methods (controls excluded); 2–3 use a sample-level mixed model with \
             model and image random intercepts; method comparisons use the samples of subset <code>{}</code>. A finding is <i>supported</i> when its test rejects at α = {}.</p>{}</section>",
            esc(pm),
            esc(p.opts.stats.subset.name()),
            p.opts.stats.alpha,
            findings_html(&p.tables.findings) + &crate::evidence::forest_svg(&p.tables.findings)
        );
        let _ = write!(
            body,
            "<section id=\"design\"><h2>Design</h2>{}{}</section>",
            crate::evidence::design_html(
                &p.tables.models,
                &p.tables.summary,
                p.opts.stats.subset.name()
            ),
            crate::evidence::pretraining_html(p.run)
        );
        body
    }

    /// Classification and explanation performance (accuracy and box plots).
    fn performance(&mut self) -> String {
        let p = self.p;
        let mut body = String::new();
        // accuracy
        body.push_str("<section id=\"accuracy\"><h2>Classification performance</h2>");
        if let Some(f) = p.figures.iter().find(|f| f.file == "accuracy.svg") {
            body.push_str(&self.fig(f));
        }
        body.push_str("</section>");
        // explanation performance
        body.push_str("<section id=\"explanation\"><h2>Explanation performance</h2>");
        for m in p.metrics {
            // box plots, or proportions for a binary metric
            if let Some(f) = self.find("box", m).or_else(|| self.find("proportion", m)) {
                body.push_str(&self.fig(f));
            }
        }
        body.push_str("</section>");
        body
    }

    /// Explanation against classification performance.
    fn correlation(&mut self) -> String {
        let p = self.p;
        let pm = p.primary;
        let mut body = String::new();
        // correlation
        body.push_str(
            "<section id=\"correlation\"><h2>Explanation vs classification performance</h2>",
        );
        for m in p.metrics {
            if let Some(f) = self.find("scatter", m) {
                body.push_str(&self.fig(f));
            }
        }
        let corr_cols = [
            ("method", "method"),
            ("metric", "metric"),
            ("test", "test"),
            ("n", "models"),
            ("r", "r / ρ"),
            ("ci_low", "95% CI low"),
            ("ci_high", "95% CI high"),
            ("p", "p"),
            ("p_holm", "p (Holm)"),
            ("p_bh", "p (BH)"),
            ("note", "note"),
        ];
        let _ = write!(
            body,
            "<h3>Correlation across models ({})</h3>{}",
            esc(pm),
            rows_html(&self.p.tables.correlation, &corr_cols, |r| r.metric == pm)
        );
        let _ = write!(
            body,
            "<details><summary>All metrics</summary>{}</details>",
            rows_html(&self.p.tables.correlation, &corr_cols, |_| true)
        );
        body.push_str("</section>");
        body
    }

    /// The analyses that correct for accuracy.
    fn correction(&mut self) -> String {
        let p = self.p;
        let pm = p.primary;
        let mut body = String::from("<section id=\"correction\"><h2>Correction for accuracy</h2>");
        body.push_str(&self.ols_tables());
        for m in p.metrics {
            if m == pm
                && let Some(f) = self.find("residuals", m)
            {
                body.push_str(&self.fig(f));
            }
        }
        body.push_str(&self.residual_tables());
        let other_resid: Vec<&Figure> = p
            .metrics
            .iter()
            .filter(|m| m.as_str() != pm)
            .filter_map(|m| self.find("residuals", m))
            .collect();
        if !other_resid.is_empty() {
            body.push_str("<details><summary>Residual plots of the other metrics</summary>");
            for f in other_resid {
                body.push_str(&self.fig(f));
            }
            body.push_str("</details>");
        }
        body.push_str("</section>");
        body
    }

    /// The OLS fits, ANOVA and coefficients of the primary metric (and, folded, of all).
    fn ols_tables(&self) -> String {
        let pm = self.p.primary;
        let mut body = String::new();
        let fit_cols = [
            ("method", "method"),
            ("formula", "formula"),
            ("nobs", "models"),
            ("rsquared", "R²"),
            ("rsquared_adj", "adj. R²"),
            ("fvalue", "F"),
            ("f_pvalue", "p(F)"),
            ("note", "note"),
        ];
        let _ = write!(
            body,
            "<h3>OLS fits ({})</h3>{}",
            esc(pm),
            rows_html(&self.p.tables.ols_fit, &fit_cols, |r| r.metric == pm)
        );
        let anova_cols = [
            ("method", "method"),
            ("term", "term"),
            ("sum_sq", "sum sq"),
            ("df", "df"),
            ("F", "F"),
            ("p", "p"),
            ("p_holm", "p (Holm)"),
        ];
        let _ = write!(
            body,
            "<h3>Type-II ANOVA ({})</h3>{}",
            esc(pm),
            rows_html(&self.p.tables.anova, &anova_cols, |r| r.metric == pm)
        );
        let coef_cols = [
            ("method", "method"),
            ("term", "coefficient"),
            ("coef", "estimate"),
            ("se", "SE"),
            ("t", "t"),
            ("p", "p"),
        ];
        let _ = write!(
            body,
            "<details><summary>Coefficients ({})</summary>{}</details><details><summary>OLS fits and ANOVA, all metrics</summary>{}{}</details>",
            esc(pm),
            rows_html(&self.p.tables.ols_coefficients, &coef_cols, |r| r.metric
                == pm),
            rows_html(
                &self.p.tables.ols_fit,
                &[("metric", "metric")]
                    .iter()
                    .chain(fit_cols.iter())
                    .copied()
                    .collect::<Vec<_>>(),
                |_| true
            ),
            rows_html(
                &self.p.tables.anova,
                &[("metric", "metric")]
                    .iter()
                    .chain(anova_cols.iter())
                    .copied()
                    .collect::<Vec<_>>(),
                |_| true
            )
        );
        body
    }

    /// The tests on accuracy-residualised scores, the partial correlations and the
    /// matched-accuracy comparisons of the primary metric.
    fn residual_tables(&self) -> String {
        let pm = self.p.primary;
        let mut body = String::new();
        let rt_cols = [
            ("method", "method"),
            ("test", "test on residuals"),
            ("n", "n"),
            ("statistic", "statistic"),
            ("p", "p"),
            ("p_holm", "p (Holm)"),
            ("note", "note"),
        ];
        let _ = write!(
            body,
            "<h3>Tests on accuracy-residualised scores ({})</h3>{}",
            esc(pm),
            rows_html(&self.p.tables.residual_tests, &rt_cols, |r| r.metric == pm)
        );
        let pc_cols = [
            ("method", "method"),
            ("population", "models"),
            ("n", "n"),
            ("df", "df"),
            ("r", "partial r"),
            ("t", "t"),
            ("p", "p"),
            ("p_holm", "p (Holm)"),
            ("note", "note"),
        ];
        let _ = write!(
            body,
            "<h3>Partial correlation of score and pre-trained layers given accuracy ({})</h3>{}",
            esc(pm),
            rows_html(&self.p.tables.partial_correlation, &pc_cols, |r| r.metric
                == pm)
        );
        let mt_cols = [
            ("method", "method"),
            ("bins", "accuracy bins"),
            ("n", "models"),
            ("F", "F (source)"),
            ("df", "df"),
            ("p", "p"),
            ("p_holm", "p (Holm)"),
            ("note", "note"),
        ];
        let mb_cols = [
            ("method", "method"),
            ("bin", "bin"),
            ("accuracy_low", "acc. from"),
            ("accuracy_high", "acc. to"),
            ("source", "source"),
            ("n", "models"),
            ("mean_score", "mean score"),
        ];
        let _ = write!(
            body,
            "<h3>Sources compared within matched-accuracy bins ({})</h3>{}<details><summary>Bin means</summary>{}</details>",
            esc(pm),
            rows_html(&self.p.tables.matched_tests, &mt_cols, |r| r.metric == pm),
            rows_html(&self.p.tables.matched_bins, &mb_cols, |r| r.metric == pm)
        );
        body
    }

    /// The method comparison.
    fn methods(&mut self) -> String {
        let p = self.p;
        let pm = p.primary;
        let mut body = String::new();
        // methods
        body.push_str("<section id=\"methods\"><h2>Method comparison</h2>");
        let pair_cols = [
            ("family", "family"),
            ("method_a", "method A"),
            ("method_b", "method B"),
            ("n_models", "models"),
            ("n_samples", "samples"),
            ("estimate", "A − B"),
            ("ci_low", "CI low"),
            ("ci_high", "CI high"),
            ("df", "df"),
            ("p_holm", "p (Holm)"),
            ("effect_size", "d_z"),
            ("test", "test"),
        ];
        let _ = write!(
            body,
            "<h3>Per-image comparisons within models ({pm})</h3><p class=\"note\">Row minus column: mean \
             difference per image, mixed model with model and image random intercepts; green/red where \
             the Holm-adjusted p (real methods and controls are separate families) is below α.</p>{}\
             <details><summary>All pairs</summary>{}</details>",
            crate::evidence::method_matrix_html(&p.tables.method_pairs, pm, p.opts.stats.alpha),
            rows_html(&self.p.tables.method_pairs, &pair_cols, |r| r.metric == pm),
            pm = esc(pm),
        );
        let fr_cols = [
            ("metric", "metric"),
            ("unit", "blocks"),
            ("k", "methods"),
            ("n_blocks", "n blocks"),
            ("statistic", "χ²"),
            ("p", "p"),
            ("note", "note"),
        ];
        let _ = write!(
            body,
            "<h3>Friedman tests</h3>{}",
            rows_html(&self.p.tables.friedman, &fr_cols, |_| true)
        );
        let rk_cols = [
            ("method", "method"),
            ("n_blocks", "models"),
            ("mean_rank", "mean rank (higher = better)"),
            ("mean_score", "mean"),
            ("median_score", "median"),
        ];
        let _ = write!(
            body,
            "<h3>Method ranks ({}, blocks = models)</h3>{}",
            esc(pm),
            rows_html(&self.p.tables.method_ranks, &rk_cols, |r| r.metric == pm
                && r.unit == Blocks::Model)
        );
        let wx_cols = [
            ("method_a", "method A"),
            ("method_b", "method B"),
            ("n", "n"),
            ("statistic", "W"),
            ("p", "p"),
            ("p_method", "p from"),
            ("p_holm", "p (Holm)"),
            ("p_bh", "p (BH)"),
            ("rank_biserial", "rank-biserial r"),
            ("note", "note"),
        ];
        let _ = write!(
            body,
            "<h3>Pairwise Wilcoxon signed-rank tests ({}, blocks = models)</h3>{}",
            esc(pm),
            rows_html(&self.p.tables.wilcoxon, &wx_cols, |r| r.metric == pm
                && r.unit == Blocks::Model)
        );
        let _ = write!(
            body,
            "<details><summary>Per-sample blocks (cell × sample)</summary>{}</details>",
            rows_html(&self.p.tables.wilcoxon, &wx_cols, |r| r.metric == pm
                && r.unit == Blocks::Sample)
        );
        body.push_str("</section>");
        body
    }

    /// The gallery, the run and the notes.
    fn closing(&mut self) -> String {
        let p = self.p;
        let mut body = String::new();
        // gallery
        body.push_str("<section id=\"gallery\"><h2>Gallery</h2>");
        match p.gallery {
            Some(g) => body.push_str(&gallery_html(Some(g))),
            None => body.push_str(
                "<p class=\"note\">No gallery: the run folder lacks the test images/masks or the \
                 attribution maps (see notes).</p>",
            ),
        }
        body.push_str("</section>");
        // run
        let _ = write!(
            body,
            "<section id=\"run\"><h2>Run</h2><table><tbody><tr><th>run folder</th><td>{}</td></tr>\
             <tr><th>score table</th><td>{} ({} rows, {} models, {} methods, {} metrics)</td></tr>\
             <tr><th>report</th><td>mrixai {}</td></tr></tbody></table><h3>run.json</h3>{}</section>",
            esc(&p.run.display().to_string()),
            esc(&p
                .scores
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()),
            p.n_rows,
            p.n_models,
            p.methods.len(),
            p.metrics.len(),
            mrixai_core::VERSION,
            run_info_html(p.run_json)
        );
        // notes
        let mut notes: Vec<String> = p.notes.to_vec();
        notes.extend(p.tables.notes.iter().map(|n| n.note.clone()));
        body.push_str("<section id=\"notes\"><h2>Notes</h2>");
        if notes.is_empty() {
            body.push_str("<p class=\"note\">None.</p>");
        } else {
            body.push_str("<ul>");
            for n in notes {
                let _ = write!(body, "<li>{}</li>", esc(&n));
            }
            body.push_str("</ul>");
        }
        body.push_str("<p class=\"note\">Every statistics table is also in <code>stats/</code> as CSV and Parquet; tests that could not run carry the reason in their <code>note</code> column.</p></section>");
        body
    }
}

/// Renders the whole page.
pub(crate) fn page(p: &PageInput) -> String {
    let mut page = Page { p, fig_no: 0 };
    let body = [
        page.findings(),
        page.performance(),
        page.correlation(),
        page.correction(),
        page.methods(),
        page.closing(),
    ]
    .concat();
    let header = format!(
        "<header><h1>mrixai report</h1><p>Explanation performance of CNNs on brain MRI with \
         synthetic lesions: influence of pre-training.</p><div class=\"kpis\">\
         <div class=\"kpi\"><b>{}</b><span>models</span></div>\
         <div class=\"kpi\"><b>{}</b><span>methods</span></div>\
         <div class=\"kpi\"><b>{}</b><span>metrics</span></div>\
         <div class=\"kpi\"><b>{}</b><span>scores</span></div></div></header>",
        p.n_models,
        p.methods.len(),
        p.metrics.len(),
        p.n_rows
    );
    let nav = "<nav><a href=\"#findings\">Findings</a><a href=\"#design\">Design</a><a href=\"#accuracy\">Accuracy</a>\
               <a href=\"#explanation\">Explanation</a><a href=\"#correlation\">Correlation</a>\
               <a href=\"#correction\">Correction for accuracy</a><a href=\"#methods\">Methods</a>\
               <a href=\"#gallery\">Gallery</a><a href=\"#run\">Run</a><a href=\"#notes\">Notes</a></nav>";
    let _ = Kind::Str;
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>mrixai report</title><style>{CSS}</style></head><body>{header}{nav}<main>{body}</main>\
         <footer>Generated by mrixai {}. Self-contained: no scripts, no external resources.</footer></body></html>\n",
        mrixai_core::VERSION
    )
}
