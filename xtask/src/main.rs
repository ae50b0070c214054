//! `cargo xtask reproduce`: the whole mrixai experiment in one resumable command.

#![forbid(unsafe_code)]

/// The same allocator as the `mrixai` binary (see docs/DEPENDENCIES.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;

use anyhow::Result;
use clap::{Parser, Subcommand};
use mrixai_pipeline::{ExperimentConfig, Run, slurm};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "mrixai project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole experiment (datasets, pre-training, grid, explanations, scores,
    /// statistics, report). Resumable: rerun after an interruption to finish it.
    Reproduce(ReproduceArgs),
    /// Time training, inference and every model-based attribution method of one architecture
    /// on one device, and write the weights, inputs and maps for the PyTorch + Captum peer
    /// (`xtask/gpu/peer.py`; docs/GPU.md).
    BenchDevice(bench::BenchArgs),
}

/// The profiles that start without `--yes` (and without a calibration run).
const SHORT_PROFILES: [&str; 3] = ["quick", "quick3d", "tiny"];

#[derive(Debug, clap::Args)]
struct ReproduceArgs {
    /// Committed profile: `quick` (CPU, minutes), `quick3d` (the same on volumes, CPU,
    /// minutes), `standard` (CPU, about an hour), `paper` (GPU, days) or `tiny` (tests).
    #[arg(long, default_value = "quick")]
    profile: String,
    /// Your own experiment config (TOML, same fields as configs/quick.toml); overrides --profile.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run folder (default: runs/<profile>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Instead of running, write SLURM scripts (prepare, job array of cells, aggregate) into DIR.
    #[arg(long, value_name = "DIR")]
    emit_slurm: Option<PathBuf>,
    /// The `mrixai` binary as cluster nodes see it (with --emit-slurm).
    #[arg(long, default_value = "mrixai")]
    slurm_binary: String,
    /// Extra `#SBATCH` line(s), e.g. `--sbatch "--partition=gpu"` (with --emit-slurm).
    #[arg(long = "sbatch", allow_hyphen_values = true)]
    sbatch: Vec<String>,
    /// CPUs per cell task: `--cpus-per-task` and the threads inside the task (with --emit-slurm).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    slurm_cpus: u16,
    /// Run at most N cell tasks at once (`--array=…%N`; with --emit-slurm).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    slurm_throttle: Option<u16>,
    /// Cells trained, explained and scored at once, each on its share of the cores
    /// (0: one per core). The results do not depend on it.
    #[arg(long, value_name = "N", default_value_t = 0, conflicts_with_all = ["emit_slurm", "estimate"])]
    jobs: usize,
    /// Do not ask before starting a long (non-quick) profile.
    #[arg(long)]
    yes: bool,
    /// Only print the work and its CPU time priced with unit costs measured now on this
    /// machine (a short calibration: one training epoch on a few images, one map per
    /// method on a proxy network, one scored map), then exit. Long profiles always print it.
    #[arg(long)]
    estimate: bool,
    /// Compute device of every model, overriding the profile's `device`: `cpu`, `gpu` (the
    /// best GPU adapter) or `gpu:N`; a GPU needs `cargo xtask-gpu` (the cargo feature `gpu`).
    #[arg(long, value_name = "cpu|gpu|gpu:N")]
    device: Option<mrixai_zoo::Compute>,
}

fn workspace_root() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

fn reproduce(args: ReproduceArgs) -> Result<()> {
    let mut cfg = match &args.config {
        Some(p) => ExperimentConfig::from_file(p)?,
        None => ExperimentConfig::profile(&args.profile)?,
    };
    if let Some(d) = args.device {
        cfg.device = d;
        cfg.validate()?;
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| workspace_root().join("runs").join(&cfg.profile));
    let cells = mrixai_pipeline::grid::cells(&cfg);
    if let Some(dir) = &args.emit_slurm {
        let opts = slurm::SlurmOptions {
            binary: args.slurm_binary.clone(),
            sbatch: args.sbatch.clone(),
            cpus: usize::from(args.slurm_cpus),
            throttle: args.slurm_throttle.map(usize::from),
            ..Default::default()
        };
        let out = std::path::absolute(&out).unwrap_or(out);
        let n = slurm::emit(&cfg, &out, dir, &opts)?;
        println!(
            "wrote SLURM scripts for {n} cells to {} (submit with {}/submit.sh)",
            dir.display(),
            dir.display()
        );
        return Ok(());
    }
    println!(
        "mrixai reproduce: profile `{}`, {} cells, run folder {}",
        cfg.profile,
        cells.len(),
        out.display()
    );
    println!("{}", mrixai_pipeline::estimate::work(&cfg)?);
    let long = !SHORT_PROFILES.contains(&cfg.profile.as_str());
    if long || args.estimate {
        eprintln!("calibrating unit costs on this machine …");
        println!("{}", mrixai_pipeline::estimate::calibrate(&cfg)?);
    }
    if args.estimate {
        return Ok(());
    }
    if long && !args.yes {
        anyhow::bail!(
            "profile `{}` is long: rerun with --yes to start it",
            cfg.profile
        );
    }
    let mut run = Run::new(&out, cfg)?;
    run.jobs = args.jobs;
    run.progress = std::sync::Arc::new(mrixai_cli::Bar::new(true));
    run.reproduce()?;
    println!(
        "report: {}",
        mrixai_core::layout::RunLayout::new(&out)
            .report_index()
            .display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    mrixai_cli::install_interrupt_cleanup();
    mrixai_cli::run_main(|| match cli.command {
        Command::Reproduce(a) => reproduce(a),
        Command::BenchDevice(a) => bench::run(a),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--sbatch` takes values that start with `-`, as its help text shows them.
    #[test]
    fn sbatch_values_may_start_with_a_dash() {
        let cli = Cli::try_parse_from([
            "xtask",
            "reproduce",
            "--emit-slurm",
            "slurm",
            "--sbatch",
            "--partition=gpu",
            "--sbatch",
            "--gres=gpu:1",
            "--slurm-cpus",
            "8",
        ])
        .expect("parses");
        let Command::Reproduce(a) = cli.command else {
            panic!("not reproduce")
        };
        assert_eq!(a.sbatch, ["--partition=gpu", "--gres=gpu:1"]);
        assert_eq!(a.slurm_cpus, 8);
        assert!(Cli::try_parse_from(["xtask", "reproduce", "--slurm-cpus", "0"]).is_err());
    }

    /// `--jobs` runs cells here, so it is refused with the flags that run none.
    #[test]
    fn jobs_conflicts_with_flags_that_run_no_cells() {
        for other in [&["--emit-slurm", "slurm"][..], &["--estimate"]] {
            let args = [&["xtask", "reproduce", "--jobs", "2"][..], other].concat();
            assert!(Cli::try_parse_from(args).is_err(), "{other:?}");
        }
        let cli = Cli::try_parse_from(["xtask", "reproduce", "--jobs", "1"]).expect("parses");
        let Command::Reproduce(a) = cli.command else {
            panic!("not reproduce")
        };
        assert_eq!(a.jobs, 1);
    }
}
