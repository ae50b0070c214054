//! Completeness of Integrated Gradients on a *trained* model: `vgg-small` trained on a small
//! synthetic lesion dataset (32×32 slices), then IG with Captum's defaults (50 Gauss–Legendre
//! points, zero baseline) on every correctly classified test sample, with the delta reported
//! by the production `attribute_with_delta`.
//!
//! On a trained ReLU/max-pool/BatchNorm network the gradient is piecewise constant along the
//! path, so every quadrature converges only like `1/n_steps`; at 50 steps about half of the
//! samples are outside 1 % (Captum gives the same per-sample deltas, see docs/METHODS.md).
//! The fast test therefore checks the reported delta, the 50-step distribution, and that
//! every well-conditioned sample reaches 1 % when `n_steps` is doubled up to 400; the
//! ignored test refines every sample until it is within 1 %.

use mrixai_attrib::{AxiomCheck, AxiomChecked, Baseline, IntegratedGradients, Quadrature};
use mrixai_core::dataset::{Split, SplitArrays};
use mrixai_core::progress::Silent;
use mrixai_core::{ArrayF, Explainable};
use mrixai_synth::SynthConfig;
use mrixai_zoo::{Arch, TrainConfig, Vgg, argmax_rows, train};
use ndarray::Axis;
use std::time::Instant;

/// Relative completeness tolerance.
const RTOL: f64 = 0.01;

/// A trained model and its correctly classified test samples.
struct Trained {
    model: Vgg,
    x: ArrayF,
    target: Vec<usize>,
    accuracy: f64,
}

/// Synthesises a small lesion dataset (seeded) and trains `vgg-small` on it (seeded).
fn trained() -> Trained {
    let start = Instant::now();
    let root = mrixai_testkit::workspace_dir();
    let mut cfg = SynthConfig::from_toml_file(&root.join("configs/synth-tiny.toml"))
        .expect("configs/synth-tiny.toml");
    // 600 images (360 / 120 / 120), lesions large and lobed enough to be learnt in seconds
    cfg.size = vec![32, 32];
    cfg.subjects = 100;
    cfg.samples_per_subject = 6;
    cfg.lesion.area_fraction = [0.07, 0.1];
    cfg.lesion.lobes = [3, 4];
    cfg.lesion.irregularity = [0.5, 0.6];
    cfg.lesion.difficulty = 0.0; // regular lesions are ellipses: the easiest split
    cfg.lesion.heterogeneity = [0.0, 0.0];
    let sources = mrixai_synth::load_sources(&mrixai_synth::default_mri_dir()).expect("MRI");
    let bases = mrixai_synth::prepare_bases(&cfg, &sources);
    let splits = mrixai_synth::generate(&cfg, 3, &bases, &|| {}).expect("synthesis");
    let split = |s: Split| -> SplitArrays {
        let g = splits.iter().find(|g| g.split == s).expect("split");
        g.arrays.clone()
    };
    let (tr, va, te) = (split(Split::Train), split(Split::Val), split(Split::Test));
    let arch = Arch::preset("vgg-small", 2, &[32, 32]).expect("preset");
    let tc = TrainConfig {
        epochs: 10,
        batch_size: 16,
        weight_decay: 0.0,
        patience: 10,
        ..Default::default()
    };
    let model = train(&tc, &arch, &tr, &va, None, 1, &Silent)
        .expect("training")
        .model;
    let x = model.prepare(te.images.view()).expect("prepare");
    let labels = te.label_indices();
    let pred = argmax_rows(&model.forward(x.view()).expect("forward"));
    let correct: Vec<usize> = (0..labels.len())
        .filter(|&i| pred[i] == labels[i])
        .collect();
    let accuracy = correct.len() as f64 / labels.len() as f64;
    eprintln!(
        "trained vgg-small on {} images of {:?} in {:.1} s: test accuracy {accuracy:.3} ({} of {})",
        tr.len(),
        &tr.images.shape()[1..],
        start.elapsed().as_secs_f64(),
        correct.len(),
        labels.len()
    );
    Trained {
        x: x.select(Axis(0), &correct),
        target: correct.iter().map(|&i| labels[i]).collect(),
        model,
        accuracy,
    }
}

/// IG with Captum's defaults except `n_steps`.
fn ig(n_steps: usize) -> IntegratedGradients {
    IntegratedGradients {
        n_steps,
        method: Quadrature::GaussLegendre,
        baselines: Baseline::Constant(0.0),
        internal_batch_size: 200,
    }
}

/// `|Σ attr − (f(x) − f(0))| / |f(x) − f(0)|` per sample.
fn relative(c: &AxiomCheck) -> Vec<f64> {
    c.delta
        .iter()
        .zip(&c.expected)
        .map(|(d, e)| (d / e).abs())
        .collect()
}

/// Quantile `q` of `v`, interpolated linearly between order statistics (numpy's default).
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = (s.len() - 1) as f64 * q;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

fn summary(label: &str, rel: &[f64]) -> String {
    let within = rel.iter().filter(|&&r| r <= RTOL).count();
    format!(
        "{label}: relative completeness error median {:.2e}, p90 {:.2e}, max {:.2e}; {within} of {} samples within {RTOL}",
        quantile(rel, 0.5),
        quantile(rel, 0.9),
        quantile(rel, 1.0),
        rel.len()
    )
}

/// IG at 50 steps on every sample, checking that the reported delta is
/// `Σ attr − (f(x) − f(0))`; returns the relative errors and expected sums.
fn at_50_steps(t: &Trained) -> (Vec<f64>, Vec<f64>) {
    let (attr, check) = ig(50)
        .attribute_with_delta(&t.model, t.x.view(), &t.target, RTOL)
        .expect("IG");
    assert_eq!(attr.shape(), t.x.shape());
    assert!(attr.iter().all(|v| v.is_finite()));
    // independent recomputation of the delta
    let fx = t.model.forward(t.x.view()).expect("forward");
    let f0 = t
        .model
        .forward(ArrayF::zeros(t.x.raw_dim()).view())
        .expect("forward at the baseline");
    for (n, row) in attr.axis_iter(Axis(0)).enumerate() {
        let sum: f64 = row.iter().map(|&v| v as f64).sum();
        let expected = fx[[n, t.target[n]]] as f64 - f0[[n, t.target[n]]] as f64;
        assert!(
            (check.expected[n] - expected).abs() <= 1e-6 * expected.abs().max(1.0),
            "sample {n}: expected sum {} vs {expected}",
            check.expected[n]
        );
        assert!(
            (check.delta[n] - (sum - expected)).abs() <= 1e-6 * expected.abs().max(1.0),
            "sample {n}: delta {} vs {}",
            check.delta[n],
            sum - expected
        );
        assert_eq!(
            check.violated[n],
            check.delta[n].abs() > RTOL * expected.abs()
        );
    }
    let rel = relative(&check);
    eprintln!("{}", summary("n_steps = 50", &rel));
    (rel, check.expected)
}

/// Doubles `n_steps` from 100 for the samples selected by `keep` that are still outside
/// [`RTOL`], up to `max_steps`; returns per sample the smallest step count of the sequence
/// 50, 100, 200, … at which it was within tolerance (`None` when it was not, or not refined).
fn refine(
    t: &Trained,
    rel50: &[f64],
    keep: impl Fn(usize) -> bool,
    max_steps: usize,
) -> Vec<Option<usize>> {
    let mut need: Vec<Option<usize>> = rel50.iter().map(|&r| (r <= RTOL).then_some(50)).collect();
    let mut steps = 100;
    while steps <= max_steps {
        let todo: Vec<usize> = (0..need.len())
            .filter(|&i| need[i].is_none() && keep(i))
            .collect();
        if todo.is_empty() {
            break;
        }
        let x = t.x.select(Axis(0), &todo);
        let target: Vec<usize> = todo.iter().map(|&i| t.target[i]).collect();
        let (_, check) = ig(steps)
            .attribute_with_delta(&t.model, x.view(), &target, RTOL)
            .expect("IG");
        for (k, &i) in todo.iter().enumerate() {
            if !check.violated[k] {
                need[i] = Some(steps);
            }
        }
        let rel = relative(&check);
        eprintln!(
            "{}",
            summary(
                &format!("n_steps = {steps} (the {} left)", todo.len()),
                &rel
            )
        );
        steps *= 2;
    }
    need
}

#[test]
fn integrated_gradients_completeness_on_a_trained_vgg() {
    let start = Instant::now();
    let t = trained();
    // a trained model, well above chance (0.79 measured: at 32×32 the smooth random boundaries
    // of docs/DATA.md are harder to tell apart than the old lobed stars, which reached 0.85)
    assert!(t.accuracy >= 0.75, "test accuracy {}", t.accuracy);
    let (rel, expected) = at_50_steps(&t);
    // measured: median 2.48e-2, 21 of 93 samples within 1 % (the model's numerics are the same
    // bytes on every CPU; 2.35e-2 and 24 of 95 with the earlier cache-blocked matrix products,
    // 1.15e-2 and 51 of 110 on the earlier star-shaped lesions)
    assert!(quantile(&rel, 0.5) <= 0.03, "median at 50 steps");
    let within = rel.iter().filter(|&&r| r <= RTOL).count();
    assert!(
        within * 5 >= rel.len(),
        "{within} of {} within 1 %",
        rel.len()
    );
    // well-conditioned samples (|f(x) − f(0)| ≥ 1 logit) all reach 1 % by 800 steps
    // (measured here: by 800, the worst at 8.9e-4)
    let need = refine(&t, &rel, |i| expected[i].abs() >= 1.0, 800);
    let bad: Vec<(usize, f64)> = (0..need.len())
        .filter(|&i| need[i].is_none() && expected[i].abs() >= 1.0)
        .map(|i| (i, expected[i]))
        .collect();
    assert!(
        bad.is_empty(),
        "not within 1 % by 800 steps (sample, f(x) − f(0)): {bad:?}"
    );
    let left = need.iter().filter(|n| n.is_none()).count();
    eprintln!(
        "{left} sample(s) with |f(x) − f(0)| < 1 outside 1 % at 50 steps (not refined); total {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

/// Every sample, however small `f(x) − f(0)`, is within 1 % at some `n_steps ≤ 12800`
/// (slow: about a minute on 2 cores; `cargo test --release -- --ignored`).
#[test]
#[ignore]
fn integrated_gradients_completeness_converges_for_every_sample() {
    let t = trained();
    // a trained model, well above chance (0.79 measured: at 32×32 the smooth random boundaries
    // of docs/DATA.md are harder to tell apart than the old lobed stars, which reached 0.85)
    assert!(t.accuracy >= 0.75, "test accuracy {}", t.accuracy);
    let (rel, _) = at_50_steps(&t);
    let need = refine(&t, &rel, |_| true, 12800);
    let mut counts = std::collections::BTreeMap::new();
    for n in &need {
        *counts.entry(*n).or_insert(0) += 1;
    }
    eprintln!("samples by the n_steps that brought them within 1 %: {counts:?}");
    assert!(need.iter().all(Option::is_some), "{counts:?}");
}
