//! # mrixai-metrics
//!
//! Ground-truth explanation metrics for attribution maps of 2-D images and 3-D volumes:
//! exact earth mover's distance (and its score), XAI-TRIS precision, rank and mass
//! accuracy, positive mass, pointing game, AUROC, average precision, top-k intersection
//! and thresholded precision/recall/F1; channel pooling of multi-channel maps; and the
//! correct-sample filters used to compare models on equal footing.
//!
//! ```
//! use mrixai_metrics::{score_all, ALL_METRICS};
//! use ndarray::{ArrayD, IxDyn};
//! let attr = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0f32, 0.0, 0.0, 0.0]).unwrap();
//! let mask = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1u8, 0, 0, 0]).unwrap();
//! let v = score_all(attr.view(), mask.view(), &ALL_METRICS).unwrap();
//! assert_eq!(v[0], 0.0); // emd of the oracle map
//! ```

pub mod emd;
pub mod filter;
pub mod input;
pub mod metrics;
pub mod pool;

pub use emd::{emd_between, emd_mask, grid_diameter};
pub use filter::{correct, correct_all, kept_indices, predictions_from_logits};
pub use input::{
    DEFAULT_MASK_THRESHOLD, NanPolicy, align, binarize, check_finite, check_threshold,
    mask_from_values, read_attributions, read_mask,
};
pub use metrics::{
    ALL_METRICS, MetricKind, MetricSet, NamedMetric, PARAMETERISED_METRICS, Sample, metric_by_name,
    score_all,
};
pub use mrixai_core::progress::{Progress, Silent};
pub use pool::{Pooling, pool_channels};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
