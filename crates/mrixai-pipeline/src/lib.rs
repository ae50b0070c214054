//! The mrixai experiment pipeline: the whole experiment as resumable stages over a run
//! folder, whose layout is [`mrixai_core::layout`]: the configuration and grid ([`config`], [`grid`]), the run
//! folder a stage works on ([`context`]), the stages ([`stages`]) and their orchestration
//! ([`run`]), the manifest, SLURM emission and the work estimate.
//!
//! Every stage writes atomically and is skipped when its `done` marker exists, so a run
//! killed at any moment and started again recomputes only unfinished work. The library
//! draws nothing: progress and notes go to [`Run::progress`] ([`mrixai_core::progress`]);
//! the `mrixai` binary and `cargo xtask reproduce` render them.

#![forbid(unsafe_code)]

pub mod cell_files;
pub mod config;
pub mod context;
pub mod estimate;
pub mod grid;
pub mod manifest;
pub mod methods;
pub mod run;
pub mod slurm;
pub mod stages;
mod workers;

pub use config::ExperimentConfig;
pub use context::Run;
pub use grid::{Cell, Source};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
