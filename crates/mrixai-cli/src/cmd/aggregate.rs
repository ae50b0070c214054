//! `mrixai aggregate`: the long-format table, statistics and report of a finished run.

use super::RunArgs;
use anyhow::Result;
use mrixai_pipeline::{ExperimentConfig, Run};

/// Arguments of `mrixai aggregate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run folder and experiment config.
    #[command(flatten)]
    pub target: RunArgs,
    /// Hide progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    let cfg = ExperimentConfig::from_file(&args.target.config)?;
    let mut run = Run::new(&args.target.run, cfg)?;
    run.progress = std::sync::Arc::new(mrixai_cli::Bar::new(!args.quiet));
    run.aggregate()?;
    println!("report: {}", run.layout().report_index().display());
    Ok(())
}
