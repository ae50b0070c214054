//! One module per subcommand: each has clap `Args` and a `run` function.

pub mod aggregate;
pub mod explain;
pub mod predict;
pub mod pretrain;
pub mod report;
pub mod run_cell;
pub mod score;
pub mod stats;
pub mod synth;
pub mod train;

use std::path::PathBuf;

/// The run folder and experiment config of the subcommands that work on a run.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// Experiment config (TOML).
    #[arg(long)]
    pub config: PathBuf,
}
