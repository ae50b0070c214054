//! `mrixai predict`: class predictions of a checkpoint on a dataset split or on an input
//! batch, as CSV (predictions and probabilities) or `.npy` (the logits).

use mrixai_core::ArrayF;
use mrixai_core::dataset::read_split;
use mrixai_zoo::Vgg;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Arguments of `mrixai predict`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The checkpoint and the images.
    #[command(flatten)]
    pub source: super::ModelInput,
    /// Output: `.csv` (sample[,label],prediction[,correct],p_0,…) or `.npy` (float32 logits
    /// `[N, classes]`).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output file (never a folder, never without this flag).
    #[arg(long)]
    pub force: bool,
}

/// The images to predict and, for a dataset, their labels.
fn inputs(args: &Args) -> anyhow::Result<(ArrayF, Option<Vec<usize>>)> {
    match (&args.source.dataset, &args.source.input) {
        (Some(dir), _) => {
            let s = read_split(dir, args.source.split)?;
            let labels = s.label_indices();
            Ok((s.images, Some(labels)))
        }
        (None, Some(path)) => {
            let (x, note) = mrixai_core::npy_any::read(path)?.into_f32(path);
            if let Some(n) = note {
                eprintln!("note: {n}");
            }
            Ok((x, None))
        }
        (None, None) => anyhow::bail!("give --dataset DIR or --input x.npy"),
    }
}

fn csv(pred: &[usize], labels: Option<&[usize]>, probs: &[Vec<f32>]) -> anyhow::Result<String> {
    let classes = probs.first().map_or(0, Vec::len);
    let mut out = String::from(match labels {
        Some(_) => "sample,label,prediction,correct",
        None => "sample,prediction",
    });
    for c in 0..classes {
        write!(out, ",p_{c}")?;
    }
    out.push('\n');
    for (i, (p, pr)) in pred.iter().zip(probs).enumerate() {
        match labels {
            Some(l) => write!(out, "{i},{},{p},{}", l[i], *p == l[i])?,
            None => write!(out, "{i},{p}")?,
        }
        for v in pr {
            write!(out, ",{v}")?;
        }
        out.push('\n');
    }
    Ok(out)
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let ext = args.out.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext != "csv" && ext != "npy" {
        anyhow::bail!(
            "{}: unsupported output format `.{ext}`; `mrixai predict` writes .csv or .npy",
            args.out.display()
        );
    }
    mrixai_core::atomic::check_out_file(&args.out, args.force)?;
    let model = Vgg::load_on(&args.source.model, args.source.device.device)?;
    let (images, labels) = inputs(&args)?;
    let x = model.prepare(images.view())?;
    let logits = model.logits_batched(x.view())?;
    let pred = mrixai_zoo::argmax_rows(&logits);
    write_output(&args.out, ext, &logits, &pred, labels.as_deref())?;
    let summary = match &labels {
        Some(l) => format!(
            ", accuracy {:.4}",
            pred.iter().zip(l).filter(|(p, l)| p == l).count() as f64 / pred.len().max(1) as f64
        ),
        None => String::new(),
    };
    println!("{}: {} samples{summary}", args.out.display(), pred.len());
    Ok(())
}

fn write_output(
    out: &Path,
    ext: &str,
    logits: &ArrayF,
    pred: &[usize],
    labels: Option<&[usize]>,
) -> anyhow::Result<()> {
    if ext == "npy" {
        mrixai_core::npy::write(out, logits)?;
    } else {
        let text = csv(pred, labels, &mrixai_zoo::softmax_rows(logits))?;
        mrixai_core::atomic::write_bytes(out, text.as_bytes())?;
    }
    Ok(())
}
