//! The VGG port against PyTorch: logits and input gradients of the Captum golden cases.

use mrixai_core::{Explainable, npy};
use mrixai_testkit::{Tolerance, assert_close, rel_max_diff, workspace_dir};
use mrixai_zoo::Vgg;
use std::path::PathBuf;

fn case(name: &str) -> PathBuf {
    workspace_dir().join("fixtures/captum").join(name)
}

#[test]
fn golden_logits_and_gradients() {
    for name in ["vgg_small", "vgg_bn"] {
        let dir = case(name);
        let model = Vgg::load(&dir).unwrap();
        let x = npy::read::<f32>(&dir.join("inputs.npy")).unwrap();
        let want = npy::read::<f32>(&dir.join("logits.npy")).unwrap();
        let got = model.forward(x.view()).unwrap();
        let tol = Tolerance::of_largest(1e-4, 1.0);
        let logits = format!("{name}: logits");
        assert_close(&logits, got.iter().copied(), want.iter().copied(), tol);
        // the default (layer-by-layer) forward agrees with the fused one
        let mut a = x.clone();
        for i in 0..model.layers() {
            a = model.layer_forward(i, a.view()).unwrap();
        }
        let tol = Tolerance::of_largest(1e-5, 1.0);
        let chain = format!("{name}: layer chain");
        assert_close(&chain, a.iter().copied(), got.iter().copied(), tol);

        let targets: Vec<usize> = npy::read::<i64>(&dir.join("targets.npy"))
            .unwrap()
            .iter()
            .map(|&t| t as usize)
            .collect();
        let grad_want = npy::read::<f32>(&dir.join("gradient.npy")).unwrap();
        let fused = model.input_gradient(x.view(), &targets).unwrap();
        let rel = rel_max_diff(&fused, &grad_want);
        assert!(rel < 2e-5, "{name}: gradient differs by {rel} of max|ref|");
        // the trait's default input_gradient, a chain of layer_vjp, equals the fused one
        let acts = model.activations(x.view()).unwrap();
        let mut g =
            mrixai_core::explain::one_hot_like(acts[model.layers()].view(), &targets).unwrap();
        for i in (0..model.layers()).rev() {
            g = model.layer_vjp(i, acts[i].view(), g.view()).unwrap();
        }
        let rel = rel_max_diff(&g, &fused);
        assert!(
            rel < 1e-5,
            "{name}: chained vjp differs from fused gradient by {rel}"
        );
    }
}
