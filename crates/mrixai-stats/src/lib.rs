//! # mrixai-stats
//!
//! Statistics over mrixai's long-format score table (one row per model cell × method ×
//! sample × metric): per-cell summaries with seeded bootstrap intervals, the correlation of
//! explanation and classification performance across models, OLS with type-II ANOVA to
//! correct for accuracy, and paired comparisons of methods (Friedman, Wilcoxon, Holm/BH).
//!
//! The numerics ([`rank`], [`describe`], [`corr`], [`linalg`], [`formula`], [`ols`],
//! [`nonparam`], [`multitest`]) work on plain slices and need no data-frame library; each
//! reproduces the named scipy/statsmodels function to about 1e-10. The statistics tables are
//! typed rows ([`columns`] declares them without polars, [`tables`] lists them), built by
//! [`analysis`], which turns every numerical [`Error`](mrixai_core::Error) into a `note`
//! cell instead of a crash; [`table`] reads and writes them as Parquet/CSV with polars.

#![forbid(unsafe_code)]

pub mod analysis;
pub mod columns;
pub mod compare;
pub mod corr;
pub mod describe;
pub mod dist;
pub mod effects;
pub mod formula;
pub mod linalg;
pub mod lmm;
pub mod multitest;
pub mod nonparam;
pub mod ols;
pub mod rank;
pub mod synthetic;
pub mod table;
pub mod tables;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
