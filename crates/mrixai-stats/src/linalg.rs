//! Dense least squares by Householder QR (column-major), enough for OLS designs with a
//! handful of columns. Rank deficiency is reported, never papered over with a pseudo-inverse.

#![allow(clippy::needless_range_loop)] // index loops mirror the textbook algorithm

use mrixai_core::{Error, Result};

/// A dense row-major matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Row-major values, `rows * cols` long.
    pub data: Vec<f64>,
}

impl Matrix {
    /// A matrix from row-major values; fails if the length does not match.
    pub fn from_rows(rows: usize, cols: usize, data: Vec<f64>) -> Result<Self> {
        if data.len() != rows * cols {
            return Err(Error::invalid(format!(
                "matrix {rows}×{cols} needs {} values, got {}",
                rows * cols,
                data.len()
            )));
        }
        Ok(Self { rows, cols, data })
    }

    /// A matrix from columns of equal length.
    pub fn from_columns(columns: &[Vec<f64>]) -> Result<Self> {
        let rows = columns.first().map_or(0, Vec::len);
        if columns.iter().any(|c| c.len() != rows) {
            return Err(Error::invalid("matrix columns differ in length"));
        }
        let cols = columns.len();
        let mut data = vec![0.0; rows * cols];
        for (j, c) in columns.iter().enumerate() {
            for (i, v) in c.iter().enumerate() {
                data[i * cols + j] = *v;
            }
        }
        Ok(Self { rows, cols, data })
    }

    /// Element (i, j).
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }

    /// Column `j` as a vector.
    pub fn column(&self, j: usize) -> Vec<f64> {
        (0..self.rows).map(|i| self.get(i, j)).collect()
    }

    /// The matrix made of the listed columns, in that order.
    pub fn select_columns(&self, cols: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(self.rows * cols.len());
        for i in 0..self.rows {
            for &j in cols {
                data.push(self.get(i, j));
            }
        }
        Matrix {
            rows: self.rows,
            cols: cols.len(),
            data,
        }
    }

    /// Matrix–vector product.
    pub fn mul_vec(&self, v: &[f64]) -> Vec<f64> {
        (0..self.rows)
            .map(|i| (0..self.cols).map(|j| self.get(i, j) * v[j]).sum())
            .collect()
    }
}

/// Least-squares solution of `x β ≈ y`.
#[derive(Debug, Clone)]
pub struct LeastSquares {
    /// Coefficients β.
    pub beta: Vec<f64>,
    /// Residuals y − xβ.
    pub residuals: Vec<f64>,
    /// (XᵀX)⁻¹, row-major `cols × cols`.
    pub xtx_inv: Vec<f64>,
}

/// Relative size below which a Householder pivot marks a column as linearly dependent.
const RANK_TOL: f64 = 1e-10;

/// Solves `x β ≈ y` by Householder QR. Fails, naming the column (by `names` when given),
/// if `x` has fewer rows than columns or a column is a linear combination of earlier ones.
pub fn lstsq(x: &Matrix, y: &[f64], names: Option<&[String]>) -> Result<LeastSquares> {
    let (n, p) = (x.rows, x.cols);
    if y.len() != n {
        return Err(Error::invalid(format!(
            "response has {} values, design has {n} rows",
            y.len()
        )));
    }
    if p == 0 {
        return Ok(LeastSquares {
            beta: vec![],
            residuals: y.to_vec(),
            xtx_inv: vec![],
        });
    }
    if n < p {
        return Err(Error::invalid(format!(
            "too few observations: {n} rows for {p} coefficients"
        )));
    }
    // column-major copy
    let mut a = vec![0.0; n * p];
    for i in 0..n {
        for j in 0..p {
            a[i + j * n] = x.get(i, j);
        }
    }
    let rdiag = householder_qr(&mut a, n, p, names)?;
    // Qᵀ y
    let mut qty = y.to_vec();
    for k in 0..p {
        let mut s = 0.0;
        for i in k..n {
            s += a[i + k * n] * qty[i];
        }
        s = -s / a[k + k * n];
        for i in k..n {
            qty[i] += s * a[i + k * n];
        }
    }
    // R β = (Qᵀy)[..p]
    let r = |i: usize, j: usize| if i == j { rdiag[i] } else { a[i + j * n] };
    let mut beta = vec![0.0; p];
    for k in (0..p).rev() {
        let mut s = qty[k];
        for j in k + 1..p {
            s -= r(k, j) * beta[j];
        }
        beta[k] = s / rdiag[k];
    }
    let xtx_inv = xtx_inverse(&r, &rdiag, p);
    let fitted = x.mul_vec(&beta);
    let residuals = y.iter().zip(&fitted).map(|(a, b)| a - b).collect();
    Ok(LeastSquares {
        beta,
        residuals,
        xtx_inv,
    })
}

/// Householder QR in place of the column-major `n × p` matrix `a` (LINPACK `dqrdc`'s
/// layout: the Householder vectors on and below the diagonal, R above it); returns R's
/// diagonal. A column whose remaining norm vanishes next to its own norm is an error naming
/// it (from `names`).
fn householder_qr(a: &mut [f64], n: usize, p: usize, names: Option<&[String]>) -> Result<Vec<f64>> {
    let col_norms: Vec<f64> = (0..p)
        .map(|j| {
            a[j * n..(j + 1) * n]
                .iter()
                .map(|v| v * v)
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let mut rdiag = vec![0.0; p];
    for k in 0..p {
        let mut nrm = 0.0f64;
        for i in k..n {
            nrm = nrm.hypot(a[i + k * n]);
        }
        if nrm <= RANK_TOL * col_norms[k].max(f64::MIN_POSITIVE) || nrm == 0.0 {
            let name = names
                .and_then(|s| s.get(k))
                .cloned()
                .unwrap_or_else(|| format!("#{k}"));
            return Err(Error::invalid(format!(
                "design matrix is rank-deficient: column `{name}` is constant zero or a linear \
                 combination of the columns before it"
            )));
        }
        if a[k + k * n] < 0.0 {
            nrm = -nrm;
        }
        for i in k..n {
            a[i + k * n] /= nrm;
        }
        a[k + k * n] += 1.0;
        for j in k + 1..p {
            let mut s = 0.0;
            for i in k..n {
                s += a[i + k * n] * a[i + j * n];
            }
            s = -s / a[k + k * n];
            for i in k..n {
                a[i + j * n] += s * a[i + k * n];
            }
        }
        rdiag[k] = -nrm;
    }
    Ok(rdiag)
}

/// (XᵀX)⁻¹ = R⁻¹ R⁻ᵀ from R (`r(i, j)`, upper triangular, diagonal `rdiag`), row-major `p × p`.
fn xtx_inverse(r: &impl Fn(usize, usize) -> f64, rdiag: &[f64], p: usize) -> Vec<f64> {
    let mut rinv = vec![0.0; p * p];
    for j in 0..p {
        rinv[j * p + j] = 1.0 / rdiag[j];
        for i in (0..j).rev() {
            let mut s = 0.0;
            for k in i + 1..=j {
                s += r(i, k) * rinv[k * p + j];
            }
            rinv[i * p + j] = -s / rdiag[i];
        }
    }
    let mut xtx_inv = vec![0.0; p * p];
    for i in 0..p {
        for j in i..p {
            let s: f64 = (j..p).map(|k| rinv[i * p + k] * rinv[j * p + k]).sum();
            xtx_inv[i * p + j] = s;
            xtx_inv[j * p + i] = s;
        }
    }
    xtx_inv
}

/// Residuals of `y` after least squares on an intercept and `z` (plus nothing else).
pub fn residualize(y: &[f64], z: &[f64]) -> Result<Vec<f64>> {
    let x = Matrix::from_columns(&[vec![1.0; z.len()], z.to_vec()])?;
    Ok(lstsq(&x, y, None)?.residuals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_exact_system_and_inverse() {
        let x = Matrix::from_rows(3, 2, vec![1.0, 0.0, 1.0, 1.0, 1.0, 2.0]).unwrap();
        let ls = lstsq(&x, &[1.0, 3.0, 5.0], None).unwrap();
        assert!((ls.beta[0] - 1.0).abs() < 1e-14 && (ls.beta[1] - 2.0).abs() < 1e-14);
        // XᵀX = [[3,3],[3,5]] → inverse [[5,-3],[-3,3]]/6
        let want = [5.0 / 6.0, -0.5, -0.5, 0.5];
        for (a, b) in ls.xtx_inv.iter().zip(want) {
            assert!((a - b).abs() < 1e-14);
        }
    }

    #[test]
    fn rank_deficiency_is_named() {
        let x = Matrix::from_columns(&[vec![1.0; 4], vec![2.0; 4]]).unwrap();
        let names = vec!["Intercept".to_string(), "two".to_string()];
        let e = lstsq(&x, &[1.0, 2.0, 3.0, 4.0], Some(&names))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`two`"), "{e}");
    }
}

/// Eigen-decomposition of a small symmetric `n × n` matrix (row-major) by cyclic Jacobi
/// rotations: eigenvalues in decreasing order and the eigenvectors as the columns of a
/// row-major `n × n` matrix.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * n + j] * m[i * n + j])
            .sum();
        let scale: f64 = m.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
        if off <= 1e-30 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| m[b * n + b].total_cmp(&m[a * n + a]));
    let vals = order.iter().map(|&i| m[i * n + i]).collect();
    let mut vecs = vec![0.0; n * n];
    for (new, &old) in order.iter().enumerate() {
        for k in 0..n {
            vecs[k * n + new] = v[k * n + old];
        }
    }
    (vals, vecs)
}

#[cfg(test)]
mod eigen_tests {
    #[test]
    fn jacobi_reconstructs_the_matrix() {
        let a = [4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 1.0];
        let (d, v) = super::symmetric_eigen(&a, 3);
        assert!(d[0] >= d[1] && d[1] >= d[2]);
        for i in 0..3 {
            for j in 0..3 {
                let r: f64 = (0..3).map(|k| v[i * 3 + k] * d[k] * v[j * 3 + k]).sum();
                assert!((r - a[i * 3 + j]).abs() < 1e-12);
            }
        }
    }
}
