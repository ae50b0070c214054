//! `mrixai explain`: attribution maps of a trained model with one method.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use mrixai_attrib::{Explanation, TargetClass, explain};
use mrixai_core::atomic::check_out_file;
use mrixai_core::dataset::read_split;
use mrixai_core::explain::check_targets;
use mrixai_core::{ArrayF, Error, Explainable};
use mrixai_zoo::Vgg;
use ndarray::Axis;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The long help of `--method`: every method and control of [`mrixai_attrib::METHODS`] with
/// what it computes and its parameters' defaults.
fn method_help() -> String {
    let mut help = String::from("Attribution method or control (docs/METHODS.md):");
    for m in mrixai_attrib::METHODS {
        let params: Vec<String> = m
            .parameters()
            .map(|p| match p.default {
                "" => p.name.to_string(),
                d => format!("{}={d}", p.name),
            })
            .collect();
        help.push_str(&format!("\n  {:<24} {}", m.name, m.about));
        if !params.is_empty() {
            help.push_str(&format!(" [{}]", params.join(", ")));
        }
    }
    help
}

/// Arguments of `mrixai explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The checkpoint, the images and the class each map explains.
    #[command(flatten)]
    pub batch: super::ExplainedBatch,
    /// Attribution method or control (`--help` lists them; docs/METHODS.md).
    #[arg(long, long_help = method_help())]
    pub method: String,
    /// Method parameter `key=value` (Captum names, e.g. `n_steps=50`); repeatable.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Output `.npy` (float32, shaped like the input, `[N, C, H, W]` or `[N, C, D, H, W]`; raw
    /// Grad-CAM `[N, 1, h, w]` or `[N, 1, d, h, w]`).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output file (and, with `--nifti`, its `.nii.gz`) (never a folder, never without this flag).
    #[arg(long)]
    pub force: bool,
    /// Hide the progress bar (results still go to stdout, notes and errors to stderr).
    #[arg(long)]
    pub quiet: bool,
    /// Also write the channel-summed maps as NIfTI (`<out>.nii.gz`, oriented like the dataset's
    /// `images.nii.gz`).
    #[arg(long)]
    pub nifti: bool,
    /// Samples per attribution call.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
}

/// Parses `key=value` pairs; a repeated key is an error.
pub fn parse_params(items: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for item in items {
        let (k, v) = item
            .split_once('=')
            .with_context(|| format!("--param `{item}`: expected KEY=VALUE"))?;
        if map
            .insert(k.trim().to_string(), v.trim().to_string())
            .is_some()
        {
            anyhow::bail!("--param `{}` given twice", k.trim());
        }
    }
    Ok(map)
}

/// Reads class indices of any integer, bool or whole-valued float dtype, saying on stderr
/// what was converted.
fn read_targets(path: &Path) -> anyhow::Result<Vec<usize>> {
    let (t, note) = mrixai_core::npy_any::read(path)?.into_index_list(path, "target")?;
    if let Some(n) = note {
        eprintln!("note: {n}");
    }
    Ok(t)
}

/// Reads the input images of any numeric dtype as float32 (saying what was converted) and
/// rejects NaN/Inf.
fn read_input(path: &Path) -> anyhow::Result<ArrayF> {
    let (x, note) = mrixai_core::npy_any::read(path)?.into_f32(path);
    if let Some(n) = note {
        eprintln!("note: {n}");
    }
    mrixai_core::error::ensure_finite(&path.display().to_string(), x.iter())?;
    Ok(x)
}

/// A checkpoint with the batch it explains.
pub(crate) struct Batch {
    /// The model.
    pub model: Vgg,
    /// The inputs, prepared for the model.
    pub x: ArrayF,
    /// The class explained per sample.
    pub targets: Vec<usize>,
    /// The dataset split's masks (with `--dataset`).
    pub masks: Option<ndarray::ArrayD<u8>>,
}

/// The checkpoint of `batch` on its device, its inputs (prepared for the model), the
/// target classes (from `--target` with `--input`, the labels with `--dataset` when
/// `--target-class` is `label`, else the predictions; checked, an error naming where they came
/// from) and, with `--dataset`, the split's masks. `explain` and `evaluate` share it.
pub(crate) fn load_batch(batch: &super::ExplainedBatch) -> anyhow::Result<Batch> {
    let (source, target) = (&batch.source, batch.targets.target.as_deref());
    let target_class = batch.targets.target_class.as_deref();
    let model = Vgg::load_on(&source.model, source.device.device)?;
    let (images, targets, masks) = match (&source.dataset, &source.input) {
        (Some(dir), _) => {
            let choice: TargetClass = target_class
                .map(str::parse)
                .transpose()
                .map_err(|e: Error| anyhow::anyhow!("--{}", e.to_string().replacen(' ', "-", 1)))?
                .unwrap_or_default();
            let s = read_split(dir, source.split)?;
            let labels = (choice == TargetClass::Label).then(|| s.label_indices());
            (s.images, labels, Some(s.masks))
        }
        (None, Some(path)) => {
            let x = read_input(path)?;
            let t = target.map(read_targets).transpose()?;
            (x, t, None)
        }
        (None, None) => anyhow::bail!("give --dataset DIR or --input x.npy"),
    };
    let x = model.prepare(images.view())?;
    let targets = match targets {
        Some(t) => t,
        None => model.predict(x.view())?,
    };
    // the targets' range, checked here so that the error names where they came from (their
    // number is checked by the explain service)
    check_targets(&[targets.len(), model.num_classes()], &targets).map_err(|e| {
        let from = match (&source.dataset, target) {
            (Some(dir), _) => format!("labels of {} ({})", dir.display(), source.split),
            (None, Some(path)) => path.display().to_string(),
            (None, None) => "predictions".into(),
        };
        anyhow::anyhow!("{from}: {e}")
    })?;
    Ok(Batch {
        model,
        x,
        targets,
        masks,
    })
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.batch_size == 0 {
        anyhow::bail!("--batch-size must be ≥ 1");
    }
    let mut job = Explanation::new(args.method.clone()).batch_size(args.batch_size);
    job.params = parse_params(&args.params)?;
    job.validate()?;
    check_out_file(&args.out, args.force)?;
    if args.nifti {
        check_out_file(&args.out.with_extension("nii.gz"), args.force)?;
    }
    // the oracle's ground truth from a file is read here: the library takes it from its caller
    let file_masks = if mrixai_attrib::needs_masks(&job.method) {
        if job.params.contains_key("masks") && args.batch.source.dataset.is_some() {
            anyhow::bail!(
                "--param masks=FILE and --dataset both give the oracle's ground truth: give one"
            );
        }
        let path = job.params.remove("masks");
        path.map(|p| mrixai_core::npy::read::<u8>(Path::new(p.trim())))
            .transpose()?
    } else {
        None
    };
    let Batch {
        model,
        x,
        targets,
        masks,
    } = load_batch(&args.batch)?;
    let masks = masks.or(file_masks);
    if mrixai_attrib::needs_masks(&job.method) && masks.is_none() {
        anyhow::bail!(
            "the oracle needs ground-truth masks: use --dataset or --param masks=FILE.npy"
        );
    }
    let n = x.shape()[0];
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(n as u64)
    }
    .with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} samples, {elapsed} (eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(args.method.clone());
    let attr = explain(
        &model,
        &job,
        x.view(),
        &targets,
        masks.as_ref().map(|m| m.view()),
        &mut |done| bar.set_position(done as u64),
    )?;
    bar.finish();
    mrixai_core::npy::write(&args.out, &attr)?;
    if args.nifti {
        write_nifti(&args.out, &attr)?;
    }
    println!(
        "{}: {} map(s) {:?} → {}",
        args.method,
        n,
        attr.shape(),
        args.out.display()
    );
    Ok(())
}

/// Writes `Σ_c map` as `<out>.nii.gz` (x = image column, y = image row flipped, then samples),
/// through a temporary file and a rename.
fn write_nifti(out: &Path, attr: &ArrayF) -> anyhow::Result<()> {
    let mut v = attr.sum_axis(Axis(1));
    let row = v.ndim() - 2;
    v.invert_axis(Axis(row));
    let v = v.reversed_axes();
    // one contiguous (Fortran-order) buffer, as the NIfTI writer needs
    let mut f = ArrayF::zeros(ndarray::ShapeBuilder::f(v.raw_dim()));
    f.assign(&v);
    let v = f;
    let target = out.with_extension("nii.gz");
    let tmp = out.with_extension("tmp.nii.gz");
    nifti::writer::WriterOptions::new(&tmp)
        .write_nifti(&v)
        .map_err(|e| Error::format(&tmp, format!("cannot write NIfTI: {e}")))?;
    std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
    Ok(())
}
