//! The metrics against Quantus 0.6 on the Captum fixtures' models and gradient maps
//! (`fixtures/gtfree/make_quantus.py`): region perturbation (MoRF, LeRF), pixel flipping,
//! faithfulness correlation (on the subsets Quantus drew), sparseness and complexity, ROAD
//! (without noise) and max-sensitivity (on the noisy inputs Quantus drew).

use mrixai_core::{ArrayF, npy};
use mrixai_gtfree::{
    Baseline, Order, Output, PixelFlipping, RegionPerturbation, Road, complexity,
    faithfulness_correlation_on, max_sensitivity_on, pixel_flipping, region_perturbation, road,
    sparseness,
};
use mrixai_testkit::{Tolerance, assert_close, workspace_dir};
use mrixai_zoo::Vgg;
use ndarray::{Array3, ArrayD};

struct Case {
    name: &'static str,
    model: Vgg,
    x: ArrayF,
    maps: ArrayF,
    targets: Vec<usize>,
}

fn case(name: &'static str) -> Case {
    let captum = workspace_dir().join("fixtures/captum").join(name);
    let targets = npy::read::<i64>(&captum.join("targets.npy")).unwrap();
    Case {
        name,
        model: Vgg::load(&captum).unwrap(),
        x: npy::read::<f32>(&captum.join("inputs.npy")).unwrap(),
        // the gradient maps with their exact zeros made distinct (Quantus's orderings break
        // ties in a CPU-dependent order)
        maps: npy::read::<f32>(
            &workspace_dir()
                .join("fixtures/gtfree")
                .join(name)
                .join("maps.npy"),
        )
        .unwrap(),
        targets: targets.iter().map(|&t| t as usize).collect(),
    }
}

fn golden(c: &Case, file: &str) -> ArrayD<f64> {
    let p = workspace_dir()
        .join("fixtures/gtfree")
        .join(c.name)
        .join(format!("{file}.npy"));
    npy::read::<f64>(&p).unwrap()
}

fn check(c: &Case, file: &str, got: impl IntoIterator<Item = f64>, tol: Tolerance) {
    let want = golden(c, file);
    assert_close(
        &format!("{}/{file}", c.name),
        got,
        want.iter().copied(),
        tol,
    );
}

#[test]
fn equal_to_quantus() {
    for c in [case("vgg_small"), case("vgg_bn")] {
        let (x, a, t) = (c.x.view(), c.maps.view(), c.targets.as_slice());
        for (order, file) in [(Order::MoRF, "morf"), (Order::LeRF, "lerf")] {
            let cfg = RegionPerturbation {
                order,
                ..RegionPerturbation::default()
            };
            let curves = region_perturbation(&c.model, x.view(), a.view(), t, &cfg).unwrap();
            let file = format!("region_perturbation_{file}");
            check(
                &c,
                &file,
                curves.values.iter().copied(),
                Tolerance::of_largest(1e-5, 0.0),
            );
        }
        let cfg = PixelFlipping {
            features_in_step: 256,
            ..PixelFlipping::default()
        };
        let curves = pixel_flipping(&c.model, x.view(), a.view(), t, &cfg).unwrap();
        check(
            &c,
            "pixel_flipping",
            curves.values.iter().copied(),
            Tolerance::of_largest(1e-5, 0.0),
        );
        let subsets = golden_subsets(&c);
        let fc = faithfulness_correlation_on(
            &c.model,
            x.view(),
            a.view(),
            t,
            subsets.view(),
            Baseline::Black,
            Output::Logit,
        )
        .unwrap();
        check(
            &c,
            "faithfulness_correlation",
            fc,
            Tolerance::of_largest(1e-5, 0.0),
        );
        check(
            &c,
            "sparseness",
            sparseness(a.view()),
            Tolerance::relative(1e-6),
        );
        check(
            &c,
            "complexity",
            complexity(a.view()),
            Tolerance::relative(1e-6),
        );
    }
}

fn golden_subsets(c: &Case) -> Array3<usize> {
    let p = workspace_dir()
        .join("fixtures/gtfree")
        .join(c.name)
        .join("fc_subsets.npy");
    let s = npy::read::<i32>(&p).unwrap();
    let shape = (s.shape()[0], s.shape()[1], s.shape()[2]);
    Array3::from_shape_vec(shape, s.iter().map(|&i| i as usize).collect()).unwrap()
}

/// ROAD without noise against Quantus (single-channel inputs: Quantus's ROAD fails on
/// several): its imputation of sample 0 at 1, 25 and 75 % and its share of samples still
/// classified per percentage.
#[test]
fn road_equal_to_quantus() {
    let c = case("vgg_small");
    let (x, a, t) = (c.x.view(), c.maps.view(), c.targets.as_slice());
    let cfg = Road {
        noise: 0.0,
        ..Road::default()
    };
    let curves = road(&c.model, x.view(), a.view(), t, &cfg).unwrap();
    let shares = curves.values.mean_axis(ndarray::Axis(0)).unwrap();
    check(
        &c,
        "road",
        shares.iter().copied(),
        Tolerance::relative(1e-12),
    );
    let want =
        npy::read::<f32>(&workspace_dir().join("fixtures/gtfree/vgg_small/road_imputed.npy"))
            .unwrap();
    let keys: Vec<f64> = a
        .index_axis(ndarray::Axis(0), 0)
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&i, &j| keys[j].total_cmp(&keys[i]));
    for (j, p) in [1usize, 25, 75].into_iter().enumerate() {
        let k = keys.len() * p / 100;
        let got = mrixai_gtfree::road_impute(x.index_axis(ndarray::Axis(0), 0), &order[..k]);
        let want = want.index_axis(ndarray::Axis(0), j);
        let what = format!("imputed at {p} %");
        assert_close(
            &what,
            got.iter().copied(),
            want.iter().copied(),
            Tolerance::of_largest(1e-6, 0.0),
        );
    }
}

/// Max-sensitivity against Quantus on the noisy inputs it drew, both explaining with the
/// gradient (Captum's `Saliency(abs=False)`, mrixai's `gradient`).
#[test]
fn max_sensitivity_equal_to_quantus() {
    for c in [case("vgg_small"), case("vgg_bn")] {
        let dir = workspace_dir().join("fixtures/gtfree").join(c.name);
        let noisy = npy::read::<f32>(&dir.join("ms_inputs.npy")).unwrap();
        let noisy: Vec<ArrayF> = noisy.outer_iter().map(|v| v.to_owned()).collect();
        let captum = workspace_dir().join("fixtures/captum").join(c.name);
        let maps = npy::read::<f32>(&captum.join("gradient.npy")).unwrap();
        let gradient = mrixai_attrib::method_by_name("gradient", &Default::default()).unwrap();
        let explain = |x: ndarray::ArrayViewD<f32>, t: &[usize]| gradient.attribute(&c.model, x, t);
        let x = c.x.slice_axis(ndarray::Axis(0), ndarray::Slice::from(0..3));
        let maps = maps.slice_axis(ndarray::Axis(0), ndarray::Slice::from(0..3));
        let got = max_sensitivity_on(x, maps, &c.targets[..3], &explain, &noisy).unwrap();
        check(&c, "max_sensitivity", got, Tolerance::relative(1e-5));
    }
}
