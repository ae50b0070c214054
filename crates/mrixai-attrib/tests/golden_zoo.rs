//! The Captum fixtures on the burn implementation of the VGGs (`mrixai_zoo::Vgg`), 2-D and 3-D:
//! every deterministic method must match within `|a - ref| ≤ 1e-4·|ref| + 1e-5·max|ref|`.

use mrixai_attrib::method_by_name;
use mrixai_core::{ArrayF, Explainable};
use mrixai_testkit::{assert_maps_close as assert_close, workspace_dir};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// (method, fixture file, parameters)
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);

fn dir(case: &str) -> PathBuf {
    workspace_dir().join("fixtures/captum").join(case)
}

fn read(case: &str, file: &str) -> ArrayF {
    mrixai_core::npy::read::<f32>(&dir(case).join(file)).unwrap()
}

fn golden(case: &str) {
    let model = mrixai_zoo::Vgg::load(&dir(case)).unwrap();
    let x = read(case, "inputs.npy");
    let t: Vec<usize> = mrixai_core::npy::read::<i64>(&dir(case).join("targets.npy"))
        .unwrap()
        .iter()
        .map(|&v| v as usize)
        .collect();
    assert_close(
        &format!("{case}/logits"),
        &model.forward(x.view()).unwrap(),
        &read(case, "logits.npy"),
    );
    // the fixtures' occlusion windows: 8² stride 4 on images, 4³ stride 2 on volumes
    let c = x.shape()[1].to_string();
    let (win, stride) = match x.ndim() {
        5 => (format!("{c},4,4,4"), format!("{c},2,2,2")),
        _ => (format!("{c},8,8"), format!("{c},4,4")),
    };
    let cases: Vec<Case> = vec![
        ("gradient", "gradient.npy", vec![]),
        ("input_x_gradient", "input_x_gradient.npy", vec![]),
        ("integrated_gradients", "integrated_gradients.npy", vec![]),
        (
            "integrated_gradients",
            "integrated_gradients_riemann_trapezoid.npy",
            vec![("method", "riemann_trapezoid")],
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
            vec![("sliding_window_shapes", &win), ("strides", &stride)],
        ),
    ];
    for (m, file, p) in cases {
        let params: BTreeMap<String, String> = p
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let a = method_by_name(m, &params)
            .unwrap()
            .attribute(&model, x.view(), &t)
            .unwrap();
        assert_close(&format!("{case}/{file}"), &a, &read(case, file));
    }
}

#[test]
fn zoo_vgg_small_matches_captum() {
    golden("vgg_small");
}

#[test]
fn zoo_vgg_bn_matches_captum() {
    golden("vgg_bn");
}

/// The volumetric twins (Conv3d, MaxPool3d, AdaptiveAvgPool3d; with BatchNorm3d): every
/// method, Grad-CAM's 3-D upsampling and 4×4×4 occlusion windows included.
#[test]
fn zoo_vgg3d_matches_captum() {
    golden("vgg3d");
}

#[test]
fn zoo_vgg3d_bn_matches_captum() {
    golden("vgg3d_bn");
}

/// The cascading randomisation check runs on a real model (the zoo's `Vgg` implements
/// `mrixai_core::Randomizable`): one row per sample and depth, and the map of the fully
/// randomised model differs from the trained one.
#[test]
fn sanity_check_runs_on_a_zoo_model() {
    use mrixai_core::Randomizable;
    let model = mrixai_zoo::Vgg::load(&dir("vgg_small")).unwrap();
    let x = read("vgg_small", "inputs.npy");
    let x = x.slice_axis(ndarray::Axis(0), (0..2).into()).to_owned();
    let gradient = mrixai_attrib::Gradient { abs: false };
    let rows = mrixai_attrib::cascading_randomization(
        &model,
        &[&gradient as &dyn mrixai_core::Attributor],
        x.view(),
        &[0, 1],
        5,
    )
    .unwrap();
    assert_eq!(rows.len(), 2 * model.weight_layers());
    assert!(
        rows.iter()
            .all(|r| r.spearman.is_finite() && r.spearman < 1.0)
    );
}
