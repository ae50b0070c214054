//! Time of each metric without ground truth on the Captum fixture `vgg_small` (1 × 64², its
//! six inputs and gradient maps tiled to 48 samples), the peer of `quantus_peer.py`, which
//! runs Quantus 0.6 on the same model, inputs, maps and settings:
//! `cargo bench -p mrixai-gtfree --bench gtfree` (one JSON line: best of 3, seconds).

/// The same allocator as the `mrixai` binary (see docs/DEPENDENCIES.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use mrixai_core::{ArrayF, npy};
use mrixai_gtfree::{
    FaithfulnessCorrelation, PixelFlipping, RegionPerturbation, Road, complexity,
    faithfulness_correlation, pixel_flipping, region_perturbation, road, sparseness,
};
use ndarray::{Axis, concatenate};
use std::path::Path;
use std::time::Instant;

/// Samples: the fixture's six, tiled.
const TILES: usize = 8;

fn tiled(a: &ArrayF) -> ArrayF {
    let views: Vec<_> = (0..TILES).map(|_| a.view()).collect();
    concatenate(Axis(0), &views).expect("tile")
}

fn best(mut f: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let case = root.join("captum/vgg_small");
    let model = mrixai_zoo::Vgg::load(&case).expect("model");
    let x = tiled(&npy::read::<f32>(&case.join("inputs.npy")).expect("inputs"));
    let a = tiled(&npy::read::<f32>(&root.join("gtfree/vgg_small/maps.npy")).expect("maps"));
    let t: Vec<usize> = (npy::read::<i64>(&case.join("targets.npy"))
        .expect("targets")
        .iter())
    .map(|&v| v as usize)
    .cycle()
    .take(x.shape()[0])
    .collect();
    let (x, a) = (x.view(), a.view());
    let rp = RegionPerturbation::default();
    let pf = PixelFlipping {
        features_in_step: 256,
        ..Default::default()
    };
    let fc = FaithfulnessCorrelation::default();
    let times = [
        (
            "region_perturbation",
            best(|| drop(region_perturbation(&model, x.view(), a.view(), &t, &rp).unwrap())),
        ),
        (
            "pixel_flipping",
            best(|| drop(pixel_flipping(&model, x.view(), a.view(), &t, &pf).unwrap())),
        ),
        (
            "faithfulness_correlation",
            best(|| drop(faithfulness_correlation(&model, x.view(), a.view(), &t, &fc).unwrap())),
        ),
        (
            "road",
            best(|| drop(road(&model, x.view(), a.view(), &t, &Road::default()).unwrap())),
        ),
        ("sparseness", best(|| drop(sparseness(a.view())))),
        ("complexity", best(|| drop(complexity(a.view())))),
    ];
    let fields: Vec<String> = times
        .iter()
        .map(|(k, v)| format!("\"{k}\":{v:.6}"))
        .collect();
    println!("{{\"samples\":{},{}}}", x.shape()[0], fields.join(","));
}
