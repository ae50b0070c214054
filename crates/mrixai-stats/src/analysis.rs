//! The full analysis of a long-format score table: per-cell summaries, model-level scores,
//! accuracy–explanation correlation, OLS correction for accuracy with type-II ANOVA,
//! residualised scores and their tests, partial correlation, matched-accuracy bins,
//! Friedman + pairwise Wilcoxon method comparisons, and the four findings of the seed
//! study, each as a [`Table`]. Every test that cannot run (too few models, a single
//! factor level, …) leaves a row with NaN values and the reason in its `note` column.

use crate::{
    compare, corr, describe, effects,
    formula::{Column, Frame},
    multitest, nonparam, ols,
    table::{Kind, Record, Table, Value},
};
use mrixai_core::progress::{Progress, Silent};
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

impl std::str::FromStr for Subset {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "correct" => Ok(Subset::Correct),
            "correct_all" => Ok(Subset::CorrectAll),
            other => Err(Error::invalid(format!(
                "subset must be `correct_all` or `correct`, got `{other}`"
            ))),
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
    /// Permutations of the Freedman–Lane tests of findings 2–3.
    pub n_perm: usize,
    /// Models with a lower test accuracy are at chance and left out (with a note).
    pub min_accuracy: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            formula: None,
            reference: "scratch".to_string(),
            subset: Subset::Correct,
            n_boot: 1000,
            seed: 0,
            level: 0.95,
            alpha: 0.05,
            bins: 3,
            primary_metric: None,
            n_perm: 999,
            min_accuracy: 0.6,
        }
    }
}

impl Options {
    /// Checks the ranges of the levels (`alpha`, `min_accuracy`); a field error names the
    /// option as in the library (`min_accuracy`).
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.min_accuracy) {
            return Err(Error::invalid(format!(
                "min_accuracy must be in [0, 1], got {}",
                self.min_accuracy
            )));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::invalid(format!(
                "alpha must be in (0, 1), got {}",
                self.alpha
            )));
        }
        Ok(())
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
pub const TABLE_STEMS: [&str; 19] = [
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
    "method_pairs",
    "effects",
    "findings",
    "notes",
];

/// The files [`Tables::write`] writes (every stem as `.csv` and `.parquet`): what a stats
/// folder may hold for `--force` to replace it.
pub const TABLE_FILES: &[&str] = &[
    "models.csv",
    "models.parquet",
    "summary.csv",
    "summary.parquet",
    "model_scores.csv",
    "model_scores.parquet",
    "correlation.csv",
    "correlation.parquet",
    "ols_fit.csv",
    "ols_fit.parquet",
    "ols_coefficients.csv",
    "ols_coefficients.parquet",
    "anova.csv",
    "anova.parquet",
    "residuals.csv",
    "residuals.parquet",
    "residual_tests.csv",
    "residual_tests.parquet",
    "partial_correlation.csv",
    "partial_correlation.parquet",
    "matched_bins.csv",
    "matched_bins.parquet",
    "matched_tests.csv",
    "matched_tests.parquet",
    "friedman.csv",
    "friedman.parquet",
    "method_ranks.csv",
    "method_ranks.parquet",
    "wilcoxon.csv",
    "wilcoxon.parquet",
    "method_pairs.csv",
    "method_pairs.parquet",
    "effects.csv",
    "effects.parquet",
    "findings.csv",
    "findings.parquet",
    "notes.csv",
    "notes.parquet",
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
        // accuracy compared bit for bit: an unknown (NaN) accuracy equals itself
        let same = |a: &Model, b: &Model| {
            a.accuracy.to_bits() == b.accuracy.to_bits()
                && (
                    a.cell.as_str(),
                    a.source.as_str(),
                    a.layers,
                    a.frozen,
                    a.seed,
                ) == (
                    b.cell.as_str(),
                    b.source.as_str(),
                    b.layers,
                    b.frozen,
                    b.seed,
                )
        };
        match out.get(&r.cell) {
            Some(old) if !same(old, &m) => {
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
    analyze_with(records, opts, &Silent)
}

/// [`analyze`], reporting its progress (one step per method and metric) to `progress`.
pub fn analyze_with(records: &[Record], opts: &Options, progress: &dyn Progress) -> Result<Tables> {
    if records.is_empty() {
        return Err(Error::invalid("score table has no rows"));
    }
    validate_requests(records, opts)?;
    let mut notes = Vec::new();
    let mut models = models(records)?;
    let kept = above_chance(records, &mut models, opts.min_accuracy, &mut notes)?;
    let records = kept.as_slice();
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
    note_small_subsets(records, opts.subset, &mut notes);
    let sources: BTreeSet<&str> = models.values().map(|m| m.source.as_str()).collect();
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
    progress.start("stats", (ctx.methods.len() * ctx.metrics.len()) as u64);
    let models_t = models_table(&ctx)?;
    let summary = summary_table(&ctx, progress)?;
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
    let pairs = method_pairs(&ctx);
    out.push((
        "method_pairs".to_string(),
        method_pairs_table(&pairs, ctx.opts.alpha)?,
    ));
    let effects = effects_list(&ctx);
    out.push(("effects".to_string(), effects_table(&effects)?));
    let findings = findings_table(&ctx, &pairs, &effects)?;
    out.push(("findings".to_string(), findings));
    let mut notes_t = t(&[("note", Kind::Str)]);
    for n in &notes {
        notes_t.push(vec![s(n)])?;
    }
    out.push(("notes".to_string(), notes_t));
    progress.finish();
    debug_assert_eq!(
        out.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        TABLE_STEMS
    );
    Ok(Tables { tables: out })
}

/// Samples below which a model's subset is flagged as too small.
pub const MIN_SAMPLES: usize = 10;

/// The records of the models that learnt something: a model whose test accuracy is below
/// `min_accuracy` answers near chance, so which samples it "classified correctly" is luck and
/// its explanations say nothing about a trained model; it is left out of every analysis and
/// named in the notes (and dropped from `models`). Models of unknown accuracy (NaN) are kept.
fn above_chance(
    records: &[Record],
    models: &mut BTreeMap<String, Model>,
    min_accuracy: f64,
    notes: &mut Vec<String>,
) -> Result<Vec<Record>> {
    let out: BTreeMap<String, f64> = models
        .values()
        .filter(|m| m.accuracy < min_accuracy)
        .map(|m| (m.cell.clone(), m.accuracy))
        .collect();
    if out.len() == models.len() {
        return Err(Error::invalid(format!(
            "every model has a test accuracy below {min_accuracy} (at chance): nothing to analyse"
        )));
    }
    if !out.is_empty() {
        let list: Vec<String> = out.iter().map(|(c, a)| format!("{c} ({a:.3})")).collect();
        notes.push(format!(
            "{} model(s) below the accuracy floor {min_accuracy} left out of every analysis: {}",
            out.len(),
            list.join(", ")
        ));
    }
    models.retain(|c, _| !out.contains_key(c));
    Ok(records
        .iter()
        .filter(|r| !out.contains_key(&r.cell))
        .cloned()
        .collect())
}

/// Notes every model whose subset keeps fewer than [`MIN_SAMPLES`] samples.
fn note_small_subsets(records: &[Record], subset: Subset, notes: &mut Vec<String>) {
    let Some(first) = records.first() else {
        return;
    };
    let mut n: BTreeMap<&str, usize> = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| r.method == first.method && r.metric == first.metric)
    {
        *n.entry(&r.cell).or_default() += usize::from(subset.keeps(r.correct, r.correct_all));
    }
    let small: Vec<String> = n
        .iter()
        .filter(|(_, k)| **k < MIN_SAMPLES)
        .map(|(c, k)| format!("{c} ({k})"))
        .collect();
    if !small.is_empty() {
        notes.push(format!(
            "subset `{}` leaves fewer than {MIN_SAMPLES} samples for {} model(s): {}; their estimates rest on few images (consider `correct`)",
            subset.name(),
            small.len(),
            small.join(", ")
        ));
    }
}

/// Variables a model-level formula may use.
pub const FORMULA_VARIABLES: [&str; 7] = [
    "score",
    "accuracy",
    "pretrain",
    "source",
    "pretrained_layers",
    "frozen",
    "seed",
];

/// Rejects a requested primary metric the table lacks and a formula that does not parse or
/// names an unknown variable, before any work.
fn validate_requests(records: &[Record], opts: &Options) -> Result<()> {
    if let Some(m) = &opts.primary_metric {
        let known: BTreeSet<&str> = records.iter().map(|r| r.metric.as_str()).collect();
        if !known.contains(m.as_str()) {
            return Err(Error::config(
                "primary_metric",
                format!(
                    "`{m}` is not a metric of the score table (it has: {})",
                    known.into_iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    if let Some(f) = &opts.formula {
        let parsed =
            crate::formula::parse(f).map_err(|e| Error::config("formula", e.to_string()))?;
        for v in parsed.variables() {
            if !FORMULA_VARIABLES.contains(&v.as_str()) {
                return Err(Error::config(
                    "formula",
                    format!(
                        "unknown variable `{v}` in `{f}` (known: {})",
                        FORMULA_VARIABLES.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Reads `scores` (Parquet or CSV), analyses it and writes the tables into `out_dir`.
pub fn run(
    scores: &Path,
    out_dir: &Path,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Tables> {
    let records = crate::table::read_records(scores)?;
    let tables = analyze_with(&records, opts, progress)?;
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

fn summary_table(ctx: &Ctx, progress: &dyn Progress) -> Result<Table> {
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
        progress.advance(1, &format!("{method}/{metric}"));
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

/// The tables [`across_models`] builds, filled one (method, metric) group at a time.
struct AcrossModels {
    corr_t: Table,
    fit_t: Table,
    coef_t: Table,
    anova_t: Table,
    resid_t: Table,
    rtest_t: Table,
    pc_t: Table,
    bins_t: Table,
    mtest_t: Table,
}

/// One (method, metric) group of model-level scores, with what every analysis of it needs.
struct Group<'a> {
    method: &'a str,
    metric: &'a str,
    mm: Value,
    me: Value,
    rows: Vec<&'a ModelScore<'a>>,
    acc: Vec<f64>,
    sc: Vec<f64>,
    frame: Frame,
    reference: String,
}

impl AcrossModels {
    fn new() -> Self {
        let corr_t = t(&[
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
        let fit_t = t(&[
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
        let coef_t = t(&[
            ("method", Kind::Str),
            ("metric", Kind::Str),
            ("formula", Kind::Str),
            ("term", Kind::Str),
            ("coef", Kind::F64),
            ("se", Kind::F64),
            ("t", Kind::F64),
            ("p", Kind::F64),
        ]);
        let anova_t = t(&[
            ("method", Kind::Str),
            ("metric", Kind::Str),
            ("formula", Kind::Str),
            ("term", Kind::Str),
            ("sum_sq", Kind::F64),
            ("df", Kind::F64),
            ("F", Kind::F64),
            ("p", Kind::F64),
        ]);
        let resid_t = t(&[
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
        let rtest_t = t(&[
            ("method", Kind::Str),
            ("metric", Kind::Str),
            ("test", Kind::Str),
            ("n", Kind::I64),
            ("statistic", Kind::F64),
            ("p", Kind::F64),
            ("note", Kind::Str),
        ]);
        let pc_t = t(&[
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
        let bins_t = t(&[
            ("method", Kind::Str),
            ("metric", Kind::Str),
            ("bin", Kind::I64),
            ("accuracy_low", Kind::F64),
            ("accuracy_high", Kind::F64),
            ("source", Kind::Str),
            ("n", Kind::I64),
            ("mean_score", Kind::F64),
        ]);
        let mtest_t = t(&[
            ("method", Kind::Str),
            ("metric", Kind::Str),
            ("bins", Kind::I64),
            ("n", Kind::I64),
            ("F", Kind::F64),
            ("df", Kind::F64),
            ("p", Kind::F64),
            ("note", Kind::Str),
        ]);
        Self {
            corr_t,
            fit_t,
            coef_t,
            anova_t,
            resid_t,
            rtest_t,
            pc_t,
            bins_t,
            mtest_t,
        }
    }

    /// Pearson and Spearman correlation of score and accuracy across models.
    fn correlation(&mut self, g: &Group) -> Result<()> {
        let Group {
            mm,
            me,
            rows,
            acc,
            sc,
            ..
        } = g;
        let nan = f64::NAN;
        // 1. correlation
        for (name, res) in [
            ("pearson", corr::pearson(acc, sc)),
            ("spearman", corr::spearman(acc, sc)),
        ] {
            let c = res.as_ref().ok();
            self.corr_t.push(vec![
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
        Ok(())
    }

    /// The OLS correction for accuracy: fit, coefficients and type-II ANOVA.
    fn ols_correction(&mut self, g: &Group, ctx: &Ctx, notes: &mut Vec<String>) -> Result<()> {
        let Group {
            method,
            metric,
            mm,
            me,
            rows,
            frame,
            ..
        } = g;
        let nan = f64::NAN;
        // 2. OLS correction for accuracy
        let (fit, fallbacks) = fit_chain(ctx, frame);
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
                self.fit_t.push(vec![
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
                    self.coef_t.push(vec![
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
                            self.anova_t.push(vec![
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
                self.fit_t.push(vec![
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
        Ok(())
    }

    /// Scores residualised on accuracy, and the effect tests on them.
    fn residual_tests(&mut self, g: &Group) -> Result<()> {
        let Group {
            mm,
            me,
            rows,
            frame,
            reference,
            ..
        } = g;
        let nan = f64::NAN;
        // 3. residualised scores (score ~ accuracy) and effect tests on them
        let red = ols::ols("score ~ accuracy", frame);
        match &red {
            Ok(rf) => {
                for (i, r) in rows.iter().enumerate() {
                    self.resid_t.push(vec![
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
                self.rtest_t.push(vec![
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
                    .filter(|(r, _)| r.model.source != *reference)
                    .map(|(r, e)| (r.model.layers as f64, *e))
                    .unzip();
                let sp = corr::spearman(&lr, &ly);
                let spr = sp.as_ref().ok();
                self.rtest_t.push(vec![
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
                self.rtest_t.push(vec![
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
        Ok(())
    }

    /// Partial correlation of score and layers given accuracy, pre-trained models.
    fn partial_correlation(&mut self, g: &Group) -> Result<()> {
        let Group {
            mm,
            me,
            rows,
            reference,
            ..
        } = g;
        let nan = f64::NAN;
        // 4. partial correlation of score and layers given accuracy, pretrained models
        let pre: Vec<&&ModelScore> = rows
            .iter()
            .filter(|r| r.model.source != *reference)
            .collect();
        let pc = corr::partial_correlation(
            &pre.iter().map(|r| r.score).collect::<Vec<_>>(),
            &pre.iter()
                .map(|r| r.model.layers as f64)
                .collect::<Vec<_>>(),
            &pre.iter().map(|r| r.model.accuracy).collect::<Vec<_>>(),
        );
        let pcr = pc.as_ref().ok();
        self.pc_t.push(vec![
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
        Ok(())
    }

    /// Sources compared within matched-accuracy bins.
    fn matched_bins(&mut self, g: &Group, ctx: &Ctx) -> Result<()> {
        let Group {
            mm,
            me,
            rows,
            acc,
            sc,
            frame,
            reference,
            ..
        } = g;
        let nan = f64::NAN;
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
                self.bins_t.push(vec![
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
        self.mtest_t.push(vec![
            mm.clone(),
            me.clone(),
            (nb as i64).into(),
            rows.len().into(),
            mtr.map_or(nan, |r| r.f).into(),
            mtr.map_or(nan, |r| r.df).into(),
            mtr.map_or(nan, |r| r.p).into(),
            note_of(&mt),
        ])?;
        Ok(())
    }

    /// The tables, p-values adjusted where the table has them.
    fn finish(self, alpha: f64) -> Result<Vec<(String, Table)>> {
        let AcrossModels {
            corr_t,
            fit_t,
            coef_t,
            anova_t,
            resid_t,
            rtest_t,
            pc_t,
            bins_t,
            mtest_t,
        } = self;
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
}

fn across_models(
    ctx: &Ctx,
    scores: &Scores,
    notes: &mut Vec<String>,
) -> Result<Vec<(String, Table)>> {
    let mut out = AcrossModels::new();
    // controls bracket the methods; they are not tested across models
    for ((method, metric), v) in scores.iter().filter(|(k, _)| !compare::is_control(&k.0)) {
        let rows: Vec<&ModelScore> = v.iter().filter(|r| r.score.is_finite()).collect();
        let g = Group {
            method,
            metric,
            mm: s(method),
            me: s(metric),
            acc: rows.iter().map(|r| r.model.accuracy).collect(),
            sc: rows.iter().map(|r| r.score).collect(),
            frame: frame_of(&rows),
            rows,
            reference: ctx.reference.clone(),
        };
        out.correlation(&g)?;
        out.ols_correction(&g, ctx, notes)?;
        out.residual_tests(&g)?;
        out.partial_correlation(&g)?;
        out.matched_bins(&g, ctx)?;
    }
    out.finish(ctx.opts.alpha)
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

/// Scores of `metric` by method and (model, sample), over the analysis subset.
fn sample_scores(ctx: &Ctx, metric: &str) -> compare::MethodScores {
    let mut out = compare::MethodScores::new();
    for ((method, m), cells) in &ctx.values {
        if m != metric {
            continue;
        }
        let by_key = out.entry(method.clone()).or_default();
        for (cell, vals) in cells {
            for v in vals.iter().filter(|v| ctx.opts.subset.keeps(v.2, v.3)) {
                by_key.insert((cell.clone(), v.0), v.1);
            }
        }
    }
    out
}

/// Sample-level pairwise method comparisons (see [`compare`]) of every metric.
fn method_pairs(ctx: &Ctx) -> Vec<(String, Vec<compare::PairComparison>)> {
    ctx.metrics
        .iter()
        .map(|metric| {
            let scores = sample_scores(ctx, metric);
            let pairs = compare::all_pairs(&scores, &ctx.methods, ctx.opts.level);
            (metric.clone(), pairs)
        })
        .collect()
}

/// The method comparisons as a table, Holm/BH within each metric and family.
fn method_pairs_table(
    pairs: &[(String, Vec<compare::PairComparison>)],
    alpha: f64,
) -> Result<Table> {
    let mut tb = t(&[
        ("metric", Kind::Str),
        ("family", Kind::Str),
        ("method_a", Kind::Str),
        ("method_b", Kind::Str),
        ("n_models", Kind::I64),
        ("n_samples", Kind::I64),
        ("estimate", Kind::F64),
        ("ci_low", Kind::F64),
        ("ci_high", Kind::F64),
        ("se", Kind::F64),
        ("df", Kind::F64),
        ("p", Kind::F64),
        ("effect_size", Kind::F64),
        ("test", Kind::Str),
    ]);
    for (metric, list) in pairs {
        for c in list {
            tb.push(vec![
                s(metric),
                s(c.family),
                s(&c.method_a),
                s(&c.method_b),
                c.n_models.into(),
                c.n_samples.into(),
                c.estimate.into(),
                c.ci_low.into(),
                c.ci_high.into(),
                c.se.into(),
                c.df.into(),
                c.p.into(),
                c.effect_size.into(),
                s(&c.test),
            ])?;
        }
    }
    add_adjusted(&tb, "p", &["metric", "family"], alpha)
}

/// The effects of findings 1–3 on the primary metric (see [`effects`]), pooled over the
/// real methods on the samples each model classified correctly.
fn effects_list(ctx: &Ctx) -> Vec<effects::Effect> {
    let Some(metric) = primary_metric(&ctx.metrics, ctx.opts.primary_metric.as_deref()) else {
        return Vec::new();
    };
    let models: BTreeMap<String, effects::ModelInfo> = ctx
        .models
        .iter()
        .map(|(k, m)| {
            let info = effects::ModelInfo {
                source: m.source.clone(),
                layers: m.layers as f64,
                frozen: m.frozen,
                accuracy: m.accuracy,
            };
            (k.clone(), info)
        })
        .collect();
    // (model, image) → values of the real methods
    let mut pooled: BTreeMap<(String, i64), Vec<f64>> = BTreeMap::new();
    for ((method, m), cells) in &ctx.values {
        if *m != metric || compare::is_control(method) {
            continue;
        }
        for (cell, vals) in cells {
            for v in vals.iter().filter(|v| v.2 && v.1.is_finite()) {
                pooled.entry((cell.clone(), v.0)).or_default().push(v.1);
            }
        }
    }
    let samples: Vec<effects::Sample> = pooled
        .into_iter()
        .map(|((model, image), v)| effects::Sample {
            model,
            image,
            score: describe::mean(&v),
        })
        .collect();
    let model_means = effects::model_means(&samples);
    let alpha = ctx.opts.alpha;
    let mut out = vec![effects::accuracy_correlation(
        &model_means,
        &models,
        samples.len(),
        alpha,
    )];
    let mut pre = effects::pretraining_effects(&samples, &models, &ctx.reference, alpha);
    effects::add_permutation_p(
        &mut pre,
        &samples,
        &models,
        &ctx.reference,
        ctx.opts.n_perm,
        ctx.opts.seed,
    );
    out.extend(pre);
    out
}

fn effects_table(list: &[effects::Effect]) -> Result<Table> {
    let mut tb = t(&[
        ("finding", Kind::I64),
        ("effect", Kind::Str),
        ("estimate", Kind::F64),
        ("ci_low", Kind::F64),
        ("ci_high", Kind::F64),
        ("df", Kind::F64),
        ("p", Kind::F64),
        ("mde", Kind::F64),
        ("n_models", Kind::I64),
        ("n_samples", Kind::I64),
        ("test", Kind::Str),
        ("p_permutation", Kind::F64),
    ]);
    for e in list {
        tb.push(vec![
            e.finding.into(),
            s(&e.effect),
            e.estimate.into(),
            e.ci_low.into(),
            e.ci_high.into(),
            e.df.into(),
            e.p.into(),
            e.mde.into(),
            e.n_models.into(),
            e.n_samples.into(),
            s(&e.test),
            e.p_permutation.into(),
        ])?;
    }
    Ok(tb)
}

const CLAIMS: [&str; 4] = [
    "Explanation performance correlates with classification performance",
    "The pre-training source affects explanation performance after correcting for accuracy",
    "The number of pre-trained layers affects explanation performance after correcting for accuracy",
    "Explanation methods differ",
];

/// Columns of the findings table.
const FINDING_COLUMNS: [(&str, Kind); 15] = [
    ("finding", Kind::I64),
    ("claim", Kind::Str),
    ("effect", Kind::Str),
    ("estimate", Kind::F64),
    ("ci_low", Kind::F64),
    ("ci_high", Kind::F64),
    ("mde", Kind::F64),
    ("n_models", Kind::I64),
    ("n_samples", Kind::I64),
    ("test", Kind::Str),
    ("metric", Kind::Str),
    ("p", Kind::F64),
    ("alpha", Kind::F64),
    ("verdict", Kind::Str),
    ("detail", Kind::Str),
];

fn verdict_of(p: f64, alpha: f64) -> &'static str {
    if p.is_nan() {
        "not testable"
    } else if p < alpha {
        "supported"
    } else {
        "not supported"
    }
}

/// What a verdict means for this design.
fn reading(e: &effects::Effect, alpha: f64) -> String {
    if e.test.starts_with("not testable") {
        return e.test.clone();
    }
    let perm = if e.p_permutation.is_nan() {
        String::new()
    } else {
        format!(
            "; Freedman–Lane permutation p on the model-level scores = {}",
            format_p(e.p_permutation, "n/a")
        )
    };
    let ci = format!(
        "{} = {:.4} (95 % CI {:.4} to {:.4}; {} models, {} samples{perm})",
        e.effect, e.estimate, e.ci_low, e.ci_high, e.n_models, e.n_samples
    );
    if e.p < alpha {
        format!("{ci}.")
    } else {
        format!(
            "{ci}. No effect detected: an effect of ±{:.4} or larger would have been detected with 80 % power, so a larger one is unlikely; a smaller one cannot be ruled out.",
            e.mde
        )
    }
}

fn findings_table(
    ctx: &Ctx,
    pairs: &[(String, Vec<compare::PairComparison>)],
    effects: &[effects::Effect],
) -> Result<Table> {
    let mut tb = t(&FINDING_COLUMNS);
    let alpha = ctx.opts.alpha;
    let Some(metric) = primary_metric(&ctx.metrics, ctx.opts.primary_metric.as_deref()) else {
        return Ok(tb);
    };
    for e in effects {
        let claim = CLAIMS[(e.finding - 1) as usize];
        tb.push(vec![
            e.finding.into(),
            s(claim),
            s(&e.effect),
            e.estimate.into(),
            e.ci_low.into(),
            e.ci_high.into(),
            e.mde.into(),
            e.n_models.into(),
            e.n_samples.into(),
            s(&e.test),
            s(&metric),
            e.p.into(),
            alpha.into(),
            s(verdict_of(e.p, alpha)),
            s(&reading(e, alpha)),
        ])?;
    }
    let primary = pairs
        .iter()
        .find(|(m, _)| *m == metric)
        .map_or(&[][..], |(_, list)| list.as_slice());
    tb.push(method_finding(ctx, primary, &metric)?)?;
    Ok(tb)
}

/// Finding 4 from the sample-level pairwise comparisons of the real methods: the global
/// test is the smallest Holm-adjusted p (valid for the family's global null); the effect is
/// the difference between the best and the worst real method.
fn method_finding(
    ctx: &Ctx,
    pairs: &[compare::PairComparison],
    metric: &str,
) -> Result<Vec<Value>> {
    let alpha = ctx.opts.alpha;
    let nan = f64::NAN;
    let sign = if higher_is_better(metric) { 1.0 } else { -1.0 };
    let means: BTreeMap<String, f64> = sample_scores(ctx, metric)
        .iter()
        .map(|(m, v)| {
            let finite: Vec<f64> = v.values().copied().filter(|x| x.is_finite()).collect();
            (m.clone(), describe::mean(&finite))
        })
        .collect();
    // the family of real methods, adjusted as in the `method_pairs` table
    let rows: Vec<compare::PairComparison> = pairs
        .iter()
        .filter(|p| p.family == "methods")
        .cloned()
        .collect();
    let mut p4 = nan;
    let mut spread = None;
    let detail = if rows.is_empty() {
        "not testable: fewer than two real methods".to_string()
    } else {
        let holm = holm_column(&rows.iter().map(|r| r.p).collect::<Vec<_>>(), alpha);
        p4 = holm
            .iter()
            .copied()
            .filter(|p| !p.is_nan())
            .fold(nan, f64::min);
        spread = best_minus_worst(&rows, &means, sign);
        let best = compare::best_set(&rows, &holm, &means, sign, alpha);
        format!(
            "{} of {} pairs of real methods differ after Holm at α = {alpha}. Best set (not separable from the top): {}. {}",
            holm.iter().filter(|p| **p < alpha).count(),
            rows.len(),
            best.join(", "),
            bracket_text(&means)
        )
    };
    let effect = spread.as_ref().map_or(String::new(), |r| {
        format!("{} − {}", r.method_a, r.method_b)
    });
    let num = |f: fn(&compare::PairComparison) -> f64| spread.as_ref().map_or(nan, f);
    let mde = spread
        .as_ref()
        .map_or(nan, |r| effects::mde_t(r.se, r.df, alpha));
    Ok(vec![
        4i64.into(),
        s(CLAIMS[3]),
        s(&effect),
        num(|r| r.estimate).into(),
        num(|r| r.ci_low).into(),
        num(|r| r.ci_high).into(),
        mde.into(),
        spread.as_ref().map_or(0, |r| r.n_models).into(),
        spread.as_ref().map_or(0, |r| r.n_samples).into(),
        s(
            "pairwise differences per image within models, mixed model (1|model) + (1|image), Holm over the pairs of real methods (min adjusted p)",
        ),
        s(metric),
        p4.into(),
        alpha.into(),
        s(verdict_of(p4, alpha)),
        s(&detail),
    ])
}

/// The comparison of the best and the worst real method, oriented best − worst.
fn best_minus_worst(
    rows: &[compare::PairComparison],
    means: &BTreeMap<String, f64>,
    sign: f64,
) -> Option<compare::PairComparison> {
    let real: Vec<(&String, f64)> = means
        .iter()
        .filter(|(m, v)| !compare::is_control(m) && v.is_finite())
        .map(|(m, v)| (m, *v * sign))
        .collect();
    let top = real.iter().max_by(|a, b| a.1.total_cmp(&b.1))?.0;
    let bottom = real.iter().min_by(|a, b| a.1.total_cmp(&b.1))?.0;
    let r = rows.iter().find(|r| {
        (r.method_a == *top && r.method_b == *bottom)
            || (r.method_b == *top && r.method_a == *bottom)
    })?;
    Some(if r.method_a == *top {
        r.clone()
    } else {
        compare::PairComparison {
            method_a: r.method_b.clone(),
            method_b: r.method_a.clone(),
            estimate: -r.estimate,
            ci_low: -r.ci_high,
            ci_high: -r.ci_low,
            effect_size: -r.effect_size,
            ..r.clone()
        }
    })
}

/// The controls' means: the floor and ceiling the methods sit between.
fn bracket_text(means: &BTreeMap<String, f64>) -> String {
    let ctl: Vec<String> = means
        .iter()
        .filter(|(m, _)| compare::is_control(m))
        .map(|(m, v)| format!("{m} {v:.3}"))
        .collect();
    if ctl.is_empty() {
        String::new()
    } else {
        format!("Controls (bracket, not tested): {}.", ctl.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_files_are_every_stem_in_both_formats() {
        let want: Vec<String> = TABLE_STEMS
            .iter()
            .flat_map(|s| [format!("{s}.csv"), format!("{s}.parquet")])
            .collect();
        assert_eq!(TABLE_FILES, want);
    }
}
