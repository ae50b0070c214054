//! `mrixai report`: the self-contained HTML report of a run folder.

use anyhow::Context as _;
use mrixai_report::{ReportOptions, build_report};
use std::path::PathBuf;

/// Arguments of `mrixai report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run folder (with `scores.parquet` or `scores.csv`; `stats/` is computed if absent).
    #[arg(long)]
    pub run: PathBuf,
    /// Test samples in the gallery.
    #[arg(long, default_value_t = 4)]
    pub gallery_samples: usize,
    /// Recompute `stats/` even if it exists.
    #[arg(long)]
    pub recompute_stats: bool,
    /// Samples entering model-level scores: `correct_all` or `correct`.
    #[arg(long, default_value = "correct")]
    pub subset: String,
    /// Seed of the bootstrap (when statistics are computed).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Report folder (default: RUN/report, replaced on every run).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing --out folder that holds nothing but a report.
    #[arg(long, requires = "out")]
    pub force: bool,
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut opts = ReportOptions {
        gallery_samples: args.gallery_samples,
        recompute_stats: args.recompute_stats,
        out: args.out.clone(),
        force: args.force,
        ..ReportOptions::default()
    };
    opts.stats.subset = args.subset.parse().map_err(|e| anyhow::anyhow!("--{e}"))?;
    opts.stats.seed = args.seed;
    let s = build_report(&args.run, &opts)
        .with_context(|| format!("report of {}", args.run.display()))?;
    for n in &s.notes {
        eprintln!("note: {n}");
    }
    println!("wrote {} ({} figures)", s.index.display(), s.figures.len());
    Ok(())
}
