//! The metrics on a volumetric model (the Captum fixture `vgg3d`: four 1 × 12 × 16 × 16
//! volumes and their gradient maps): cubic patches, ROAD's 26-neighbour imputation, the
//! shapes of every curve, values in range, and the same numbers twice.

use mrixai_core::npy;
use mrixai_gtfree::{
    FaithfulnessCorrelation, PixelFlipping, RegionPerturbation, Road, complexity,
    faithfulness_correlation, pixel_flipping, region_perturbation, road, sparseness,
};
use mrixai_testkit::workspace_dir;

#[test]
fn every_metric_runs_on_volumes() {
    let case = workspace_dir().join("fixtures/captum/vgg3d");
    let model = mrixai_zoo::Vgg::load(&case).unwrap();
    let x = npy::read::<f32>(&case.join("inputs.npy")).unwrap();
    let a = npy::read::<f32>(&case.join("gradient.npy")).unwrap();
    let t: Vec<usize> = (npy::read::<i64>(&case.join("targets.npy")).unwrap().iter())
        .map(|&v| v as usize)
        .collect();
    let (x, a) = (x.view(), a.view());
    // 12 × 16 × 16 in cubes of 4: 3 × 4 × 4 patches
    let rp = RegionPerturbation {
        patch: 4,
        ..Default::default()
    };
    let curves = region_perturbation(&model, x.view(), a.view(), &t, &rp).unwrap();
    assert_eq!(curves.values.shape(), [4, 48]);
    assert!(curves.values.iter().all(|v| v.abs() <= 1.0));
    let pf = PixelFlipping {
        features_in_step: 256,
        ..Default::default()
    };
    let flipped = pixel_flipping(&model, x.view(), a.view(), &t, &pf).unwrap();
    assert_eq!(flipped.values.shape(), [4, 12]);
    assert!(flipped.values.iter().all(|v| (0.0..=1.0).contains(v)));
    let cfg = Road {
        percentages: vec![10.0, 50.0, 90.0],
        ..Default::default()
    };
    let r = road(&model, x.view(), a.view(), &t, &cfg).unwrap();
    assert_eq!(r.values.shape(), [4, 3]);
    assert!(r.values.iter().all(|v| *v == 0.0 || *v == 1.0));
    assert_eq!(r, road(&model, x.view(), a.view(), &t, &cfg).unwrap());
    let fc = FaithfulnessCorrelation {
        runs: 10,
        subset: 100,
        ..Default::default()
    };
    let c = faithfulness_correlation(&model, x.view(), a.view(), &t, &fc).unwrap();
    assert!(c.iter().all(|r| (-1.0..=1.0).contains(r)), "{c:?}");
    assert!(sparseness(a.view()).iter().all(|g| (0.0..1.0).contains(g)));
    assert!(
        complexity(a.view())
            .iter()
            .all(|h| h.is_finite() && *h > 0.0)
    );
}
