//! Explanation metrics without ground truth: what users compute on their own data, where no
//! lesion mask says what the model should look at. They need the model (except the two
//! complexity measures), so they live here, where models and maps meet, apart from the
//! ground-truth metrics of `mrixai-metrics`.
//!
//! - [`region_perturbation`] and [`pixel_flipping`]: the model's output as the most (MoRF) or
//!   least (LeRF) relevant patches or features are replaced by a baseline, one curve per
//!   sample ([`Curves`], with its area);
//! - [`road`]: whether the model still predicts the target as a growing share of the most
//!   (or least) relevant pixels is imputed from their neighbours;
//! - [`faithfulness_correlation`]: the correlation, over random feature subsets, of the
//!   attribution they hold and the output drop their removal causes;
//! - [`max_sensitivity`]: how far a map moves under small input noise (the explanation
//!   function is the caller's);
//! - [`sparseness`] (Gini index) and [`complexity`] (entropy) of a map;
//! - [`score`]: the metrics by name ([`NAMES`]), one value per sample, for tables.
//!
//! Each equals Quantus 0.6 (`fixtures/gtfree`) where its definition is sound; where Quantus's
//! result depends on something other than the sample (its batch-wide normalisation, numpy's
//! tie order, its global random state), mrixai uses the per-sample definition and says so in
//! docs/METRICS.md. Inputs are `[N, C, …spatial]` (images or volumes); maps are of the same
//! shape or `[N, 1, …spatial]` (one map for every channel, as Quantus broadcasts it).

#![forbid(unsafe_code)]

mod complexity;
mod faithfulness;
mod input;
mod perturbation;
mod road;
mod sensitivity;
mod set;

pub use complexity::{complexity, sparseness};
pub use faithfulness::{
    FaithfulnessCorrelation, faithfulness_correlation, faithfulness_correlation_on,
};
pub use input::{Baseline, Output};
pub use perturbation::{
    Curves, Order, PixelFlipping, RegionPerturbation, pixel_flipping, region_perturbation,
};
pub use road::{Road, road, road_impute};
pub use sensitivity::{Explain, MaxSensitivity, max_sensitivity, max_sensitivity_on};
pub use set::{Batch, NAMES, Settings, parse_names, score};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
