//! Linear mixed models with crossed random intercepts, fitted by REML as lme4 does, with
//! Satterthwaite degrees of freedom for contrasts as lmerTest computes them.
//!
//! The model is `y = Xβ + Σₖ Zₖ bₖ + ε` with `bₖ ~ N(0, σ²θₖ² I)` for each grouping factor
//! (e.g. model and image) and `ε ~ N(0, σ² I)`. For a given `θ` the penalised least-squares
//! problem of Bates et al. (2015, *J. Stat. Softw.* 67(1)) is solved through the Cholesky
//! factor of `Λ'Z'ZΛ + I`; the profiled REML deviance is minimised over `θ ≥ 0` by
//! Nelder–Mead. The grouping factor with the most levels forms a diagonal block, so only a
//! Schur complement of the size of the other factors is factorised densely: a fit costs
//! `O(N·p)` once for the cross products and then a few microseconds per deviance evaluation,
//! whatever the number of rows.
//!
//! Inference follows lmerTest: the covariance of the variance parameters `(θ, σ)` is twice
//! the inverse Hessian of the unprofiled REML deviance, the Jacobian of `Var(β̂)` with
//! respect to them is taken numerically (Richardson-extrapolated central differences), and a
//! contrast `L` gets `ν = 2 (L V L')² / (g' A g)`; several contrasts at once get lmerTest's
//! `contestMD` F statistic and denominator degrees of freedom.

#![allow(clippy::needless_range_loop)] // index loops mirror the matrix algebra

use crate::dist;
use crate::linalg::Matrix;
use mrixai_core::{Error, Result, cholesky};

/// One grouping factor of a random intercept: a level index per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Grouping {
    /// Name (`model`, `image`, …).
    pub name: String,
    /// Level of each row, `0..levels`.
    pub codes: Vec<usize>,
    /// Number of levels.
    pub levels: usize,
}

impl Grouping {
    /// A grouping from labels of any ordered type; levels numbered in sorted order.
    pub fn from_labels<T: Ord + Clone>(name: &str, labels: &[T]) -> Self {
        let mut sorted: Vec<T> = labels.to_vec();
        sorted.sort();
        sorted.dedup();
        let codes = labels
            .iter()
            .map(|l| sorted.binary_search(l).unwrap_or(0))
            .collect();
        Self {
            name: name.to_string(),
            codes,
            levels: sorted.len(),
        }
    }
}

/// A fitted mixed model.
#[derive(Debug, Clone, PartialEq)]
pub struct LmmFit {
    /// Coefficient names.
    pub names: Vec<String>,
    /// Fixed-effect estimates.
    pub beta: Vec<f64>,
    /// Their covariance matrix, `p × p` row-major.
    pub vcov: Vec<f64>,
    /// Relative standard deviations `θₖ = σₖ / σ`, one per grouping.
    pub theta: Vec<f64>,
    /// Residual standard deviation σ.
    pub sigma: f64,
    /// Names of the groupings, in the order of `theta`.
    pub groups: Vec<String>,
    /// Number of rows.
    pub nobs: usize,
    /// REML criterion at the optimum (lme4's `REMLcrit`).
    pub reml: f64,
    /// Covariance of the variance parameters `(θ…, σ)`; NaN where the Hessian is singular.
    pub vcov_varpar: Vec<f64>,
    /// `∂Var(β̂)/∂φⱼ` for each variance parameter, each `p × p` row-major.
    pub jacobian: Vec<Vec<f64>>,
}

/// A test of one linear combination of the fixed effects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contrast {
    /// `l'β̂`.
    pub estimate: f64,
    /// Its standard error.
    pub se: f64,
    /// Satterthwaite degrees of freedom.
    pub df: f64,
    /// `estimate / se`.
    pub t: f64,
    /// Two-sided p-value.
    pub p: f64,
}

impl Contrast {
    /// The two-sided confidence interval at `level` (e.g. 0.95).
    pub fn ci(&self, level: f64) -> (f64, f64) {
        let q = dist::t_ppf(0.5 + level / 2.0, self.df);
        (self.estimate - q * self.se, self.estimate + q * self.se)
    }
}

/// A joint test of several contrasts (lmerTest's `contestMD`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FTest {
    /// F statistic.
    pub f: f64,
    /// Numerator degrees of freedom (rank of the contrasts).
    pub num_df: f64,
    /// Satterthwaite denominator degrees of freedom.
    pub den_df: f64,
    /// p-value.
    pub p: f64,
}

/// Cross products of the data that every deviance evaluation needs.
struct Cross {
    n: usize,
    p: usize,
    /// Levels per grouping.
    levels: Vec<usize>,
    /// Offset of each grouping in the random-effects vector.
    offset: Vec<usize>,
    /// Index of the diagonal-block grouping.
    diag: usize,
    /// `Z'Z` for the off-diagonal part: (grouping k, level a, grouping l, level b) counts,
    /// stored dense over all `q` levels (only the non-diagonal-block rows are used densely).
    ztz: Vec<f64>,
    /// `Z'X`, `q × p`.
    ztx: Vec<f64>,
    /// `Z'y`.
    zty: Vec<f64>,
    /// `X'X`, `p × p`.
    xtx: Vec<f64>,
    /// `X'y`.
    xty: Vec<f64>,
    /// `y'y`.
    yty: f64,
}

impl Cross {
    fn q(&self) -> usize {
        self.levels.iter().sum()
    }

    fn new(x: &Matrix, y: &[f64], groups: &[Grouping]) -> Self {
        let (n, p) = (x.rows, x.cols);
        let levels: Vec<usize> = groups.iter().map(|g| g.levels).collect();
        let mut offset = Vec::with_capacity(groups.len());
        let mut q = 0;
        for l in &levels {
            offset.push(q);
            q += l;
        }
        let diag = (0..groups.len()).max_by_key(|&k| levels[k]).unwrap_or(0);
        let mut ztz = vec![0.0; q * q];
        let mut ztx = vec![0.0; q * p];
        let mut zty = vec![0.0; q];
        let mut xtx = vec![0.0; p * p];
        let mut xty = vec![0.0; p];
        let mut yty = 0.0;
        let mut idx = vec![0usize; groups.len()];
        for i in 0..n {
            let row = &x.data[i * p..(i + 1) * p];
            for (k, g) in groups.iter().enumerate() {
                idx[k] = offset[k] + g.codes[i];
            }
            for &a in &idx {
                for &b in &idx {
                    ztz[a * q + b] += 1.0;
                }
                for j in 0..p {
                    ztx[a * p + j] += row[j];
                }
                zty[a] += y[i];
            }
            for j in 0..p {
                for k in 0..p {
                    xtx[j * p + k] += row[j] * row[k];
                }
                xty[j] += row[j] * y[i];
            }
            yty += y[i] * y[i];
        }
        Self {
            n,
            p,
            levels,
            offset,
            diag,
            ztz,
            ztx,
            zty,
            xtx,
            xty,
            yty,
        }
    }

    /// θ of each random-effect coordinate.
    fn lambda(&self, theta: &[f64]) -> Vec<f64> {
        let mut lam = vec![0.0; self.q()];
        for (k, &l) in self.levels.iter().enumerate() {
            lam[self.offset[k]..self.offset[k] + l].fill(theta[k]);
        }
        lam
    }
}

/// The penalised least-squares solution at one θ.
struct Pls {
    /// `log|L|²`.
    logdet_l: f64,
    /// `log|R_X|²`.
    logdet_rx: f64,
    /// Penalised residual sum of squares.
    r2: f64,
    /// `β̂`.
    beta: Vec<f64>,
    /// `(R_X'R_X)⁻¹`, `p × p`.
    rx_inv: Vec<f64>,
}

/// In-place lower Cholesky factor; a matrix that is not positive definite means an aliased
/// fixed-effect design.
fn factor_design(a: &mut [f64], n: usize) -> Result<()> {
    if cholesky::factor(a, n) {
        Ok(())
    } else {
        Err(Error::invalid(
            "mixed model: the fixed-effect design is rank-deficient (a term is aliased with another or with the grouping)",
        ))
    }
}

impl Cross {
    /// Factorises `Λ'Z'ZΛ + I = LL'` and solves `L C = Λ'Z'[X y]`; returns `log|L|²` and
    /// `C` (`q × (p+1)`, row-major).
    fn factor_random(&self, lam: &[f64]) -> Result<(f64, Vec<f64>)> {
        let (p, q) = (self.p, self.q());
        let m = p + 1;
        // right-hand sides Λ'Z'[X y], q × (p+1)
        let mut rhs = vec![0.0; q * m];
        for a in 0..q {
            for j in 0..p {
                rhs[a * m + j] = lam[a] * self.ztx[a * p + j];
            }
            rhs[a * m + p] = lam[a] * self.zty[a];
        }
        // diagonal block: the grouping with most levels
        let (d0, dl) = (self.offset[self.diag], self.levels[self.diag]);
        let in_diag = |a: usize| a >= d0 && a < d0 + dl;
        let rest: Vec<usize> = (0..q).filter(|&a| !in_diag(a)).collect();
        let mut logdet_l = 0.0;
        let mut sqrt_d = vec![0.0; q];
        for a in d0..d0 + dl {
            let d = lam[a] * lam[a] * self.ztz[a * q + a] + 1.0;
            sqrt_d[a] = d.sqrt();
            logdet_l += d.ln();
            for c in 0..m {
                rhs[a * m + c] /= sqrt_d[a];
            }
        }
        // Schur complement over the other groupings: with U[i, c] = λ_a λ_c (Z'Z)_ac / √d_c
        // (a = rest[i], c in the diagonal block), S = Λ_R (Z'Z)_RR Λ_R + I − U Uᵀ and the
        // rest rows of the rhs lose U C_A.
        let r = rest.len();
        let mut u = vec![0.0; r * dl];
        for (i, &a) in rest.iter().enumerate() {
            for (k, c) in (d0..d0 + dl).enumerate() {
                u[i * dl + k] = lam[a] * lam[c] * self.ztz[a * q + c] / sqrt_d[c];
            }
        }
        let mut s = vec![0.0; r * r];
        for (i, &a) in rest.iter().enumerate() {
            let ui = &u[i * dl..(i + 1) * dl];
            for (j, &b) in rest.iter().enumerate().take(i + 1) {
                let uj = &u[j * dl..(j + 1) * dl];
                let dot: f64 = ui.iter().zip(uj).map(|(x, y)| x * y).sum();
                let v = lam[a] * lam[b] * self.ztz[a * q + b] + if i == j { 1.0 } else { 0.0 };
                s[i * r + j] = v - dot;
                s[j * r + i] = v - dot;
            }
        }
        let mut rr = vec![0.0; r * m];
        for (i, &a) in rest.iter().enumerate() {
            let ui = &u[i * dl..(i + 1) * dl];
            for col in 0..m {
                let dot: f64 = ui
                    .iter()
                    .enumerate()
                    .map(|(k, x)| x * rhs[(d0 + k) * m + col])
                    .sum();
                rr[i * m + col] = rhs[a * m + col] - dot;
            }
        }
        factor_design(&mut s, r)?;
        for i in 0..r {
            logdet_l += 2.0 * s[i * r + i].ln();
        }
        cholesky::solve_lower(&s, r, &mut rr, m);
        for (i, &a) in rest.iter().enumerate() {
            for col in 0..m {
                rhs[a * m + col] = rr[i * m + col];
            }
        }
        Ok((logdet_l, rhs))
    }

    fn pls(&self, theta: &[f64]) -> Result<Pls> {
        let (p, q) = (self.p, self.q());
        let m = p + 1;
        let (logdet_l, rhs) = self.factor_random(&self.lambda(theta))?;
        // R_X'R_X = X'X − R_ZX'R_ZX, c_β
        let mut rx = self.xtx.clone();
        let mut cb = self.xty.clone();
        let mut cu2 = 0.0;
        for a in 0..q {
            let row = &rhs[a * m..(a + 1) * m];
            for j in 0..p {
                for k in 0..p {
                    rx[j * p + k] -= row[j] * row[k];
                }
                cb[j] -= row[j] * row[p];
            }
            cu2 += row[p] * row[p];
        }
        factor_design(&mut rx, p)?;
        let logdet_rx = (0..p).map(|i| 2.0 * rx[i * p + i].ln()).sum();
        cholesky::solve_lower(&rx, p, &mut cb, 1);
        let cb2: f64 = cb.iter().map(|v| v * v).sum();
        let mut beta = cb.clone();
        cholesky::solve_upper_t(&rx, p, &mut beta);
        let rx_inv = cholesky::inverse(&rx, p);
        Ok(Pls {
            logdet_l,
            logdet_rx,
            r2: (self.yty - cu2 - cb2).max(0.0),
            beta,
            rx_inv,
        })
    }

    fn dof(&self) -> f64 {
        (self.n - self.p) as f64
    }

    /// Profiled REML deviance at θ (lme4's `REMLcrit`).
    fn profiled(&self, theta: &[f64]) -> f64 {
        match self.pls(theta) {
            Ok(s) if s.r2 > 0.0 => {
                let nr = self.dof();
                s.logdet_l
                    + s.logdet_rx
                    + nr * (1.0 + (2.0 * std::f64::consts::PI * s.r2 / nr).ln())
            }
            _ => f64::INFINITY,
        }
    }

    /// REML deviance at (θ, σ), not profiled.
    fn unprofiled(&self, varpar: &[f64]) -> f64 {
        let k = varpar.len() - 1;
        let sigma = varpar[k];
        match self.pls(&varpar[..k]) {
            Ok(s) => {
                s.logdet_l
                    + s.logdet_rx
                    + self.dof() * (2.0 * std::f64::consts::PI * sigma * sigma).ln()
                    + s.r2 / (sigma * sigma)
            }
            Err(_) => f64::NAN,
        }
    }

    /// `Var(β̂)` at (θ, σ).
    fn vcov_at(&self, varpar: &[f64]) -> Vec<f64> {
        let k = varpar.len() - 1;
        let s2 = varpar[k] * varpar[k];
        match self.pls(&varpar[..k]) {
            Ok(s) => s.rx_inv.iter().map(|v| v * s2).collect(),
            Err(_) => vec![f64::NAN; self.p * self.p],
        }
    }
}

/// Nelder–Mead minimisation of `f` from `x0` (unconstrained).
fn nelder_mead(f: &dyn Fn(&[f64]) -> f64, x0: &[f64], step: f64, max_eval: usize) -> Vec<f64> {
    let n = x0.len();
    let mut pts: Vec<Vec<f64>> = vec![x0.to_vec()];
    for i in 0..n {
        let mut x = x0.to_vec();
        x[i] += step;
        pts.push(x);
    }
    let mut vals: Vec<f64> = pts.iter().map(|x| f(x)).collect();
    let mut evals = n + 1;
    while evals < max_eval {
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        pts = order.iter().map(|&i| pts[i].clone()).collect();
        vals = order.iter().map(|&i| vals[i]).collect();
        let spread = (vals[n] - vals[0]).abs();
        let size = pts
            .iter()
            .skip(1)
            .map(|x| {
                x.iter()
                    .zip(&pts[0])
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max)
            })
            .fold(0.0, f64::max);
        if spread <= 1e-12 * (1.0 + vals[0].abs()) && size < 1e-9 {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| pts[..n].iter().map(|x| x[j]).sum::<f64>() / n as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            (0..n)
                .map(|j| centroid[j] + t * (pts[n][j] - centroid[j]))
                .collect()
        };
        let xr = along(-1.0);
        let fr = f(&xr);
        evals += 1;
        if fr < vals[0] {
            let xe = along(-2.0);
            let fe = f(&xe);
            evals += 1;
            (pts[n], vals[n]) = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < vals[n - 1] {
            (pts[n], vals[n]) = (xr, fr);
        } else {
            let (xc, fc) = if fr < vals[n] {
                let x = along(-0.5);
                let v = f(&x);
                (x, v)
            } else {
                let x = along(0.5);
                let v = f(&x);
                (x, v)
            };
            evals += 1;
            if fc < vals[n].min(fr) {
                (pts[n], vals[n]) = (xc, fc);
            } else {
                for i in 1..=n {
                    pts[i] = (0..n)
                        .map(|j| pts[0][j] + 0.5 * (pts[i][j] - pts[0][j]))
                        .collect();
                    vals[i] = f(&pts[i]);
                }
                evals += n;
            }
        }
    }
    let best = (0..=n)
        .min_by(|&a, &b| vals[a].total_cmp(&vals[b]))
        .unwrap_or(0);
    pts[best].clone()
}

/// Richardson-extrapolated central difference of the vector function `f` along
/// coordinate `i` at `x`.
fn derivative_vec(f: &dyn Fn(&[f64]) -> Vec<f64>, x: &[f64], i: usize) -> Vec<f64> {
    let h0 = 1e-4 * x[i].abs().max(1e-2);
    let d = |h: f64| {
        let (mut a, mut b) = (x.to_vec(), x.to_vec());
        a[i] += h;
        b[i] -= h;
        let (fa, fb) = (f(&a), f(&b));
        fa.iter()
            .zip(&fb)
            .map(|(u, v)| (u - v) / (2.0 * h))
            .collect::<Vec<f64>>()
    };
    let (d1, d2) = (d(h0), d(h0 / 2.0));
    d1.iter()
        .zip(&d2)
        .map(|(a, b)| (4.0 * b - a) / 3.0)
        .collect()
}

/// [`derivative_vec`] of a scalar function.
fn derivative(f: &dyn Fn(&[f64]) -> f64, x: &[f64], i: usize) -> f64 {
    derivative_vec(&|y: &[f64]| vec![f(y)], x, i)[0]
}

/// Hessian of `f` at `x` by differentiating the Richardson gradient once more.
fn hessian(f: &dyn Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut h = vec![0.0; n * n];
    for i in 0..n {
        let gi = |y: &[f64]| derivative(f, y, i);
        for j in 0..n {
            h[i * n + j] = derivative(&gi, x, j);
        }
    }
    for i in 0..n {
        for j in 0..i {
            let m = 0.5 * (h[i * n + j] + h[j * n + i]);
            h[i * n + j] = m;
            h[j * n + i] = m;
        }
    }
    h
}

/// Inverse of a small symmetric positive-definite matrix; `None` if it is not.
fn spd_inverse(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = a.to_vec();
    factor_design(&mut l, n).ok()?;
    Some(cholesky::inverse(&l, n))
}

/// Fits `y ~ X + (1|g₁) + (1|g₂) …` by REML. `x` must hold the intercept column if one is
/// wanted; `names` label its columns.
pub fn fit(x: &Matrix, y: &[f64], names: &[String], groups: &[Grouping]) -> Result<LmmFit> {
    let (n, p) = (x.rows, x.cols);
    if y.len() != n || names.len() != p || groups.iter().any(|g| g.codes.len() != n) {
        return Err(Error::invalid(
            "mixed model: rows of y, X and groupings differ",
        ));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!(
            "mixed model: response is not finite at row {i}"
        )));
    }
    if groups.is_empty() {
        return Err(Error::invalid("mixed model: no grouping factor"));
    }
    for g in groups {
        if g.levels < 2 {
            return Err(Error::invalid(format!(
                "mixed model: grouping `{}` has {} level(s); its variance cannot be estimated",
                g.name, g.levels
            )));
        }
    }
    if n <= p + 1 {
        return Err(Error::invalid(format!(
            "mixed model: {n} rows for {p} fixed effects"
        )));
    }
    let cross = Cross::new(x, y, groups);
    let k = groups.len();
    let obj = |t: &[f64]| cross.profiled(&t.iter().map(|v| v.abs()).collect::<Vec<_>>());
    let t = nelder_mead(&obj, &vec![1.0; k], 0.5, 4000);
    let theta: Vec<f64> = t.iter().map(|v| v.abs()).collect();
    let s = cross.pls(&theta)?;
    if s.r2.is_nan() || s.r2 <= 0.0 {
        return Err(Error::invalid(
            "mixed model: zero residual variance (the model fits every row exactly)",
        ));
    }
    let sigma = (s.r2 / cross.dof()).sqrt();
    let mut varpar = theta.clone();
    varpar.push(sigma);
    let vcov: Vec<f64> = s.rx_inv.iter().map(|v| v * sigma * sigma).collect();
    let dev = |v: &[f64]| cross.unprofiled(v);
    let h = hessian(&dev, &varpar);
    let vcov_varpar = spd_inverse(&h, k + 1)
        .map(|inv| inv.iter().map(|v| 2.0 * v).collect())
        .unwrap_or_else(|| vec![f64::NAN; (k + 1) * (k + 1)]);
    let jacobian = (0..=k)
        .map(|j| derivative_vec(&|v: &[f64]| cross.vcov_at(v), &varpar, j))
        .collect();
    Ok(LmmFit {
        names: names.to_vec(),
        beta: s.beta,
        vcov,
        theta,
        sigma,
        groups: groups.iter().map(|g| g.name.clone()).collect(),
        nobs: n,
        reml: cross.profiled(&varpar[..k]),
        vcov_varpar,
        jacobian,
    })
}

fn qform(a: &[f64], m: &[f64]) -> f64 {
    let n = a.len();
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..n {
            s += a[i] * m[i * n + j] * a[j];
        }
    }
    s
}

impl LmmFit {
    /// Number of fixed effects.
    pub fn p(&self) -> usize {
        self.beta.len()
    }

    /// Variance of each random intercept, `(σθₖ)²`, by grouping.
    pub fn variances(&self) -> Vec<(String, f64)> {
        self.groups
            .iter()
            .zip(&self.theta)
            .map(|(g, t)| (g.clone(), (self.sigma * t).powi(2)))
            .collect()
    }

    /// Satterthwaite degrees of freedom of the variance `v = l'Vl` with gradient weights `l`.
    fn satterthwaite(&self, l: &[f64], v: f64) -> f64 {
        let g: Vec<f64> = self.jacobian.iter().map(|j| qform(l, j)).collect();
        let denom = qform(&g, &self.vcov_varpar);
        if denom > 0.0 {
            2.0 * v * v / denom
        } else {
            f64::NAN
        }
    }

    /// Test of `l'β = 0` with Satterthwaite degrees of freedom.
    pub fn contrast(&self, l: &[f64]) -> Result<Contrast> {
        if l.len() != self.p() {
            return Err(Error::invalid(format!(
                "contrast has {} weights for {} coefficients",
                l.len(),
                self.p()
            )));
        }
        let estimate: f64 = l.iter().zip(&self.beta).map(|(a, b)| a * b).sum();
        let v = qform(l, &self.vcov);
        let se = v.sqrt();
        let df = self.satterthwaite(l, v);
        let t = estimate / se;
        Ok(Contrast {
            estimate,
            se,
            df,
            t,
            p: dist::t_two_sided(t, df),
        })
    }

    /// The test of coefficient `name`.
    pub fn coefficient(&self, name: &str) -> Result<Contrast> {
        let j =
            self.names.iter().position(|n| n == name).ok_or_else(|| {
                Error::invalid(format!("no coefficient `{name}` in the mixed model"))
            })?;
        let mut l = vec![0.0; self.p()];
        l[j] = 1.0;
        self.contrast(&l)
    }

    /// Joint F test of the rows of `l` (each of length p) = 0, as lmerTest's `contestMD`.
    pub fn f_test(&self, l: &[Vec<f64>]) -> Result<FTest> {
        let p = self.p();
        if l.is_empty() || l.iter().any(|r| r.len() != p) {
            return Err(Error::invalid(
                "F test needs contrast rows of one weight per coefficient",
            ));
        }
        let m = l.len();
        // V_L = L V L'
        let mut vl = vec![0.0; m * m];
        for a in 0..m {
            for b in 0..m {
                let mut s = 0.0;
                for i in 0..p {
                    for j in 0..p {
                        s += l[a][i] * self.vcov[i * p + j] * l[b][j];
                    }
                }
                vl[a * m + b] = s;
            }
        }
        let (vals, vecs) = crate::linalg::symmetric_eigen(&vl, m);
        let top = vals.iter().cloned().fold(0.0, f64::max);
        let tol = (f64::EPSILON.sqrt() * top).max(0.0);
        let mut f = 0.0;
        let mut nus = Vec::new();
        for (e, &d) in vals.iter().enumerate() {
            if d <= tol {
                continue;
            }
            // row of P'L for this eigenvector
            let w: Vec<f64> = (0..p)
                .map(|i| (0..m).map(|a| vecs[a * m + e] * l[a][i]).sum())
                .collect();
            let est: f64 = w.iter().zip(&self.beta).map(|(a, b)| a * b).sum();
            f += est * est / d;
            nus.push(self.satterthwaite(&w, d));
        }
        let q = nus.len();
        if q == 0 {
            return Err(Error::invalid(
                "F test: the contrasts have no estimable direction",
            ));
        }
        let f = f / q as f64;
        let den_df = fstat_ddf(&nus);
        Ok(FTest {
            f,
            num_df: q as f64,
            den_df,
            p: dist::f_sf(f, q as f64, den_df),
        })
    }
}

/// lmerTest's denominator df of an F statistic from the per-direction Satterthwaite dfs.
fn fstat_ddf(nu: &[f64]) -> f64 {
    if nu.len() == 1 || nu.iter().all(|v| (v - nu[0]).abs() < 1e-8) {
        return nu[0];
    }
    if nu.iter().any(|&v| v <= 2.0) {
        return 2.0;
    }
    let e: f64 = nu.iter().map(|v| v / (v - 2.0)).sum();
    2.0 * e / (e - nu.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With one grouping and a balanced design, the REML estimates have closed forms
    /// (one-way random-effects ANOVA): σ² = MSW, σ²_g = (MSB − MSW) / n per group, and the
    /// intercept's df is the number of groups − 1.
    #[test]
    fn balanced_one_way_matches_anova_formulas() {
        let (g, r) = (6, 4);
        let mut y = Vec::new();
        let mut codes = Vec::new();
        for a in 0..g {
            for j in 0..r {
                let noise = ((a * 7 + j * 13) % 11) as f64 / 10.0 - 0.5;
                y.push(2.0 + a as f64 * 0.9 - (a % 2) as f64 * 1.3 + noise);
                codes.push(a);
            }
        }
        let n = y.len();
        let x = Matrix::from_rows(n, 1, vec![1.0; n]).unwrap();
        let grp = Grouping {
            name: "g".into(),
            codes: codes.clone(),
            levels: g,
        };
        let f = fit(&x, &y, &["(Intercept)".into()], &[grp]).unwrap();
        let mean: f64 = y.iter().sum::<f64>() / n as f64;
        let gm: Vec<f64> = (0..g)
            .map(|a| y[a * r..(a + 1) * r].iter().sum::<f64>() / r as f64)
            .collect();
        let msb = gm
            .iter()
            .map(|m| r as f64 * (m - mean).powi(2))
            .sum::<f64>()
            / (g - 1) as f64;
        let msw = (0..n).map(|i| (y[i] - gm[codes[i]]).powi(2)).sum::<f64>() / (n - g) as f64;
        assert!(
            (f.sigma.powi(2) - msw).abs() < 1e-6 * msw,
            "{} vs {msw}",
            f.sigma.powi(2)
        );
        let vg = f.variances()[0].1;
        assert!((vg - (msb - msw) / r as f64).abs() < 1e-6 * vg);
        let c = f.coefficient("(Intercept)").unwrap();
        assert!((c.estimate - mean).abs() < 1e-9);
        assert!((c.se - (msb / n as f64).sqrt()).abs() < 1e-6);
        assert!((c.df - (g - 1) as f64).abs() < 1e-3, "df {}", c.df);
    }
}
