//! Paired non-parametric tests: the Wilcoxon signed-rank test (scipy 1.17 semantics,
//! `zero_method="wilcox"`, no continuity correction) with the matched-pairs rank-biserial
//! effect size, and the Friedman test with tie correction.

use crate::{corr, dist, rank};
use mrixai_core::{Error, Result};

/// How the Wilcoxon p-value is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WilcoxonMethod {
    /// scipy's `method="auto"`: exact when n ≤ 50 and there are no ties or zero
    /// differences; otherwise an exhaustive sign-flip permutation test when n ≤ 13, else the
    /// normal approximation.
    Auto,
    /// Exact null distribution of W⁺ (exact only without ties and zeros).
    Exact,
    /// Normal approximation with tie correction (`method="approx"`).
    Approx,
}

/// Result of a Wilcoxon signed-rank test (two-sided).
#[derive(Debug, Clone, PartialEq)]
pub struct Wilcoxon {
    /// Number of pairs.
    pub n: usize,
    /// Pairs with a zero difference (dropped before ranking).
    pub n_zero: usize,
    /// Sum of ranks of positive differences x − y.
    pub r_plus: f64,
    /// Sum of ranks of negative differences.
    pub r_minus: f64,
    /// min(r_plus, r_minus), scipy's two-sided statistic.
    pub statistic: f64,
    /// Two-sided p-value.
    pub pvalue: f64,
    /// Normal-approximation z (−|z|); NaN unless the approximation was used.
    pub z: f64,
    /// The method actually used: `exact`, `approx` or `permutation`.
    pub method: &'static str,
    /// Matched-pairs rank-biserial correlation (r_plus − r_minus) / (r_plus + r_minus).
    pub rank_biserial: f64,
}

/// Counts of W⁺ = k for k = 0..=n(n+1)/2 under the null (each sign pattern equally likely).
fn wilcoxon_counts(n: usize) -> Vec<u64> {
    let max = n * (n + 1) / 2;
    let mut c = vec![0u64; max + 1];
    c[0] = 1;
    for i in 1..=n {
        for k in (i..=max).rev() {
            c[k] += c[k - i];
        }
    }
    c
}

/// Two-sided Wilcoxon signed-rank test of paired samples `x` and `y`.
pub fn wilcoxon(x: &[f64], y: &[f64], method: WilcoxonMethod) -> Result<Wilcoxon> {
    corr::check_pairs("Wilcoxon test", x, y, 0)?;
    let n = x.len();
    let d: Vec<f64> = x
        .iter()
        .zip(y)
        .map(|(a, b)| a - b)
        .filter(|v| *v != 0.0)
        .collect();
    let n_zero = n - d.len();
    let count = d.len();
    if count == 0 {
        return Err(Error::invalid(format!(
            "Wilcoxon test: all {n} paired differences are zero, the test is undefined"
        )));
    }
    let abs: Vec<f64> = d.iter().map(|v| v.abs()).collect();
    let ranks = rank::average_ranks(&abs);
    // `+ 0.0` turns the empty sum's −0.0 into 0.0
    let r_plus = d
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v > 0.0)
        .map(|(_, r)| r)
        .sum::<f64>()
        + 0.0;
    let r_minus = d
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v < 0.0)
        .map(|(_, r)| r)
        .sum::<f64>()
        + 0.0;
    let ties = rank::tie_sizes(&abs).iter().any(|&t| t > 1);
    let cn = count as f64;
    let mn = cn * (cn + 1.0) * 0.25;
    let se = ((cn * (cn + 1.0) * (2.0 * cn + 1.0) - rank::tie_term(&abs) / 2.0) / 24.0).sqrt();
    let z = (r_plus - mn) / se;
    let resolved = match method {
        WilcoxonMethod::Exact => "exact",
        WilcoxonMethod::Approx => "approx",
        WilcoxonMethod::Auto if n > 50 => "approx",
        WilcoxonMethod::Auto if !(ties || n_zero > 0) => "exact",
        WilcoxonMethod::Auto if n <= 13 => "permutation",
        WilcoxonMethod::Auto => "approx",
    };
    let (pvalue, zout) = match resolved {
        "exact" => {
            if count > 60 {
                return Err(Error::invalid(format!(
                    "Wilcoxon exact distribution is limited to 60 non-zero pairs, got {count}"
                )));
            }
            let c = wilcoxon_counts(count);
            let total = 2f64.powi(count as i32);
            let hi = r_plus.floor() as usize; // sf at floor
            let lo = r_plus.ceil() as usize; // cdf at ceil
            let sf: u64 = c[hi.min(c.len())..].iter().sum();
            let cdf: u64 = c[..=lo.min(c.len() - 1)].iter().sum();
            ((2.0 * (sf.min(cdf) as f64) / total).min(1.0), f64::NAN)
        }
        "approx" => ((2.0 * dist::norm_sf(z.abs())).min(1.0), -z.abs()),
        _ => {
            // exhaustive sign flips over the non-zero differences (zeros add nothing)
            let total = 1u64 << count;
            let gamma = (f64::EPSILON * 100.0 * r_plus).abs();
            let (mut less, mut greater) = (0u64, 0u64);
            for mask in 0..total {
                let s: f64 = ranks
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask >> i & 1 == 1)
                    .map(|(_, r)| r)
                    .sum();
                if s <= r_plus + gamma {
                    less += 1;
                }
                if s >= r_plus - gamma {
                    greater += 1;
                }
            }
            (
                (2.0 * less.min(greater) as f64 / total as f64).min(1.0),
                f64::NAN,
            )
        }
    };
    Ok(Wilcoxon {
        n,
        n_zero,
        r_plus,
        r_minus,
        statistic: r_plus.min(r_minus),
        pvalue,
        z: zout,
        method: resolved,
        rank_biserial: (r_plus - r_minus) / (r_plus + r_minus),
    })
}

/// Result of a Friedman test.
#[derive(Debug, Clone, PartialEq)]
pub struct Friedman {
    /// Number of treatments (methods).
    pub k: usize,
    /// Number of blocks.
    pub n: usize,
    /// Tie-corrected chi-square statistic.
    pub statistic: f64,
    /// p-value from chi-square with k − 1 df.
    pub pvalue: f64,
    /// Mean within-block rank of each treatment (higher = larger values).
    pub mean_ranks: Vec<f64>,
}

/// Friedman test (`scipy.stats.friedmanchisquare`): `groups[j][i]` is treatment `j` in
/// block `i`. Needs ≥ 3 treatments of equal length ≥ 2 and finite values.
pub fn friedman(groups: &[Vec<f64>]) -> Result<Friedman> {
    let k = groups.len();
    if k < 3 {
        return Err(Error::invalid(format!(
            "Friedman test needs at least 3 treatments, got {k}"
        )));
    }
    let n = groups[0].len();
    if groups.iter().any(|g| g.len() != n) {
        return Err(Error::invalid(
            "Friedman test: treatments differ in number of blocks",
        ));
    }
    if n < 2 {
        return Err(Error::invalid(format!(
            "Friedman test needs at least 2 blocks, got {n}"
        )));
    }
    if groups.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "Friedman test: inputs contain NaN or infinite values",
        ));
    }
    let mut rank_sums = vec![0.0; k];
    let mut ties = 0.0;
    for i in 0..n {
        let row: Vec<f64> = groups.iter().map(|g| g[i]).collect();
        for (j, r) in rank::average_ranks(&row).into_iter().enumerate() {
            rank_sums[j] += r;
        }
        ties += rank::tie_term(&row);
    }
    let (kf, nf) = (k as f64, n as f64);
    let c = 1.0 - ties / (kf * (kf * kf - 1.0) * nf);
    let ssbn: f64 = rank_sums.iter().map(|s| s * s).sum();
    let statistic = (12.0 / (kf * nf * (kf + 1.0)) * ssbn - 3.0 * nf * (kf + 1.0)) / c;
    let mean_ranks = rank_sums.iter().map(|s| s / nf).collect();
    Ok(Friedman {
        k,
        n,
        statistic,
        pvalue: dist::chi2_sf(statistic, kf - 1.0),
        mean_ranks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_counts_sum_to_two_power_n() {
        for n in [1, 5, 20] {
            assert_eq!(wilcoxon_counts(n).iter().sum::<u64>(), 1u64 << n);
        }
    }

    #[test]
    fn small_sample_with_ties_uses_permutation() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [0.0, 0.0, 1.0, 6.0, 4.0, 6.0];
        let w = wilcoxon(&x, &y, WilcoxonMethod::Auto).unwrap();
        assert_eq!(w.method, "permutation");
        assert!(w.pvalue > 0.0 && w.pvalue <= 1.0);
        assert!(wilcoxon(&x, &x, WilcoxonMethod::Auto).is_err());
        assert!(friedman(&[vec![1.0, 2.0], vec![2.0, 3.0]]).is_err());
    }
}
