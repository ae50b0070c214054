//! The report's evidence views: a forest plot of the findings' effects (estimate, 95 % CI
//! and the ±MDE band the design could see), the matrix of sample-level method comparisons,
//! and the design (models per factor level, samples per model, the pre-trained checkpoints).

use crate::html::esc;
use mrixai_core::SourceName;
use mrixai_core::layout::RunLayout;
use mrixai_stats::tables::{FindingRow, MethodPairRow, ModelRow, SummaryRow};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The forest plot of the findings' rows that have an estimate: one row per effect, each on
/// its own symmetric scale (effects differ in unit), the CI as a bar, the estimate as a dot,
/// zero as a line and ±MDE shaded.
pub(crate) fn forest_svg(findings: &[FindingRow]) -> String {
    let rows: Vec<&FindingRow> = findings.iter().filter(|f| f.estimate.is_finite()).collect();
    if rows.is_empty() {
        return "<p class=\"note\">No effect could be estimated.</p>".into();
    }
    let (w, label_w, row_h) = (760.0, 300.0, 34.0);
    let plot_w = w - label_w - 20.0;
    let h = row_h * rows.len() as f64 + 30.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" role=\"img\" \
         aria-label=\"forest plot of the effects\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    for (k, f) in rows.iter().enumerate() {
        let (est, lo, hi, mde) = (f.estimate, f.ci_low, f.ci_high, f.mde);
        let span = [est, lo, hi, mde]
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.0f64, |a, v| a.max(v.abs()))
            .max(1e-12)
            * 1.15;
        let x = |v: f64| label_w + plot_w * (v + span) / (2.0 * span);
        let y = 20.0 + row_h * k as f64;
        let label = format!("({}) {}", f.finding, f.effect);
        let _ = write!(
            svg,
            "<text x=\"4\" y=\"{:.1}\">{}</text>",
            y + 4.0,
            esc(&label)
        );
        if mde.is_finite() {
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"16\" fill=\"#e6eef8\"><title>±MDE {mde:.4}</title></rect>",
                x(-mde),
                y - 8.0,
                x(mde) - x(-mde)
            );
        }
        let _ = write!(
            svg,
            "<line x1=\"{z:.1}\" x2=\"{z:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#888\"/>\
             <line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#1f4e79\" stroke-width=\"2\"/>\
             <circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"#1f4e79\"><title>{est:.4} [{lo:.4}, {hi:.4}]</title></circle>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#555\">{:.3}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#555\" text-anchor=\"end\">{:.3}</text>",
            y - 10.0,
            y + 10.0,
            x(lo),
            x(hi),
            x(est),
            label_w,
            y + 14.0,
            -span,
            w - 20.0,
            y + 14.0,
            span,
            z = x(0.0),
        );
    }
    svg.push_str("</svg>");
    format!(
        "<figure>{svg}<figcaption>Each effect on its own scale: estimate (dot), 95 % CI (bar), zero \
         (grey line) and ±MDE at 80 % power (shaded): a CI inside the band is a result the design \
         could not have distinguished from zero.</figcaption></figure>"
    )
}

/// The matrix of sample-level method comparisons on `metric`: cell (row a, column b) holds
/// the mean difference a − b, coloured when its Holm-adjusted p (within its family) is below
/// `alpha`; methods in order of their mean difference to the others.
pub(crate) fn method_matrix_html(pairs: &[MethodPairRow], metric: &str, alpha: f64) -> String {
    let mut cell: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
    let mut score: BTreeMap<String, f64> = BTreeMap::new();
    for r in pairs.iter().filter(|r| r.metric == metric) {
        let (a, b) = (r.method_a.clone(), r.method_b.clone());
        let (d, p) = (r.estimate, r.p_holm);
        cell.insert((a.clone(), b.clone()), (d, p));
        cell.insert((b.clone(), a.clone()), (-d, p));
        *score.entry(a).or_default() += d;
        *score.entry(b).or_default() -= d;
    }
    if score.is_empty() {
        return "<p class=\"note\">No method comparisons on this metric.</p>".into();
    }
    let mut order: Vec<(String, f64)> = score.into_iter().collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut h =
        String::from("<div class=\"tw\"><table class=\"matrix\"><thead><tr><th>a \\ b</th>");
    for (m, _) in &order {
        let _ = write!(h, "<th>{}</th>", esc(m));
    }
    h.push_str("</tr></thead><tbody>");
    for (a, _) in &order {
        let _ = write!(h, "<tr><th>{}</th>", esc(a));
        for (b, _) in &order {
            let text = match cell.get(&(a.clone(), b.clone())) {
                Some((d, p)) if d.is_finite() => {
                    let style = if *p < alpha {
                        if *d > 0.0 {
                            " style=\"background:#d7ecd9\""
                        } else {
                            " style=\"background:#f6d8d8\""
                        }
                    } else {
                        ""
                    };
                    format!("<td class=\"num\"{style} title=\"Holm p {p:.2e}\">{d:+.3}</td>")
                }
                _ => "<td></td>".to_string(),
            };
            h.push_str(&text);
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></div>");
    h
}

/// The design: models per source × pre-trained layers × frozen, and the samples per model
/// in the analysis subset (primary metric, first method).
pub(crate) fn design_html(models: &[ModelRow], summary: &[SummaryRow], subset: &str) -> String {
    if models.is_empty() {
        return String::new();
    }
    let mut cells: BTreeMap<(SourceName, i64, bool), (usize, f64, f64)> = BTreeMap::new();
    for m in models {
        let key = (m.source.clone(), m.pretrained_layers, m.frozen);
        let acc = m.accuracy;
        let e = cells
            .entry(key)
            .or_insert((0, f64::INFINITY, f64::NEG_INFINITY));
        e.0 += 1;
        e.1 = e.1.min(acc);
        e.2 = e.2.max(acc);
    }
    let mut h = format!(
        "<p>{} models. Samples per model in the subset <code>{}</code>: {}.</p>\
         <div class=\"tw\"><table><thead><tr><th>source</th><th>pre-trained layers</th><th>frozen</th>\
         <th>models</th><th>test accuracy</th></tr></thead><tbody>",
        models.len(),
        esc(subset),
        samples_per_model(summary, subset)
    );
    for ((src, k, frozen), (n, lo, hi)) in &cells {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{k}</td><td>{}</td><td class=\"num\">{n}</td>\
             <td class=\"num\">{lo:.3}–{hi:.3}</td></tr>",
            esc(src.as_str()),
            if *frozen { "yes" } else { "no" }
        );
    }
    h.push_str("</tbody></table></div>");
    h
}

/// "min–max (median m)" of the per-model sample counts of the subset.
fn samples_per_model(summary: &[SummaryRow], subset: &str) -> String {
    let Some(first) = summary.first() else {
        return "unknown".into();
    };
    let (method, metric) = (&first.method, &first.metric);
    let mut n: Vec<usize> = summary
        .iter()
        .filter(|s| s.method == *method && s.metric == *metric && s.subset == subset)
        .map(|s| s.summary.n)
        .collect();
    if n.is_empty() {
        return "unknown".into();
    }
    n.sort_unstable();
    format!("{}–{} (median {})", n[0], n[n.len() - 1], n[n.len() / 2])
}

/// What a pre-training task is, in words.
fn task_words(task: &str) -> &str {
    match task {
        "ood-shapes" => "out-of-domain stand-in: procedural natural-image classes",
        "imagenet" => "out-of-domain: ImageNet weights (imported)",
        "anatomy" => "in-domain MRI: axial level of the slice",
        "presence" => "in-domain MRI: lesion presence",
        other => other,
    }
}

/// The run's pre-trained checkpoints (`pretrain/<source>/checkpoint`): the task each was
/// trained on, with its own accuracy next to the task's chance level, so that a reader
/// sees what the `ood` and `mri` cells started from.
pub(crate) fn pretraining_html(run: &Path) -> String {
    let read = |p: PathBuf| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
    };
    let mut rows = String::new();
    let layout = RunLayout::new(run);
    for source in layout.pretrained_sources() {
        let ckpt = layout.checkpoint(source);
        let Some(info) = read(ckpt.join("model.json")) else {
            continue;
        };
        let classes = read(ckpt.join("arch.json"))
            .and_then(|a| a.get("num_classes").and_then(|n| n.as_u64()))
            .unwrap_or(0);
        let acc = |k: &str| {
            info.get(k)
                .and_then(|v| v.as_f64())
                .map_or("—".into(), |v| format!("{v:.3}"))
        };
        let task = info.get("task").and_then(|t| t.as_str()).unwrap_or("?");
        let _ = write!(
            rows,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{classes}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            esc(source.name()),
            esc(task_words(task)),
            if classes > 0 {
                format!("{:.3}", 1.0 / classes as f64)
            } else {
                "—".into()
            },
            info.get("epochs").and_then(|v| v.as_u64()).unwrap_or(0),
            acc("val_accuracy"),
            acc("test_accuracy"),
        );
    }
    if rows.is_empty() {
        return "<p>No pre-trained checkpoints: every model was trained from scratch.</p>".into();
    }
    format!(
        "<h3>Pre-training</h3><p>A cell of source <code>ood</code> or <code>mri</code> starts \
         from that source's checkpoint: its first k weight layers are copied, then fine-tuned \
         (<i>tuned</i>) or kept fixed (<i>frozen</i>); <code>scratch</code> cells start from \
         random weights. Each checkpoint's accuracy is on its own task's held-out images.</p>\
         <div class=\"tw\"><table><thead><tr><th>source</th><th>task</th><th>classes</th>\
         <th>chance</th><th>epochs</th><th>val accuracy</th><th>test accuracy</th></tr>\
         </thead><tbody>{rows}</tbody></table></div>"
    )
}
