//! Every golden case of `fixtures/metrics` (POT and scikit-learn reference values).

use mrixai_core::npy;
use mrixai_metrics::{ALL_METRICS, MetricSet, metric_by_name};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    mrixai_testkit::workspace_dir().join("fixtures/metrics")
}

const CASES: [&str; 4] = ["grid8", "grid16x24", "grid64", "vol8"];

#[test]
fn all_golden_cases_match() {
    let set = MetricSet::parse(&ALL_METRICS).unwrap();
    let mut checked = 0;
    for case in CASES {
        let dir = fixtures().join(case);
        let attr = npy::read::<f32>(&dir.join("attr.npy")).unwrap();
        let mask = npy::read::<u8>(&dir.join("mask.npy")).unwrap();
        let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
        let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
        let got = set
            .score_batch(attr.view(), mask.view(), &mrixai_core::progress::Silent)
            .unwrap();
        let n = attr.shape()[0];
        assert_eq!(got.nrows(), n);
        for (j, name) in ALL_METRICS.iter().enumerate() {
            let want = expected["metrics"][name].as_array().unwrap();
            assert_eq!(want.len(), n, "{case}/{name}");
            let tol = if name.starts_with("emd") { 1e-5 } else { 1e-6 };
            for (i, w) in want.iter().enumerate() {
                let g = got[[i, j]];
                match w.as_f64() {
                    None => assert!(g.is_nan(), "{case}/{name}[{i}]: want NaN, got {g}"),
                    Some(w) => assert!(
                        (g - w).abs() <= tol,
                        "{case}/{name}[{i}]: got {g}, want {w}"
                    ),
                }
                checked += 1;
            }
        }
        // the per-metric trait path agrees with the shared fast path
        for (j, name) in ALL_METRICS.iter().enumerate() {
            let m = metric_by_name(name).unwrap();
            let one = m.score_batch(attr.view(), mask.view()).unwrap();
            for (i, v) in one.iter().enumerate() {
                let g = got[[i, j]];
                assert!((v.is_nan() && g.is_nan()) || v == &g, "{case}/{name}[{i}]");
            }
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn dmax_matches_fixture() {
    for case in CASES {
        let text = std::fs::read_to_string(fixtures().join(case).join("expected.json")).unwrap();
        let e: serde_json::Value = serde_json::from_str(&text).unwrap();
        let shape: Vec<usize> = e["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let d = mrixai_metrics::grid_diameter(&shape);
        assert!((d - e["dmax"].as_f64().unwrap()).abs() < 1e-12, "{case}");
    }
}
