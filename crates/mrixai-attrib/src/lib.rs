//! # mrixai-attrib
//!
//! Attribution methods and controls for CNN classifiers, written against
//! [`mrixai_core::Explainable`] only (no deep-learning framework types), with Captum's method
//! and parameter names, defaults and numerics:
//!
//! - gradients: [`Gradient`], [`InputXGradient`], [`GuidedBackprop`], [`Deconvolution`],
//!   [`IntegratedGradients`], [`GradientShap`];
//! - reference-based: [`DeepLift`] (Rescale, Captum's max-pool rule), [`DeepLiftShap`];
//! - relevance: [`Lrp`] with Zennit-style [`lrp::Rule`]s assigned by [`lrp::Composite`]s;
//! - class activation: [`GradCam`], [`GuidedGradCam`];
//! - perturbation: [`Occlusion`], [`Lime`], [`KernelShap`], [`ShapleyValueSampling`] on
//!   [`Superpixels`];
//! - controls: [`RandomMap`], [`Sobel`], [`Laplace`], [`InputMap`], [`Oracle`].
//!
//! [`METHODS`] declares each of them once (name, parameters with defaults, constructor), and
//! [`method_by_name`] builds any of them from string parameters; [`axioms`] checks
//! completeness / summation-to-delta / conservation per sample; [`sanity`] runs the cascading
//! model-parameter randomisation test.

#![forbid(unsafe_code)]

pub mod axioms;
mod backprop;
pub mod cam;
pub mod controls;
pub mod deeplift;
pub mod gradient;
pub mod lrp;
mod nd;
pub mod perturb;
pub mod quadrature;
pub mod registry;
pub mod sanity;
pub mod service;
pub mod superpixels;
pub mod util;

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use axioms::{Axiom, AxiomCheck, AxiomChecked};
pub use cam::{GradCam, GuidedGradCam};
pub use controls::{InputMap, Laplace, Oracle, RandomMap, Sobel};
pub use deeplift::{DeepLift, DeepLiftShap};
pub use gradient::{
    Deconvolution, Gradient, GradientShap, GuidedBackprop, InputXGradient, IntegratedGradients,
};
pub use lrp::{Composite, Lrp};
pub use perturb::{FeatureSettings, KernelShap, Lime, Occlusion, ShapleyValueSampling};
pub use quadrature::Quadrature;
pub use registry::{
    METHODS, MethodSpec, ORACLE, is_model_free, method_by_name, method_names, needs_masks,
};
pub use sanity::{Randomizable, SanityRow, cascading_randomization};
pub use service::{Explanation, TargetClass, explain};
pub use superpixels::Superpixels;
pub use util::{Baseline, upsample_nearest};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
