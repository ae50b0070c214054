//! What a configuration will cost: the work it asks for, and that work priced with unit
//! costs measured on this machine (a short calibration run).
//!
//! The calibration trains the configured architecture for one and for two epochs on a few
//! blank images at the benchmark's size and configured batch size (the difference is the
//! cost of an epoch, with its validation and BatchNorm passes), times every configured attribution method on a batch of a small proxy
//! network (`vgg-small`, or `vgg-small-3d` for volumes, at the same size) relative to a gradient pass of that proxy, times a
//! gradient pass of the configured architecture, and scores one synthetic map with the
//! configured metrics; the model-free controls are priced once per run, as the pipeline
//! computes them. Totals are upper bounds in CPU time: every training run is counted at its
//! full epoch budget (early stopping only shortens it).

use crate::config::OodSource;
use crate::{ExperimentConfig, Source, grid};
use mrixai_core::{Error, Explainable, Result, dataset::SplitArrays};
use mrixai_synth::SynthConfig;
use ndarray::{ArrayD, IxDyn};
use std::time::Instant;

/// A plain-words summary of the work a configuration asks for, printed before a run starts.
pub fn work(cfg: &ExperimentConfig) -> Result<String> {
    let cells = grid::cells(cfg);
    let pretrained = cfg
        .grid
        .sources
        .iter()
        .filter(|s| s.is_pretrained())
        .count();
    let maps = cells.len() * cfg.explain.jobs.len() * cfg.explain.max_samples;
    Ok(format!(
        "work: {} pre-training run(s) of ≤ {} epochs, {} cell(s) × ≤ {} epochs of `{}`, {} attribution maps ({} methods × ≤ {} test samples per cell), {} metrics each",
        pretrained,
        cfg.pretrain.train.epochs,
        cells.len(),
        cfg.train.epochs,
        cfg.model.arch,
        maps,
        cfg.explain.jobs.len(),
        cfg.explain.max_samples,
        cfg.score.metrics.kinds().len()
    ))
}

/// One priced stage: `count` units of `unit_s` seconds each.
#[derive(Debug, Clone, PartialEq)]
pub struct CostRow {
    /// What is done.
    pub stage: String,
    /// How many units.
    pub count: f64,
    /// What one unit is.
    pub unit: String,
    /// Measured seconds per unit on this machine.
    pub unit_s: f64,
}

impl CostRow {
    /// CPU seconds of the stage.
    pub fn total_s(&self) -> f64 {
        self.count * self.unit_s
    }
}

/// The priced work of a configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Costs {
    /// One row per stage.
    pub rows: Vec<CostRow>,
    /// The device that trained and explained during the calibration (scoring is always on
    /// the CPU).
    pub device: mrixai_zoo::Compute,
}

impl Costs {
    /// CPU seconds of all stages.
    pub fn total_s(&self) -> f64 {
        self.rows.iter().map(CostRow::total_s).sum()
    }
}

impl std::fmt::Display for Costs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.device.is_cpu() {
            writeln!(
                f,
                "estimated CPU time on this machine (unit costs measured on one idle core, full epoch budgets; \
                 cores working side by side are each about 10–20 % slower):"
            )?;
        } else {
            writeln!(
                f,
                "estimated time with models on `{}` (training and attribution measured on the device, \
                 scoring on one idle core; full epoch budgets):",
                self.device
            )?;
        }
        for r in &self.rows {
            writeln!(
                f,
                "  {:<50} {:>10.0} × {:>22} = {:>10}",
                r.stage,
                r.count,
                format!("{} {}", seconds(r.unit_s), r.unit),
                seconds(r.total_s())
            )?;
        }
        write!(
            f,
            "  total ≈ {} of one core or GPU; divide by the cores or GPUs working in parallel",
            seconds(self.total_s())
        )
    }
}

/// A duration in the largest sensible unit.
fn seconds(s: f64) -> String {
    match s {
        s if s < 1e-3 => format!("{:.0} µs", s * 1e6),
        s if s < 1.0 => format!("{:.1} ms", s * 1e3),
        s if s < 120.0 => format!("{s:.1} s"),
        s if s < 7200.0 => format!("{:.1} min", s / 60.0),
        s if s < 172_800.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.1} days", s / 86_400.0),
    }
}

/// Images per split (train, val, test) of a synthesis configuration.
fn split_counts(s: &SynthConfig) -> [f64; 3] {
    let n = (s.subjects * s.samples_per_subject) as f64;
    [s.split.train * n, s.split.val * n, s.split.test * n]
}

/// Deterministic stand-in images `[n, 1, size…]` with values in [0, 1].
fn blank_images(n: usize, size: &[usize]) -> ArrayD<f32> {
    let mut shape = vec![n, 1];
    shape.extend_from_slice(size);
    let len: usize = shape.iter().product();
    let v = (0..len)
        .map(|i| 0.5 + 0.5 * ((i as f32) * 0.618).sin())
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), v).expect("length matches shape")
}

/// A synthetic attribution map (a smooth bump near the lesion plus ripple, so every voxel is
/// non-zero) and a ball-shaped mask covering `area` of the grid.
fn synthetic_map(size: &[usize], area: f64) -> (ArrayD<f32>, ArrayD<u8>) {
    let n: usize = size.iter().product();
    let dims = size.len() as i32;
    // radius of a ball (disc) of `area × n` voxels
    let unit_ball = match dims {
        2 => std::f64::consts::PI,
        3 => 4.0 / 3.0 * std::f64::consts::PI,
        _ => 1.0,
    };
    let r = (area * n as f64 / unit_ball).powf(1.0 / dims as f64);
    let mut attr = Vec::with_capacity(n);
    let mut mask = Vec::with_capacity(n);
    for f in 0..n {
        let (mut rest, mut d2, mut b2) = (f, 0.0, 0.0);
        for &s in size.iter().rev() {
            let x = (rest % s) as f64;
            rest /= s;
            let c = s as f64 / 2.0;
            d2 += (x - c) * (x - c);
            b2 += (x - c - r / 2.0) * (x - c - r / 2.0);
        }
        mask.push(u8::from(d2 <= r * r));
        let ripple = 0.1 * ((f as f64) * 0.618).sin().abs();
        attr.push(((-b2 / (2.0 * r * r)).exp() + ripple + 1e-3) as f32);
    }
    let shape = IxDyn(size);
    (
        ArrayD::from_shape_vec(shape.clone(), attr).expect("length matches shape"),
        ArrayD::from_shape_vec(shape, mask).expect("length matches shape"),
    )
}

/// Wall seconds of the fastest of `reps` runs of `f` (with 2, the first run's one-time costs,
/// such as a GPU's kernel compilation, drop out).
pub fn fastest(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Prices the work of `cfg` with unit costs measured now on this machine.
pub fn calibrate(cfg: &ExperimentConfig) -> Result<Costs> {
    let synth = SynthConfig::from_toml_file(&cfg.data.synth_config)?;
    let size = synth.size.clone();
    if size.iter().any(|&n| n != size[0]) {
        return Err(Error::config(
            "data.synth_config",
            format!(
                "the pipeline's VGG cells need square slices or cubic volumes, got size {size:?}"
            ),
        ));
    }
    let arch = mrixai_zoo::run::resolve_arch(&cfg.model.arch, 2, &size)?;
    let model = mrixai_zoo::Vgg::init_on(&arch, 0, cfg.device)?;
    let one = model.prepare(blank_images(1, &size).view())?;
    let model_pass = fastest(2, || model.input_gradient(one.view(), &[0]).map(|_| ()))?;
    // calibration batches as large as the configuration's, within about half a second of
    // gradient passes (a large network on a CPU calibrates on single images)
    let affordable = ((0.5 / model_pass.max(1e-9)) as usize).max(1);
    let counts = Counts::of(cfg, &synth)?;
    let mut rows = training_costs(cfg, &synth, &counts, &arch, affordable)?;
    rows.extend(attribution_costs(cfg, &synth, &counts, &model, affordable)?);
    rows.push(scoring_cost(cfg, &synth, &counts)?);
    Ok(Costs {
        rows,
        device: cfg.device,
    })
}

/// How much of everything a configuration asks for.
struct Counts {
    /// Model cells of the grid.
    cells: f64,
    /// Images of the benchmark's train, val and test splits.
    splits: [f64; 3],
    /// Test images explained per cell.
    explained: f64,
}

impl Counts {
    fn of(cfg: &ExperimentConfig, synth: &SynthConfig) -> Result<Self> {
        let splits = split_counts(synth);
        Ok(Self {
            cells: grid::cells(cfg).len() as f64,
            splits,
            explained: splits[2].min(cfg.explain.max_samples as f64),
        })
    }
}

/// Pre-training and fine-tuning, priced per image·epoch: the difference between two epochs
/// and one (start-up cancels) at the configured batch size. An epoch also validates and
/// re-estimates the BatchNorm statistics (`bn_recalibration` training images), forward
/// passes counted at a third of a training image each; the test pass after training is
/// priced per cell.
fn training_costs(
    cfg: &ExperimentConfig,
    synth: &SynthConfig,
    counts: &Counts,
    arch: &mrixai_zoo::Arch,
    affordable: usize,
) -> Result<Vec<CostRow>> {
    let size = &synth.size;
    let [n_train, n_val, n_test] = counts.splits;
    let cells = counts.cells;
    let batch = cfg.train.batch_size.clamp(1, affordable);
    let split = |n: usize| {
        let images = blank_images(n, size);
        SplitArrays {
            masks: ArrayD::zeros(images.raw_dim()),
            weights: ArrayD::zeros(images.raw_dim()),
            images,
            labels: ArrayD::from_shape_vec(IxDyn(&[n]), (0..n as i64).map(|i| i % 2).collect())
                .expect("length matches shape"),
        }
    };
    let (tr, va) = (split(2 * batch), split(batch));
    let epochs = |n: usize| {
        let mut tc = crate::stages::train_config(&cfg.train, cfg.device);
        tc.epochs = n;
        tc.patience = n + 1;
        tc.batch_size = batch;
        fastest(3, || {
            mrixai_zoo::train(&tc, arch, &tr, &va, None, 0, &mrixai_core::progress::Silent)
                .map(|_| ())
        })
    };
    let bn_images = mrixai_zoo::TrainConfig::default().bn_recalibration as f64;
    let (one, two) = (epochs(1)?, epochs(2)?);
    // one calibration epoch trains 2·batch images, re-estimates BatchNorm on them and
    // validates batch images
    let b = batch as f64;
    let epoch_s = (two - one).max(0.25 * one);
    let per_train_image = epoch_s / (2.0 * b + (bn_images.min(2.0 * b) + b) / 3.0);
    let forward_share = (n_val + bn_images.min(n_train)) / (3.0 * n_train.max(1.0));
    let per_image = per_train_image * (1.0 + forward_share);
    let mut pretrain_images = 0.0;
    for source in &cfg.grid.sources {
        match (source, &cfg.pretrain.ood) {
            (Source::Mri, _) => {
                let p = SynthConfig::from_toml_file(&cfg.data.pretrain_synth_config)?;
                pretrain_images += split_counts(&p)[0];
            }
            (Source::Ood, OodSource::Procedural) => {
                pretrain_images += cfg.pretrain.ood_images as f64;
            }
            _ => {}
        }
    }
    Ok(vec![
        CostRow {
            stage: format!("pre-training ({} epochs)", cfg.pretrain.train.epochs),
            count: pretrain_images * cfg.pretrain.train.epochs as f64,
            unit: "per image·epoch".into(),
            unit_s: per_image,
        },
        CostRow {
            stage: format!("fine-tuning ({cells} cells × {} epochs)", cfg.train.epochs),
            count: cells * n_train * cfg.train.epochs as f64,
            unit: "per image·epoch".into(),
            unit_s: per_image,
        },
        CostRow {
            // forward only: a third of a training image each
            stage: "test pass (per cell)".into(),
            count: cells * n_test / 3.0,
            unit: "per image".into(),
            unit_s: per_train_image,
        },
    ])
}

/// Every configured method on a batch of the small proxy network (`vgg-small`, `vgg-small-3d`
/// for volumes, at the same
/// size), in gradient passes of the proxy at that batch, priced with gradient passes of the
/// configured architecture. A model-free control runs once per run, not once per cell.
fn attribution_costs(
    cfg: &ExperimentConfig,
    synth: &SynthConfig,
    counts: &Counts,
    model: &mrixai_zoo::Vgg,
    affordable: usize,
) -> Result<Vec<CostRow>> {
    let size = &synth.size;
    // the proxy of the methods' costs: the small preset of the data's rank
    let proxy_name = if size.len() == 3 {
        "vgg-small-3d"
    } else {
        "vgg-small"
    };
    let proxy_arch = mrixai_zoo::run::resolve_arch(proxy_name, 2, size)?;
    let proxy = mrixai_zoo::Vgg::init_on(&proxy_arch, 0, cfg.device)?;
    let n = cfg.explain.batch_size.clamp(1, 16);
    let per_image_pass = |m: &mrixai_zoo::Vgg, n: usize| -> Result<f64> {
        let x = m.prepare(blank_images(n, size).view())?;
        Ok(fastest(2, || m.input_gradient(x.view(), &vec![0; n]).map(|_| ()))? / n as f64)
    };
    let proxy_pass = per_image_pass(&proxy, n)?;
    let model_pass = per_image_pass(model, n.min(affordable))?;
    let xp = proxy.prepare(blank_images(n, size).view())?;
    let (_, mask) = synthetic_map(size, lesion_area(synth));
    let masks = ndarray::stack(ndarray::Axis(0), &vec![mask.view(); n])
        .map_err(|e| Error::invalid(e.to_string()))?
        .insert_axis(ndarray::Axis(1));
    let mut rows = Vec::new();
    for method in &cfg.explain.jobs {
        let (name, job) = (&method.name, method.explanation(n));
        let t = fastest(1, || {
            mrixai_attrib::explain(
                &proxy,
                &job,
                xp.view(),
                &vec![0; n],
                Some(masks.view()),
                &mut |_| {},
            )
            .map(|_| ())
        })? / n as f64;
        let passes = t / proxy_pass;
        let model_free = method.model_free;
        let count = if model_free {
            counts.explained
        } else {
            counts.cells * counts.explained
        };
        // controls never run the network: their own time is the unit cost
        let (stage, unit_s) = if passes < 0.5 {
            (format!("attribution: {name} (no network pass)"), t)
        } else {
            (
                format!("attribution: {name} ({passes:.1} passes)"),
                passes * model_pass,
            )
        };
        let stage = if model_free {
            format!("{stage}, once per run")
        } else {
            stage
        };
        rows.push(CostRow {
            stage,
            count,
            unit: "per map".into(),
            unit_s,
        });
    }
    Ok(rows)
}

/// Mean lesion area fraction of the benchmark's synthesis config.
fn lesion_area(synth: &SynthConfig) -> f64 {
    f64::from(synth.lesion.area_fraction.iter().sum::<f32>()) / 2.0
}

/// The configured metrics on one synthetic map, for every map of the methods and once per
/// run for the model-free controls.
fn scoring_cost(cfg: &ExperimentConfig, synth: &SynthConfig, counts: &Counts) -> Result<CostRow> {
    let free = cfg.explain.jobs.iter().filter(|m| m.model_free).count() as f64;
    let methods = cfg.explain.jobs.len() as f64 - free;
    let metrics = &cfg.score.metrics;
    let (map, mask) = synthetic_map(&synth.size, lesion_area(synth));
    let (map1, mask1) = (
        map.insert_axis(ndarray::Axis(0)),
        mask.insert_axis(ndarray::Axis(0)),
    );
    let score_s = fastest(1, || {
        metrics
            .score_batch(map1.view(), mask1.view(), &mrixai_core::progress::Silent)
            .map(|_| ())
    })?;
    Ok(CostRow {
        stage: format!("scoring ({} metrics)", metrics.kinds().len()),
        count: counts.explained * (counts.cells * methods + free),
        unit: "per map".into(),
        unit_s: score_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_profile_is_priced_stage_by_stage() {
        let cfg = ExperimentConfig::profile("tiny").unwrap();
        let costs = calibrate(&cfg).unwrap();
        assert_eq!(costs.rows.len(), 3 + cfg.explain.jobs.len() + 1);
        for r in &costs.rows {
            assert!(r.unit_s.is_finite() && r.unit_s > 0.0, "{r:?}");
            assert!(r.count.is_finite() && r.count >= 0.0, "{r:?}");
        }
        // integrated gradients costs more network passes than the plain gradient
        let unit = |m: &str| {
            costs
                .rows
                .iter()
                .find(|r| r.stage.starts_with(&format!("attribution: {m} ")))
                .map(|r| r.unit_s)
        };
        if let (Some(g), Some(ig)) = (unit("gradient"), unit("integrated_gradients")) {
            assert!(ig > 5.0 * g, "IG {ig} vs gradient {g}");
        }
        let text = costs.to_string();
        assert!(text.contains("total ≈"), "{text}");
    }

    #[test]
    fn synthetic_mask_covers_the_requested_area() {
        let (a, m) = synthetic_map(&[64, 64], 0.05);
        let k = m.iter().filter(|&&v| v == 1).count() as f64;
        assert!((k / 4096.0 - 0.05).abs() < 0.01, "{k}");
        assert!(a.iter().all(|v| *v > 0.0 && v.is_finite()));
        assert_eq!(seconds(90.0), "90.0 s");
        assert_eq!(seconds(5400.0), "90.0 min");
        assert_eq!(seconds(3.0 * 86_400.0), "3.0 days");
    }
}
