//! `mrixai run-cell`: one unit of work of an experiment run (what a SLURM array task runs).

use super::RunArgs;
use anyhow::{Context, Result, bail};
use mrixai_pipeline::{ExperimentConfig, Run, grid};

/// Arguments of `mrixai run-cell`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run folder and experiment config.
    #[command(flatten)]
    pub target: RunArgs,
    /// Prepare the run: datasets and pre-trained checkpoints (needed before any cell).
    #[arg(long, conflicts_with_all = ["index", "cell", "all"])]
    pub prepare: bool,
    /// Index of the cell in the grid (0-based, the order of `cells.txt`).
    #[arg(long, conflicts_with_all = ["cell", "all"])]
    pub index: Option<usize>,
    /// Id of the cell.
    #[arg(long, conflicts_with = "all")]
    pub cell: Option<String>,
    /// Prepare and run every cell (no aggregation).
    #[arg(long)]
    pub all: bool,
    /// Hide progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// Compute device, overriding the config's `device` (cpu, gpu or gpu:N).
    #[arg(long, value_name = "cpu|gpu|gpu:N")]
    pub device: Option<mrixai_zoo::Compute>,
}

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    let mut cfg = ExperimentConfig::from_file(&args.target.config)?;
    if let Some(d) = args.device {
        cfg.device = d;
    }
    let cells = grid::cells(&cfg);
    let mut run = Run::new(&args.target.run, cfg.clone())?;
    run.progress = std::sync::Arc::new(mrixai_cli::Bar::new(!args.quiet));
    if args.prepare {
        return Ok(run.prepare()?);
    }
    if args.all {
        run.prepare()?;
        for c in &cells {
            run.run_cell(c)
                .with_context(|| format!("cell {}", cfg.cell_id(c)))?;
        }
        return Ok(());
    }
    let cell = match (args.index, &args.cell) {
        (Some(i), _) => *cells.get(i).with_context(|| {
            format!(
                "--index {i}: the grid has {} cells (0..{})",
                cells.len(),
                cells.len()
            )
        })?,
        (None, Some(id)) => *cells
            .iter()
            .find(|c| cfg.cell_id(c) == *id)
            .with_context(|| format!("--cell {id}: no such cell in this config's grid"))?,
        (None, None) => bail!("say what to run: --prepare, --index I, --cell ID or --all"),
    };
    run.run_cell(&cell)
        .with_context(|| format!("cell {}", cfg.cell_id(&cell)))?;
    Ok(())
}
