//! Property tests of the metrics on tiny random grids.

use mrixai_metrics::{ALL_METRICS, MetricKind, emd_between, score_all};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

/// A random sample on an h×w grid: signed attributions (with zeros) and a non-empty mask.
fn sample() -> impl Strategy<Value = (Vec<usize>, Vec<f32>, Vec<u8>)> {
    (2usize..6, 2usize..6).prop_flat_map(|(h, w)| {
        let n = h * w;
        (
            Just(vec![h, w]),
            prop::collection::vec(prop_oneof![1 => Just(0.0f32), 4 => -10.0f32..10.0], n),
            prop::collection::vec(0u8..2, n),
            0..n,
        )
            .prop_map(|(s, a, mut m, k)| {
                m[k] = 1;
                (s, a, m)
            })
    })
}

/// Distinct non-zero magnitudes (a shuffled 1..=n with random signs) and a non-empty mask.
fn distinct_sample() -> impl Strategy<Value = (Vec<usize>, Vec<f32>, Vec<u8>)> {
    (2usize..6, 2usize..6).prop_flat_map(|(h, w)| {
        let n = h * w;
        (
            Just(vec![h, w]),
            Just((1..=n).map(|v| v as f32).collect::<Vec<_>>()).prop_shuffle(),
            prop::collection::vec(any::<bool>(), n),
            prop::collection::vec(0u8..2, n),
            0..n,
        )
            .prop_map(|(s, a, neg, mut m, k)| {
                m[k] = 1;
                let a = a
                    .iter()
                    .zip(&neg)
                    .map(|(&v, &g)| if g { -v } else { v })
                    .collect();
                (s, a, m)
            })
    })
}

fn scores(shape: &[usize], a: &[f32], m: &[u8], names: &[&str]) -> Vec<f64> {
    let a = ArrayD::from_shape_vec(IxDyn(shape), a.to_vec()).unwrap();
    let m = ArrayD::from_shape_vec(IxDyn(shape), m.to_vec()).unwrap();
    score_all(a.view(), m.view(), names).unwrap()
}

const EXTRA: [&str; 4] = [
    "top_k_intersection@3",
    "threshold_precision@0.3",
    "threshold_recall",
    "threshold_f1@0.7",
];

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn bounded_metrics_lie_in_unit_interval((shape, a, m) in sample()) {
        let names: Vec<&str> = ALL_METRICS.iter().chain(EXTRA.iter()).copied().collect();
        let v = scores(&shape, &a, &m, &names);
        for (n, x) in names.iter().zip(&v) {
            let kind = MetricKind::parse(n).unwrap();
            if x.is_nan() {
                continue;
            }
            if kind.is_bounded() {
                prop_assert!((0.0..=1.0).contains(x), "{n} = {x}");
            } else {
                prop_assert!(*x >= 0.0 && *x <= mrixai_metrics::grid_diameter(&shape) + 1e-9, "{n} = {x}");
            }
        }
        if a.iter().all(|&x| x == 0.0) {
            prop_assert!(v.iter().all(|x| x.is_nan()));
        }
    }

    #[test]
    fn oracle_map_is_perfect((shape, _a, m) in sample()) {
        let oracle: Vec<f32> = m.iter().map(|&g| f32::from(g)).collect();
        let names = ["precision", "rank_accuracy", "mass_accuracy", "emd", "emd_score", "pointing_game", "average_precision"];
        let v = scores(&shape, &oracle, &m, &names);
        prop_assert!(close(v[0], 1.0, 1e-12) && close(v[1], 1.0, 1e-12) && close(v[2], 1.0, 1e-12));
        prop_assert!(v[3].abs() < 1e-9, "emd {}", v[3]);
        prop_assert!(close(v[4], 1.0, 1e-9) && close(v[5], 1.0, 0.0) && close(v[6], 1.0, 1e-12));
        if m.contains(&0) {
            let auroc = scores(&shape, &oracle, &m, &["auroc"])[0];
            prop_assert!(close(auroc, 1.0, 1e-12), "auroc {auroc}");
        }
    }

    #[test]
    fn invariant_to_positive_scaling((shape, a, m) in sample(), e in -3i32..10) {
        let c = 2f32.powi(e);
        let scaled: Vec<f32> = a.iter().map(|&x| x * c).collect();
        let v = scores(&shape, &a, &m, &ALL_METRICS);
        let w = scores(&shape, &scaled, &m, &ALL_METRICS);
        for ((n, x), y) in ALL_METRICS.iter().zip(&v).zip(&w) {
            prop_assert!(close(*x, *y, 1e-9), "{n}: {x} vs {y}");
        }
    }

    #[test]
    fn permuting_outside_keeps_mass_and_precision((shape, a, m) in distinct_sample(), seed in any::<u64>()) {
        let outside: Vec<usize> = (0..a.len()).filter(|&i| m[i] == 0).collect();
        let mut vals: Vec<f32> = outside.iter().map(|&i| a[i]).collect();
        // deterministic shuffle from the seed
        let mut s = seed | 1;
        for i in (1..vals.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            vals.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let mut b = a.clone();
        for (&i, &v) in outside.iter().zip(&vals) {
            b[i] = v;
        }
        let names = ["mass_accuracy", "precision", "rank_accuracy"];
        let v = scores(&shape, &a, &m, &names);
        let w = scores(&shape, &b, &m, &names);
        for k in 0..3 {
            prop_assert!(close(v[k], w[k], 1e-12), "{}: {} vs {}", names[k], v[k], w[k]);
        }
    }

    #[test]
    fn moving_mass_into_the_mask_never_lowers_mass_accuracy((shape, a, m) in sample(), from in any::<prop::sample::Index>(), to in any::<prop::sample::Index>(), t in 0.0f32..=1.0) {
        let a: Vec<f32> = a.iter().map(|x| x.abs()).collect();
        let outside: Vec<usize> = (0..a.len()).filter(|&i| m[i] == 0).collect();
        let inside: Vec<usize> = (0..a.len()).filter(|&i| m[i] == 1).collect();
        prop_assume!(!outside.is_empty());
        let (i, j) = (outside[from.index(outside.len())], inside[to.index(inside.len())]);
        let mut b = a.clone();
        let moved = b[i] * t;
        b[i] -= moved;
        b[j] += moved;
        let before = scores(&shape, &a, &m, &["mass_accuracy"])[0];
        let after = scores(&shape, &b, &m, &["mass_accuracy"])[0];
        if !before.is_nan() {
            prop_assert!(after >= before - 1e-6, "{before} → {after}");
        }
    }

    #[test]
    fn emd_is_a_metric(
        (h, w) in (1usize..5, 2usize..5),
        seed in prop::collection::vec(0.0f64..1.0, 48),
        zeros in prop::collection::vec(any::<bool>(), 48),
    ) {
        let n = h * w;
        let shape = [h, w];
        let make = |k: usize| -> Vec<f64> {
            let mut v: Vec<f64> = (0..n).map(|i| if zeros[(k * n + i) % 48] { 0.0 } else { seed[(k * n + i) % 48] }).collect();
            v[k % n] += 0.5;
            v
        };
        let (p, q, r) = (make(0), make(1), make(2));
        let pq = emd_between(&p, &q, &shape).unwrap();
        let qp = emd_between(&q, &p, &shape).unwrap();
        let qr = emd_between(&q, &r, &shape).unwrap();
        let pr = emd_between(&p, &r, &shape).unwrap();
        prop_assert!((pq - qp).abs() < 1e-9, "{pq} vs {qp}");
        prop_assert!(pr <= pq + qr + 1e-9, "{pr} > {pq} + {qr}");
        prop_assert!(emd_between(&p, &p, &shape).unwrap().abs() < 1e-12);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// On a line the EMD has a closed form: Σ |CDF_p − CDF_q|.
    #[test]
    fn emd_on_a_line_matches_the_cdf_formula(
        p in prop::collection::vec(prop_oneof![1 => Just(0.0f64), 3 => 0.0f64..1.0], 2..40),
        q_seed in prop::collection::vec(prop_oneof![1 => Just(0.0f64), 3 => 0.0f64..1.0], 40),
        as_row in any::<bool>(),
    ) {
        let n = p.len();
        let mut p = p;
        let mut q: Vec<f64> = q_seed[..n].to_vec();
        p[0] += 0.1;
        q[n - 1] += 0.1;
        let shape: Vec<usize> = if as_row { vec![1, n] } else { vec![n] };
        let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
        let mut cdf = 0.0;
        let mut want = 0.0;
        for i in 0..n {
            cdf += p[i] / sp - q[i] / sq;
            want += cdf.abs();
        }
        want -= cdf.abs(); // the last CDF difference is 0 up to rounding
        let got = emd_between(&p, &q, &shape).unwrap();
        prop_assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }
}
