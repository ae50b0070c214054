//! The full analysis of a long-format score table: per-cell summaries, model-level scores,
//! accuracy–explanation correlation, OLS correction for accuracy with type-II ANOVA,
//! residualised scores and their tests, partial correlation, matched-accuracy bins,
//! Friedman + pairwise Wilcoxon method comparisons, and the four findings of the seed
//! study, each as a typed table of [`crate::tables`]. Every test that cannot run (too few models, a single
//! factor level, …) leaves a row with NaN values and the reason in its `note` column.

use crate::{
    compare, corr, describe, effects,
    formula::{Column, Frame},
    multitest, nonparam, ols,
    table::Record,
    tables::*,
};
use mrixai_core::progress::{Progress, Silent};
use mrixai_core::{Error, Result, Source, SourceName};
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
    pub reference: SourceName,
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
            reference: Source::Scratch.into(),
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

pub use mrixai_core::higher_is_better;

pub use crate::tables::{TABLE_FILES, TABLE_STEMS, Tables};

/// The models of a score table; fails if a cell's attributes differ between rows.
pub fn models(records: &[Record]) -> Result<BTreeMap<String, ModelRow>> {
    let mut out: BTreeMap<String, ModelRow> = BTreeMap::new();
    for r in records {
        let m = ModelRow {
            cell: r.cell.clone(),
            source: r.source.clone(),
            pretrained_layers: r.pretrained_layers,
            frozen: r.frozen,
            seed: r.seed,
            accuracy: r.model_accuracy,
        };
        // accuracy compared bit for bit: an unknown (NaN) accuracy equals itself
        let same = |a: &ModelRow, b: &ModelRow| {
            a.accuracy.to_bits() == b.accuracy.to_bits()
                && (
                    a.cell.as_str(),
                    a.source.as_str(),
                    a.pretrained_layers,
                    a.frozen,
                    a.seed,
                ) == (
                    b.cell.as_str(),
                    b.source.as_str(),
                    b.pretrained_layers,
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

/// The reason a result is missing: its error, or nothing.
fn note_of<T>(r: &Result<T>) -> String {
    match r {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

/// One model-level score (mean over the subset's finite values).
#[derive(Debug, Clone)]
struct ModelScore<'a> {
    model: &'a ModelRow,
    n: usize,
    score: f64,
}

/// (method, metric) → cell → [(sample, value, correct, correct_all)]
type Values = BTreeMap<(String, String), BTreeMap<String, Vec<(i64, f64, bool, bool)>>>;

struct Ctx<'a> {
    opts: &'a Options,
    models: BTreeMap<String, ModelRow>,
    methods: Vec<String>,
    metrics: Vec<String>,
    /// (method, metric) → cell → [(sample, value, correct, correct_all)]
    values: Values,
    reference: SourceName,
}

/// The key of a per-model row.
fn per_model(m: &ModelRow, method: &str, metric: &str, subset: Subset, n: usize) -> PerModel {
    PerModel {
        model: m.clone(),
        method: method.to_string(),
        metric: metric.to_string(),
        subset: subset.name().to_string(),
        n,
    }
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
    let sources: BTreeSet<&SourceName> = models.values().map(|m| &m.source).collect();
    let reference = if sources.contains(&opts.reference) {
        opts.reference.clone()
    } else {
        let first = sources.first().map(|s| (*s).clone()).unwrap_or_default();
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
    let summary = summary_table(&ctx, progress);
    let scores = model_scores(&ctx);
    let across = across_models(&ctx, &scores, &mut notes);
    let (friedman, method_ranks, wilcoxon) = method_comparisons(&ctx, &scores);
    let pairs = method_pairs(&ctx);
    let effects = effects_list(&ctx);
    let findings = findings_table(&ctx, &pairs, &effects);
    let tables = Tables {
        models: ctx.models.values().cloned().collect(),
        summary,
        model_scores: model_scores_table(&ctx, &scores),
        correlation: across.correlation,
        ols_fit: across.ols_fit,
        ols_coefficients: across.ols_coefficients,
        anova: across.anova,
        residuals: across.residuals,
        residual_tests: across.residual_tests,
        partial_correlation: across.partial_correlation,
        matched_bins: across.matched_bins,
        matched_tests: across.matched_tests,
        friedman,
        method_ranks,
        wilcoxon,
        method_pairs: method_pairs_table(&pairs, ctx.opts.alpha),
        effects: effects.clone(),
        findings,
        notes: notes.into_iter().map(|note| NoteRow { note }).collect(),
    };
    progress.finish();
    Ok(tables)
}

/// Samples below which a model's subset is flagged as too small.
pub const MIN_SAMPLES: usize = 10;

/// The records of the models that learnt something: a model whose test accuracy is below
/// `min_accuracy` answers near chance, so which samples it "classified correctly" is luck and
/// its explanations say nothing about a trained model; it is left out of every analysis and
/// named in the notes (and dropped from `models`). Models of unknown accuracy (NaN) are kept.
fn above_chance(
    records: &[Record],
    models: &mut BTreeMap<String, ModelRow>,
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

/// The `summary` rows, one (method, metric) group per task in parallel (each bootstrap is
/// seeded by its own row, so the rows do not depend on the threads).
fn summary_table(ctx: &Ctx, progress: &dyn Progress) -> Vec<SummaryRow> {
    use rayon::prelude::*;
    let groups: Vec<_> = ctx.values.iter().collect();
    let rows: Vec<Vec<SummaryRow>> = groups
        .par_iter()
        .map(|((method, metric), cells)| {
            let rows = summary_rows(ctx, method, metric, cells);
            progress.advance(1, &format!("{method}/{metric}"));
            rows
        })
        .collect();
    rows.into_iter().flatten().collect()
}

/// The `summary` rows of one method and metric: every model, both subsets.
fn summary_rows(
    ctx: &Ctx,
    method: &str,
    metric: &str,
    cells: &BTreeMap<String, Vec<(i64, f64, bool, bool)>>,
) -> Vec<SummaryRow> {
    let mut tb = Vec::new();
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
            let summary = sm.unwrap_or(describe::Summary {
                n: 0,
                n_nan: x.len(),
                mean: nan,
                sd: nan,
                median: nan,
                q25: nan,
                q75: nan,
                iqr: nan,
            });
            let (ci_low, ci_high) = ci.as_ref().copied().unwrap_or((nan, nan));
            tb.push(SummaryRow {
                model: m.clone(),
                method: method.to_string(),
                metric: metric.to_string(),
                subset: subset.name().to_string(),
                summary,
                ci_low,
                ci_high,
                note: note_of(&ci),
            });
        }
    }
    tb
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

fn model_scores_table(ctx: &Ctx, scores: &Scores) -> Vec<ModelScoreRow> {
    let mut tb = Vec::new();
    for ((method, metric), v) in scores {
        for ms in v {
            tb.push(ModelScoreRow {
                key: per_model(ms.model, method, metric, ctx.opts.subset, ms.n),
                score: ms.score,
            });
        }
    }
    tb
}

fn frame_of(rows: &[&ModelScore]) -> Frame {
    let src: Vec<String> = rows.iter().map(|r| r.model.source.to_string()).collect();
    Frame::new()
        .with_numeric("score", rows.iter().map(|r| r.score).collect())
        .with_numeric("accuracy", rows.iter().map(|r| r.model.accuracy).collect())
        .with_categorical("pretrain", src.clone())
        .with_categorical("source", src)
        .with_numeric(
            "pretrained_layers",
            rows.iter()
                .map(|r| r.model.pretrained_layers as f64)
                .collect(),
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

/// A row with a p-value and its Holm and Benjamini–Hochberg adjustments.
trait Adjusted {
    fn p(&self) -> f64;
    fn set_adjusted(&mut self, holm: f64, bh: f64);
}

macro_rules! adjusted {
    ($($row:ty),*) => {$(
        impl Adjusted for $row {
            fn p(&self) -> f64 {
                self.p
            }
            fn set_adjusted(&mut self, holm: f64, bh: f64) {
                (self.p_holm, self.p_bh) = (holm, bh);
            }
        }
    )*};
}
adjusted!(
    CorrelationRow,
    AnovaRow,
    ResidualTestRow,
    PartialCorrelationRow,
    MatchedTestRow,
    WilcoxonRow,
    MethodPairRow
);

/// Fills `p_holm` and `p_bh`, adjusting within the groups of rows with equal `group(row)`.
fn adjust<R: Adjusted>(rows: &mut [R], alpha: f64, group: impl Fn(&R) -> Vec<&str>) {
    let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let key = group(r).into_iter().map(str::to_string).collect();
        groups.entry(key).or_default().push(i);
    }
    for idx in groups.values() {
        let p: Vec<f64> = idx.iter().map(|&i| rows[i].p()).collect();
        for ((&i, h), b) in idx
            .iter()
            .zip(holm_column(&p, alpha))
            .zip(bh_column(&p, alpha))
        {
            rows[i].set_adjusted(h, b);
        }
    }
}

/// The tables [`across_models`] builds, filled one (method, metric) group at a time.
#[derive(Default)]
struct AcrossModels {
    correlation: Vec<CorrelationRow>,
    ols_fit: Vec<OlsFitRow>,
    ols_coefficients: Vec<CoefficientRow>,
    anova: Vec<AnovaRow>,
    residuals: Vec<ResidualRow>,
    residual_tests: Vec<ResidualTestRow>,
    partial_correlation: Vec<PartialCorrelationRow>,
    matched_bins: Vec<MatchedBinRow>,
    matched_tests: Vec<MatchedTestRow>,
}

/// One (method, metric) group of model-level scores, with what every analysis of it needs.
struct Group<'a> {
    method: &'a str,
    metric: &'a str,
    rows: Vec<&'a ModelScore<'a>>,
    acc: Vec<f64>,
    sc: Vec<f64>,
    frame: Frame,
    reference: SourceName,
}

impl Group<'_> {
    fn method(&self) -> String {
        self.method.to_string()
    }
    fn metric(&self) -> String {
        self.metric.to_string()
    }
}

impl AcrossModels {
    /// Pearson and Spearman correlation of score and accuracy across models.
    fn correlation(&mut self, g: &Group) {
        let nan = f64::NAN;
        for (name, res) in [
            (Correlation::Pearson, corr::pearson(&g.acc, &g.sc)),
            (Correlation::Spearman, corr::spearman(&g.acc, &g.sc)),
        ] {
            let c = res.as_ref().ok();
            self.correlation.push(CorrelationRow {
                method: g.method(),
                metric: g.metric(),
                test: name,
                n: g.rows.len(),
                r: c.map_or(nan, |c| c.r),
                ci_low: c.map_or(nan, |c| c.ci_low),
                ci_high: c.map_or(nan, |c| c.ci_high),
                p: c.map_or(nan, |c| c.p),
                p_holm: nan,
                p_bh: nan,
                note: note_of(&res),
            });
        }
    }

    /// The OLS correction for accuracy: fit, coefficients and type-II ANOVA.
    fn ols_correction(&mut self, g: &Group, ctx: &Ctx, notes: &mut Vec<String>) {
        let nan = f64::NAN;
        let (fit, fallbacks) = fit_chain(ctx, &g.frame);
        let mut note = String::new();
        if fit.is_ok() && !fallbacks.is_empty() {
            note = format!("fallback: {}", fallbacks.join("; "));
        } else if let Err(e) = &fit {
            note = e.to_string();
        }
        let Ok(ff) = &fit else {
            self.ols_fit.push(OlsFitRow {
                method: g.method(),
                metric: g.metric(),
                formula: String::new(),
                nobs: g.rows.len(),
                df_model: nan,
                df_resid: nan,
                rsquared: nan,
                rsquared_adj: nan,
                fvalue: nan,
                f_pvalue: nan,
                note,
            });
            return;
        };
        let f = &ff.fit;
        self.ols_fit.push(OlsFitRow {
            method: g.method(),
            metric: g.metric(),
            formula: ff.formula.clone(),
            nobs: f.nobs,
            df_model: f.df_model,
            df_resid: f.df_resid,
            rsquared: f.rsquared,
            rsquared_adj: f.rsquared_adj,
            fvalue: f.fvalue,
            f_pvalue: f.f_pvalue,
            note,
        });
        for j in 0..f.params.len() {
            self.ols_coefficients.push(CoefficientRow {
                method: g.method(),
                metric: g.metric(),
                formula: ff.formula.clone(),
                term: f.names[j].clone(),
                coef: f.params[j],
                se: f.bse[j],
                t: f.tvalues[j],
                p: f.pvalues[j],
            });
        }
        match ols::anova_type2(ff) {
            Ok(a) => {
                for row in a {
                    self.anova.push(AnovaRow {
                        method: g.method(),
                        metric: g.metric(),
                        formula: ff.formula.clone(),
                        term: row.term,
                        sum_sq: row.sum_sq,
                        df: row.df,
                        f: row.f,
                        p: row.p,
                        p_holm: nan,
                        p_bh: nan,
                    });
                }
            }
            Err(e) => notes.push(format!("{}/{}: type-II ANOVA: {e}", g.method, g.metric)),
        }
    }

    /// A row of `residual_tests`.
    fn residual_test(&mut self, g: &Group, test: &str, n: usize, stat_p: (f64, f64), note: String) {
        self.residual_tests.push(ResidualTestRow {
            method: g.method(),
            metric: g.metric(),
            test: test.to_string(),
            n,
            statistic: stat_p.0,
            p: stat_p.1,
            p_holm: f64::NAN,
            p_bh: f64::NAN,
            note,
        });
    }

    /// Scores residualised on accuracy, and the effect tests on them.
    fn residual_tests(&mut self, g: &Group) {
        let nan = f64::NAN;
        let reference = &g.reference;
        let rf = match ols::ols("score ~ accuracy", &g.frame) {
            Ok(rf) => rf,
            Err(e) => {
                let n = g.rows.len();
                return self.residual_test(g, "source_anova", n, (nan, nan), e.to_string());
            }
        };
        for (i, r) in g.rows.iter().enumerate() {
            self.residuals.push(ResidualRow {
                method: g.method(),
                metric: g.metric(),
                cell: r.model.cell.clone(),
                source: r.model.source.clone(),
                pretrained_layers: r.model.pretrained_layers,
                accuracy: r.model.accuracy,
                score: r.score,
                fitted: rf.fit.fitted[i],
                residual: rf.fit.residuals[i],
            });
        }
        let res_frame = g
            .frame
            .clone()
            .with_numeric("residual", rf.fit.residuals.clone());
        let src = ols::ols(
            &format!("residual ~ C(pretrain, Treatment('{reference}'))"),
            &res_frame,
        );
        let sf = src.as_ref().ok().map(|f| &f.fit);
        let stat_p = (sf.map_or(nan, |f| f.fvalue), sf.map_or(nan, |f| f.f_pvalue));
        self.residual_test(g, "source_anova", g.rows.len(), stat_p, note_of(&src));
        let (lr, ly): (Vec<f64>, Vec<f64>) = g
            .rows
            .iter()
            .zip(&rf.fit.residuals)
            .filter(|(r, _)| r.model.source != *reference)
            .map(|(r, e)| (r.model.pretrained_layers as f64, *e))
            .unzip();
        let sp = corr::spearman(&lr, &ly);
        let spr = sp.as_ref().ok();
        let stat_p = (spr.map_or(nan, |c| c.r), spr.map_or(nan, |c| c.p));
        self.residual_test(
            g,
            "layers_spearman_pretrained",
            lr.len(),
            stat_p,
            note_of(&sp),
        );
    }

    /// Partial correlation of score and layers given accuracy, pre-trained models.
    fn partial_correlation(&mut self, g: &Group) {
        let nan = f64::NAN;
        let pre: Vec<&&ModelScore> = g
            .rows
            .iter()
            .filter(|r| r.model.source != g.reference)
            .collect();
        let pc = corr::partial_correlation(
            &pre.iter().map(|r| r.score).collect::<Vec<_>>(),
            &pre.iter()
                .map(|r| r.model.pretrained_layers as f64)
                .collect::<Vec<_>>(),
            &pre.iter().map(|r| r.model.accuracy).collect::<Vec<_>>(),
        );
        let pcr = pc.as_ref().ok();
        self.partial_correlation.push(PartialCorrelationRow {
            method: g.method(),
            metric: g.metric(),
            population: "pretrained".to_string(),
            n: pre.len(),
            df: pcr.map(|c| c.df),
            r: pcr.map_or(nan, |c| c.r),
            t: pcr.map_or(nan, |c| c.t),
            p: pcr.map_or(nan, |c| c.p),
            p_holm: nan,
            p_bh: nan,
            note: note_of(&pc),
        });
    }

    /// Sources compared within matched-accuracy bins.
    fn matched_bins(&mut self, g: &Group, ctx: &Ctx) {
        let Group {
            rows,
            acc,
            sc,
            frame,
            reference,
            ..
        } = g;
        let nan = f64::NAN;
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
            let srcs: BTreeSet<&SourceName> =
                members.iter().map(|&i| &rows[i].model.source).collect();
            for src in srcs {
                let x: Vec<f64> = members
                    .iter()
                    .filter(|&&i| rows[i].model.source == *src)
                    .map(|&i| sc[i])
                    .collect();
                self.matched_bins.push(MatchedBinRow {
                    method: g.method(),
                    metric: g.metric(),
                    bin: b,
                    accuracy_low: lo,
                    accuracy_high: hi,
                    source: src.clone(),
                    n: x.len(),
                    mean_score: describe::mean(&x),
                });
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
        self.matched_tests.push(MatchedTestRow {
            method: g.method(),
            metric: g.metric(),
            bins: nb,
            n: rows.len(),
            f: mtr.map_or(nan, |r| r.f),
            df: mtr.map_or(nan, |r| r.df),
            p: mtr.map_or(nan, |r| r.p),
            p_holm: nan,
            p_bh: nan,
            note: note_of(&mt),
        });
    }

    /// The tables, p-values adjusted where the table has them.
    fn finish(mut self, alpha: f64) -> Self {
        adjust(&mut self.correlation, alpha, |r| {
            vec![&r.metric, r.test.name()]
        });
        adjust(&mut self.anova, alpha, |r| vec![&r.metric, &r.term]);
        adjust(&mut self.residual_tests, alpha, |r| {
            vec![&r.metric, &r.test]
        });
        adjust(&mut self.partial_correlation, alpha, |r| vec![&r.metric]);
        adjust(&mut self.matched_tests, alpha, |r| vec![&r.metric]);
        self
    }
}

fn across_models(ctx: &Ctx, scores: &Scores, notes: &mut Vec<String>) -> AcrossModels {
    let mut out = AcrossModels::default();
    // controls bracket the methods; they are not tested across models
    for ((method, metric), v) in scores.iter().filter(|(k, _)| !compare::is_control(&k.0)) {
        let rows: Vec<&ModelScore> = v.iter().filter(|r| r.score.is_finite()).collect();
        let g = Group {
            method,
            metric,
            acc: rows.iter().map(|r| r.model.accuracy).collect(),
            sc: rows.iter().map(|r| r.score).collect(),
            frame: frame_of(&rows),
            rows,
            reference: ctx.reference.clone(),
        };
        out.correlation(&g);
        out.ols_correction(&g, ctx, notes);
        out.residual_tests(&g);
        out.partial_correlation(&g);
        out.matched_bins(&g, ctx);
    }
    out.finish(ctx.opts.alpha)
}

/// Block (model, or model and image for `unit` = `sample`) → method → score of `metric`:
/// the blocks of the Friedman and Wilcoxon comparisons.
fn method_blocks<'a>(
    ctx: &'a Ctx,
    scores: &Scores,
    metric: &str,
    unit: Blocks,
) -> BTreeMap<(String, i64), BTreeMap<&'a str, f64>> {
    let mut blocks: BTreeMap<(String, i64), BTreeMap<&str, f64>> = BTreeMap::new();
    for method in &ctx.methods {
        let key = (method.clone(), metric.to_string());
        if unit == Blocks::Model {
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
    blocks
}

/// Friedman across methods, mean ranks, and pairwise Wilcoxon with Holm/BH, per metric and
/// unit (`model`: blocks are cells' model-level scores; `sample`: blocks are
/// (cell, sample) pairs of the subset).
fn method_comparisons(
    ctx: &Ctx,
    scores: &Scores,
) -> (Vec<FriedmanRow>, Vec<MethodRankRow>, Vec<WilcoxonRow>) {
    let (mut fr_t, mut rank_t, mut wx_t) = (Vec::new(), Vec::new(), Vec::new());
    let nan = f64::NAN;
    for metric in &ctx.metrics {
        for &unit in Blocks::ALL {
            let blocks = method_blocks(ctx, scores, metric, unit);
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
            fr_t.push(FriedmanRow {
                metric: metric.clone(),
                unit,
                k: ctx.methods.len(),
                n_blocks: complete.len(),
                statistic: fref.map_or(nan, |f| f.statistic),
                p: fref.map_or(nan, |f| f.pvalue),
                note: note_of(&fr),
            });
            for (j, m) in ctx.methods.iter().enumerate() {
                rank_t.push(MethodRankRow {
                    metric: metric.clone(),
                    unit,
                    method: m.clone(),
                    n_blocks: complete.len(),
                    mean_rank: fref.map_or(nan, |f| f.mean_ranks[j]),
                    mean_score: describe::mean(&groups[j]),
                    median_score: describe::median(&groups[j]),
                });
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
                    wx_t.push(WilcoxonRow {
                        metric: metric.clone(),
                        unit,
                        method_a: ctx.methods[a].clone(),
                        method_b: ctx.methods[b].clone(),
                        n: complete.len(),
                        n_zero: wr.map(|w| w.n_zero),
                        r_plus: wr.map_or(nan, |w| w.r_plus),
                        r_minus: wr.map_or(nan, |w| w.r_minus),
                        statistic: wr.map_or(nan, |w| w.statistic),
                        p: wr.map_or(nan, |w| w.pvalue),
                        p_holm: nan,
                        p_bh: nan,
                        p_method: wr.map(|w| w.method.to_string()),
                        p_approx: war.map_or(nan, |w| w.pvalue),
                        z_approx: war.map_or(nan, |w| w.z),
                        rank_biserial: wr.map_or(nan, |w| w.rank_biserial),
                        note: note_of(&w),
                    });
                }
            }
        }
    }
    adjust(&mut wx_t, ctx.opts.alpha, |r| {
        vec![&r.metric, r.unit.name()]
    });
    (fr_t, rank_t, wx_t)
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
) -> Vec<MethodPairRow> {
    let mut tb = Vec::new();
    for (metric, list) in pairs {
        for c in list {
            tb.push(MethodPairRow {
                metric: metric.clone(),
                family: c.family,
                method_a: c.method_a.clone(),
                method_b: c.method_b.clone(),
                n_models: c.n_models,
                n_samples: c.n_samples,
                estimate: c.estimate,
                ci_low: c.ci_low,
                ci_high: c.ci_high,
                se: c.se,
                df: c.df,
                p: c.p,
                p_holm: f64::NAN,
                p_bh: f64::NAN,
                effect_size: c.effect_size,
                test: c.test.clone(),
            });
        }
    }
    adjust(&mut tb, alpha, |r| vec![&r.metric, r.family.name()]);
    tb
}

/// The effects of findings 1–3 on the primary metric (see [`effects`]), pooled over the
/// real methods on the samples each model classified correctly.
fn effects_list(ctx: &Ctx) -> Vec<effects::Effect> {
    let Some(metric) = primary_metric(&ctx.metrics, ctx.opts.primary_metric.as_deref()) else {
        return Vec::new();
    };
    let models = &ctx.models;
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
        models,
        samples.len(),
        alpha,
    )];
    let mut pre = effects::pretraining_effects(&samples, models, &ctx.reference, alpha);
    effects::add_permutation_p(
        &mut pre,
        &samples,
        models,
        &ctx.reference,
        ctx.opts.n_perm,
        ctx.opts.seed,
    );
    out.extend(pre);
    out
}

const CLAIMS: [&str; 4] = [
    "Explanation performance correlates with classification performance",
    "The pre-training source affects explanation performance after correcting for accuracy",
    "The number of pre-trained layers affects explanation performance after correcting for accuracy",
    "Explanation methods differ",
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
) -> Vec<FindingRow> {
    let alpha = ctx.opts.alpha;
    let Some(metric) = primary_metric(&ctx.metrics, ctx.opts.primary_metric.as_deref()) else {
        return Vec::new();
    };
    let mut tb: Vec<FindingRow> = effects
        .iter()
        .map(|e| FindingRow {
            finding: e.finding,
            claim: CLAIMS[(e.finding - 1) as usize].to_string(),
            effect: e.effect.clone(),
            estimate: e.estimate,
            ci_low: e.ci_low,
            ci_high: e.ci_high,
            mde: e.mde,
            n_models: e.n_models,
            n_samples: e.n_samples,
            test: e.test.clone(),
            metric: metric.clone(),
            p: e.p,
            alpha,
            verdict: verdict_of(e.p, alpha).to_string(),
            detail: reading(e, alpha),
        })
        .collect();
    let primary = pairs
        .iter()
        .find(|(m, _)| *m == metric)
        .map_or(&[][..], |(_, list)| list.as_slice());
    tb.push(method_finding(ctx, primary, &metric));
    tb
}

/// Finding 4 from the sample-level pairwise comparisons of the real methods: the global
/// test is the smallest Holm-adjusted p (valid for the family's global null); the effect is
/// the difference between the best and the worst real method.
fn method_finding(ctx: &Ctx, pairs: &[compare::PairComparison], metric: &str) -> FindingRow {
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
        .filter(|p| p.family == Family::Methods)
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
    FindingRow {
        finding: 4,
        claim: CLAIMS[3].to_string(),
        effect,
        estimate: num(|r| r.estimate),
        ci_low: num(|r| r.ci_low),
        ci_high: num(|r| r.ci_high),
        mde,
        n_models: spread.as_ref().map_or(0, |r| r.n_models),
        n_samples: spread.as_ref().map_or(0, |r| r.n_samples),
        test: "pairwise differences per image within models, mixed model (1|model) + (1|image), Holm over the pairs of real methods (min adjusted p)".to_string(),
        metric: metric.to_string(),
        p: p4,
        alpha,
        verdict: verdict_of(p4, alpha).to_string(),
        detail,
    }
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
