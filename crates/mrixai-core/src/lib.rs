//! # mrixai-core
//!
//! The small crate every other mrixai crate shares: the error type, deterministic seeding,
//! `.npy` and atomic file IO, the on-disk dataset format, and the traits that connect the
//! crates — [`Explainable`] (a model seen layer by layer), [`Attributor`] and [`Metric`].
//!
//! It depends on no deep-learning framework, so attribution methods and metrics written
//! against it never touch one.

#![forbid(unsafe_code)]

pub mod atomic;
pub mod cholesky;
pub mod dataset;
pub mod error;
pub mod explain;
pub mod geometry;
pub mod layout;
pub mod model_key;
pub mod npy;
pub mod npy_any;
pub mod progress;
pub mod seed;

pub use error::{Error, Result};
pub use explain::{
    Attributor, Explainable, LayerKind, Metric, Randomizable, ReluRule, WeightMap, WeightTransform,
};
pub use model_key::{ModelKey, Source, SourceName};

/// Dynamic-rank `f32` array (images, attributions, activations).
pub type ArrayF = ndarray::ArrayD<f32>;
/// Borrowed dynamic-rank `f32` array.
pub type ViewF<'a> = ndarray::ArrayViewD<'a, f32>;

/// Whether larger values of the metric named `name` are better: all but distances and
/// errors (`emd`, `*_distance`, `*_error`) and the metrics without ground truth whose better
/// maps give smaller values (the area of a LeRF drop curve or of a MoRF pixel-flipping curve,
/// the share of a MoRF ROAD curve still classified, `max_sensitivity`, the entropy
/// `complexity`). The one rule
/// of metric direction, used by the metrics, the statistics and the report.
pub fn higher_is_better(name: &str) -> bool {
    const LOWER: [&str; 6] = [
        "emd",
        "region_perturbation_lerf",
        "pixel_flipping",
        "road",
        "max_sensitivity",
        "complexity",
    ];
    !(LOWER.contains(&name) || name.ends_with("_distance") || name.ends_with("_error"))
}

/// Whether the metric named `name` is 1 or 0 per sample, a hit or a miss (the pointing
/// game): the report shows its share of hits, not a distribution.
pub fn is_binary_metric(name: &str) -> bool {
    name == "pointing_game"
}

/// Version of the mrixai crates, recorded in every artefact's metadata.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The values of `x` in C order: borrowed when `x` is contiguous in C order, copied otherwise.
///
/// Element-wise iteration over a dynamic-rank view is slow; contiguous views (the common
/// case) are read as one slice.
pub fn c_order_values<S, D>(x: &ndarray::ArrayBase<S, D>) -> std::borrow::Cow<'_, [f32]>
where
    S: ndarray::Data<Elem = f32>,
    D: ndarray::Dimension,
{
    match x.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(x.iter().copied().collect()),
    }
}

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
