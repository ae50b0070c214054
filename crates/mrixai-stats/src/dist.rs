//! Thin wrappers over `statrs` distributions (survival functions and quantiles) that turn
//! invalid parameters into NaN instead of panicking.

use statrs::distribution::{ChiSquared, ContinuousCDF, FisherSnedecor, Normal, StudentsT};

/// P(T ≥ t) for Student's t with `df` degrees of freedom.
pub fn t_sf(t: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) if t.is_finite() => d.sf(t),
        Ok(_) if t == f64::INFINITY => 0.0,
        Ok(_) if t == f64::NEG_INFINITY => 1.0,
        _ => f64::NAN,
    }
}

/// Two-sided p-value of a t statistic: 2·P(T ≥ |t|).
pub fn t_two_sided(t: f64, df: f64) -> f64 {
    (2.0 * t_sf(t.abs(), df)).min(1.0)
}

/// Quantile of Student's t with `df` degrees of freedom; NaN outside (0, 1) or for a
/// non-positive df.
pub fn t_ppf(q: f64, df: f64) -> f64 {
    if !(q > 0.0 && q < 1.0) {
        return f64::NAN;
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => d.inverse_cdf(q),
        Err(_) => f64::NAN,
    }
}

/// P(F ≥ f) for Fisher–Snedecor with (`d1`, `d2`) degrees of freedom.
pub fn f_sf(f: f64, d1: f64, d2: f64) -> f64 {
    match FisherSnedecor::new(d1, d2) {
        Ok(d) if !f.is_nan() => d.sf(f),
        _ => f64::NAN,
    }
}

/// P(X ≥ x) for chi-square with `df` degrees of freedom.
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    match ChiSquared::new(df) {
        Ok(d) if !x.is_nan() => d.sf(x),
        _ => f64::NAN,
    }
}

/// P(Z ≥ z) for the standard normal.
pub fn norm_sf(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    match Normal::new(0.0, 1.0) {
        Ok(d) => d.sf(z),
        Err(_) => f64::NAN,
    }
}

/// Quantile of the standard normal (`norm.ppf`); NaN outside (0, 1).
pub fn norm_ppf(q: f64) -> f64 {
    if !(q > 0.0 && q < 1.0) {
        return f64::NAN;
    }
    match Normal::new(0.0, 1.0) {
        Ok(d) => d.inverse_cdf(q),
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert!((norm_ppf(0.975) - 1.959963984540054).abs() < 1e-13);
        assert!((t_two_sided(2.0, 10.0) - 0.0733880347707404).abs() < 1e-12);
        assert!((chi2_sf(3.841458820694124, 1.0) - 0.05).abs() < 1e-12);
        assert!(t_sf(1.0, -1.0).is_nan());
    }
}
