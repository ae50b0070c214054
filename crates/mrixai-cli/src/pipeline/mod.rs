//! The whole experiment as resumable stages over a run folder, whose layout is
//! [`mrixai_core::layout`]: the configuration and grid ([`config`], [`grid`]), the run
//! folder a stage works on ([`context`]), the stages ([`stages`]) and their orchestration
//! ([`run`]), the manifest, SLURM emission and the work estimate.
//!
//! Every stage writes atomically and is skipped when its `done` marker exists, so a run
//! killed at any moment and started again recomputes only unfinished work.

pub mod config;
pub mod context;
pub mod estimate;
pub mod grid;
pub mod manifest;
pub mod run;
pub mod slurm;
pub mod stages;

pub use config::ExperimentConfig;
pub use context::Run;
pub use grid::{Cell, Source};
