//! # mrixai-zoo
//!
//! VGG models built from `arch.json` exactly like torchvision's `VGG` (same module order and
//! state-dict names), on [burn](https://burn.dev) tensors: weight IO in safetensors,
//! transfer learning (partial pre-trained init, freezing), pre-training tasks, a seeded
//! training loop, and the [`mrixai_core::Explainable`] view used by attribution methods.

pub mod arch;
mod kernels;
mod ood3d;
mod params;
pub mod pretrain;
mod rules;
pub mod run;
pub mod simd;
pub mod tensor;
#[cfg(test)]
mod testutil;
pub mod train;
pub mod transfer;
pub mod vgg;
pub mod weights;

pub use arch::{Arch, FeatureItem, InputNorm};
pub use mrixai_core::atomic::OutDir;
pub use pretrain::{CHECKPOINT_FILES, ModelInfo, OodTask, TrainedOn, ood_shapes, save_checkpoint};
pub use run::{
    InitSpec, Predictions, import_imagenet, predict_split, pretrain_ood, train_model_on_dataset,
    train_on_dataset,
};
pub use tensor::Compute;
pub use train::{Optimizer, TrainConfig, TrainReport, train};
pub use transfer::Init;
pub use vgg::{Vgg, argmax_rows, softmax_rows};
pub use weights::checkpoint_paths;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
