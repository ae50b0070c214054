//! The whole experiment as resumable stages over a run folder:
//!
//! ```text
//! run/run.json                       manifest: config, profile, seeds, versions, git commit, timings, machine
//! run/dataset/                       the lesion benchmark (mrixai-synth format)
//! run/pretrain/<source>/             pre-trained checkpoints (+ done marker)
//! run/cells/<cell-id>/               one trained model, its attributions and scores (+ done marker)
//! run/scores.parquet, scores.csv     all cells, long format
//! run/stats/                         statistics tables
//! run/report/index.html              the report
//! ```
//!
//! Every stage writes atomically and is skipped when its `done` marker exists, so a run
//! killed at any moment and started again recomputes only unfinished work.

pub mod config;
pub mod grid;
pub mod manifest;
pub mod run;
pub mod slurm;
pub mod stages;

pub use config::ExperimentConfig;
pub use grid::{Cell, Source};
pub use run::Run;

/// A plain-words estimate of the work a configuration asks for, printed before a run starts.
pub fn estimate(cfg: &ExperimentConfig) -> mrixai_core::Result<String> {
    let cells = grid::cells(cfg)?;
    let pretrained = cfg.grid.sources.iter().filter(|s| *s != "scratch").count();
    let maps = cells.len() * cfg.explain.methods.len() * cfg.explain.max_samples;
    Ok(format!(
        "work: {} pre-training run(s) of ≤ {} epochs, {} cell(s) × ≤ {} epochs of `{}`, {} attribution maps ({} methods × ≤ {} test samples per cell), {} metrics each",
        pretrained,
        cfg.pretrain.train.epochs,
        cells.len(),
        cfg.train.epochs,
        cfg.model.arch,
        maps,
        cfg.explain.methods.len(),
        cfg.explain.max_samples,
        cfg.score.metrics.len()
    ))
}
