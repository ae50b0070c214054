//! `mrixai stats`: statistics over a long-format score table.

use anyhow::Context as _;
use mrixai_core::atomic::OutDir;
use mrixai_stats::analysis::{self, Options, Subset};
use std::path::PathBuf;

/// Arguments of `mrixai stats`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Long-format score table (`.parquet` or `.csv`).
    #[arg(long)]
    pub scores: PathBuf,
    /// Folder for the tables (each written as CSV and Parquet), built under a temporary name
    /// and renamed into place.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing folder that holds nothing but tables `mrixai stats` writes.
    #[arg(long)]
    pub force: bool,
    /// Hide the progress bar (results still go to stdout, notes and errors to stderr).
    #[arg(long)]
    pub quiet: bool,
    /// OLS formula over model-level rows (default: `score ~ accuracy +
    /// C(pretrain, Treatment('<reference>')) * pretrained_layers`, with fallbacks).
    #[arg(long)]
    pub formula: Option<String>,
    /// Reference pre-training source of the treatment coding.
    #[arg(long, default_value = "scratch")]
    pub reference: mrixai_core::SourceName,
    /// Samples entering model-level scores: `correct_all` or `correct`.
    #[arg(long, default_value = "correct")]
    pub subset: String,
    /// Bootstrap resamples for the per-cell confidence intervals.
    #[arg(long, default_value_t = 1000)]
    pub n_boot: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Significance level.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Matched-accuracy bins.
    #[arg(long, default_value_t = 3)]
    pub bins: usize,
    /// Metric the findings are stated for (default: `emd_score` if present).
    #[arg(long)]
    pub primary_metric: Option<String>,
    /// Permutations of the Freedman–Lane tests of findings 2–3 (0 skips them).
    #[arg(long, default_value_t = 999)]
    pub n_perm: usize,
    /// Accuracy floor: models below it answer near chance and are left out, with a note.
    #[arg(long, default_value_t = 0.6)]
    pub min_accuracy: f64,
}

impl Args {
    /// The analysis options these arguments describe (a range error names the flag).
    pub fn options(&self) -> anyhow::Result<Options> {
        let opts = Options {
            formula: self.formula.clone(),
            reference: self.reference.clone(),
            subset: self
                .subset
                .parse::<Subset>()
                .map_err(|e| anyhow::anyhow!("--{e}"))?,
            n_boot: self.n_boot,
            seed: self.seed,
            alpha: self.alpha,
            bins: self.bins,
            primary_metric: self.primary_metric.clone(),
            n_perm: self.n_perm,
            min_accuracy: self.min_accuracy,
            ..Options::default()
        };
        opts.validate()
            .map_err(|e| anyhow::anyhow!("--{}", e.to_string().replacen('_', "-", 1)))?;
        Ok(opts)
    }
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let opts = args.options()?;
    let out = OutDir {
        path: args.out.clone(),
        replace: args.force,
    };
    let dir = out.begin(analysis::TABLE_FILES)?;
    let bar = mrixai_cli::Bar::new(!args.quiet);
    let tables = analysis::run(&args.scores, dir.path(), &opts, &bar)
        .with_context(|| format!("statistics of {}", args.scores.display()))?;
    dir.commit()?;
    for f in &tables.findings {
        println!(
            "({}) {} — {} = {:.4} [95 % CI {:.4}, {:.4}; MDE {:.4}; {} models]: {} (p = {:.3e})",
            f.finding,
            f.claim,
            f.effect,
            f.estimate,
            f.ci_low,
            f.ci_high,
            f.mde,
            f.n_models,
            f.verdict,
            f.p
        );
    }
    println!(
        "wrote {} tables to {}",
        analysis::TABLE_STEMS.len(),
        args.out.display()
    );
    Ok(())
}
