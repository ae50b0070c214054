//! `mrixai aggregate`: the long-format table, statistics and report of a finished run.

use anyhow::Result;
use mrixai_cli::pipeline::{ExperimentConfig, Run};
use std::path::PathBuf;

/// Arguments of `mrixai aggregate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// Experiment config (TOML).
    #[arg(long)]
    pub config: PathBuf,
    /// Hide progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    let cfg = ExperimentConfig::from_file(&args.config)?;
    let mut run = Run::new(&args.run, cfg)?;
    run.progress = !args.quiet;
    run.aggregate()?;
    println!(
        "report: {}",
        args.run.join("report").join("index.html").display()
    );
    Ok(())
}
