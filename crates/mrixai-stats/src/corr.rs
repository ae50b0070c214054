//! Pearson and Spearman correlation with scipy's p-values, the Fisher-z confidence interval,
//! and partial correlation given a covariate.

use crate::{describe::mean, dist, linalg, rank::average_ranks};
use mrixai_core::{Error, Result};

/// A correlation coefficient with its test and interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Correlation {
    /// Number of pairs.
    pub n: usize,
    /// Coefficient (Pearson r or Spearman ρ).
    pub r: f64,
    /// Two-sided p-value (t-distribution with n − 2 df; for Pearson identical to scipy's
    /// exact beta-distribution p-value).
    pub p: f64,
    /// Lower end of the Fisher-z interval: tanh(atanh r − z₀.₉₇₅/√(n−3)).
    pub ci_low: f64,
    /// Upper end of the Fisher-z interval.
    pub ci_high: f64,
}

/// Checks paired inputs of the test `what`: equal lengths, finite values, at least `min_n`
/// pairs.
pub(crate) fn check_pairs(what: &str, x: &[f64], y: &[f64], min_n: usize) -> Result<()> {
    if x.len() != y.len() {
        return Err(Error::invalid(format!(
            "{what}: x has {} values, y has {}",
            x.len(),
            y.len()
        )));
    }
    if x.iter().chain(y).any(|v| !v.is_finite()) {
        return Err(Error::invalid(format!(
            "{what}: inputs contain NaN or infinite values"
        )));
    }
    if x.len() < min_n {
        return Err(Error::invalid(format!(
            "{what}: needs at least {min_n} observations, got {}",
            x.len()
        )));
    }
    Ok(())
}

/// Pearson r of equal-length slices (scipy's centring and normalisation).
fn pearson_r(what: &str, x: &[f64], y: &[f64]) -> Result<f64> {
    let (mx, my) = (mean(x), mean(y));
    let xm: Vec<f64> = x.iter().map(|v| v - mx).collect();
    let ym: Vec<f64> = y.iter().map(|v| v - my).collect();
    let nx = xm.iter().map(|v| v * v).sum::<f64>().sqrt();
    let ny = ym.iter().map(|v| v * v).sum::<f64>().sqrt();
    if nx == 0.0 || ny == 0.0 {
        let which = if nx == 0.0 { "x" } else { "y" };
        return Err(Error::invalid(format!(
            "{what}: {which} is constant, the correlation is undefined"
        )));
    }
    let r: f64 = xm.iter().zip(&ym).map(|(a, b)| (a / nx) * (b / ny)).sum();
    Ok(r.clamp(-1.0, 1.0))
}

/// Two-sided p-value of a correlation coefficient `r` with `df` degrees of freedom.
fn r_pvalue(r: f64, df: f64) -> f64 {
    if r.abs() >= 1.0 {
        return 0.0;
    }
    let t = r * (df / ((1.0 + r) * (1.0 - r))).sqrt();
    dist::t_two_sided(t, df)
}

/// Fisher-z interval of `r` at `level` for `n` pairs (NaN when n ≤ 3).
pub fn fisher_ci(r: f64, n: usize, level: f64) -> (f64, f64) {
    if n <= 3 {
        return (f64::NAN, f64::NAN);
    }
    let z = r.atanh();
    let se = (1.0 / (n as f64 - 3.0)).sqrt();
    let h = dist::norm_ppf(0.5 + level / 2.0);
    ((z - h * se).tanh(), (z + h * se).tanh())
}

impl Correlation {
    /// The t-test (n − 2 df) and 95 % Fisher-z interval of a coefficient `r` over `n` pairs.
    fn tested(r: f64, n: usize) -> Self {
        let (ci_low, ci_high) = fisher_ci(r, n, 0.95);
        Self {
            n,
            r,
            p: r_pvalue(r, n as f64 - 2.0),
            ci_low,
            ci_high,
        }
    }
}

/// Pearson correlation (`scipy.stats.pearsonr`) with a 95 % Fisher-z interval.
/// Needs ≥ 3 finite pairs and non-constant inputs.
pub fn pearson(x: &[f64], y: &[f64]) -> Result<Correlation> {
    check_pairs("Pearson correlation", x, y, 3)?;
    let r = pearson_r("Pearson correlation", x, y)?;
    Ok(Correlation::tested(r, x.len()))
}

/// Spearman rank correlation (`scipy.stats.spearmanr`: average ranks, t-based p with
/// n − 2 df). The interval is the Fisher-z interval applied to ρ (an approximation).
pub fn spearman(x: &[f64], y: &[f64]) -> Result<Correlation> {
    check_pairs("Spearman correlation", x, y, 3)?;
    let r = pearson_r("Spearman correlation", &average_ranks(x), &average_ranks(y))?;
    Ok(Correlation::tested(r, x.len()))
}

/// A partial correlation and its t-test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartialCorrelation {
    /// Number of observations.
    pub n: usize,
    /// Degrees of freedom, n − 3.
    pub df: usize,
    /// Partial r of x and y given z.
    pub r: f64,
    /// t = r·√(df / (1 − r²)).
    pub t: f64,
    /// Two-sided p-value from Student's t with `df` degrees of freedom.
    pub p: f64,
}

/// Partial Pearson correlation of `x` and `y` given `z`: both are residualised on [1, z]
/// by least squares and correlated; the t-test uses df = n − 3. Needs ≥ 4 observations.
pub fn partial_correlation(x: &[f64], y: &[f64], z: &[f64]) -> Result<PartialCorrelation> {
    check_pairs("partial correlation", x, y, 4)?;
    check_pairs("partial correlation (covariate)", x, z, 4)?;
    let rx = linalg::residualize(x, z)?;
    let ry = linalg::residualize(y, z)?;
    let r = pearson_r("partial correlation", &rx, &ry)?;
    let n = x.len();
    let df = n - 3;
    let t = r * (df as f64 / (1.0 - r * r)).sqrt();
    Ok(PartialCorrelation {
        n,
        df,
        r,
        t,
        p: dist::t_two_sided(t, df as f64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_an_error() {
        assert!(pearson(&[1.0, 2.0], &[1.0, 2.0]).is_err());
        assert!(
            pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0])
                .unwrap_err()
                .to_string()
                .contains("constant")
        );
        assert!(spearman(&[1.0, f64::NAN, 2.0], &[1.0, 2.0, 3.0]).is_err());
        assert!(pearson(&[1.0, 2.0, 3.0], &[1.0, 2.0]).is_err());
    }

    #[test]
    fn perfect_correlation() {
        let c = pearson(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 6.0, 8.0]).unwrap();
        assert_eq!((c.r, c.p), (1.0, 0.0));
    }
}
