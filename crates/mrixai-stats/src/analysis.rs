//! The full analysis of a long-format score table: per-cell summaries, model-level scores,
//! accuracy–explanation correlation, OLS correction for accuracy with type-II ANOVA,
//! residualised scores and their tests, partial correlation, matched-accuracy bins,
//! Friedman + pairwise Wilcoxon method comparisons, and the four findings of the seed
//! study, each as a [`Table`]. Every test that cannot run (too few models, a single
//! factor level, …) leaves a row with NaN values and the reason in its `note` column.

use crate::{
    corr, describe,
    formula::{Column, Frame},
    multitest, nonparam, ols,
    table::{Kind, Record, Table, Value},
};
use mrixai_core::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Which samples enter a model's score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subset {
    /// Samples the model itself classified correctly.
    Correct,
    /// Samples every model of the run classified correctly (the same set for all models).
    CorrectAll,
}

impl Subset {
    /// Name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            Subset::Correct => "correct",
            Subset::CorrectAll => "correct_all",
        }
    }
    /// Whether a sample with these flags belongs to the subset.
    pub fn keeps(self, correct: bool, correct_all: bool) -> bool {
        match self {
            Subset::Correct => correct,
            Subset::CorrectAll => correct_all,
        }
    }
}

/// Analysis settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// OLS formula over model-level rows; `None` = `score ~ accuracy +
    /// C(pretrain, Treatment('<reference>')) * pretrained_layers`, falling back to the additive
    /// model (and then to source only) when the design is rank-deficient (e.g. scratch
    /// models always have 0 pre-trained layers). Variables: `score`, `accuracy`,
    /// `pretrain`/`source`, `pretrained_layers`, `frozen`, `seed`.
    pub formula: Option<String>,
    /// Reference pre-training source for treatment coding.
    pub reference: String,
    /// Samples used for model-level scores and all tests across models.
    pub subset: Subset,
    /// Bootstrap resamples for the per-cell intervals.
    pub n_boot: usize,
    /// Seed of the bootstrap streams.
    pub seed: u64,
    /// Confidence level of the intervals.
    pub level: f64,
    /// Significance level of decisions.
    pub alpha: f64,
    /// Number of matched-accuracy bins.
    pub bins: usize,
    /// Metric the findings are stated for (`None`: `emd_score` if present, else the first).
    pub primary_metric: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            formula: None,
            reference: "scratch".to_string(),
            subset: Subset::CorrectAll,
            n_boot: 1000,
            seed: 0,
            level: 0.95,
            alpha: 0.05,
            bins: 3,
            primary_metric: None,
        }
    }
}

/// Whether larger values of `metric` are better (`false` only for distances such as `emd`).
pub fn higher_is_better(metric: &str) -> bool {
    !(metric == "emd" || metric.ends_with("_distance") || metric.ends_with("_error"))
}

/// All result tables of one analysis, by file stem.
#[derive(Debug, Clone, PartialEq)]
pub struct Tables {
    /// (stem, table) in a fixed order.
    pub tables: Vec<(String, Table)>,
}

impl Tables {
    /// The table called `stem`.
    pub fn get(&self, stem: &str) -> Option<&Table> {
        self.tables.iter().find(|(s, _)| s == stem).map(|(_, t)| t)
    }

    /// Writes every table as `<dir>/<stem>.csv` and `<dir>/<stem>.parquet` (atomic files).
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for (stem, t) in &self.tables {
            t.write_both(dir, stem)?;
        }
        Ok(())
    }

    /// Reads the tables written by [`Tables::write`] (Parquet preferred, CSV otherwise).
    pub fn read(dir: &Path) -> Result<Self> {
        let mut tables = Vec::new();
        for stem in TABLE_STEMS {
            let pq = dir.join(format!("{stem}.parquet"));
            let csv = dir.join(format!("{stem}.csv"));
            let path = if pq.is_file() { pq } else { csv };
            tables.push((stem.to_string(), Table::read(&path)?));
        }
        Ok(Self { tables })
    }
}

/// File stems of the tables, in order.
pub const TABLE_STEMS: [&str; 17] = [
    "models",
    "summary",
    "model_scores",
    "correlation",
    "ols_fit",
    "ols_coefficients",
    "anova",
    "residuals",
    "residual_tests",
    "partial_correlation",
    "matched_bins",
    "matched_tests",
    "friedman",
    "method_ranks",
    "wilcoxon",
    "findings",
    "notes",
];

/// Model (cell) attributes shared by all of its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Cell id.
    pub cell: String,
    /// Pre-training source.
    pub source: String,
    /// Pre-trained layers.
    pub layers: i64,
    /// Frozen flag.
    pub frozen: bool,
    /// Training seed.
    pub seed: i64,
    /// Test accuracy.
    pub accuracy: f64,
}

/// The models of a score table; fails if a cell's attributes differ between rows.
pub fn models(records: &[Record]) -> Result<BTreeMap<String, Model>> {
    let mut out: BTreeMap<String, Model> = BTreeMap::new();
    for r in records {
        let m = Model {
            cell: r.cell.clone(),
            source: r.source.clone(),
            layers: r.pretrained_layers,
            frozen: r.frozen,
            seed: r.seed,
            accuracy: r.model_accuracy,
        };
        match out.get(&r.cell) {
            Some(old) if *old != m => {
                return Err(Error::invalid(format!(
                    "cell `{}` has inconsistent attributes (source/layers/frozen/seed/accuracy \
                     differ between rows)",
                    r.cell
                )));
            }
            Some(_) => {}
            None => {
                out.insert(r.cell.clone(), m);
            }
        }
    }
    Ok(out)
}

fn s(x: &str) -> Value {
    Value::Str(x.to_string())
}

fn note_of<T>(r: &Result<T>) -> Value {
    match r {
        Ok(_) => Value::Str(String::new()),
        Err(e) => Value::Str(e.to_string()),
    }
}

/// One model-level score (mean over the subset's finite values).
#[derive(Debug, Clone)]
struct ModelScore<'a> {
    model: &'a Model,
    n: usize,
    score: f64,
}

/// (method, metric) → cell → [(sample, value, correct, correct_all)]
type Values = BTreeMap<(String, String), BTreeMap<String, Vec<(i64, f64, bool, bool)>>>;

struct Ctx<'a> {
    opts: &'a Options,
    models: BTreeMap<String, Model>,
    methods: Vec<String>,
    metrics: Vec<String>,
    /// (method, metric) → cell → [(sample, value, correct, correct_all)]
    values: Values,
    reference: String,
}

fn t(cols: &[(&str, Kind)]) -> Table {
    Table::new(cols)
}

/// Leading columns of the per-model tables: a model's attributes.
const MODEL_COLUMNS: [(&str, Kind); 6] = [
    ("cell", Kind::Str),
    ("source", Kind::Str),
    ("pretrained_layers", Kind::I64),
    ("frozen", Kind::Bool),
    ("seed", Kind::I64),
    ("accuracy", Kind::F64),
];

/// A model's attributes, in the order of [`MODEL_COLUMNS`].
fn model_values(m: &Model) -> Vec<Value> {
    vec![
        s(&m.cell),
        s(&m.source),
        m.layers.into(),
        m.frozen.into(),
        m.seed.into(),
        m.accuracy.into(),
    ]
}

/// A table with one row per model, method, metric and subset: [`MODEL_COLUMNS`], then
/// `method`, `metric`, `subset`, `n`, then `rest`.
fn per_model_table(rest: &[(&str, Kind)]) -> Table {
    let key = [
        ("method", Kind::Str),
        ("metric", Kind::Str),
        ("subset", Kind::Str),
        ("n", Kind::I64),
    ];
    t(&[&MODEL_COLUMNS[..], &key, rest].concat())
}

/// A row of a [`per_model_table`]: the model, its key and `n`, then `rest`.
fn per_model_row(
    m: &Model,
    method: &str,
    metric: &str,
    subset: Subset,
    n: usize,
    rest: impl IntoIterator<Item = Value>,
) -> Vec<Value> {
    let mut row = model_values(m);
    row.extend([s(method), s(metric), s(subset.name()), n.into()]);
    row.extend(rest);
    row
}

/// Runs the whole analysis on score records.
pub fn analyze(records: &[Record], opts: &Options) -> Result<Tables> {
    if records.is_empty() {
        return Err(Error::invalid("score table has no rows"));
    }
    let models = models(records)?;
    let mut values: Values = BTreeMap::new();
    let mut methods = BTreeSet::new();
    let mut metrics = BTreeSet::new();
    for r in records {
        methods.insert(r.method.clone());
        metrics.insert(r.metric.clone());
        values
            .entry((r.method.clone(), r.metric.clone()))
            .or_default()
            .entry(r.cell.clone())
            .or_default()
            .push((r.sample, r.value, r.correct, r.correct_all));
    }
    let sources: BTreeSet<&str> = models.values().map(|m| m.source.as_str()).collect();
    let mut notes = Vec::new();
    let reference = if sources.contains(opts.reference.as_str()) {
        opts.reference.clone()
    } else {
        let first = sources
            .iter()
            .next()
            .map(|s| s.to_string())
            .unwrap_or_default();
        notes.push(format!(
            "reference source `{}` is absent; `{first}` is the reference instead",
            opts.reference
        ));
        first
    };
    let ctx = Ctx {
        opts,
        models,
        methods: methods.into_iter().collect(),
        metrics: metrics.into_iter().collect(),
        values,
        reference,
    };
    let bar = indicatif::ProgressBar::new((ctx.methods.len() * ctx.metrics.len()) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("stats {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let models_t = models_table(&ctx)?;
    let summary = summary_table(&ctx, &bar)?;
    let scores = model_scores(&ctx);
    let mut out = vec![
        ("models".to_string(), models_t),
        ("summary".to_string(), summary),
    ];
    out.push((
        "model_scores".to_string(),
        model_scores_table(&ctx, &scores)?,
    ));
    let across = across_models(&ctx, &scores, &mut notes)?;
    out.extend(across);
    let (fr, ranks, wx) = method_comparisons(&ctx, &scores)?;
    out.push(("friedman".to_string(), fr));
    out.push(("method_ranks".to_string(), ranks));
    out.push(("wilcoxon".to_string(), wx));
    let findings = findings_table(&ctx, &out)?;
    out.push(("findings".to_string(), findings));
    let mut notes_t = t(&[("note", Kind::Str)]);
    for n in &notes {
        notes_t.push(vec![s(n)])?;
    }
    out.push(("notes".to_string(), notes_t));
    bar.finish_and_clear();
    debug_assert_eq!(
        out.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        TABLE_STEMS
    );
    Ok(Tables { tables: out })
}

/// Reads `scores` (Parquet or CSV), analyses it and writes the tables into `out_dir`.
pub fn run(scores: &Path, out_dir: &Path, opts: &Options) -> Result<Tables> {
    let records = crate::table::read_records(scores)?;
    let tables = analyze(&records, opts)?;
    tables.write(out_dir)?;
    Ok(tables)
}

fn models_table(ctx: &Ctx) -> Result<Table> {
    let mut tb = t(&MODEL_COLUMNS);
    for m in ctx.models.values() {
        tb.push(model_values(m))?;
    }
    Ok(tb)
}

fn summary_table(ctx: &Ctx, bar: &indicatif::ProgressBar) -> Result<Table> {
    let mut tb = per_model_table(&[
        ("n_nan", Kind::I64),
        ("mean", Kind::F64),
        ("sd", Kind::F64),
        ("median", Kind::F64),
        ("q25", Kind::F64),
        ("q75", Kind::F64),
        ("iqr", Kind::F64),
        ("ci_low", Kind::F64),
        ("ci_high", Kind::F64),
        ("note", Kind::Str),
    ]);
    for ((method, metric), cells) in &ctx.values {
        bar.set_message(format!("{method}/{metric}"));
        for (cell, vals) in cells {
            let m = &ctx.models[cell];
            for subset in [Subset::Correct, Subset::CorrectAll] {
                let x: Vec<f64> = vals
                    .iter()
                    .filter(|v| subset.keeps(v.2, v.3))
                    .map(|v| v.1)
                    .collect();
                let what = format!("{cell}/{method}/{metric}/{}", subset.name());
                let sm = describe::summarize(&what, &x);
                let ci = sm
                    .as_ref()
                    .map_err(|e| Error::invalid(e.to_string()))
                    .and_then(|_| {
                        describe::bootstrap_mean_ci(
                            &x,
                            ctx.opts.level,
                            ctx.opts.n_boot,
                            ctx.opts.seed,
                            &format!("bootstrap/{what}"),
                        )
                    });
                let nan = f64::NAN;
                let (n, n_nan, mean, sd, med, q25, q75, iqr) = match &sm {
                    Ok(v) => (v.n, v.n_nan, v.mean, v.sd, v.median, v.q25, v.q75, v.iqr),
                    Err(_) => (0, x.len(), nan, nan, nan, nan, nan, nan),
                };
                let (lo, hi) = ci.as_ref().copied().unwrap_or((nan, nan));
                tb.push(per_model_row(
                    m,
                    method,
                    metric,
                    subset,
                    n,
                    [
                        n_nan.into(),
                        mean.into(),
                        sd.into(),
                        med.into(),
                        q25.into(),
                        q75.into(),
                        iqr.into(),
                        lo.into(),
                        hi.into(),
                        note_of(&ci),
                    ],
                ))?;
            }
        }
        bar.inc(1);
    }
    Ok(tb)
}

/// (method, metric) → model-level scores (finite only, in cell order).
type Scores<'a> = BTreeMap<(String, String), Vec<ModelScore<'a>>>;

fn model_scores<'a>(ctx: &'a Ctx) -> Scores<'a> {
    let mut out = BTreeMap::new();
    for (key, cells) in &ctx.values {
        let mut v = Vec::new();
        for (cell, vals) in cells {
            let x: Vec<f64> = vals
                .iter()
                .filter(|v| ctx.opts.subset.keeps(v.2, v.3))
                .map(|v| v.1)
                .filter(|v| v.is_finite())
                .collect();
            v.push(ModelScore {
                model: &ctx.models[cell],
                n: x.len(),
                score: describe::mean(&x),
            });
        }
        out.insert(key.clone(), v);
    }
    out
}

fn model_scores_table(ctx: &Ctx, scores: &Scores) -> Result<Table> {
    let mut tb = per_model_table(&[("score", Kind::F64)]);
    for ((method, metric), v) in scores {
        for ms in v {
            tb.push(per_model_row(
                ms.model,
                method,
                metric,
                ctx.opts.subset,
                ms.n,
                [ms.score.into()],
            ))?;
        }
    }
    Ok(tb)
}

fn frame_of(rows: &[&ModelScore]) -> Frame {
    let src: Vec<String> = rows.iter().map(|r| r.model.source.clone()).collect();
    Frame::new()
        .with_numeric("score", rows.iter().map(|r| r.score).collect())
        .with_numeric("accuracy", rows.iter().map(|r| r.model.accuracy).collect())
        .with_categorical("pretrain", src.clone())
        .with_categorical("source", src)
        .with_numeric(
            "pretrained_layers",
            rows.iter().map(|r| r.model.layers as f64).collect(),
        )
        .with_categorical(
            "frozen",
            rows.iter().map(|r| r.model.frozen.to_string()).collect(),
        )
        .with_numeric("seed", rows.iter().map(|r| r.model.seed as f64).collect())
}

/// Fits the requested formula, or the default chain with fallbacks; returns the fit and
/// the notes about fallbacks taken.
fn fit_chain(ctx: &Ctx, frame: &Frame) -> (Result<ols::FormulaFit>, Vec<String>) {
    let r = &ctx.reference;
    let chain: Vec<String> = match &ctx.opts.formula {
        Some(f) => vec![f.clone()],
        None => vec![
            format!("score ~ accuracy + C(pretrain, Treatment('{r}')) * pretrained_layers"),
            format!("score ~ accuracy + C(pretrain, Treatment('{r}')) + pretrained_layers"),
            format!("score ~ accuracy + C(pretrain, Treatment('{r}'))"),
        ],
    };
    let mut notes = Vec::new();
    let mut last = Err(Error::invalid("no formula"));
    for f in chain {
        last = ols::ols(&f, frame);
        match &last {
            Ok(_) => break,
            Err(e) => {
                // keep the reason, without repeating the formula
                let msg = e.to_string();
                let reason = msg
                    .split_once("`: ")
                    .map_or(msg.as_str(), |(_, r)| r)
                    .to_string();
                notes.push(format!("`{f}` not fitted ({reason})"));
            }
        }
    }
    (last, notes)
}

fn holm_column(p: &[f64], alpha: f64) -> Vec<f64> {
    multitest::holm(p, alpha)
        .map(|a| a.p_adjusted)
        .unwrap_or_else(|_| vec![f64::NAN; p.len()])
}

fn bh_column(p: &[f64], alpha: f64) -> Vec<f64> {
    multitest::benjamini_hochberg(p, alpha)
        .map(|a| a.p_adjusted)
        .unwrap_or_else(|_| vec![f64::NAN; p.len()])
}

/// Adds `p_holm` and `p_bh` columns, adjusting within groups given by `group_of(row)`.
fn add_adjusted(tb: &Table, p_col: &str, group_cols: &[&str], alpha: f64) -> Result<Table> {
    let mut cols: Vec<(&str, Kind)> = tb
        .names()
        .iter()
        .map(|n| n.as_str())
        .zip(tb.kinds().iter().copied())
        .collect();
    let at = cols
        .iter()
        .position(|c| c.0 == p_col)
        .map_or(cols.len(), |i| i + 1);
    cols.insert(at, ("p_bh", Kind::F64));
    cols.insert(at, ("p_holm", Kind::F64));
    let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
    for i in 0..tb.len() {
        let key = group_cols.iter().map(|c| tb.get(i, c).text()).collect();
        groups.entry(key).or_default().push(i);
    }
    let mut holm = vec![f64::NAN; tb.len()];
    let mut bh = vec![f64::NAN; tb.len()];
    for idx in groups.values() {
        let p: Vec<f64> = idx.iter().map(|&i| tb.get(i, p_col).f64()).collect();
        for ((&i, h), b) in idx
            .iter()
            .zip(holm_column(&p, alpha))
            .zip(bh_column(&p, alpha))
        {
            holm[i] = h;
            bh[i] = b;
        }
    }
    let mut out = Table::new(&cols);
    for (i, row) in tb.rows().iter().enumerate() {
        let mut r = row.clone();
        r.insert(at, bh[i].into());
        r.insert(at, holm[i].into());
        out.push(r)?;
    }
    Ok(out)
}

fn across_models(
    ctx: &Ctx,
    scores: &Scores,
    notes: &mut Vec<String>,
) -> Result<Vec<(String, Table)>> {
    let alpha = ctx.opts.alpha;
    let mut corr_t = t(&[
        ("method", Kind::Str),
        ("metric", Kind::Str),
        ("test", Kind::Str),
        ("n", Kind::I64),
        ("r", Kind::F64),
        ("ci_low", Kind::F64),
        ("ci_high", Kind::F64),
        ("p", Kind::F64),
        ("note", Kind::Str),
    ]);
    let mut fit_t = t(&[
        ("method", Kind::Str),
        ("metric", Kind::Str),
        ("formula", Kind::Str),
        ("nobs", Kind::I64),
        ("df_model", Kind::F64),
        ("df_resid", Kind::F64),
        ("rsquared", Kind::F64),
        ("rsquared_adj", Kind::F64),
        ("fvalue", Kind::F64),
        ("f_pvalue", Kind::F64),
        ("note", Kind::Str),
    ]);
    let mut coef_t = t(&[
        ("method", Kind::Str),
        ("metric", Kind::Str),
        ("formula", Kind::Str),
        ("term", Kind::Str),
        ("coef", Kind::F64),
        ("se", Kind::F64),
        ("t", Kind::F64),
        ("p", Kind::F64),
    ]);
    let mut anova_t = t(&[
        ("method", Kind::Str),
        ("metric", Kind::Str),
        ("formula", Kind::Str),
        ("term", Kind::Str),
        ("sum_sq", Kind::F64),
        ("df", Kind::F64),
        ("F", Kind::F64),
        ("p", Kind::F64),
    ]);
    let mut resid_t = t(&[
        ("method", Kind::Str),
        ("metric", Kind::Str),
        ("cell", Kind::Str),
        ("source", Kind::Str),
        ("pretrained_layers", Kind::I64),
        ("accuracy", Kind::F64),
        ("score", Kind::F64),
        ("fitted", Kind::F64),
        ("residual", Kind::F64),
    ]);
    let mut rtest_t = t(&[
        ("method", Kind::Str),
        ("metric", Kind::Str),
        ("test", Kind::Str),
        ("n", Kind::I64),
        ("statistic", Kind::F64),
        ("p", Kind::F64),
        ("note", Kind::Str),
    ]);
    let mut pc_t = t(&[
        ("method", Kind::Str),
        ("metric", Kind::Str),
        ("population", Kind::Str),
        ("n", Kind::I64),
        ("df", Kind::I64),
        ("r", Kind::F64),
        ("t", Kind::F64),
        ("p", Kind::F64),
        ("note", Kind::Str),
    ]);
    let mut bins_t = t(&[
        ("method", Kind::Str),
        ("metric", Kind::Str),
        ("bin", Kind::I64),
        ("accuracy_low", Kind::F64),
        ("accuracy_high", Kind::F64),
        ("source", Kind::Str),
        ("n", Kind::I64),
        ("mean_score", Kind::F64),
    ]);
    let mut mtest_t = t(&[
        ("method", Kind::Str),
        ("metric", Kind::Str),
        ("bins", Kind::I64),
        ("n", Kind::I64),
        ("F", Kind::F64),
        ("df", Kind::F64),
        ("p", Kind::F64),
        ("note", Kind::Str),
    ]);
    let reference = ctx.reference.clone();
    for ((method, metric), v) in scores {
        let rows: Vec<&ModelScore> = v.iter().filter(|r| r.score.is_finite()).collect();
        let (mm, me) = (s(method), s(metric));
        let acc: Vec<f64> = rows.iter().map(|r| r.model.accuracy).collect();
        let sc: Vec<f64> = rows.iter().map(|r| r.score).collect();
        let nan = f64::NAN;
        // 1. correlation
        for (name, res) in [
            ("pearson", corr::pearson(&acc, &sc)),
            ("spearman", corr::spearman(&acc, &sc)),
        ] {
            let c = res.as_ref().ok();
            corr_t.push(vec![
                mm.clone(),
                me.clone(),
                s(name),
                rows.len().into(),
                c.map_or(nan, |c| c.r).into(),
                c.map_or(nan, |c| c.ci_low).into(),
                c.map_or(nan, |c| c.ci_high).into(),
                c.map_or(nan, |c| c.p).into(),
                note_of(&res),
            ])?;
        }
        // 2. OLS correction for accuracy
        let frame = frame_of(&rows);
        let (fit, fallbacks) = fit_chain(ctx, &frame);
        let fitted_formula = fit.as_ref().map(|f| f.formula.clone()).unwrap_or_default();
        let mut note = String::new();
        if fit.is_ok() && !fallbacks.is_empty() {
            note = format!("fallback: {}", fallbacks.join("; "));
        } else if let Err(e) = &fit {
            note = e.to_string();
        }
        match &fit {
            Ok(ff) => {
                let f = &ff.fit;
                fit_t.push(vec![
                    mm.clone(),
                    me.clone(),
                    s(&ff.formula),
                    f.nobs.into(),
                    f.df_model.into(),
                    f.df_resid.into(),
                    f.rsquared.into(),
                    f.rsquared_adj.into(),
                    f.fvalue.into(),
                    f.f_pvalue.into(),
                    s(&note),
                ])?;
                for j in 0..f.params.len() {
                    coef_t.push(vec![
                        mm.clone(),
                        me.clone(),
                        s(&ff.formula),
                        s(&f.names[j]),
                        f.params[j].into(),
                        f.bse[j].into(),
                        f.tvalues[j].into(),
                        f.pvalues[j].into(),
                    ])?;
                }
                match ols::anova_type2(ff) {
                    Ok(a) => {
                        for row in a {
                            anova_t.push(vec![
                                mm.clone(),
                                me.clone(),
                                s(&ff.formula),
                                s(&row.term),
                                row.sum_sq.into(),
                                row.df.into(),
                                row.f.into(),
                                row.p.into(),
                            ])?;
                        }
                    }
                    Err(e) => notes.push(format!("{method}/{metric}: type-II ANOVA: {e}")),
                }
            }
            Err(_) => {
                fit_t.push(vec![
                    mm.clone(),
                    me.clone(),
                    s(&fitted_formula),
                    rows.len().into(),
                    nan.into(),
                    nan.into(),
                    nan.into(),
                    nan.into(),
                    nan.into(),
                    nan.into(),
                    s(&note),
                ])?;
            }
        }
        // 3. residualised scores (score ~ accuracy) and effect tests on them
        let red = ols::ols("score ~ accuracy", &frame);
        match &red {
            Ok(rf) => {
                for (i, r) in rows.iter().enumerate() {
                    resid_t.push(vec![
                        mm.clone(),
                        me.clone(),
                        s(&r.model.cell),
                        s(&r.model.source),
                        r.model.layers.into(),
                        r.model.accuracy.into(),
                        r.score.into(),
                        rf.fit.fitted[i].into(),
                        rf.fit.residuals[i].into(),
                    ])?;
                }
                let res_frame = frame
                    .clone()
                    .with_numeric("residual", rf.fit.residuals.clone());
                let src = ols::ols(
                    &format!("residual ~ C(pretrain, Treatment('{reference}'))"),
                    &res_frame,
                );
                let sf = src.as_ref().ok().map(|f| &f.fit);
                rtest_t.push(vec![
                    mm.clone(),
                    me.clone(),
                    s("source_anova"),
                    rows.len().into(),
                    sf.map_or(nan, |f| f.fvalue).into(),
                    sf.map_or(nan, |f| f.f_pvalue).into(),
                    note_of(&src),
                ])?;
                let (lr, ly): (Vec<f64>, Vec<f64>) = rows
                    .iter()
                    .zip(&rf.fit.residuals)
                    .filter(|(r, _)| r.model.source != reference)
                    .map(|(r, e)| (r.model.layers as f64, *e))
                    .unzip();
                let sp = corr::spearman(&lr, &ly);
                let spr = sp.as_ref().ok();
                rtest_t.push(vec![
                    mm.clone(),
                    me.clone(),
                    s("layers_spearman_pretrained"),
                    lr.len().into(),
                    spr.map_or(nan, |c| c.r).into(),
                    spr.map_or(nan, |c| c.p).into(),
                    note_of(&sp),
                ])?;
            }
            Err(e) => {
                rtest_t.push(vec![
                    mm.clone(),
                    me.clone(),
                    s("source_anova"),
                    rows.len().into(),
                    nan.into(),
                    nan.into(),
                    s(&e.to_string()),
                ])?;
            }
        }
        // 4. partial correlation of score and layers given accuracy, pretrained models
        let pre: Vec<&&ModelScore> = rows
            .iter()
            .filter(|r| r.model.source != reference)
            .collect();
        let pc = corr::partial_correlation(
            &pre.iter().map(|r| r.score).collect::<Vec<_>>(),
            &pre.iter()
                .map(|r| r.model.layers as f64)
                .collect::<Vec<_>>(),
            &pre.iter().map(|r| r.model.accuracy).collect::<Vec<_>>(),
        );
        let pcr = pc.as_ref().ok();
        pc_t.push(vec![
            mm.clone(),
            me.clone(),
            s("pretrained"),
            pre.len().into(),
            pcr.map_or(Value::Null, |c| c.df.into()),
            pcr.map_or(nan, |c| c.r).into(),
            pcr.map_or(nan, |c| c.t).into(),
            pcr.map_or(nan, |c| c.p).into(),
            note_of(&pc),
        ])?;
        // 5. matched-accuracy bins
        let nb = ctx.opts.bins.max(1).min(rows.len().max(1));
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&a, &b| acc[a].total_cmp(&acc[b]));
        let mut bin_of = vec![0usize; rows.len()];
        for (rank, &i) in order.iter().enumerate() {
            bin_of[i] = rank * nb / rows.len().max(1);
        }
        for b in 0..nb {
            let members: Vec<usize> = (0..rows.len()).filter(|&i| bin_of[i] == b).collect();
            let lo = members
                .iter()
                .map(|&i| acc[i])
                .fold(f64::INFINITY, f64::min);
            let hi = members
                .iter()
                .map(|&i| acc[i])
                .fold(f64::NEG_INFINITY, f64::max);
            let srcs: BTreeSet<&str> = members
                .iter()
                .map(|&i| rows[i].model.source.as_str())
                .collect();
            for src in srcs {
                let x: Vec<f64> = members
                    .iter()
                    .filter(|&&i| rows[i].model.source == src)
                    .map(|&i| sc[i])
                    .collect();
                bins_t.push(vec![
                    mm.clone(),
                    me.clone(),
                    (b as i64).into(),
                    lo.into(),
                    hi.into(),
                    s(src),
                    x.len().into(),
                    describe::mean(&x).into(),
                ])?;
            }
        }
        let mut bframe = frame.clone();
        bframe.set(
            "accuracy_bin",
            Column::Numeric(bin_of.iter().map(|&b| b as f64).collect()),
        );
        let mt = ols::ols(
            &format!("score ~ C(accuracy_bin) + C(pretrain, Treatment('{reference}'))"),
            &bframe,
        )
        .and_then(|ff| {
            let a = ols::anova_type2(&ff)?;
            a.into_iter()
                .find(|r| r.term.starts_with("C(pretrain"))
                .ok_or_else(|| Error::invalid("no source term in the binned model"))
        });
        let mtr = mt.as_ref().ok();
        mtest_t.push(vec![
            mm.clone(),
            me.clone(),
            (nb as i64).into(),
            rows.len().into(),
            mtr.map_or(nan, |r| r.f).into(),
            mtr.map_or(nan, |r| r.df).into(),
            mtr.map_or(nan, |r| r.p).into(),
            note_of(&mt),
        ])?;
    }
    Ok(vec![
        (
            "correlation".to_string(),
            add_adjusted(&corr_t, "p", &["metric", "test"], alpha)?,
        ),
        ("ols_fit".to_string(), fit_t),
        ("ols_coefficients".to_string(), coef_t),
        (
            "anova".to_string(),
            add_adjusted(&anova_t, "p", &["metric", "term"], alpha)?,
        ),
        ("residuals".to_string(), resid_t),
        (
            "residual_tests".to_string(),
            add_adjusted(&rtest_t, "p", &["metric", "test"], alpha)?,
        ),
        (
            "partial_correlation".to_string(),
            add_adjusted(&pc_t, "p", &["metric"], alpha)?,
        ),
        ("matched_bins".to_string(), bins_t),
        (
            "matched_tests".to_string(),
            add_adjusted(&mtest_t, "p", &["metric"], alpha)?,
        ),
    ])
}

/// Friedman across methods, mean ranks, and pairwise Wilcoxon with Holm/BH, per metric and
/// unit (`model`: blocks are cells' model-level scores; `sample`: blocks are
/// (cell, sample) pairs of the subset).
fn method_comparisons(ctx: &Ctx, scores: &Scores) -> Result<(Table, Table, Table)> {
    let mut fr_t = t(&[
        ("metric", Kind::Str),
        ("unit", Kind::Str),
        ("k", Kind::I64),
        ("n_blocks", Kind::I64),
        ("statistic", Kind::F64),
        ("p", Kind::F64),
        ("note", Kind::Str),
    ]);
    let mut rank_t = t(&[
        ("metric", Kind::Str),
        ("unit", Kind::Str),
        ("method", Kind::Str),
        ("n_blocks", Kind::I64),
        ("mean_rank", Kind::F64),
        ("mean_score", Kind::F64),
        ("median_score", Kind::F64),
    ]);
    let mut wx_t = t(&[
        ("metric", Kind::Str),
        ("unit", Kind::Str),
        ("method_a", Kind::Str),
        ("method_b", Kind::Str),
        ("n", Kind::I64),
        ("n_zero", Kind::I64),
        ("r_plus", Kind::F64),
        ("r_minus", Kind::F64),
        ("statistic", Kind::F64),
        ("p", Kind::F64),
        ("p_method", Kind::Str),
        ("p_approx", Kind::F64),
        ("z_approx", Kind::F64),
        ("rank_biserial", Kind::F64),
        ("note", Kind::Str),
    ]);
    let nan = f64::NAN;
    for metric in &ctx.metrics {
        for unit in ["model", "sample"] {
            // block key → method → value
            let mut blocks: BTreeMap<(String, i64), BTreeMap<&str, f64>> = BTreeMap::new();
            for method in &ctx.methods {
                let key = (method.clone(), metric.clone());
                if unit == "model" {
                    for ms in scores.get(&key).into_iter().flatten() {
                        blocks
                            .entry((ms.model.cell.clone(), -1))
                            .or_default()
                            .insert(method, ms.score);
                    }
                } else {
                    for (cell, vals) in ctx.values.get(&key).into_iter().flatten() {
                        for v in vals.iter().filter(|v| ctx.opts.subset.keeps(v.2, v.3)) {
                            blocks
                                .entry((cell.clone(), v.0))
                                .or_default()
                                .insert(method, v.1);
                        }
                    }
                }
            }
            let complete: Vec<&BTreeMap<&str, f64>> = blocks
                .values()
                .filter(|b| b.len() == ctx.methods.len() && b.values().all(|v| v.is_finite()))
                .collect();
            let groups: Vec<Vec<f64>> = ctx
                .methods
                .iter()
                .map(|m| complete.iter().map(|b| b[m.as_str()]).collect())
                .collect();
            // orient so that larger = better for ranks
            let sign = if higher_is_better(metric) { 1.0 } else { -1.0 };
            let oriented: Vec<Vec<f64>> = groups
                .iter()
                .map(|g| g.iter().map(|v| v * sign).collect())
                .collect();
            let fr = nonparam::friedman(&oriented);
            let fref = fr.as_ref().ok();
            fr_t.push(vec![
                s(metric),
                s(unit),
                ctx.methods.len().into(),
                complete.len().into(),
                fref.map_or(nan, |f| f.statistic).into(),
                fref.map_or(nan, |f| f.pvalue).into(),
                note_of(&fr),
            ])?;
            for (j, m) in ctx.methods.iter().enumerate() {
                rank_t.push(vec![
                    s(metric),
                    s(unit),
                    s(m),
                    complete.len().into(),
                    fref.map_or(nan, |f| f.mean_ranks[j]).into(),
                    describe::mean(&groups[j]).into(),
                    describe::median(&groups[j]).into(),
                ])?;
            }
            for a in 0..ctx.methods.len() {
                for b in a + 1..ctx.methods.len() {
                    let w =
                        nonparam::wilcoxon(&groups[a], &groups[b], nonparam::WilcoxonMethod::Auto);
                    let wa = nonparam::wilcoxon(
                        &groups[a],
                        &groups[b],
                        nonparam::WilcoxonMethod::Approx,
                    );
                    let wr = w.as_ref().ok();
                    let war = wa.as_ref().ok();
                    wx_t.push(vec![
                        s(metric),
                        s(unit),
                        s(&ctx.methods[a]),
                        s(&ctx.methods[b]),
                        complete.len().into(),
                        wr.map_or(Value::Null, |w| w.n_zero.into()),
                        wr.map_or(nan, |w| w.r_plus).into(),
                        wr.map_or(nan, |w| w.r_minus).into(),
                        wr.map_or(nan, |w| w.statistic).into(),
                        wr.map_or(nan, |w| w.pvalue).into(),
                        wr.map_or(Value::Null, |w| s(w.method)),
                        war.map_or(nan, |w| w.pvalue).into(),
                        war.map_or(nan, |w| w.z).into(),
                        wr.map_or(nan, |w| w.rank_biserial).into(),
                        note_of(&w),
                    ])?;
                }
            }
        }
    }
    let wx = add_adjusted(&wx_t, "p", &["metric", "unit"], ctx.opts.alpha)?;
    Ok((fr_t, rank_t, wx))
}

/// A p-value as text: four decimals, scientific notation with one decimal below 10⁻⁴, and
/// `nan_text` for NaN.
pub fn format_p(p: f64, nan_text: &str) -> String {
    if p.is_nan() {
        nan_text.to_string()
    } else if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

fn fmt_p(p: f64) -> String {
    format_p(p, "n/a")
}

/// The primary metric of the findings.
pub fn primary_metric(metrics: &[String], requested: Option<&str>) -> Option<String> {
    if let Some(r) = requested.filter(|r| metrics.iter().any(|m| m == r)) {
        return Some(r.to_string());
    }
    if metrics.iter().any(|m| m == "emd_score") {
        return Some("emd_score".to_string());
    }
    metrics.first().cloned()
}

fn rows_where(tb: &Table, conds: &[(&str, &str)]) -> Vec<usize> {
    (0..tb.len())
        .filter(|&i| conds.iter().all(|(c, v)| tb.get(i, c).text() == *v))
        .collect()
}

fn findings_table(ctx: &Ctx, tables: &[(String, Table)]) -> Result<Table> {
    let get = |stem: &str| tables.iter().find(|(s, _)| s == stem).map(|(_, t)| t);
    let mut tb = t(&[
        ("finding", Kind::I64),
        ("claim", Kind::Str),
        ("test", Kind::Str),
        ("metric", Kind::Str),
        ("p", Kind::F64),
        ("alpha", Kind::F64),
        ("verdict", Kind::Str),
        ("detail", Kind::Str),
    ]);
    let alpha = ctx.opts.alpha;
    let Some(metric) = primary_metric(&ctx.metrics, ctx.opts.primary_metric.as_deref()) else {
        return Ok(tb);
    };
    let verdict = |p: f64| {
        if p.is_nan() {
            "not testable"
        } else if p < alpha {
            "supported"
        } else {
            "not supported"
        }
    };
    // helper: per-method rows of a table with Holm p; returns (min holm p, detail text)
    let per_method = |tbl: &Table, conds: &[(&str, &str)], stat: &str, stat_name: &str| {
        let idx = rows_where(tbl, conds);
        let mut best = f64::NAN;
        let mut parts = Vec::new();
        let mut sig = 0;
        for &i in &idx {
            let ph = tbl.get(i, "p_holm").f64();
            if !ph.is_nan() {
                best = if best.is_nan() { ph } else { best.min(ph) };
                if ph < alpha {
                    sig += 1;
                }
            }
            parts.push(format!(
                "{}: {stat_name} = {:.3}, p = {}, Holm p = {}",
                tbl.get(i, "method").text(),
                tbl.get(i, stat).f64(),
                fmt_p(tbl.get(i, "p").f64()),
                fmt_p(ph)
            ));
        }
        let head = format!(
            "{sig} of {} methods significant after Holm at α = {alpha}",
            idx.len()
        );
        (best, format!("{head}. {}", parts.join("; ")))
    };
    let claims = [
        "Explanation performance correlates with classification performance",
        "The pre-training source affects explanation performance after correcting for accuracy",
        "The number of pre-trained layers affects explanation performance after correcting for accuracy",
        "Explanation methods differ",
    ];
    // (1)
    let (p1, d1) = match get("correlation") {
        Some(c) => per_method(c, &[("metric", &metric), ("test", "pearson")], "r", "r"),
        None => (f64::NAN, String::new()),
    };
    tb.push(vec![
        1i64.into(),
        s(claims[0]),
        s("Pearson r of model-level score vs accuracy across models, Holm over methods (min adjusted p)"),
        s(&metric),
        p1.into(),
        alpha.into(),
        s(verdict(p1)),
        s(&d1),
    ])?;
    // (2), (3) from type-II ANOVA
    for (k, prefix, label) in [
        (2i64, "C(pretrain", "source"),
        (3, "pretrained_layers", "layers"),
    ] {
        let (p, d) = match get("anova") {
            Some(a) => {
                let term = (0..a.len())
                    .map(|i| a.get(i, "term").text())
                    .find(|tn| tn.starts_with(prefix) && !tn.contains(':'));
                match term {
                    Some(tn) => per_method(a, &[("metric", &metric), ("term", &tn)], "F", "F"),
                    None => (f64::NAN, format!("no {label} term could be fitted")),
                }
            }
            None => (f64::NAN, String::new()),
        };
        let mut detail = d;
        if k == 3
            && let Some(pc) = get("partial_correlation")
        {
            let idx = rows_where(pc, &[("metric", &metric)]);
            let txt: Vec<String> = idx
                .iter()
                .map(|&i| {
                    format!(
                        "{}: partial r = {:.3} (p = {})",
                        pc.get(i, "method").text(),
                        pc.get(i, "r").f64(),
                        fmt_p(pc.get(i, "p").f64())
                    )
                })
                .collect();
            detail.push_str(&format!(
                    " Partial correlation of score and layers given accuracy (pre-trained models, df = n − 3): {}.",
                    txt.join("; ")
                ));
        }
        tb.push(vec![
            k.into(),
            s(claims[(k - 1) as usize]),
            s(&format!(
                "Type-II ANOVA F of the {label} term in the OLS model with accuracy, Holm over methods (min adjusted p)"
            )),
            s(&metric),
            p.into(),
            alpha.into(),
            s(verdict(p)),
            s(&detail),
        ])?;
    }
    // (4)
    let (mut p4, mut d4) = (f64::NAN, String::new());
    if let (Some(fr), Some(rk), Some(wx)) = (get("friedman"), get("method_ranks"), get("wilcoxon"))
        && let Some(&i) = rows_where(fr, &[("metric", &metric), ("unit", "model")]).first()
    {
        {
            p4 = fr.get(i, "p").f64();
            let mut ranked: Vec<(String, f64, f64)> =
                rows_where(rk, &[("metric", &metric), ("unit", "model")])
                    .into_iter()
                    .map(|j| {
                        (
                            rk.get(j, "method").text(),
                            rk.get(j, "mean_rank").f64(),
                            rk.get(j, "mean_score").f64(),
                        )
                    })
                    .collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
            if let Some(top) = ranked.first().filter(|t| !t.1.is_nan()) {
                let mut best = vec![top.0.clone()];
                for other in ranked.iter().skip(1) {
                    let pair = rows_where(wx, &[("metric", &metric), ("unit", "model")])
                        .into_iter()
                        .find(|&j| {
                            let (a, b) =
                                (wx.get(j, "method_a").text(), wx.get(j, "method_b").text());
                            (a == top.0 && b == other.0) || (a == other.0 && b == top.0)
                        });
                    let ph = pair.map_or(f64::NAN, |j| wx.get(j, "p_holm").f64());
                    if ph.is_nan() || ph >= alpha {
                        best.push(other.0.clone());
                    }
                }
                let order: Vec<String> = ranked
                    .iter()
                    .map(|(m, r, sc)| format!("{m} (mean rank {r:.2}, mean score {sc:.3})"))
                    .collect();
                d4 = format!(
                    "Friedman χ² = {:.3} over {} models (p = {}). Best method(s), not separable from the top by Holm-corrected Wilcoxon: {}. Ranking: {}.",
                    fr.get(i, "statistic").f64(),
                    fr.get(i, "n_blocks").text(),
                    fmt_p(p4),
                    best.join(", "),
                    order.join(", ")
                );
            } else {
                d4 = fr.get(i, "note").text();
            }
        }
    }
    tb.push(vec![
        4i64.into(),
        s(claims[3]),
        s("Friedman test across methods (blocks = models), then pairwise Wilcoxon with Holm"),
        s(&metric),
        p4.into(),
        alpha.into(),
        s(verdict(p4)),
        s(&d4),
    ])?;
    Ok(tb)
}
