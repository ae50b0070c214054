//! End-to-end entry points used by the command line and the experiment pipeline: train on a
//! dataset folder, pre-train on the procedural task, import ImageNet weights, predict.

use crate::Compute;
use crate::arch::{Arch, PRESETS};
use crate::pretrain::{
    CHECKPOINT_FILES, ModelInfo, OodTask, TrainedOn, ood_shapes, save_checkpoint,
};
use crate::train::{TrainConfig, TrainReport, accuracy, train};
use crate::transfer::Init;
use crate::vgg::Vgg;
use mrixai_core::atomic::OutDir;
use mrixai_core::dataset::{Split, SplitArrays, num_classes, read_split};
use mrixai_core::progress::Progress;
use mrixai_core::{Error, Result, Source};
use std::path::{Path, PathBuf};

/// A pre-trained checkpoint to start from.
#[derive(Debug, Clone, PartialEq)]
pub struct InitSpec {
    /// Checkpoint folder (or `model.safetensors` with `arch.json` beside it).
    pub checkpoint: PathBuf,
    /// Number of leading weight layers taken from it.
    pub pretrained_layers: usize,
    /// Whether those layers stay frozen.
    pub frozen: bool,
    /// Its pre-training source, recorded in the trained model's `model.json` (`None`:
    /// unknown).
    pub source: Option<Source>,
}

/// The architecture for `name` (a preset, or a path to an `arch.json`) for data with
/// `num_classes` classes and images of `input_size`.
pub fn resolve_arch(name: &str, num_classes: usize, input_size: &[usize]) -> Result<Arch> {
    if PRESETS.contains(&name) {
        return Arch::preset(name, num_classes, input_size);
    }
    let p = Path::new(name);
    if !p.is_file() {
        return Err(Error::config(
            "arch",
            format!(
                "`{name}` is neither a preset ({}) nor an arch.json file",
                PRESETS.join(", ")
            ),
        ));
    }
    let arch = Arch::read(p)?;
    if arch.num_classes != num_classes {
        return Err(Error::format(
            p,
            format!(
                "num_classes is {}, but the data has {num_classes} classes",
                arch.num_classes
            ),
        ));
    }
    Ok(arch)
}

fn arch_label(name: &str) -> String {
    if PRESETS.contains(&name) {
        name.to_string()
    } else {
        "custom".to_string()
    }
}

fn image_size(s: &SplitArrays) -> Result<Vec<usize>> {
    let sh = s.images.shape();
    if !(4..=5).contains(&sh.len()) {
        return Err(Error::shape(
            "images",
            "[N, 1, H, W] or [N, 1, D, H, W]",
            sh,
        ));
    }
    Ok(sh[2..].to_vec())
}

/// Pre-training source of a checkpoint, from its `model.json` (`ood` for ImageNet and the
/// procedural task, `mri` for dataset folders; `None` when no sidecar exists).
pub fn source_of(checkpoint: &Path) -> Option<Source> {
    let dir = if checkpoint.is_dir() {
        checkpoint.to_path_buf()
    } else {
        checkpoint.parent().unwrap_or(Path::new(".")).to_path_buf()
    };
    match ModelInfo::read(&dir) {
        Ok(i) => Some(i.task.source()),
        Err(_) => None,
    }
}

/// Trains `arch` on the train/val splits of dataset folder `dataset` (test accuracy recorded
/// when a test split exists) and writes the checkpoint folder `out`. Whether `out` can be
/// written is checked before training starts. Training reports to `progress`.
pub fn train_on_dataset(
    dataset: &Path,
    arch: &str,
    cfg: &TrainConfig,
    init: Option<&InitSpec>,
    seed: u64,
    out: &OutDir,
    progress: &dyn Progress,
) -> Result<ModelInfo> {
    train_model_on_dataset(dataset, arch, cfg, init, seed, out, progress).map(|(info, _)| info)
}

/// [`train_on_dataset`], also returning the trained model (the weights written to `out`), so
/// that a caller who goes on to use it need not load it back.
pub fn train_model_on_dataset(
    dataset: &Path,
    arch: &str,
    cfg: &TrainConfig,
    init: Option<&InitSpec>,
    seed: u64,
    out: &OutDir,
    progress: &dyn Progress,
) -> Result<(ModelInfo, Vgg)> {
    out.check(CHECKPOINT_FILES)?;
    let tr = read_split(dataset, Split::Train)?;
    let va = read_split(dataset, Split::Val)?;
    let classes = num_classes(dataset, &tr).max(2);
    let a = resolve_arch(arch, classes, &image_size(&tr)?)?;
    let ckpt = match init {
        Some(s) => Some(Vgg::load_on(&s.checkpoint, cfg.device)?),
        None => None,
    };
    let init_arg = match (init, &ckpt) {
        (Some(s), Some(c)) => Some(Init {
            checkpoint: c,
            pretrained_layers: s.pretrained_layers,
            frozen: s.frozen,
        }),
        _ => None,
    };
    let report = train(cfg, &a, &tr, &va, init_arg, seed, progress)?;
    let test_dir = mrixai_core::dataset::split_dir(dataset, Split::Test);
    let test = if test_dir.is_dir() {
        Some(read_split(dataset, Split::Test)?)
    } else {
        None
    };
    let info = ModelInfo {
        arch: arch_label(arch),
        task: dataset_task(dataset),
        source: match init {
            Some(s) if s.pretrained_layers > 0 => s.source,
            _ => Some(Source::Scratch),
        },
        data: dataset.display().to_string(),
        init: init.map(|s| s.checkpoint.display().to_string()),
        pretrained_layers: init.map_or(0, |s| s.pretrained_layers),
        frozen: init.is_some_and(|s| s.frozen),
        seed,
        ..ModelInfo::untrained()
    };
    let info = save_trained(&report, test.as_ref(), cfg, info, out)?;
    Ok((info, report.model))
}

/// Measures the test accuracy of a trained model (when a test split is given), completes
/// `info` with the training outcome and writes the checkpoint folder `out`.
fn save_trained(
    report: &TrainReport,
    test: Option<&SplitArrays>,
    cfg: &TrainConfig,
    mut info: ModelInfo,
    out: &OutDir,
) -> Result<ModelInfo> {
    let test_accuracy = match test {
        Some(te) => {
            let x = report.model.prepare(te.images.view())?;
            Some(accuracy(
                &report.model.predict(x.view())?,
                &te.label_indices(),
            ))
        }
        None => None,
    };
    let mut curves = report.curves.clone();
    curves.test_accuracy = test_accuracy;
    info.epochs = curves.train_loss.len();
    info.best_epoch = curves.best_epoch;
    info.val_accuracy = Some(curves.val_accuracy_best);
    info.test_accuracy = test_accuracy;
    info.config = Some(cfg.clone());
    save_checkpoint(out, &report.model, &info, Some(&curves))?;
    Ok(info)
}

/// The task recorded in a dataset folder's `dataset.json` (`lesion`, `anatomy`, …), or
/// `dataset` when it names none.
fn dataset_task(dataset: &Path) -> TrainedOn {
    let task = mrixai_core::dataset::read_info(dataset)
        .ok()
        .and_then(|v| v.get("task").and_then(|t| t.as_str()).map(str::to_string));
    TrainedOn::Dataset(task.unwrap_or_else(|| "dataset".into()))
}

/// Pre-trains `arch` on the procedural out-of-domain task generated with `data_seed`,
/// reporting to `progress`.
pub fn pretrain_ood(
    task: &OodTask,
    arch: &str,
    cfg: &TrainConfig,
    seed: u64,
    data_seed: u64,
    out: &OutDir,
    progress: &dyn Progress,
) -> Result<ModelInfo> {
    out.check(CHECKPOINT_FILES)?;
    let [tr, va, te] = ood_shapes(task, data_seed)?;
    let a = resolve_arch(arch, crate::pretrain::OOD_CLASSES.len(), &task.shape())?;
    let report = train(cfg, &a, &tr, &va, None, seed, progress)?;
    let info = ModelInfo {
        arch: arch_label(arch),
        task: TrainedOn::OodShapes,
        data: format!(
            "procedural shapes {}, {}/{}/{} per class",
            task.shape()
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("x"),
            task.train_per_class,
            task.val_per_class,
            task.test_per_class
        ),
        seed,
        data_seed: Some(data_seed),
        ..ModelInfo::untrained()
    };
    save_trained(&report, Some(&te), cfg, info, out)
}

/// Imports a torchvision ImageNet checkpoint (converted to safetensors, names unchanged) as a
/// checkpoint folder, for preset `vgg16` or `vgg16-bn` (1000 classes).
pub fn import_imagenet(
    weights: &Path,
    arch: &str,
    input_size: [usize; 2],
    out: &OutDir,
) -> Result<ModelInfo> {
    out.check(CHECKPOINT_FILES)?;
    if arch != "vgg16" && arch != "vgg16-bn" {
        return Err(Error::config(
            "arch",
            format!("ImageNet weights exist for vgg16 and vgg16-bn, not `{arch}`"),
        ));
    }
    let a = Arch::preset(arch, 1000, &input_size)?;
    let mut model = Vgg::init(&a, 0)?;
    let tensors = crate::weights::read(weights)?;
    crate::weights::assign(&mut model, &tensors, weights, usize::MAX)?;
    let info = ModelInfo {
        arch: arch.into(),
        task: TrainedOn::ImageNet,
        data: weights.display().to_string(),
        ..ModelInfo::untrained()
    };
    save_checkpoint(out, &model, &info, None)?;
    Ok(info)
}

/// Predictions of a model on a dataset split.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// Predicted class per sample.
    pub predicted: Vec<usize>,
    /// True class per sample.
    pub labels: Vec<usize>,
    /// Softmax probabilities per sample.
    pub probabilities: Vec<Vec<f32>>,
}

/// Predictions of checkpoint `model`, loaded on `compute`, on `split` of `dataset`.
pub fn predict_split(
    model: &Path,
    dataset: &Path,
    split: Split,
    compute: Compute,
) -> Result<Predictions> {
    let m = Vgg::load_on(model, compute)?;
    let s = read_split(dataset, split)?;
    let x = m.prepare(s.images.view())?;
    let logits = m.logits_batched(x.view())?;
    let pred = crate::vgg::argmax_rows(&logits);
    let probs = crate::vgg::softmax_rows(&logits);
    Ok(Predictions {
        predicted: pred,
        labels: s.label_indices(),
        probabilities: probs,
    })
}
