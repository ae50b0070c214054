//! Multiple-testing corrections with statsmodels `multipletests` semantics.

use mrixai_core::{Error, Result};

/// Adjusted p-values and decisions, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct Adjusted {
    /// Adjusted p-values (NaN where the input was NaN).
    pub p_adjusted: Vec<f64>,
    /// Whether each hypothesis is rejected at `alpha`.
    pub reject: Vec<bool>,
}

/// Finite p-values sorted ascending (stable), as (original index, p); NaNs are left out.
fn sorted(p: &[f64]) -> Result<Vec<(usize, f64)>> {
    if let Some(v) = p.iter().find(|v| !v.is_nan() && !(0.0..=1.0).contains(*v)) {
        return Err(Error::invalid(format!("p-value {v} is outside [0, 1]")));
    }
    let mut v: Vec<(usize, f64)> = p
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, x)| !x.is_nan())
        .collect();
    v.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(v)
}

fn scatter(n: usize, order: &[(usize, f64)], adj: &[f64], rej: &[bool]) -> Adjusted {
    let mut p_adjusted = vec![f64::NAN; n];
    let mut reject = vec![false; n];
    for (k, (i, _)) in order.iter().enumerate() {
        p_adjusted[*i] = adj[k];
        reject[*i] = rej[k];
    }
    Adjusted { p_adjusted, reject }
}

/// Holm's step-down correction (`method="holm"`). NaN p-values are ignored (kept NaN,
/// never rejected) and do not count towards the number of tests.
pub fn holm(p: &[f64], alpha: f64) -> Result<Adjusted> {
    let s = sorted(p)?;
    let m = s.len();
    let mut notreject: Vec<bool> = s
        .iter()
        .enumerate()
        .map(|(i, (_, v))| *v > alpha / (m - i) as f64)
        .collect();
    if let Some(first) = notreject.iter().position(|&b| b) {
        notreject[first..].iter_mut().for_each(|b| *b = true);
    }
    let mut adj = Vec::with_capacity(m);
    let mut run = f64::NEG_INFINITY;
    for (i, (_, v)) in s.iter().enumerate() {
        run = run.max(v * (m - i) as f64);
        adj.push(run.min(1.0));
    }
    let rej: Vec<bool> = notreject.iter().map(|b| !b).collect();
    Ok(scatter(p.len(), &s, &adj, &rej))
}

/// Benjamini–Hochberg step-up FDR correction (`method="fdr_bh"`). NaNs as in [`holm`].
pub fn benjamini_hochberg(p: &[f64], alpha: f64) -> Result<Adjusted> {
    let s = sorted(p)?;
    let m = s.len();
    let ecdf: Vec<f64> = (1..=m).map(|i| i as f64 / m as f64).collect();
    let mut rej: Vec<bool> = s
        .iter()
        .zip(&ecdf)
        .map(|((_, v), e)| *v <= e * alpha)
        .collect();
    if let Some(last) = rej.iter().rposition(|&b| b) {
        rej[..last].iter_mut().for_each(|b| *b = true);
    }
    let mut adj = vec![0.0; m];
    let mut run = f64::INFINITY;
    for i in (0..m).rev() {
        run = run.min(s[i].1 / ecdf[i]);
        adj[i] = run.min(1.0);
    }
    Ok(scatter(p.len(), &s, &adj, &rej))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_and_range() {
        let a = holm(&[0.01, f64::NAN, 0.04], 0.05).unwrap();
        assert!(a.p_adjusted[1].is_nan());
        assert_eq!(a.p_adjusted[0], 0.02);
        assert!(holm(&[1.5], 0.05).is_err());
    }
}
