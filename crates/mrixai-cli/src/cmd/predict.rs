//! `mrixai predict`: class predictions of a checkpoint on a dataset split, as CSV.

use mrixai_core::dataset::Split;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Arguments of `mrixai predict`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Checkpoint folder (model.safetensors + arch.json).
    #[arg(long)]
    pub model: PathBuf,
    /// Dataset folder.
    #[arg(long)]
    pub dataset: PathBuf,
    /// Split: train, val or test.
    #[arg(long, default_value = "test")]
    pub split: Split,
    /// Output CSV: sample,label,prediction,correct,p_0,…
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let p = mrixai_zoo::predict_split(&args.model, &args.dataset, args.split)?;
    let (pred, labels, probs) = (p.predicted, p.labels, p.probabilities);
    let classes = probs.first().map_or(0, Vec::len);
    let mut csv = String::from("sample,label,prediction,correct");
    for c in 0..classes {
        write!(csv, ",p_{c}")?;
    }
    csv.push('\n');
    for (i, ((p, l), pr)) in pred.iter().zip(&labels).zip(&probs).enumerate() {
        write!(csv, "{i},{l},{p},{}", p == l)?;
        for v in pr {
            write!(csv, ",{v}")?;
        }
        csv.push('\n');
    }
    mrixai_core::atomic::write_bytes(&args.out, csv.as_bytes())?;
    let correct = pred.iter().zip(&labels).filter(|(p, l)| p == l).count();
    println!(
        "{}: {} samples, accuracy {:.4}",
        args.out.display(),
        pred.len(),
        correct as f64 / pred.len().max(1) as f64
    );
    Ok(())
}
