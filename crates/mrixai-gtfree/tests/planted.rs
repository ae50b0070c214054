//! The metrics on a model whose truth is known: a linear score `w · x` (class 1; class 0 is
//! 0), where the exact contribution of feature i is `wᵢ·(xᵢ − baseline)`. That map must be
//! perfectly faithful (correlation 1, MoRF falls faster than LeRF) and a random one not; the
//! seeded metrics repeat; bad input is one clear error.

use mrixai_core::{ArrayF, Error, Explainable, LayerKind, Result, ViewF, WeightTransform};
use mrixai_gtfree::{
    Baseline, FaithfulnessCorrelation, Order, Output, PixelFlipping, RegionPerturbation,
    faithfulness_correlation, pixel_flipping, region_perturbation,
};
use ndarray::{Array2, ArrayD, Axis, IxDyn};
use rand::Rng as _;

/// Logits `[0, w · x]` for inputs `[N, 2, 8, 8]`.
struct Linear {
    w: ArrayD<f32>,
}

impl Explainable for Linear {
    fn input_shape(&self) -> Vec<usize> {
        self.w.shape().to_vec()
    }
    fn num_classes(&self) -> usize {
        2
    }
    fn layers(&self) -> usize {
        1
    }
    fn layer_kind(&self, _: usize) -> LayerKind {
        LayerKind::Linear
    }
    fn layer_name(&self, _: usize) -> String {
        "linear".into()
    }
    fn layer_forward(&self, _: usize, x: ViewF) -> Result<ArrayF> {
        let n = x.shape()[0];
        let mut out = Array2::<f32>::zeros((n, 2));
        for (i, s) in x.axis_iter(Axis(0)).enumerate() {
            out[[i, 1]] = s.iter().zip(self.w.iter()).map(|(a, b)| a * b).sum();
        }
        Ok(out.into_dyn())
    }
    fn layer_vjp(&self, _: usize, _: ViewF, _: ViewF) -> Result<ArrayF> {
        Err(Error::invalid("not needed"))
    }
    fn layer_forward_with(&self, i: usize, x: ViewF, _: WeightTransform) -> Result<ArrayF> {
        self.layer_forward(i, x)
    }
    fn layer_vjp_with(&self, _: usize, _: ViewF, _: ViewF, _: WeightTransform) -> Result<ArrayF> {
        Err(Error::invalid("not needed"))
    }
}

fn world() -> (Linear, ArrayF, ArrayF, ArrayF) {
    let mut rng = mrixai_core::seed::rng(3, "planted");
    let shape = [2usize, 8, 8];
    let w = ArrayD::from_shape_fn(IxDyn(&shape), |_| rng.random::<f32>() - 0.3);
    let x = ArrayD::from_shape_fn(IxDyn(&[5, 2, 8, 8]), |_| rng.random::<f32>());
    // the exact contributions against the black baseline (each sample's minimum)
    let mut truth = x.clone();
    for mut s in truth.axis_iter_mut(Axis(0)) {
        let min = s.iter().copied().fold(f32::INFINITY, f32::min);
        s.zip_mut_with(&w, |v, &wi| *v = wi * (*v - min));
    }
    let noise = ArrayD::from_shape_fn(IxDyn(&[5, 2, 8, 8]), |_| rng.random::<f32>() - 0.5);
    (Linear { w }, x, truth, noise)
}

#[test]
fn the_exact_map_is_faithful_and_a_random_one_is_not() {
    let (model, x, truth, noise) = world();
    let t = [1usize; 5];
    let cfg = FaithfulnessCorrelation {
        runs: 30,
        subset: 20,
        ..Default::default()
    };
    let exact = faithfulness_correlation(&model, x.view(), truth.view(), &t, &cfg).unwrap();
    assert!(exact.iter().all(|r| *r > 1.0 - 1e-6), "{exact:?}");
    let random = faithfulness_correlation(&model, x.view(), noise.view(), &t, &cfg).unwrap();
    let mean = random.iter().sum::<f64>() / random.len() as f64;
    assert!(mean.abs() < 0.5, "{random:?}");
    // same seed, same numbers; another seed, other subsets
    assert_eq!(
        random,
        faithfulness_correlation(&model, x.view(), noise.view(), &t, &cfg).unwrap()
    );
    let other = FaithfulnessCorrelation { seed: 1, ..cfg };
    assert_ne!(
        random,
        faithfulness_correlation(&model, x.view(), noise.view(), &t, &other).unwrap()
    );
}

#[test]
fn most_relevant_first_falls_faster_than_least_relevant_first() {
    let (model, x, truth, _) = world();
    let t = [1usize; 5];
    for output in [Output::Logit, Output::Probability] {
        let rp = |order| {
            let cfg = RegionPerturbation {
                patch: 2,
                order,
                output,
                ..Default::default()
            };
            region_perturbation(&model, x.view(), truth.view(), &t, &cfg).unwrap()
        };
        let (morf, lerf) = (rp(Order::MoRF), rp(Order::LeRF));
        assert_eq!(morf.values.shape(), [5, 16]);
        for (m, l) in morf.auc().iter().zip(lerf.auc()) {
            assert!(*m > l, "{output:?}: MoRF {m} vs LeRF {l}");
        }
        // the drops of the exact map's MoRF order first rise, then fall back to the total
        let last = morf.values.column(15).to_owned();
        let lerf_last = lerf.values.column(15).to_owned();
        assert!((last - lerf_last).iter().all(|d| d.abs() < 1e-5));
    }
    // pixel flipping with the logit: after every feature is flipped, the score is w·baseline
    let cfg = PixelFlipping {
        features_in_step: 16,
        output: Output::Logit,
        ..Default::default()
    };
    let pf = pixel_flipping(&model, x.view(), truth.view(), &t, &cfg).unwrap();
    assert_eq!(pf.values.shape(), [5, 8]);
    let wsum: f32 = model.w.sum();
    for (s, curve) in x.axis_iter(Axis(0)).zip(pf.values.outer_iter()) {
        let min = s.iter().copied().fold(f32::INFINITY, f32::min);
        assert!((curve[7] - f64::from(wsum * min)).abs() < 1e-4, "{curve}");
        // each step removes contributions no larger than the last step's: the increments
        // rise, the curve is convex (it falls while positive contributions go)
        let steps: Vec<f64> = curve.windows(2).into_iter().map(|w| w[1] - w[0]).collect();
        assert!(steps.windows(2).all(|d| d[1] >= d[0] - 1e-4), "{curve}");
    }
}

#[test]
fn bad_input_is_one_clear_error() {
    let (model, x, truth, _) = world();
    let wrong = ArrayD::<f32>::zeros(IxDyn(&[5, 2, 8, 7]));
    let cfg = RegionPerturbation::default();
    let e = region_perturbation(&model, x.view(), wrong.view(), &[1; 5], &cfg).unwrap_err();
    assert!(e.to_string().contains("maps"), "{e}");
    let e =
        region_perturbation(&model, x.view(), truth.view(), &[1, 1, 2, 1, 1], &cfg).unwrap_err();
    assert!(e.to_string().contains("target 2"), "{e}");
    let big = FaithfulnessCorrelation {
        subset: 128,
        ..Default::default()
    };
    let e = faithfulness_correlation(&model, x.view(), truth.view(), &[1; 5], &big).unwrap_err();
    assert!(e.to_string().contains("subset"), "{e}");
    // the metrics by name check the counts first, the model-free ones too
    let four = truth.slice_axis(Axis(0), ndarray::Slice::from(0..4));
    let batch = mrixai_gtfree::Batch {
        model: &model,
        x: x.view(),
        maps: four,
        targets: &[1; 5],
        method: None,
    };
    let e = mrixai_gtfree::score(
        &batch,
        &["sparseness"],
        &Default::default(),
        &mrixai_core::progress::Silent,
    )
    .unwrap_err();
    assert!(e.to_string().contains("4 map(s) and 5 target(s)"), "{e}");
    let bad_base = RegionPerturbation {
        baseline: Baseline::Value(f32::NAN),
        ..Default::default()
    };
    let e = region_perturbation(&model, x.view(), truth.view(), &[1; 5], &bad_base).unwrap_err();
    assert!(e.to_string().contains("not a finite value"), "{e}");
    let none = PixelFlipping {
        features_in_step: 0,
        baseline: Baseline::Value(0.0),
        ..Default::default()
    };
    assert!(pixel_flipping(&model, x.view(), truth.view(), &[1; 5], &none).is_err());
}

/// More samples than one forward chunk (64): every sample's numbers are those it gets alone.
#[test]
fn a_sample_scores_the_same_in_any_batch() {
    let (model, _, _, _) = world();
    let mut rng = mrixai_core::seed::rng(9, "many");
    let x = ArrayD::from_shape_fn(IxDyn(&[70, 2, 8, 8]), |_| rng.random::<f32>());
    let maps = ArrayD::from_shape_fn(IxDyn(&[70, 2, 8, 8]), |_| rng.random::<f32>() - 0.5);
    let t = vec![1usize; 70];
    let rp = RegionPerturbation {
        patch: 4,
        output: Output::Logit,
        ..Default::default()
    };
    let fc = FaithfulnessCorrelation {
        runs: 5,
        subset: 10,
        ..Default::default()
    };
    let all = region_perturbation(&model, x.view(), maps.view(), &t, &rp).unwrap();
    let fc_all = faithfulness_correlation(&model, x.view(), maps.view(), &t, &fc).unwrap();
    for i in [0usize, 63, 64, 69] {
        let one = |a: &ArrayD<f32>| {
            a.slice_axis(Axis(0), ndarray::Slice::from(i..i + 1))
                .to_owned()
        };
        let (xi, mi) = (one(&x), one(&maps));
        let alone = region_perturbation(&model, xi.view(), mi.view(), &t[..1], &rp).unwrap();
        assert_eq!(alone.values.row(0), all.values.row(i), "sample {i}");
        let fc_one = faithfulness_correlation(&model, xi.view(), mi.view(), &t[..1], &fc).unwrap();
        // the first sample's stream alone is sample 0's; later ones draw from their own
        if i == 0 {
            assert_eq!(fc_one[0], fc_all[0]);
        }
        assert!(fc_all[i].is_finite());
    }
}
