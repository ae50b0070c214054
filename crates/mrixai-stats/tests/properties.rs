//! Property tests of the numerics.

use mrixai_stats::{linalg::Matrix, multitest, ols};
use proptest::prelude::*;

fn design(rows: &[(f64, f64)]) -> Matrix {
    let cols = vec![
        vec![1.0; rows.len()],
        rows.iter().map(|r| r.0).collect(),
        rows.iter().map(|r| r.1).collect(),
    ];
    Matrix::from_columns(&cols).unwrap()
}

fn names() -> Vec<String> {
    ["Intercept", "a", "b"].map(String::from).to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn ols_recovers_noiseless_coefficients(
        rows in prop::collection::vec((-10.0f64..10.0, -10.0f64..10.0), 8..30),
        beta in prop::array::uniform3(-5.0f64..5.0),
    ) {
        let x = design(&rows);
        let y: Vec<f64> = rows.iter().map(|r| beta[0] + beta[1] * r.0 + beta[2] * r.1).collect();
        // skip (nearly) collinear draws: the fit must then report rank deficiency, not junk
        match ols::fit(&x, &y, &names(), true) {
            Ok(f) => {
                for (got, want) in f.params.iter().zip(beta) {
                    prop_assert!((got - want).abs() < 1e-7 * (1.0 + want.abs()), "{got} vs {want}");
                }
            }
            Err(e) => prop_assert!(e.to_string().contains("rank-deficient")),
        }
    }

    #[test]
    fn residuals_are_orthogonal_to_regressors(
        rows in prop::collection::vec((-10.0f64..10.0, -10.0f64..10.0, -10.0f64..10.0), 8..30),
    ) {
        let xy: Vec<(f64, f64)> = rows.iter().map(|r| (r.0, r.1)).collect();
        let x = design(&xy);
        let y: Vec<f64> = rows.iter().map(|r| r.2).collect();
        if let Ok(f) = ols::fit(&x, &y, &names(), true) {
            for j in 0..x.cols {
                let col = x.column(j);
                let dot: f64 = col.iter().zip(&f.residuals).map(|(a, b)| a * b).sum();
                let scale: f64 = col.iter().map(|v| v.abs()).sum::<f64>() * y.iter().map(|v| v.abs()).fold(1.0, f64::max);
                prop_assert!(dot.abs() < 1e-10 * scale, "column {j}: {dot}");
            }
        }
    }

    #[test]
    fn holm_is_conservative_and_monotone(p in prop::collection::vec(0.0f64..=1.0, 1..40)) {
        let a = multitest::holm(&p, 0.05).unwrap();
        for (raw, adj) in p.iter().zip(&a.p_adjusted) {
            prop_assert!(adj >= raw && *adj <= 1.0);
        }
        let mut idx: Vec<usize> = (0..p.len()).collect();
        idx.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
        for w in idx.windows(2) {
            prop_assert!(a.p_adjusted[w[0]] <= a.p_adjusted[w[1]]);
        }
        let bh = multitest::benjamini_hochberg(&p, 0.05).unwrap();
        for ((raw, b), h) in p.iter().zip(&bh.p_adjusted).zip(&a.p_adjusted) {
            // BH ≤ Holm holds exactly in theory; p·m/i and p/(i/m) may differ by an ulp
            prop_assert!(b >= raw && *b <= h * (1.0 + 1e-12));
        }
    }
}
