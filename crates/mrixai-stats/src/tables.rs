//! The statistics tables, one typed row struct per table: [`crate::analysis`] builds them,
//! [`Tables::write`] writes each as `<stem>.csv` and `<stem>.parquet` through one generic
//! writer ([`crate::table::write_rows`]), and the report reads them back as the same types
//! ([`Tables::read`]). A new table is one row struct and one line in [`Tables`].

use crate::stats_table;
use crate::table::{Table, read_rows, to_table, write_rows};
use mrixai_core::SourceName;
use mrixai_core::{Error, Result};
use std::path::Path;

crate::text_enum! {
    /// The blocks of a method comparison.
    pub enum Blocks {
        /// One block per model (its model-level scores).
        Model = "model",
        /// One block per model and sample.
        Sample = "sample",
    }
}

crate::text_enum! {
    /// A correlation coefficient.
    pub enum Correlation {
        /// Pearson's r.
        Pearson = "pearson",
        /// Spearman's ρ.
        Spearman = "spearman",
    }
}

crate::text_enum! {
    /// The family of a method pair, within which p-values are adjusted.
    pub enum Family {
        /// Both are real attribution methods.
        Methods = "methods",
        /// At least one is a control.
        Controls = "controls",
    }
}

stats_table! {
    /// A model (cell): `models`, and the leading columns of every per-model table.
    pub struct ModelRow = "models" {
        /// Cell id.
        pub cell: String,
        /// Pre-training source.
        pub source: SourceName,
        /// Pre-trained layers.
        pub pretrained_layers: i64,
        /// Whether the pre-trained layers were frozen.
        pub frozen: bool,
        /// Training seed.
        pub seed: i64,
        /// Test accuracy.
        pub accuracy: f64,
    }
}

stats_table! {
    /// The key of a per-model row: the model, then method, metric, subset and the number
    /// of samples.
    pub struct PerModel {
        /// The model.
        pub model: ModelRow,
        /// Attribution method.
        pub method: String,
        /// Metric.
        pub metric: String,
        /// Sample subset (`correct`, `correct_all`).
        pub subset: String,
        /// Finite values used.
        pub n: usize,
    }
}

stats_table! {
    /// `summary`: each model's scores per method, metric and subset, with a bootstrap CI
    /// of the mean.
    pub struct SummaryRow = "summary" {
        /// The model.
        pub model: ModelRow,
        /// Attribution method.
        pub method: String,
        /// Metric.
        pub metric: String,
        /// Sample subset (`correct`, `correct_all`).
        pub subset: String,
        /// The scores' summary (NaN where there is no finite score).
        pub summary: crate::describe::Summary,
        /// Bootstrap CI of the mean, lower end.
        pub ci_low: f64,
        /// Bootstrap CI of the mean, upper end.
        pub ci_high: f64,
        /// Why a value is missing.
        pub note: String,
    }
}

stats_table! {
    /// `model_scores`: the model-level score (mean over the analysed subset).
    pub struct ModelScoreRow = "model_scores" {
        /// The model and what is scored.
        pub key: PerModel,
        /// Mean score.
        pub score: f64,
    }
}

stats_table! {
    /// `correlation`: Pearson and Spearman correlation of score and accuracy across models.
    pub struct CorrelationRow = "correlation" {
        /// Attribution method.
        pub method: String,
        /// Metric.
        pub metric: String,
        /// `pearson` or `spearman`.
        pub test: Correlation,
        /// Models (or values) entering the test.
        pub n: usize,
        /// Correlation coefficient.
        pub r: f64,
        /// 95 % CI, lower end.
        pub ci_low: f64,
        /// 95 % CI, upper end.
        pub ci_high: f64,
        /// p-value.
        pub p: f64,
        /// Holm-adjusted p within (metric, test).
        pub p_holm: f64,
        /// Benjamini–Hochberg-adjusted p within (metric, test).
        pub p_bh: f64,
        /// Why a value is missing, or what was changed.
        pub note: String,
    }
}

stats_table! {
    /// `ols_fit`: the OLS correction for accuracy, one fit per method and metric.
    pub struct OlsFitRow = "ols_fit" {
        /// Attribution method.
        pub method: String,
        /// Metric.
        pub metric: String,
        /// Model formula (patsy syntax).
        pub formula: String,
        /// Observations (models).
        pub nobs: usize,
        /// Model degrees of freedom.
        pub df_model: f64,
        /// Residual degrees of freedom.
        pub df_resid: f64,
        /// R².
        pub rsquared: f64,
        /// Adjusted R².
        pub rsquared_adj: f64,
        /// F statistic of the whole model.
        pub fvalue: f64,
        /// p-value of the F statistic.
        pub f_pvalue: f64,
        /// Fallback formulas taken, or why there is no fit.
        pub note: String,
    }
}

stats_table! {
    /// `ols_coefficients`: the coefficients of each OLS fit.
    pub struct CoefficientRow = "ols_coefficients" {
        /// Attribution method.
        pub method: String,
        /// Metric.
        pub metric: String,
        /// Model formula (patsy syntax).
        pub formula: String,
        /// Model term.
        pub term: String,
        /// Coefficient.
        pub coef: f64,
        /// Standard error.
        pub se: f64,
        /// t statistic.
        pub t: f64,
        /// p-value.
        pub p: f64,
    }
}

stats_table! {
    /// `anova`: type-II ANOVA of each OLS fit.
    pub struct AnovaRow = "anova" {
        /// Attribution method.
        pub method: String,
        /// Metric.
        pub metric: String,
        /// Model formula (patsy syntax).
        pub formula: String,
        /// Model term.
        pub term: String,
        /// Sum of squares of the term.
        pub sum_sq: f64,
        /// Degrees of freedom.
        pub df: f64,
        /// F statistic.
        pub f: f64 as "F",
        /// p-value.
        pub p: f64,
        /// Holm-adjusted p within (metric, term).
        pub p_holm: f64,
        /// Benjamini–Hochberg-adjusted p within (metric, term).
        pub p_bh: f64,
    }
}

stats_table! {
    /// `residuals`: model-level scores residualised on accuracy.
    pub struct ResidualRow = "residuals" {
        /// Attribution method.
        pub method: String,
        /// Metric.
        pub metric: String,
        /// Cell id of the model.
        pub cell: String,
        /// Pre-training source.
        pub source: SourceName,
        /// Pre-trained layers.
        pub pretrained_layers: i64,
        /// Test accuracy of the model.
        pub accuracy: f64,
        /// Model-level score.
        pub score: f64,
        /// Fitted value of score ~ accuracy.
        pub fitted: f64,
        /// Residual of score ~ accuracy.
        pub residual: f64,
    }
}

stats_table! {
    /// `residual_tests`: source and layer effects on the residualised scores.
    pub struct ResidualTestRow = "residual_tests" {
        /// Attribution method.
        pub method: String,
        /// Metric.
        pub metric: String,
        /// `source_anova` or `layers_spearman_pretrained`.
        pub test: String,
        /// Models (or values) entering the test.
        pub n: usize,
        /// Test statistic.
        pub statistic: f64,
        /// p-value.
        pub p: f64,
        /// Holm-adjusted p within (metric, test).
        pub p_holm: f64,
        /// Benjamini–Hochberg-adjusted p within (metric, test).
        pub p_bh: f64,
        /// Why a value is missing, or what was changed.
        pub note: String,
    }
}

stats_table! {
    /// `partial_correlation`: score and pre-trained layers given accuracy.
    pub struct PartialCorrelationRow = "partial_correlation" {
        /// Attribution method.
        pub method: String,
        /// Metric.
        pub metric: String,
        /// Models entering the correlation (`pretrained`).
        pub population: String,
        /// Models (or values) entering the test.
        pub n: usize,
        /// Residual degrees of freedom (absent when not computed).
        pub df: Option<usize>,
        /// Correlation coefficient.
        pub r: f64,
        /// t statistic.
        pub t: f64,
        /// p-value.
        pub p: f64,
        /// Holm-adjusted p within the metric.
        pub p_holm: f64,
        /// Benjamini–Hochberg-adjusted p within the metric.
        pub p_bh: f64,
        /// Why a value is missing, or what was changed.
        pub note: String,
    }
}

stats_table! {
    /// `matched_bins`: mean score per source within accuracy bins.
    pub struct MatchedBinRow = "matched_bins" {
        /// Attribution method.
        pub method: String,
        /// Metric.
        pub metric: String,
        /// Accuracy bin (0-based, by ascending accuracy).
        pub bin: usize,
        /// Lowest accuracy in the bin.
        pub accuracy_low: f64,
        /// Highest accuracy in the bin.
        pub accuracy_high: f64,
        /// Pre-training source.
        pub source: SourceName,
        /// Models of the source in the bin.
        pub n: usize,
        /// Mean model-level score.
        pub mean_score: f64,
    }
}

stats_table! {
    /// `matched_tests`: the source effect with accuracy bins as a factor.
    pub struct MatchedTestRow = "matched_tests" {
        /// Attribution method.
        pub method: String,
        /// Metric.
        pub metric: String,
        /// Accuracy bins.
        pub bins: usize,
        /// Models (or values) entering the test.
        pub n: usize,
        /// F statistic.
        pub f: f64 as "F",
        /// Degrees of freedom.
        pub df: f64,
        /// p-value.
        pub p: f64,
        /// Holm-adjusted p within the metric.
        pub p_holm: f64,
        /// Benjamini–Hochberg-adjusted p within the metric.
        pub p_bh: f64,
        /// Why a value is missing, or what was changed.
        pub note: String,
    }
}

stats_table! {
    /// `friedman`: methods compared over blocks (models or samples).
    pub struct FriedmanRow = "friedman" {
        /// Metric.
        pub metric: String,
        /// Blocks: `model` or `sample`.
        pub unit: Blocks,
        /// Methods compared.
        pub k: usize,
        /// Complete blocks (models or samples).
        pub n_blocks: usize,
        /// Test statistic.
        pub statistic: f64,
        /// p-value.
        pub p: f64,
        /// Why a value is missing, or what was changed.
        pub note: String,
    }
}

stats_table! {
    /// `method_ranks`: each method's mean Friedman rank and score.
    pub struct MethodRankRow = "method_ranks" {
        /// Metric.
        pub metric: String,
        /// Blocks: `model` or `sample`.
        pub unit: Blocks,
        /// Attribution method.
        pub method: String,
        /// Complete blocks (models or samples).
        pub n_blocks: usize,
        /// Mean Friedman rank (larger is better).
        pub mean_rank: f64,
        /// Mean model-level score.
        pub mean_score: f64,
        /// Median score over blocks.
        pub median_score: f64,
    }
}

stats_table! {
    /// `wilcoxon`: paired Wilcoxon signed-rank tests of two methods.
    pub struct WilcoxonRow = "wilcoxon" {
        /// Metric.
        pub metric: String,
        /// Blocks: `model` or `sample`.
        pub unit: Blocks,
        /// First method.
        pub method_a: String,
        /// Second method.
        pub method_b: String,
        /// Models (or values) entering the test.
        pub n: usize,
        /// Zero differences left out (absent when the test did not run).
        pub n_zero: Option<usize>,
        /// Sum of positive ranks.
        pub r_plus: f64,
        /// Sum of negative ranks.
        pub r_minus: f64,
        /// Test statistic.
        pub statistic: f64,
        /// p-value.
        pub p: f64,
        /// Holm-adjusted p within (metric, unit).
        pub p_holm: f64,
        /// Benjamini–Hochberg-adjusted p within (metric, unit).
        pub p_bh: f64,
        /// `exact` or `approx`.
        pub p_method: Option<String>,
        /// p-value of the normal approximation.
        pub p_approx: f64,
        /// z of the normal approximation.
        pub z_approx: f64,
        /// Matched-pairs rank-biserial correlation.
        pub rank_biserial: f64,
        /// Why a value is missing, or what was changed.
        pub note: String,
    }
}

stats_table! {
    /// `method_pairs`: sample-level method differences within models (mixed model).
    pub struct MethodPairRow = "method_pairs" {
        /// Metric.
        pub metric: String,
        /// `methods` (both real) or `controls` (at least one control).
        pub family: Family,
        /// First method.
        pub method_a: String,
        /// Second method.
        pub method_b: String,
        /// Models behind the estimate.
        pub n_models: usize,
        /// Samples behind the estimate.
        pub n_samples: usize,
        /// Mean difference a − b.
        pub estimate: f64,
        /// 95 % CI, lower end.
        pub ci_low: f64,
        /// 95 % CI, upper end.
        pub ci_high: f64,
        /// Standard error.
        pub se: f64,
        /// Degrees of freedom.
        pub df: f64,
        /// p-value.
        pub p: f64,
        /// Holm-adjusted p within (metric, family).
        pub p_holm: f64,
        /// Benjamini–Hochberg-adjusted p within (metric, family).
        pub p_bh: f64,
        /// Standardised effect size.
        pub effect_size: f64,
        /// The test that ran.
        pub test: String,
    }
}

/// `effects`: the effects behind findings 1–3 ([`crate::effects::Effect`]).
pub use crate::effects::Effect as EffectRow;

stats_table! {
    /// `findings`: the four findings, each with its effect, test and verdict.
    pub struct FindingRow = "findings" {
        /// Finding number (1–4).
        pub finding: i64,
        /// The claim tested.
        pub claim: String,
        /// What is estimated.
        pub effect: String,
        /// Estimate.
        pub estimate: f64,
        /// 95 % CI, lower end.
        pub ci_low: f64,
        /// 95 % CI, upper end.
        pub ci_high: f64,
        /// Minimal detectable effect at 80 % power.
        pub mde: f64,
        /// Models behind the estimate.
        pub n_models: usize,
        /// Samples behind the estimate.
        pub n_samples: usize,
        /// The test that ran.
        pub test: String,
        /// Metric.
        pub metric: String,
        /// p-value.
        pub p: f64,
        /// Significance level.
        pub alpha: f64,
        /// `supported`, `not supported` or `not testable`.
        pub verdict: String,
        /// What the verdict means for this design.
        pub detail: String,
    }
}

stats_table! {
    /// `notes`: what the analysis left out or changed, and why.
    pub struct NoteRow = "notes" {
        /// Why a value is missing, or what was changed.
        pub note: String,
    }
}

/// Declares [`Tables`] from its list of tables: the struct, its stems, writing, reading
/// and the untyped view.
macro_rules! tables {
    ($($field:ident: $row:ty,)*) => {
        /// Every statistics table of one analysis.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Tables {
            $( #[doc = concat!("`", stringify!($field), "`")] pub $field: Vec<$row>, )*
        }

        /// File stems of the tables, in order (each field is named after its stem).
        pub const TABLE_STEMS: &[&str] = &[$(stringify!($field),)*];

        /// The files [`Tables::write`] writes (every stem as `.csv` and `.parquet`): what a
        /// stats folder may hold for `--force` to replace it.
        pub const TABLE_FILES: &[&str] = &[$(
            concat!(stringify!($field), ".csv"),
            concat!(stringify!($field), ".parquet"),
        )*];

        /// The stem of each field's rows, by field name (equal: a test checks it).
        #[cfg(test)]
        fn row_stems() -> Vec<(&'static str, &'static str)> {
            vec![$((stringify!($field), <$row as crate::table::TableRow>::STEM),)*]
        }

        impl Tables {
            /// Writes every table as `<dir>/<stem>.csv` and `<dir>/<stem>.parquet`.
            pub fn write(&self, dir: &Path) -> Result<()> {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                $( write_rows(dir, &self.$field)?; )*
                Ok(())
            }

            /// Reads the tables written by [`Tables::write`].
            pub fn read(dir: &Path) -> Result<Self> {
                Ok(Self { $( $field: read_rows(dir)?, )* })
            }

            /// The table with file stem `stem`, untyped (for generic display).
            pub fn table(&self, stem: &str) -> Option<Table> {
                $( if stem == <$row as crate::table::TableRow>::STEM {
                    return Some(to_table(&self.$field));
                } )*
                None
            }
        }
    };
}

tables! {
    models: ModelRow,
    summary: SummaryRow,
    model_scores: ModelScoreRow,
    correlation: CorrelationRow,
    ols_fit: OlsFitRow,
    ols_coefficients: CoefficientRow,
    anova: AnovaRow,
    residuals: ResidualRow,
    residual_tests: ResidualTestRow,
    partial_correlation: PartialCorrelationRow,
    matched_bins: MatchedBinRow,
    matched_tests: MatchedTestRow,
    friedman: FriedmanRow,
    method_ranks: MethodRankRow,
    wilcoxon: WilcoxonRow,
    method_pairs: MethodPairRow,
    effects: EffectRow,
    findings: FindingRow,
    notes: NoteRow,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_names_read_back_and_others_are_errors() {
        use crate::columns::{Field, Value};
        for &b in Blocks::ALL {
            let mut out = Vec::new();
            b.put(&mut out);
            assert_eq!(Blocks::take(&mut out.iter(), "unit").unwrap(), b);
        }
        let bad = [Value::Str("models".into())];
        let e = Family::take(&mut bad.iter(), "family")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`family`") && e.contains("`models`") && e.contains("methods, controls"),
            "{e}"
        );
    }

    #[test]
    fn fields_are_named_after_their_stems_and_every_file_is_listed() {
        for (field, stem) in row_stems() {
            assert_eq!(field, stem);
        }
        let want: Vec<String> = TABLE_STEMS
            .iter()
            .flat_map(|s| [format!("{s}.csv"), format!("{s}.parquet")])
            .collect();
        assert_eq!(TABLE_FILES, want);
        assert_eq!(TABLE_STEMS.len(), 19);
    }
}
