//! The whole experiment as resumable stages over a run folder:
//!
//! ```text
//! run/run.json                       manifest: config, profile, seeds, versions, git commit, timings, machine
//! run/dataset/                       the lesion benchmark (mrixai-synth format)
//! run/pretrain/<source>/             pre-trained checkpoints (+ done marker)
//! run/controls/<hash>/               maps and scores of the model-free controls, shared by all cells
//! run/cells/<cell-id>/               one trained model, its attributions and scores (+ done marker)
//! run/scores.parquet, scores.csv     all cells, long format
//! run/stats/                         statistics tables
//! run/report/index.html              the report
//! ```
//!
//! Every stage writes atomically and is skipped when its `done` marker exists, so a run
//! killed at any moment and started again recomputes only unfinished work.

pub mod config;
pub mod estimate;
pub mod grid;
pub mod manifest;
pub mod run;
pub mod slurm;
pub mod stages;

pub use config::ExperimentConfig;
pub use grid::{Cell, Source};
pub use run::Run;
