//! Dense Cholesky factorisation and triangular solves for the small symmetric
//! positive-definite systems of the attribution surrogates and the mixed models
//! (row-major `n × n` slices).

#![allow(clippy::needless_range_loop)] // index loops mirror the textbook algorithm

/// Factors `a = L Lᵀ` in place: the lower triangle becomes `L`, the upper is zeroed. Returns
/// `false` (leaving `a` partly overwritten) when `a` is not positive definite.
pub fn factor(a: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d.is_nan() || d <= 0.0 || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
        for k in j + 1..n {
            a[j * n + k] = 0.0;
        }
    }
    true
}

/// Solves `L z = b` in place for lower-triangular `L` (`n × n`); `b` has `m` columns
/// (`n × m`, row-major).
pub fn solve_lower(l: &[f64], n: usize, b: &mut [f64], m: usize) {
    for i in 0..n {
        for c in 0..m {
            let mut s = b[i * m + c];
            for k in 0..i {
                s -= l[i * n + k] * b[k * m + c];
            }
            b[i * m + c] = s / l[i * n + i];
        }
    }
}

/// Solves `Lᵀ z = b` in place for lower-triangular `L` (`n × n`), one column.
pub fn solve_upper_t(l: &[f64], n: usize, b: &mut [f64]) {
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= l[k * n + i] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
}

/// `(L Lᵀ)⁻¹` from the lower factor `L` (`n × n`).
pub fn inverse(l: &[f64], n: usize) -> Vec<f64> {
    let mut inv = vec![0.0; n * n];
    for j in 0..n {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        solve_lower(l, n, &mut e, 1);
        solve_upper_t(l, n, &mut e);
        for i in 0..n {
            inv[i * n + j] = e[i];
        }
    }
    inv
}

#[cfg(test)]
mod tests {
    #[test]
    fn factor_solve_and_invert() {
        let a = [4.0, 2.0, 0.6, 2.0, 5.0, 1.0, 0.6, 1.0, 3.0];
        let mut l = a;
        assert!(super::factor(&mut l, 3));
        let mut x = [1.0, 2.0, 3.0];
        super::solve_lower(&l, 3, &mut x, 1);
        super::solve_upper_t(&l, 3, &mut x);
        for i in 0..3 {
            let ax: f64 = (0..3).map(|j| a[i * 3 + j] * x[j]).sum();
            assert!((ax - [1.0, 2.0, 3.0][i]).abs() < 1e-12);
        }
        let inv = super::inverse(&l, 3);
        for i in 0..3 {
            for j in 0..3 {
                let p: f64 = (0..3).map(|k| a[i * 3 + k] * inv[k * 3 + j]).sum();
                assert!((p - f64::from(u8::from(i == j))).abs() < 1e-12);
            }
        }
        let mut bad = [1.0, 2.0, 2.0, 1.0];
        assert!(!super::factor(&mut bad, 2));
    }
}
