//! Descriptive statistics over slices: mean, median, quantiles (NumPy's default linear
//! interpolation), IQR and seeded percentile-bootstrap confidence intervals of the mean.

use mrixai_core::{Error, Result};
use rand::Rng as _;

/// Arithmetic mean; NaN for an empty slice.
pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample standard deviation (ddof = 1); NaN below two values.
pub fn std_dev(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

/// Quantile `q` ∈ [0, 1] of already sorted data by linear interpolation
/// (`numpy.quantile(..., method="linear")`); NaN for empty data.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Quantile `q` of unsorted data (see [`quantile_sorted`]).
pub fn quantile(x: &[f64], q: f64) -> f64 {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, q)
}

/// Median (the 0.5 quantile).
pub fn median(x: &[f64]) -> f64 {
    quantile(x, 0.5)
}

crate::stats_table! {
    /// Summary of one group of scores (columns `n` … `iqr` of the `summary` table).
    #[derive(Copy)]
    pub struct Summary {
        /// Number of finite values used.
        pub n: usize,
        /// Number of NaN values left out.
        pub n_nan: usize,
        /// Mean.
        pub mean: f64,
        /// Sample standard deviation.
        pub sd: f64,
        /// Median.
        pub median: f64,
        /// First quartile.
        pub q25: f64,
        /// Third quartile.
        pub q75: f64,
        /// Interquartile range q75 − q25.
        pub iqr: f64,
    }
}

/// Summarises `x`, leaving NaN out; fails on ±Inf (a bug upstream) and on no finite value.
pub fn summarize(what: &str, x: &[f64]) -> Result<Summary> {
    if x.iter().any(|v| v.is_infinite()) {
        return Err(Error::invalid(format!("{what}: contains infinite values")));
    }
    let mut v: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    if v.is_empty() {
        return Err(Error::invalid(format!(
            "{what}: no finite value to summarise"
        )));
    }
    v.sort_by(f64::total_cmp);
    let q25 = quantile_sorted(&v, 0.25);
    let q75 = quantile_sorted(&v, 0.75);
    Ok(Summary {
        n: v.len(),
        n_nan: x.len() - v.len(),
        mean: mean(&v),
        sd: std_dev(&v),
        median: quantile_sorted(&v, 0.5),
        q25,
        q75,
        iqr: q75 - q25,
    })
}

/// Percentile-bootstrap confidence interval of the mean of `x` (finite values) at `level`
/// (e.g. 0.95) from `n_boot` resamples drawn from the named stream `label` under `seed`.
///
/// Same inputs, seed and label give the same interval on every platform.
pub fn bootstrap_mean_ci(
    x: &[f64],
    level: f64,
    n_boot: usize,
    seed: u64,
    label: &str,
) -> Result<(f64, f64)> {
    if !(level > 0.0 && level < 1.0) {
        return Err(Error::invalid(format!(
            "bootstrap level must be in (0, 1), got {level}"
        )));
    }
    if n_boot == 0 {
        return Err(Error::invalid("bootstrap needs at least one resample"));
    }
    let v: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    if v.is_empty() {
        return Err(Error::invalid(format!(
            "{label}: no finite value to bootstrap"
        )));
    }
    let mut rng = mrixai_core::seed::rng(seed, label);
    let n = v.len();
    let mut means: Vec<f64> = (0..n_boot)
        .map(|_| (0..n).map(|_| v[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let a = (1.0 - level) / 2.0;
    Ok((quantile_sorted(&means, a), quantile_sorted(&means, 1.0 - a)))
}

/// Wilson score interval of a binomial proportion: `successes` of `n` at confidence
/// `level` (statsmodels' `proportion_confint(method="wilson")`). `None` when `n` is 0,
/// `successes > n` or `level` is outside (0, 1).
pub fn wilson_interval(successes: usize, n: usize, level: f64) -> Option<(f64, f64)> {
    if n == 0 || successes > n || !(level > 0.0 && level < 1.0) {
        return None;
    }
    let z = crate::dist::norm_ppf(1.0 - (1.0 - level) / 2.0);
    let (n, p) = (n as f64, successes as f64 / n as f64);
    let z2n = z * z / n;
    let centre = (p + z2n / 2.0) / (1.0 + z2n);
    let half = z / (1.0 + z2n) * (p * (1.0 - p) / n + z2n / (4.0 * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy() {
        let x = [7.0, 1.0, 3.0, 4.0, 10.0];
        assert_eq!(median(&x), 4.0);
        assert_eq!(quantile(&x, 0.25), 3.0);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75);
        let s = summarize("x", &[1.0, f64::NAN, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!((s.n, s.n_nan, s.iqr), (4, 1, 1.5));
        assert!(summarize("x", &[f64::NAN]).is_err());
    }

    #[test]
    fn bootstrap_is_seeded_and_brackets_mean() {
        let x: Vec<f64> = (0..50).map(|i| (i as f64 * 0.37).sin()).collect();
        let a = bootstrap_mean_ci(&x, 0.95, 500, 3, "t").unwrap();
        let b = bootstrap_mean_ci(&x, 0.95, 500, 3, "t").unwrap();
        let c = bootstrap_mean_ci(&x, 0.95, 500, 4, "t").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let m = mean(&x);
        assert!(a.0 < m && m < a.1);
    }
}
