//! `mrixai report`: the self-contained HTML report of a run folder.

use anyhow::Context as _;
use mrixai_core::layout::RunLayout;
use mrixai_report::{ReportOptions, build_report_with, scores_path};
use mrixai_stats::analysis;
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
    /// Recompute `stats/` even if it exists (it is computed when absent or unreadable).
    #[arg(long)]
    pub recompute_stats: bool,
    /// Hide the progress bar of the statistics.
    #[arg(long)]
    pub quiet: bool,
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
        out: args.out.clone(),
        force: args.force,
        ..ReportOptions::default()
    };
    opts.stats.subset = args.subset.parse().map_err(|e| anyhow::anyhow!("--{e}"))?;
    opts.stats.seed = args.seed;
    let stats = RunLayout::new(&args.run).stats();
    let compute = || -> anyhow::Result<analysis::Tables> {
        let scores = scores_path(&args.run)?;
        let bar = mrixai_cli::Bar::new(!args.quiet);
        let tables = analysis::run(&scores, &stats, &opts.stats, &bar)
            .with_context(|| format!("statistics of {}", scores.display()))?;
        eprintln!("note: statistics computed into {}", stats.display());
        Ok(tables)
    };
    let tables = if args.recompute_stats || !stats.is_dir() {
        compute()?
    } else {
        match analysis::Tables::read(&stats) {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "note: {} cannot be read ({e}); computing it again",
                    stats.display()
                );
                compute()?
            }
        }
    };
    let s = build_report_with(&args.run, &tables, &opts)
        .with_context(|| format!("report of {}", args.run.display()))?;
    for n in &s.notes {
        eprintln!("note: {n}");
    }
    println!("wrote {} ({} figures)", s.index.display(), s.figures.len());
    Ok(())
}
