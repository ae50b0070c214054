//! Method tests on the test-only models of `testkit`: Captum fixtures, axioms, stochastic
//! properties, bad input, sanity checks.

use crate::testkit::{Net, read, targets};
use crate::*;
use mrixai_core::{ArrayF, Attributor, Explainable};
use mrixai_testkit::assert_maps_close as assert_close;
use ndarray::{Array1, Array2, Axis, IxDyn};
use rand::Rng as _;
use std::collections::BTreeMap;

/// (method, fixture file, parameters)
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);

fn params(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn golden_case(case: &str) {
    let net = Net::golden(case);
    let x = read(case, "inputs.npy");
    let t = targets(case);
    let logits = net.forward(x.view()).unwrap();
    assert_close(
        &format!("{case}/logits"),
        &logits,
        &read(case, "logits.npy"),
    );
    let c = x.shape()[1].to_string();
    let win = format!("{c},8,8");
    let stride = format!("{c},4,4");
    let cases: Vec<Case> = vec![
        ("gradient", "gradient.npy", vec![]),
        ("input_x_gradient", "input_x_gradient.npy", vec![]),
        (
            "integrated_gradients",
            "integrated_gradients.npy",
            vec![("n_steps", "50")],
        ),
        (
            "integrated_gradients",
            "integrated_gradients_riemann_trapezoid.npy",
            vec![
                ("method", "riemann_trapezoid"),
                ("internal_batch_size", "37"),
            ],
        ),
        ("deeplift", "deeplift.npy", vec![]),
        ("guided_backprop", "guided_backprop.npy", vec![]),
        ("deconvolution", "deconvolution.npy", vec![]),
        ("lrp", "lrp_epsilon.npy", vec![]),
        ("grad_cam", "grad_cam.npy", vec![]),
        (
            "grad_cam",
            "grad_cam_upsampled.npy",
            vec![("upsample", "true")],
        ),
        ("guided_grad_cam", "guided_grad_cam.npy", vec![]),
        (
            "occlusion",
            "occlusion.npy",
            vec![
                ("sliding_window_shapes", &win),
                ("strides", &stride),
                ("baselines", "0"),
            ],
        ),
    ];
    for (m, file, p) in cases {
        let a = method_by_name(m, &params(&p))
            .unwrap()
            .attribute(&net, x.view(), &t)
            .unwrap();
        assert_close(&format!("{case}/{file}"), &a, &read(case, file));
    }
}

#[test]
fn golden_vgg_small_matches_captum() {
    golden_case("vgg_small");
}

#[test]
fn golden_vgg_bn_matches_captum() {
    golden_case("vgg_bn");
}

#[test]
fn ig_quadrature_matches_captum_nodes() {
    let j: serde_json::Value = serde_json::from_slice(
        &std::fs::read(testkit::fixtures().join("vgg_small/methods.json")).unwrap(),
    )
    .unwrap();
    let q = &j["ig_quadrature"];
    for (key, method) in [
        ("gausslegendre_50", Quadrature::GaussLegendre),
        ("riemann_trapezoid_50", Quadrature::RiemannTrapezoid),
    ] {
        let (a, s) = quadrature::alphas_and_steps(method, 50).unwrap();
        for (k, (ra, rs)) in q[key]["alphas"]
            .as_array()
            .unwrap()
            .iter()
            .zip(q[key]["step_sizes"].as_array().unwrap())
            .enumerate()
        {
            assert_eq!(a[k], ra.as_f64().unwrap() as f32, "{key} alpha {k}");
            assert_eq!(s[k], rs.as_f64().unwrap() as f32, "{key} step {k}");
        }
    }
}

fn batch(seed: u64, n: usize, shape: &[usize], lo: f32) -> ArrayF {
    let mut rng = mrixai_core::seed::rng(seed, "inputs");
    let mut sh = vec![n];
    sh.extend_from_slice(shape);
    ArrayF::from_shape_fn(IxDyn(&sh), |_| lo + rng.random::<f32>() * (1.0 - lo))
}

#[test]
fn integrated_gradients_completeness_within_one_percent() {
    // a bias-free ReLU net is positively homogeneous, so the gradient is constant along the
    // path from a zero baseline and every quadrature whose weights sum to 1 is complete
    let net = Net::tiny(1, false);
    let x = batch(2, 5, &[2, 8, 8], 0.0);
    let t = vec![0, 1, 2, 0, 1];
    for method in [
        Quadrature::GaussLegendre,
        Quadrature::RiemannRight,
        Quadrature::RiemannMiddle,
    ] {
        let ig = IntegratedGradients {
            method,
            internal_batch_size: 17,
            ..Default::default()
        };
        let (attr, check) = ig.attribute_with_delta(&net, x.view(), &t, 0.01).unwrap();
        assert!(
            !check.warn_if_violated("integrated_gradients"),
            "{method:?}: {check:?}"
        );
        assert!(
            check
                .delta
                .iter()
                .zip(&check.expected)
                .all(|(d, e)| d.abs() < 1e-5 * e.abs().max(1.0)),
            "{check:?}"
        );
        assert_eq!(attr.shape(), x.shape());
    }
    // the left sum's first point is the zero input where every ReLU gradient is 0 (-1/n);
    // Captum's trapezoid weights sum to 0.98 and its first point is also at zero (-3 %)
    for (method, off) in [
        (Quadrature::RiemannLeft, 0.02),
        (Quadrature::RiemannTrapezoid, 0.03),
    ] {
        let ig = IntegratedGradients {
            method,
            ..Default::default()
        };
        let (_, check) = ig.attribute_with_delta(&net, x.view(), &t, 0.01).unwrap();
        assert!(check.violated.iter().all(|&v| v), "{check:?}");
        for (d, e) in check.delta.iter().zip(&check.expected) {
            assert!((d / e + off).abs() < 1e-4, "{method:?}: {d} {e}");
        }
    }
    // with biases the integrand has kinks; the error is within 1 % of the spread of logits at
    // 50 steps and shrinks with more steps
    let net = Net::tiny(1, true);
    let worst = |n_steps| {
        let ig = IntegratedGradients {
            n_steps,
            internal_batch_size: 97,
            ..Default::default()
        };
        let (_, c) = ig.attribute_with_delta(&net, x.view(), &t, 1.0).unwrap();
        c.delta
            .iter()
            .zip(&c.expected)
            .map(|(d, e)| (d / e).abs())
            .fold(0.0, f64::max)
    };
    let (w50, w400) = (worst(50), worst(400));
    assert!(w50 < 0.02 && w400 < 0.003 && w400 < w50, "{w50} {w400}");
}

#[test]
fn deeplift_sums_to_delta() {
    let net = Net::tiny(3, true);
    let x = batch(4, 4, &[2, 8, 8], -1.0);
    let t = vec![2, 1, 0, 1];
    let b = batch(5, 1, &[2, 8, 8], -1.0)
        .index_axis(Axis(0), 0)
        .to_owned();
    let dl = DeepLift {
        baselines: Baseline::Array(b.clone()),
        internal_batch_size: 3,
        ..Default::default()
    };
    let (_, check) = dl.attribute_with_delta(&net, x.view(), &t, 1e-4).unwrap();
    assert!(!check.warn_if_violated("deeplift"), "{check:?}");
    // DeepLIFT-SHAP over several baselines sums to f(x) - mean f(b)
    let dist = batch(6, 3, &[2, 8, 8], -1.0);
    let a = DeepLiftShap {
        baselines: Baseline::Array(dist.clone()),
        internal_batch_size: 5,
    }
    .attribute(&net, x.view(), &t)
    .unwrap();
    let fx = net.forward(x.view()).unwrap();
    let fb = net.forward(dist.view()).unwrap();
    for n in 0..4 {
        let want = fx[[n, t[n]]] - (0..3).map(|k| fb[[k, t[n]]]).sum::<f32>() / 3.0;
        let got: f32 = a.index_axis(Axis(0), n).sum();
        assert!(
            (got - want).abs() <= 1e-4 * want.abs().max(1e-3),
            "{got} vs {want}"
        );
    }
}

#[test]
fn lrp_conserves_relevance_without_biases() {
    let net = Net::tiny(7, false);
    let x = batch(8, 4, &[2, 8, 8], 0.0);
    let t = vec![0, 1, 2, 2];
    for comp in [
        "epsilon",
        "epsilon_plus",
        "epsilon_plus_box",
        "epsilon_plus_flat",
    ] {
        let lrp = method_by_name("lrp", &params(&[("composite", comp)])).unwrap();
        let attr = lrp.attribute(&net, x.view(), &t).unwrap();
        let check = axioms::conservation(&net, x.view(), &t, attr.view(), 1e-3).unwrap();
        assert!(!check.warn_if_violated(comp), "{comp}: {check:?}");
    }
    let (_, check) = Lrp::default()
        .attribute_with_delta(&net, x.view(), &t, 1e-3)
        .unwrap();
    assert!(!check.any_violated());
    // with biases, relevance leaks and the check reports it
    let biased = Net::tiny(7, true);
    let (_, check) = Lrp::default()
        .attribute_with_delta(&biased, x.view(), &t, 1e-6)
        .unwrap();
    assert!(check.any_violated());
}

#[test]
fn lrp_rules_on_a_linear_layer() {
    // one linear layer: z⁺ and αβ shares follow the textbook formulas
    let w = Array2::from_shape_vec((1, 4), vec![1.0, -2.0, 0.5, 3.0]).unwrap();
    let net = Net::linear(w, Array1::zeros(1), 2, 2);
    let x = ArrayF::from_shape_vec(IxDyn(&[1, 1, 2, 2]), vec![1.0, 1.0, 2.0, -1.0]).unwrap();
    // contributions: 1, -2, 1, -3; logit -3
    let lrp = |c: &str| {
        method_by_name("lrp", &params(&[("composite", c), ("epsilon", "0")]))
            .unwrap()
            .attribute(&net, x.view(), &[0])
            .unwrap()
    };
    let e = lrp("epsilon");
    assert_eq!(
        e.iter().copied().collect::<Vec<_>>(),
        vec![1.0, -2.0, 1.0, -3.0]
    );
    let ab = lrp("epsilon_alpha2_beta1");
    // αβ applies to convolutions only; a linear layer keeps ε
    assert_eq!(ab, e);
    let mut comp = Composite::epsilon(0.0);
    comp.layers.insert(
        "fc".into(),
        std::sync::Arc::new(lrp::AlphaBeta {
            alpha: 2.0,
            beta: 1.0,
            stabilizer: 0.0,
        }),
    );
    let ab = Lrp {
        composite: comp,
        internal_batch_size: 4,
    }
    .attribute(&net, x.view(), &[0])
    .unwrap();
    // R = -3; α·R·[1,0,1,0]/2 - β·R·[0,-2,0,-3]/(-5), which sums to R
    let want = [-3.0, 1.2, -3.0, 1.8];
    for (a, b) in ab.iter().zip(want) {
        assert!((a - b).abs() < 1e-5, "{ab:?}");
    }
}

#[test]
fn gradient_shap_reduces_to_input_x_gradient_on_homogeneous_nets() {
    // bias-free ReLU nets are positively homogeneous: ∇f(αx) = ∇f(x) for α > 0, so with
    // stdevs = 0 and a zero baseline every draw is exactly x·∇f(x)
    let net = Net::tiny(9, false);
    let x = batch(10, 3, &[2, 8, 8], 0.0);
    let t = vec![1, 0, 2];
    let ixg = InputXGradient.attribute(&net, x.view(), &t).unwrap();
    let gs = GradientShap {
        n_samples: 3,
        seed: 4,
        ..Default::default()
    }
    .attribute(&net, x.view(), &t)
    .unwrap();
    let mx = ixg.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (a, b) in gs.iter().zip(ixg.iter()) {
        assert!((a - b).abs() <= 1e-5 * mx + 1e-4 * b.abs(), "{a} vs {b}");
    }
}

#[test]
fn gradient_shap_is_seeded_and_converges_to_integrated_gradients() {
    let net = Net::tiny(11, true);
    let x = batch(12, 2, &[2, 8, 8], 0.0);
    let t = vec![0, 2];
    let gs = |seed, n| {
        GradientShap {
            n_samples: n,
            seed,
            internal_batch_size: 256,
            ..Default::default()
        }
        .attribute(&net, x.view(), &t)
        .unwrap()
    };
    assert_eq!(gs(1, 4), gs(1, 4));
    assert_ne!(gs(1, 4), gs(2, 4));
    // batch-independent: the second sample alone gets the same map
    let second = GradientShap {
        n_samples: 4,
        seed: 1,
        ..Default::default()
    }
    .attribute(
        &net,
        x.slice_axis(Axis(0), ndarray::Slice::from(1..2)),
        &t[1..],
    )
    .unwrap();
    assert_eq!(
        second.index_axis(Axis(0), 0),
        gs(1, 4).index_axis(Axis(0), 1)
    );
    // E_α[x·∇f(αx)] = IG
    let ig = IntegratedGradients {
        n_steps: 200,
        ..Default::default()
    }
    .attribute(&net, x.view(), &t)
    .unwrap();
    let mc = gs(3, 3000);
    let mx = ig.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let err = mc
        .iter()
        .zip(ig.iter())
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(err < 0.05 * mx, "max error {err} vs max |IG| {mx}");
}

fn linear_case() -> (Net, ArrayF, Vec<f64>) {
    let mut rng = mrixai_core::seed::rng(21, "linear");
    let w = Array2::from_shape_fn((2, 64), |_| rng.random::<f32>() * 2.0 - 1.0);
    let net = Net::linear(w.clone(), Array1::from(vec![0.3, -0.2]), 8, 8);
    let x = batch(22, 1, &[1, 8, 8], 0.0);
    // grid of 4×4 cells: 4 features; the contribution of feature j is Σ_{pixels in j} w·x
    let mut c = vec![0.0f64; 4];
    for i in 0..8 {
        for j in 0..8 {
            c[(i / 4) * 2 + j / 4] += (w[[1, i * 8 + j]] * x[[0, 0, i, j]]) as f64;
        }
    }
    (net, x, c)
}

#[test]
fn feature_methods_recover_a_linear_model() {
    let (net, x, c) = linear_case();
    for (m, extra) in [
        ("kernel_shap", vec![("n_samples", "40")]),
        ("lime", vec![("n_samples", "60"), ("alpha", "1e-9")]),
        ("shapley_value_sampling", vec![("n_samples", "3")]),
    ] {
        let mut p = vec![
            ("grid_size", "4"),
            ("seed", "5"),
            ("internal_batch_size", "7"),
        ];
        p.extend(extra);
        let a = method_by_name(m, &params(&p))
            .unwrap()
            .attribute(&net, x.view(), &[1])
            .unwrap();
        for i in 0..8 {
            for j in 0..8 {
                let want = c[(i / 4) * 2 + j / 4];
                assert!(
                    (a[[0, 0, i, j]] as f64 - want).abs() < 1e-3 * want.abs().max(0.1),
                    "{m} ({i},{j}): {} vs {want}",
                    a[[0, 0, i, j]]
                );
            }
        }
    }
}

#[test]
fn feature_methods_are_seeded() {
    let net = Net::tiny(13, true);
    let x = batch(14, 2, &[2, 8, 8], 0.0);
    let t = vec![1, 2];
    for m in ["lime", "kernel_shap", "shapley_value_sampling"] {
        let run = |seed: &str, sp: &str| {
            method_by_name(
                m,
                &params(&[
                    ("seed", seed),
                    ("superpixels", sp),
                    ("n_segments", "6"),
                    ("grid_size", "2"),
                    ("n_samples", "12"),
                ]),
            )
            .unwrap()
            .attribute(&net, x.view(), &t)
            .unwrap()
        };
        assert_eq!(run("1", "grid"), run("1", "grid"), "{m}");
        assert_ne!(run("1", "grid"), run("2", "grid"), "{m}");
        assert_eq!(run("1", "slic"), run("1", "slic"), "{m}");
    }
}

#[test]
fn occlusion_of_single_pixels_on_a_linear_model_is_w_times_x() {
    let (net, x, _) = linear_case();
    let a = Occlusion {
        sliding_window_shapes: vec![1, 1],
        strides: vec![1, 1],
        internal_batch_size: 9,
        ..Default::default()
    }
    .attribute(&net, x.view(), &[1])
    .unwrap();
    let want = InputXGradient.attribute(&net, x.view(), &[1]).unwrap();
    for (a, b) in a.iter().zip(want.iter()) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn controls() {
    let net = Net::tiny(15, true);
    let x = batch(16, 3, &[2, 8, 8], 0.0);
    let t = vec![0, 1, 2];
    let r = RandomMap { seed: 1 }.attribute(&net, x.view(), &t).unwrap();
    assert_eq!(
        r,
        RandomMap { seed: 1 }.attribute(&net, x.view(), &t).unwrap()
    );
    assert_ne!(
        r,
        RandomMap { seed: 2 }.attribute(&net, x.view(), &t).unwrap()
    );
    // model-free: the same maps for other targets and another model
    let other = Net::tiny(16, true);
    for c in crate::method_names()
        .into_iter()
        .filter(|c| crate::is_model_free(c) && *c != "oracle")
    {
        let m = method_by_name(c, &Default::default()).unwrap();
        assert_eq!(
            m.attribute(&net, x.view(), &t).unwrap(),
            m.attribute(&other, x.view(), &[2, 0, 1]).unwrap(),
            "{c}"
        );
    }
    assert!(r.iter().all(|v| (0.0..1.0).contains(v)));
    let step = ArrayF::from_shape_fn(IxDyn(&[1, 2, 8, 8]), |i| if i[3] < 4 { 0.0 } else { 1.0 });
    let s = Sobel.attribute(&net, step.view(), &[0]).unwrap();
    assert_eq!(s[[0, 0, 2, 0]], 0.0);
    assert_eq!(s[[0, 1, 5, 3]], 4.0);
    assert_eq!(s[[0, 1, 5, 4]], 4.0);
    let l = Laplace.attribute(&net, step.view(), &[0]).unwrap();
    assert_eq!(
        (l[[0, 0, 1, 3]], l[[0, 0, 1, 4]], l[[0, 0, 1, 6]]),
        (1.0, 1.0, 0.0)
    );
    assert_eq!(InputMap.attribute(&net, x.view(), &t).unwrap(), x);
    let masks = ndarray::ArrayD::<u8>::from_shape_fn(IxDyn(&[3, 8, 8]), |i| (i[1] == i[0]) as u8);
    let o = Oracle::new(masks.view())
        .attribute(&net, x.view(), &t)
        .unwrap();
    assert_eq!(o.shape(), x.shape());
    assert_eq!((o[[1, 1, 1, 5]], o[[1, 0, 2, 5]]), (1.0, 0.0));
    let o2 = Oracle::new(masks.view()).slice(1, 2).unwrap();
    assert!(
        o2.attribute(&net, x.view(), &t).is_err(),
        "3 samples against 2 masks"
    );
}

#[test]
fn bad_input_is_rejected_with_clear_errors() {
    let net = Net::tiny(17, true);
    let x = batch(18, 2, &[2, 8, 8], 0.0);
    for m in crate::method_names().into_iter().filter(|m| *m != "oracle") {
        let a = method_by_name(m, &BTreeMap::new()).unwrap();
        let e = a
            .attribute(&net, x.view(), &[0, 3])
            .unwrap_err()
            .to_string();
        assert!(e.contains("out of range"), "{m}: {e}");
        let e = a.attribute(&net, x.view(), &[0]).unwrap_err().to_string();
        assert!(e.contains("target"), "{m}: {e}");
        let wrong = batch(18, 2, &[1, 8, 8], 0.0);
        let e = a
            .attribute(&net, wrong.view(), &[0, 1])
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected shape"), "{m}: {e}");
        let mut nan = x.clone();
        nan[[1, 0, 0, 0]] = f32::NAN;
        let e = a
            .attribute(&net, nan.view(), &[0, 1])
            .unwrap_err()
            .to_string();
        assert!(e.contains("non-finite"), "{m}: {e}");
    }
    let e = GradCam {
        layer: Some("features.9".into()),
        ..Default::default()
    }
    .attribute(&net, x.view(), &[0, 1])
    .unwrap_err()
    .to_string();
    assert!(e.contains("features.9") && e.contains("features.3"), "{e}");
    let e = IntegratedGradients {
        baselines: Baseline::Array(ArrayF::zeros(IxDyn(&[3, 8, 8]))),
        ..Default::default()
    }
    .attribute(&net, x.view(), &[0, 1])
    .unwrap_err()
    .to_string();
    assert!(e.contains("baselines"), "{e}");
}

#[test]
fn chunking_does_not_change_results() {
    let net = Net::tiny(19, true);
    let x = batch(20, 3, &[2, 8, 8], 0.0);
    let t = vec![2, 0, 1];
    for m in ["integrated_gradients", "deeplift", "lrp", "occlusion"] {
        let a = method_by_name(m, &params(&[("internal_batch_size", "1")]))
            .unwrap()
            .attribute(&net, x.view(), &t)
            .unwrap();
        let b = method_by_name(m, &params(&[("internal_batch_size", "1000")]))
            .unwrap()
            .attribute(&net, x.view(), &t)
            .unwrap();
        let mx = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(
            a.iter()
                .zip(b.iter())
                .all(|(a, b)| (a - b).abs() <= 1e-6 * mx),
            "{m}"
        );
    }
}

#[test]
fn cascading_randomization_separates_model_dependent_methods() {
    let net = Net::tiny(23, true);
    let x = batch(24, 2, &[2, 8, 8], 0.0);
    let t = vec![0, 1];
    let g = Gradient::default();
    let s = Sobel;
    let rows = cascading_randomization(&net, &[&g, &s], x.view(), &t, 5).unwrap();
    assert_eq!(rows.len(), 4 * 2 * 2);
    assert_eq!(rows[0].layer, "classifier.3");
    assert_eq!(rows.last().unwrap().layer, "features.0");
    for r in rows.iter().filter(|r| r.method == "sobel") {
        assert!(
            (r.ssim - 1.0).abs() < 1e-12 && (r.spearman - 1.0).abs() < 1e-12,
            "{r:?}"
        );
    }
    let full: Vec<_> = rows
        .iter()
        .filter(|r| r.method == "gradient" && r.depth == 4)
        .collect();
    assert!(full.iter().all(|r| r.spearman < 0.9), "{full:?}");
}
