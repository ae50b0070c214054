//! Metric benchmark (plain harness): exact EMD per sample and the full metric set.
//!
//! ```text
//! cargo bench -p mrixai-metrics --bench metrics                  # golden cases
//! cargo bench -p mrixai-metrics --bench metrics -- --data DIR    # DIR/attr.npy, DIR/mask.npy
//! cargo bench -p mrixai-metrics --bench metrics -- --volume 32    # one dense 32³ volume
//! ```
//! With `--data`, the EMD of the first `--emd-samples` samples (default 20) is timed one by
//! one (single thread) and written to `DIR/emd_rust.json` next to the POT peer's values
//! (`pot_peer.py`), and the full default metric set is timed on all samples with the
//! rayon pool (`RAYON_NUM_THREADS` sets its size).

/// The same allocator as the `mrixai` binary (see docs/DEPENDENCIES.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use mrixai_core::npy;
use mrixai_metrics::{ALL_METRICS, MetricSet, emd_mask};
use ndarray::Axis;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time_emd(
    attr: &ndarray::ArrayD<f32>,
    mask: &ndarray::ArrayD<u8>,
    n: usize,
    runs: usize,
) -> Vec<(f64, f64)> {
    let shape = &attr.shape()[1..];
    (0..n.min(attr.shape()[0]))
        .map(|i| {
            let a: Vec<f64> = attr
                .index_axis(Axis(0), i)
                .iter()
                .map(|&v| (v as f64).abs())
                .collect();
            let g: Vec<bool> = mask
                .index_axis(Axis(0), i)
                .iter()
                .map(|&m| m != 0)
                .collect();
            let mut times = Vec::new();
            let mut value = 0.0;
            for _ in 0..runs {
                let t = Instant::now();
                value = emd_mask(&a, &g, shape);
                times.push(t.elapsed().as_secs_f64());
            }
            (value, median(times))
        })
        .collect()
}

fn golden() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/metrics");
    let timings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("timings.json")).unwrap()).unwrap();
    println!("case sample K emd_rust_s pot_emd_total_s(recorded) ratio");
    for case in ["grid8", "grid16x24", "grid64", "vol8"] {
        let attr = npy::read::<f32>(&root.join(case).join("attr.npy")).unwrap();
        let mask = npy::read::<u8>(&root.join(case).join("mask.npy")).unwrap();
        let rec = timings["cases"][case]["samples"].as_array().unwrap();
        for (i, (_, t)) in time_emd(&attr, &mask, rec.len(), 5).into_iter().enumerate() {
            let pot = rec[i]["emd_total_median_s"].as_f64().unwrap();
            println!("{case} {i} {} {t:.6} {pot:.6} {:.1}", rec[i]["K"], pot / t);
        }
    }
}

fn data(dir: &Path, emd_samples: usize) {
    let attr = npy::read::<f32>(&dir.join("attr.npy")).unwrap();
    let mask = npy::read::<u8>(&dir.join("mask.npy")).unwrap();
    let n = attr.shape()[0];
    let res = time_emd(&attr, &mask, emd_samples, 3);
    let values: Vec<f64> = res.iter().map(|r| r.0).collect();
    let times: Vec<f64> = res.iter().map(|r| r.1).collect();
    let total: f64 = times.iter().sum();
    println!(
        "exact EMD, {} samples of {:?}: median {:.6} s, mean {:.6} s per sample",
        times.len(),
        &attr.shape()[1..],
        median(times.clone()),
        total / times.len() as f64
    );
    // the same, split by how many voxels the map has non-zero (dense maps cost most)
    let (mut dense, mut sparse) = (Vec::new(), Vec::new());
    for (i, &t) in times.iter().enumerate() {
        let map = attr.index_axis(Axis(0), i);
        let all_nonzero = map.iter().all(|&v| v != 0.0);
        if all_nonzero { &mut dense } else { &mut sparse }.push(t);
    }
    for (what, v) in [("all voxels non-zero", dense), ("some voxels zero", sparse)] {
        if !v.is_empty() {
            println!(
                "  {what}: {} samples, mean {:.6} s",
                v.len(),
                v.iter().sum::<f64>() / v.len() as f64
            );
        }
    }
    let set = MetricSet::parse(&ALL_METRICS).unwrap();
    let _warm = set
        .score_batch(
            attr.slice_axis(Axis(0), (0..2.min(n)).into()),
            mask.slice_axis(Axis(0), (0..2.min(n)).into()),
            &mrixai_core::progress::Silent,
        )
        .unwrap();
    let t = Instant::now();
    let scores = set
        .score_batch(attr.view(), mask.view(), &mrixai_core::progress::Silent)
        .unwrap();
    let all_s = t.elapsed().as_secs_f64();
    println!(
        "all {} metrics on {n} samples with {} thread(s): {all_s:.3} s ({:.6} s per sample)",
        ALL_METRICS.len(),
        rayon::current_num_threads(),
        all_s / n as f64
    );
    let out = serde_json::json!({
        "emd": values,
        "emd_seconds": res.iter().map(|r| r.1).collect::<Vec<_>>(),
        "all_metrics_seconds_total": all_s,
        "all_metrics_samples": n,
        "threads": rayon::current_num_threads(),
        "scores_nan": scores.iter().filter(|v| v.is_nan()).count(),
    });
    std::fs::write(
        dir.join("emd_rust.json"),
        serde_json::to_string_pretty(&out).unwrap(),
    )
    .unwrap();
    // side by side with the POT peer (pot_peer.py) when its results are there
    if let Ok(text) = std::fs::read_to_string(dir.join("emd_pot.json")) {
        let pot: serde_json::Value = serde_json::from_str(&text).unwrap();
        let col = |k: &str| -> Vec<f64> {
            pot[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap_or(f64::NAN))
                .collect()
        };
        let (pv, pt, pa) = (col("emd"), col("emd_seconds"), col("all_metrics_seconds"));
        let m = pv.len().min(values.len());
        let diff = (0..m)
            .map(|i| (pv[i] - values[i]).abs())
            .fold(0.0, f64::max);
        let (pot_s, rust_s): (f64, f64) = (pt[..m].iter().sum(), times[..m].iter().sum());
        println!(
            "POT ot.emd2 (incl. cost matrix) on the same {m} samples: mean {:.4} s per sample; max |EMD diff| = {diff:.2e}",
            pot_s / m as f64
        );
        println!(
            "EMD speed-up, total time over the same {m} samples: {:.1}x",
            pot_s / rust_s
        );
        let per_sample_py = pa.iter().sum::<f64>() / pa.len() as f64;
        let per_sample_rs = all_s / n as f64;
        println!(
            "all metrics per sample: Python {per_sample_py:.4} s (1 thread), Rust {per_sample_rs:.6} s ({} threads): {:.1}x",
            rayon::current_num_threads(),
            per_sample_py / per_sample_rs
        );
    }
}

/// Exact EMD on one synthetic dense n×n×n volume: a ball mask of radius `r` at the centre,
/// attribution = Gaussian bump on the ball + uniform noise (seeded), every voxel non-zero.
fn volume(n: usize, r: f64) {
    let mut x = 0x0123_4567_89AB_CDEFu64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let c = (n as f64 - 1.0) / 2.0;
    let (mut a, mut g) = (Vec::with_capacity(n * n * n), Vec::with_capacity(n * n * n));
    for z in 0..n {
        for y in 0..n {
            for w in 0..n {
                let d = [z, y, w]
                    .iter()
                    .map(|&v| (v as f64 - c).powi(2))
                    .sum::<f64>()
                    .sqrt();
                g.push(d <= r);
                a.push((-(d / r).powi(2)).exp() + 0.3 * next());
            }
        }
    }
    let k = g.iter().filter(|&&v| v).count();
    let t = Instant::now();
    let v = emd_mask(&a, &g, &[n, n, n]);
    println!(
        "exact EMD, dense {n}×{n}×{n} volume, ball mask K = {k}: {v:.6} in {:.3} s (1 thread)",
        t.elapsed().as_secs_f64()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(n) = get("--volume").and_then(|s| s.parse().ok()) {
        let r = get("--radius")
            .and_then(|s| s.parse().ok())
            .unwrap_or(n as f64 / 7.0);
        return volume(n, r);
    }
    match get("--data") {
        Some(d) => data(
            Path::new(&d),
            get("--emd-samples")
                .and_then(|s| s.parse().ok())
                .unwrap_or(20),
        ),
        None => golden(),
    }
}
