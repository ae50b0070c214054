//! One module per subcommand: each has clap `Args` and a `run` function.

pub mod aggregate;
pub mod evaluate;
pub mod explain;
pub mod predict;
pub mod pretrain;
pub mod report;
pub mod run_cell;
pub mod score;
pub mod stats;
pub mod synth;
pub mod train;

use mrixai_core::dataset::Split;
use mrixai_zoo::Compute;
use std::path::PathBuf;

/// A checkpoint and what it sees: a dataset split or an input batch (`explain`, `predict`).
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["dataset", "input"])))]
pub struct ModelInput {
    /// Checkpoint: a folder with `model.safetensors` and `arch.json`, or a `model.safetensors`
    /// file with `arch.json` beside it.
    #[arg(long)]
    pub model: PathBuf,
    /// Dataset folder (written by `mrixai synth`).
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Split of the dataset: train, val or test.
    #[arg(long, default_value = "test")]
    pub split: Split,
    /// Input batch `[N, C, H, W]` (or volumes `[N, C, D, H, W]`) as `.npy` (any numeric dtype;
    /// read as float32) instead of a dataset.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Where the model runs.
    #[command(flatten)]
    pub device: DeviceArg,
}

/// A checkpoint, the inputs it sees and the class each map explains (`explain`, `evaluate`).
#[derive(Debug, clap::Args)]
pub struct ExplainedBatch {
    /// The checkpoint and the images (with `--dataset`, the class explained is set by
    /// `--target-class`).
    #[command(flatten)]
    pub source: ModelInput,
    /// The class each map explains.
    #[command(flatten)]
    pub targets: TargetArgs,
}

/// The class a map explains: from a file with `--input`, or the prediction or label of each
/// sample of `--dataset` (`explain`, `evaluate`).
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// Target classes `[N]` as `.npy` (any integer or bool dtype, or whole-valued floats; with
    /// `--input`; default: the predicted class).
    #[arg(long, requires = "input", conflicts_with = "dataset")]
    pub target: Option<PathBuf>,
    /// With `--dataset`: the `prediction` (default, as the pipeline does) or the true `label`
    /// of each sample.
    #[arg(long, value_name = "prediction|label", conflicts_with = "input")]
    pub target_class: Option<String>,
}

/// Fails unless `out` names a `.csv` or `.parquet` table (`score`, `evaluate`).
pub fn check_table_path(out: &std::path::Path, command: &str) -> anyhow::Result<()> {
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext != "csv" && ext != "parquet" {
        anyhow::bail!(
            "{}: unsupported output format `.{ext}`; `mrixai {command}` writes .csv or .parquet tables",
            out.display()
        );
    }
    Ok(())
}

/// `--device`: where models are created, loaded, trained and explained.
#[derive(Debug, clap::Args)]
pub struct DeviceArg {
    /// Compute device: `cpu` (bit-reproducible), `gpu` (the best GPU adapter) or `gpu:N`
    /// (the N-th discrete GPU); a GPU needs a build with the cargo feature `gpu`.
    #[arg(long, default_value = "cpu", value_name = "cpu|gpu|gpu:N")]
    pub device: Compute,
}

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
