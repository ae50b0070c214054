//! `cargo xtask bench-device`: training, inference and every model-based attribution method of
//! one architecture on one device, timed, with the weights, inputs and maps written for the
//! PyTorch + Captum peer (`xtask/gpu/peer.py`) to time and check on the same device.

use anyhow::{Context, Result};
use mrixai_attrib::{Explanation, METHODS, registry::Kind};
use mrixai_core::dataset::SplitArrays;
use mrixai_core::progress::Silent;
use mrixai_core::{ArrayF, Explainable, npy};
use mrixai_pipeline::estimate::fastest;
use mrixai_zoo::{Arch, Compute, TrainConfig, Vgg};
use ndarray::{ArrayD, Axis, IxDyn, Slice};
use rand::Rng;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `cargo xtask bench-device`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Architecture preset: vgg-small, vgg16 or vgg16-bn.
    #[arg(long, default_value = "vgg-small")]
    arch: String,
    /// Image side.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Compute device: cpu, gpu or gpu:N.
    #[arg(long, default_value = "gpu")]
    device: Compute,
    /// Training and inference batch size.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Timed training steps and inference batches.
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Images explained per method.
    #[arg(long, default_value_t = 8)]
    explain: usize,
    /// Only these methods (default: every model-based method).
    #[arg(long = "method")]
    methods: Vec<String>,
    /// Output folder (created; must not exist): model/, inputs.npy, targets.npy, maps/,
    /// mrixai.json.
    #[arg(long)]
    out: PathBuf,
}

/// Images `[n, c, size, size]` uniform in [0, 1) and alternating labels, seeded.
fn batch(n: usize, c: usize, size: usize, classes: usize, seed: &str) -> SplitArrays {
    let mut rng = mrixai_core::seed::rng(0, seed);
    let images = ArrayD::from_shape_fn(IxDyn(&[n, c, size, size]), |_| rng.random::<f32>());
    let masks = ArrayD::<u8>::zeros(IxDyn(&[n, 1, size, size]));
    SplitArrays {
        weights: masks.mapv(f32::from),
        images,
        masks,
        labels: ArrayD::from_shape_fn(IxDyn(&[n]), |i| (i[0] % classes) as i64),
    }
}

/// Training images per second: one epoch of `steps` batches (a one-batch validation pass, no
/// precise-BatchNorm pass: the peer has neither).
fn train_rate(a: &BenchArgs, arch: &Arch) -> Result<f64> {
    let (c, k) = (arch.in_channels, arch.num_classes);
    let tr = batch(a.batch * a.steps, c, a.size, k, "bench/train");
    let va = batch(a.batch, c, a.size, k, "bench/val");
    let cfg = TrainConfig {
        epochs: 1,
        batch_size: a.batch,
        bn_recalibration: 0,
        device: a.device,
        ..TrainConfig::default()
    };
    let s = fastest(2, || {
        mrixai_zoo::train(&cfg, arch, &tr, &va, None, 0, &Silent)?;
        Ok(())
    })?;
    Ok((a.batch * a.steps) as f64 / s)
}

/// Inference images per second over `steps` batches.
fn infer_rate(a: &BenchArgs, model: &Vgg, x: &ArrayF) -> Result<f64> {
    let s = fastest(2, || {
        for _ in 0..a.steps {
            model.forward(x.view())?;
        }
        Ok(())
    })?;
    Ok((a.batch * a.steps) as f64 / s)
}

/// The bench's settings of a method: the defaults, with occlusion windows and the grid cells of
/// the feature methods scaled to the image (as at 64×64: 8×8 windows at stride 4, 64 features).
fn job(name: &str, size: usize, n: usize) -> Explanation {
    let job = Explanation::new(name).batch_size(n);
    let (w, s) = ((size / 8).max(1), (size / 16).max(1));
    match name {
        "occlusion" => job
            .param("sliding_window_shapes", format!("{w},{w}"))
            .param("strides", format!("{s},{s}")),
        "lime" | "kernel_shap" | "shapley_value_sampling" => job.param("grid_size", w.to_string()),
        _ => job,
    }
}

/// Seconds per image of each method, its maps written to `maps/`.
fn method_rates(a: &BenchArgs, model: &Vgg, x: &ArrayF, t: &[usize]) -> Result<Vec<(String, f64)>> {
    let names: Vec<&str> = if a.methods.is_empty() {
        METHODS
            .iter()
            .filter(|m| m.kind == Kind::Method)
            .map(|m| m.name)
            .collect()
    } else {
        a.methods.iter().map(String::as_str).collect()
    };
    let maps = a.out.join("maps");
    std::fs::create_dir_all(&maps).with_context(|| maps.display().to_string())?;
    let mut rows = Vec::new();
    for name in names {
        let job = job(name, a.size, x.shape()[0]);
        let mut out = None;
        let s = fastest(2, || {
            out = Some(mrixai_attrib::explain(
                model,
                &job,
                x.view(),
                t,
                None,
                &mut |_| {},
            )?);
            Ok(())
        })?;
        eprintln!("bench: {name} {:.4} s/img", s / t.len() as f64);
        if let Some(m) = out {
            npy::write(&maps.join(format!("{name}.npy")), &m)?;
        }
        rows.push((name.to_string(), s / t.len() as f64));
    }
    Ok(rows)
}

/// Runs the bench and writes its folder; a failure removes the folder (the bench made it).
pub fn run(a: BenchArgs) -> Result<()> {
    anyhow::ensure!(!a.out.exists(), "{}: already exists", a.out.display());
    std::fs::create_dir_all(&a.out).with_context(|| a.out.display().to_string())?;
    let done = bench(&a);
    if done.is_err() {
        let _ = std::fs::remove_dir_all(&a.out);
    }
    done
}

/// The bench itself, into the fresh folder `a.out`.
fn bench(a: &BenchArgs) -> Result<()> {
    let arch = Arch::preset(&a.arch, 2, &[a.size, a.size])?;
    let model = Vgg::init_on(&arch, 0, a.device)?;
    model.save(&a.out.join("model"))?;
    let data = batch(a.batch, arch.in_channels, a.size, 2, "bench/inputs");
    let x = data.images;
    let n = a.explain.min(a.batch);
    let xe = x.slice_axis(Axis(0), Slice::from(0..n)).to_owned();
    let t: Vec<usize> = data.labels.iter().take(n).map(|&l| l as usize).collect();
    npy::write(&a.out.join("inputs.npy"), &xe)?;
    let tt = ArrayD::from_shape_fn(IxDyn(&[n]), |i| t[i[0]] as i64);
    npy::write(&a.out.join("targets.npy"), &tt)?;
    let train = train_rate(a, &arch)?;
    eprintln!("bench: training {train:.1} img/s");
    let infer = infer_rate(a, &model, &x)?;
    eprintln!("bench: inference {infer:.1} img/s");
    let methods: BTreeMap<String, f64> = method_rates(a, &model, &xe, &t)?.into_iter().collect();
    let report = serde_json::json!({
        "tool": "mrixai",
        "version": mrixai_core::VERSION,
        "device": a.device.to_string(),
        "arch": &a.arch, "size": a.size, "batch": a.batch, "steps": a.steps, "explained": n,
        "train_img_per_s": train, "infer_img_per_s": infer, "method_s_per_img": methods,
        "params": method_params(&methods, a.size, n),
    });
    let path = a.out.join("mrixai.json");
    mrixai_core::atomic::write_json(&path, &report)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// The parameters each timed method ran with (for the peer to use the same).
fn method_params(methods: &BTreeMap<String, f64>, size: usize, n: usize) -> serde_json::Value {
    methods
        .keys()
        .map(|m| (m.clone(), serde_json::json!(job(m, size, n).params)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
