//! Pre-training tasks and checkpoints with their `model.json` sidecar.
//!
//! * In-domain: any dataset folder in the core format (e.g. an MRI task written by
//!   `mrixai synth`) — train on it with [`crate::train()`].
//! * Out-of-domain: ImageNet weights from a torchvision checkpoint file when the user has
//!   one, or [`ood_shapes`], a procedural natural-image classification task generated on the
//!   fly. It is a stand-in for ImageNet, not a replacement: one object per image on a
//!   dead-leaves background (1×H×W grayscale), of random outline (disk, square, triangle,
//!   cross), size, position, rotation and polarity; the class is the object's surface pattern
//!   (smooth, striped, checkered, dotted), at equal mean intensity. With `dims = 3` the same
//!   task in volumes (1×S×S×S): ball leaves, a ball, cube, cone or three-bar cross in a random
//!   3-D orientation, and the patterns in three dimensions.

use crate::train::{Curves, TrainConfig};
use crate::vgg::Vgg;
use mrixai_core::atomic::OutDir;
use mrixai_core::dataset::SplitArrays;
use mrixai_core::{Error, Result, Source};
use ndarray::{ArrayD, Axis, IxDyn};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Class names of the procedural out-of-domain task.
pub const OOD_CLASSES: [&str; 4] = ["smooth", "striped", "checkered", "dotted"];

/// Sizes of the procedural out-of-domain task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OodTask {
    /// Training images per class.
    pub train_per_class: usize,
    /// Validation images per class.
    pub val_per_class: usize,
    /// Test images per class.
    pub test_per_class: usize,
    /// Image side in pixels (voxels).
    pub size: usize,
    /// 2: images `[N, 1, S, S]`; 3: volumes `[N, 1, S, S, S]`.
    #[serde(default = "two", skip_serializing_if = "is_two")]
    pub dims: usize,
}

fn two() -> usize {
    2
}

fn is_two(d: &usize) -> bool {
    *d == 2
}

impl Default for OodTask {
    fn default() -> Self {
        Self {
            train_per_class: 1000,
            val_per_class: 150,
            test_per_class: 150,
            size: 64,
            dims: 2,
        }
    }
}

impl OodTask {
    /// The spatial shape of one sample.
    pub fn shape(&self) -> Vec<usize> {
        vec![self.size; self.dims]
    }
}

/// The three splits of the procedural task, generated from `seed` (same seed, same images).
pub fn ood_shapes(task: &OodTask, seed: u64) -> Result<[SplitArrays; 3]> {
    if task.size < 8 {
        return Err(Error::config(
            "size",
            format!("must be at least 8, got {}", task.size),
        ));
    }
    if !(2..=3).contains(&task.dims) {
        return Err(Error::config(
            "dims",
            format!("must be 2 or 3, got {}", task.dims),
        ));
    }
    if task.train_per_class == 0 || task.val_per_class == 0 {
        return Err(Error::config(
            "train_per_class",
            "train and val need at least one image per class",
        ));
    }
    let make = |per: usize, split: &str| -> SplitArrays {
        let k = OOD_CLASSES.len();
        let n = per * k;
        let shape: Vec<usize> = [n, 1].into_iter().chain(task.shape()).collect();
        let mut images = ArrayD::<f32>::zeros(IxDyn(&shape));
        let mut masks = ArrayD::<u8>::zeros(IxDyn(&shape));
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let class = i % k;
            let mut rng = mrixai_core::seed::rng(seed, &format!("zoo/ood/{split}/{i}"));
            let (img, mask) = match task.dims {
                3 => crate::ood3d::render3(class, task.size, &mut rng),
                _ => {
                    let (img, mask) = render(class, task.size, &mut rng);
                    (img.into_dyn(), mask.into_dyn())
                }
            };
            images
                .index_axis_mut(Axis(0), i)
                .index_axis_mut(Axis(0), 0)
                .assign(&img);
            masks
                .index_axis_mut(Axis(0), i)
                .index_axis_mut(Axis(0), 0)
                .assign(&mask);
            labels.push(class as i64);
        }
        SplitArrays {
            images,
            weights: masks.mapv(f32::from),
            masks,
            labels: ArrayD::from_shape_vec(IxDyn(&[n]), labels).expect("n labels"),
        }
    };
    Ok([
        make(task.train_per_class, "train"),
        make(task.val_per_class, "val"),
        make(task.test_per_class.max(1), "test"),
    ])
}

/// Outlines of the objects (a nuisance factor: every class appears in every outline).
const OUTLINES: usize = 4;

/// One image of `class` with its object mask: a dead-leaves background (occluding grey
/// disks with power-law radii) and one object of random outline, size, position, rotation
/// and polarity (darker or brighter than every leaf), whose surface pattern is the class.
/// Every pattern covers the object with the same mean intensity, so the class is not in the
/// image's brightness.
fn render(
    class: usize,
    s: usize,
    rng: &mut impl Rng,
) -> (ndarray::Array2<f32>, ndarray::Array2<u8>) {
    use std::f32::consts::TAU;
    let sf = s as f32;
    let mut img = ndarray::Array2::<f32>::zeros((s, s));
    img.fill(0.3 + 0.4 * rng.random::<f32>());
    for _ in 0..40 {
        let (cx, cy) = (rng.random::<f32>() * sf, rng.random::<f32>() * sf);
        let r = sf * (0.03 + 0.25 * rng.random::<f32>().powi(3));
        let g = 0.3 + 0.4 * rng.random::<f32>();
        for ((y, x), v) in img.indexed_iter_mut() {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            if dx * dx + dy * dy <= r * r {
                *v = g;
            }
        }
    }
    let outline = rng.random_range(0..OUTLINES);
    let r = sf * (0.18 + 0.14 * rng.random::<f32>());
    let (cx, cy) = (
        sf * 0.5 + (rng.random::<f32>() - 0.5) * (sf - 2.2 * r),
        sf * 0.5 + (rng.random::<f32>() - 0.5) * (sf - 2.2 * r),
    );
    let theta = rng.random::<f32>() * TAU;
    let (ct, st) = (theta.cos(), theta.sin());
    let (fill, amp) = polarity(rng);
    // pattern period in pixels, independent of the object's size (a texture has its own scale)
    let period = (5.0 + 4.0 * rng.random::<f32>()) * (sf / 64.0).max(1.0);
    let f = TAU / period;
    let (phi, psi) = (rng.random::<f32>() * TAU, rng.random::<f32>() * TAU);
    let mut mask = ndarray::Array2::<u8>::zeros((s, s));
    for ((y, x), v) in img.indexed_iter_mut() {
        let (px, py) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        // object frame: (u, w) in pixels, (a, b) in radii
        let (u, w) = (ct * px + st * py, -st * px + ct * py);
        let (a, b) = (u / r, w / r);
        let inside = match outline {
            0 => a * a + b * b <= 1.0,
            1 => a.abs() <= 0.8 && b.abs() <= 0.8,
            2 => b >= -0.5 && b <= 1.0 - 3f32.sqrt() * a.abs(),
            _ => (a.abs() <= 0.3 && b.abs() <= 0.9) || (b.abs() <= 0.3 && a.abs() <= 0.9),
        };
        if inside {
            *v = fill + amp * pattern(class, &[f * u + phi, f * w + psi]);
            mask[[y, x]] = 1;
        }
    }
    add_noise(&mut img, rng);
    (img, mask)
}

/// The object's fill and pattern amplitude: dark or bright (beyond every leaf), the pattern
/// modulating the fill towards mid-grey.
pub(crate) fn polarity(rng: &mut impl Rng) -> (f32, f32) {
    if rng.random::<bool>() {
        (0.05 + 0.15 * rng.random::<f32>(), PATTERN_CONTRAST)
    } else {
        (0.8 + 0.15 * rng.random::<f32>(), -PATTERN_CONTRAST)
    }
}

/// The surface pattern of `class` in [0, 1] at the pattern phases `p` (one per object axis,
/// `f·u + φ`): smooth, striped, checkered or dotted, each of mean 0.5 over the surface.
pub(crate) fn pattern(class: usize, p: &[f32]) -> f32 {
    let sines = || p.iter().map(|v| v.sin());
    // small dots on a fill raised to the same mean
    let (threshold, dot_fill) = match p.len() {
        3 => (1.5, DOT_FILL_3D),
        _ => (1.0, DOT_FILL),
    };
    match class {
        0 => 0.5,
        1 => f32::from(p[0].sin() > 0.0),
        2 => f32::from(sines().reduce(|a, b| a * b).unwrap_or(0.0) > 0.0),
        _ if p.iter().map(|v| v.cos()).fold(0.0, |a, b| a + b) > threshold => 1.0,
        _ => dot_fill,
    }
}

/// Adds the task's Gaussian noise (σ 0.03) to every pixel and clamps to [0, 1].
pub(crate) fn add_noise<D: ndarray::Dimension>(
    img: &mut ndarray::Array<f32, D>,
    rng: &mut impl Rng,
) {
    let noise = rand_distr::Normal::new(0.0f32, 0.03).expect("positive std");
    img.mapv_inplace(|v| (v + rand_distr::Distribution::sample(&noise, rng)).clamp(0.0, 1.0));
}

/// Pattern value between the dots of the dotted class: the dots (where `cos + cos > 1`) cover
/// 18.49 % of the surface, so this fill keeps the mean at 0.5 like the other patterns.
const DOT_FILL: f32 = (0.5 - 0.1849) / (1.0 - 0.1849);

/// The same in volumes: `cos + cos + cos > 1.5` covers 11.70 % of the volume
/// (∫ arccos(1.5 − cos a − cos b)/π da db / 4π², numerically).
const DOT_FILL_3D: f32 = (0.5 - 0.1170) / (1.0 - 0.1170);

/// Contrast of the surface patterns (fraction of the intensity range).
const PATTERN_CONTRAST: f32 = 0.45;

/// What a checkpoint was trained on, written in `model.json` as its name: the procedural
/// out-of-domain stand-in (`ood-shapes`), imported ImageNet weights (`imagenet`), or a
/// dataset's task (its name in `dataset.json`: `lesion`, `anatomy`, `presence`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrainedOn {
    /// The procedural out-of-domain task.
    OodShapes,
    /// ImageNet weights imported from a file.
    ImageNet,
    /// The task of a dataset folder.
    Dataset(String),
}

/// A dataset task not yet known (the empty name).
impl Default for TrainedOn {
    fn default() -> Self {
        TrainedOn::Dataset(String::new())
    }
}

impl TrainedOn {
    /// The name in `model.json`.
    pub fn name(&self) -> &str {
        match self {
            TrainedOn::OodShapes => "ood-shapes",
            TrainedOn::ImageNet => "imagenet",
            TrainedOn::Dataset(task) => task,
        }
    }

    /// The source of a model initialised from such a checkpoint: `ood` for the out-of-domain
    /// tasks, `mri` for a dataset's.
    pub fn source(&self) -> Source {
        match self {
            TrainedOn::OodShapes | TrainedOn::ImageNet => Source::Ood,
            TrainedOn::Dataset(_) => Source::Mri,
        }
    }
}

impl std::fmt::Display for TrainedOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TrainedOn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for TrainedOn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(match String::deserialize(d)?.as_str() {
            "ood-shapes" => TrainedOn::OodShapes,
            "imagenet" => TrainedOn::ImageNet,
            task => TrainedOn::Dataset(task.to_string()),
        })
    }
}

/// The `model.json` sidecar of a checkpoint folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Preset name (`vgg-small`, `vgg16`, …) or `custom`.
    pub arch: String,
    /// What it was trained on.
    pub task: TrainedOn,
    /// Pre-training source of the initial weights (`scratch`, `ood` or `mri`; `None`, written
    /// `unknown`, for a checkpoint of unknown origin).
    #[serde(with = "source_or_unknown")]
    pub source: Option<Source>,
    /// Dataset folder or weights file the model was trained on / imported from.
    pub data: String,
    /// Checkpoint the first layers were initialised from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
    /// Number of leading weight layers taken from `init`.
    pub pretrained_layers: usize,
    /// Whether those layers were frozen.
    pub frozen: bool,
    /// Training seed (init, batch order, dropout).
    pub seed: u64,
    /// Seed of the generated data, for procedural tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_seed: Option<u64>,
    /// Epochs run.
    pub epochs: usize,
    /// Epoch (0-based) of the kept weights.
    pub best_epoch: usize,
    /// Validation accuracy of the kept weights.
    pub val_accuracy: Option<f64>,
    /// Test accuracy of the kept weights.
    pub test_accuracy: Option<f64>,
    /// Training configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<TrainConfig>,
    /// Versions of mrixai and burn.
    pub versions: serde_json::Value,
}

/// Serde of an optional [`Source`] as its name, `unknown` for `None`.
mod source_or_unknown {
    use mrixai_core::Source;
    use serde::{Deserialize, Deserializer, Serializer};

    const UNKNOWN: &str = "unknown";

    pub fn serialize<S: Serializer>(v: &Option<Source>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.map_or(UNKNOWN, Source::name))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Source>, D::Error> {
        match String::deserialize(d)?.as_str() {
            UNKNOWN => Ok(None),
            name => name.parse().map(Some).map_err(serde::de::Error::custom),
        }
    }
}

impl ModelInfo {
    /// A record with no training outcome (no epochs, accuracies or config), a scratch source
    /// and the current versions; callers fill in what describes their checkpoint.
    pub fn untrained() -> Self {
        Self {
            arch: String::new(),
            task: TrainedOn::default(),
            source: Some(Source::Scratch),
            data: String::new(),
            init: None,
            pretrained_layers: 0,
            frozen: false,
            seed: 0,
            data_seed: None,
            epochs: 0,
            best_epoch: 0,
            val_accuracy: None,
            test_accuracy: None,
            config: None,
            versions: Self::versions(),
        }
    }

    /// Versions recorded in every sidecar.
    pub fn versions() -> serde_json::Value {
        serde_json::json!({ "mrixai": mrixai_core::VERSION, "burn": "0.22.1" })
    }

    /// Reads `model.json` of a checkpoint folder.
    pub fn read(dir: &Path) -> Result<ModelInfo> {
        let p = dir.join(MODEL_INFO_FILE);
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::format(&p, format!("invalid model.json: {e}")))
    }
}

/// File name of the sidecar.
pub const MODEL_INFO_FILE: &str = "model.json";
/// File name of the training curves.
pub const METRICS_FILE: &str = "metrics.json";

/// The files a checkpoint folder holds; an existing folder with anything else in it is
/// never replaced.
pub const CHECKPOINT_FILES: &[&str] = &[
    crate::weights::WEIGHTS_FILE,
    crate::weights::ARCH_FILE,
    MODEL_INFO_FILE,
    METRICS_FILE,
];

/// Writes a checkpoint folder atomically: `model.safetensors`, `arch.json`, `model.json`
/// and, when given, `metrics.json`. An existing folder is replaced only when `dir` allows it
/// and it holds nothing but [`CHECKPOINT_FILES`].
pub fn save_checkpoint(
    dir: &OutDir,
    model: &Vgg,
    info: &ModelInfo,
    curves: Option<&Curves>,
) -> Result<()> {
    let tmp = dir.begin(CHECKPOINT_FILES)?;
    model.save(tmp.path())?;
    mrixai_core::atomic::write_json(&tmp.path().join(MODEL_INFO_FILE), info)?;
    if let Some(c) = curves {
        mrixai_core::atomic::write_json(&tmp.path().join(METRICS_FILE), c)?;
    }
    tmp.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trained_on_reads_and_writes_its_name_and_gives_the_source() {
        let cases = [
            (TrainedOn::OodShapes, "ood-shapes", Source::Ood),
            (TrainedOn::ImageNet, "imagenet", Source::Ood),
            (TrainedOn::Dataset("anatomy".into()), "anatomy", Source::Mri),
        ];
        for (t, name, source) in cases {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<TrainedOn>(&json).unwrap(), t);
            assert_eq!(t.source(), source);
        }
    }
}
