//! Method comparisons on samples: every model explains the same test images, so two
//! methods are compared through their per-image differences within each model,
//! `dₘᵢ = scoreₐ − score_b`, with model and image as crossed random effects:
//! `d ~ 1 + (1|model) + (1|image)` by REML, Satterthwaite df (see [`crate::lmm`]).
//!
//! The model intercepts carry the method × model interaction, so the difference is
//! generalised to models, not only to the images of one model; the image intercepts carry
//! the method × image interaction. With one model the test is the paired t-test over its
//! images. Each pair gets its mean difference, a CI, the standardised mean difference
//! `d_z = mean / sd` and a p-value; adjustment (Holm, BH) is within a family: the real
//! methods among themselves, and the comparisons that involve a control separately.

use crate::tables::Family;
use crate::{describe, dist, linalg::Matrix, lmm};
use std::collections::BTreeMap;

/// Model-independent control maps: they bracket the methods (floor and ceiling) and stay
/// outside the families of tests about methods or models.
pub const CONTROLS: [&str; 5] = ["random", "sobel", "laplace", "input", "oracle"];

/// Whether `method` is one of the [`CONTROLS`].
pub fn is_control(method: &str) -> bool {
    CONTROLS.contains(&method)
}

/// One (model, sample) observation key.
pub type Key = (String, i64);

/// Scores of one metric: method → (model, sample) → value.
pub type MethodScores = BTreeMap<String, BTreeMap<Key, f64>>;

/// The comparison of two methods on one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct PairComparison {
    /// First method.
    pub method_a: String,
    /// Second method.
    pub method_b: String,
    /// `methods` (both real) or `controls` (at least one control).
    pub family: Family,
    /// Models contributing samples.
    pub n_models: usize,
    /// Paired samples.
    pub n_samples: usize,
    /// Mean difference a − b (model-level mean of the mixed model).
    pub estimate: f64,
    /// Its standard error.
    pub se: f64,
    /// Degrees of freedom (Satterthwaite; n − 1 for one model).
    pub df: f64,
    /// Lower CI bound.
    pub ci_low: f64,
    /// Upper CI bound.
    pub ci_high: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Standardised mean difference `d_z` (mean / sd of the paired differences).
    pub effect_size: f64,
    /// Which test ran (`lmm` or `paired_t`), or why none could.
    pub test: String,
}

/// Compares methods `a` and `b` on their paired samples.
pub fn compare_pair(scores: &MethodScores, a: &str, b: &str, level: f64) -> PairComparison {
    let empty = BTreeMap::new();
    let (sa, sb) = (
        scores.get(a).unwrap_or(&empty),
        scores.get(b).unwrap_or(&empty),
    );
    let mut keys = Vec::new();
    let mut d = Vec::new();
    for (k, va) in sa {
        if let Some(vb) = sb.get(k).filter(|v| v.is_finite() && va.is_finite()) {
            keys.push(k);
            d.push(va - vb);
        }
    }
    let models = lmm::Grouping::from_labels(
        "model",
        &keys.iter().map(|k| k.0.clone()).collect::<Vec<_>>(),
    );
    let images = lmm::Grouping::from_labels("image", &keys.iter().map(|k| k.1).collect::<Vec<_>>());
    let nan = f64::NAN;
    let mut out = PairComparison {
        method_a: a.to_string(),
        method_b: b.to_string(),
        family: if is_control(a) || is_control(b) {
            Family::Controls
        } else {
            Family::Methods
        },
        n_models: models.levels,
        n_samples: d.len(),
        estimate: describe::mean(&d),
        se: nan,
        df: nan,
        ci_low: nan,
        ci_high: nan,
        p: nan,
        effect_size: nan,
        test: String::new(),
    };
    let sd = describe::std_dev(&d);
    if d.len() < 3 {
        out.test = format!("not testable: {} paired samples", d.len());
        return out;
    }
    let typical = describe::mean(&d.iter().map(|v| v.abs()).collect::<Vec<_>>());
    if sd.is_nan() || sd <= 1e-12 * typical {
        out.test = "not testable: the paired differences are constant".to_string();
        return out;
    }
    out.effect_size = out.estimate / sd;
    let fitted = (models.levels >= 2 && images.levels >= 2)
        .then(|| {
            let x = Matrix::from_rows(d.len(), 1, vec![1.0; d.len()]).expect("one column");
            lmm::fit(
                &x,
                &d,
                &["(Intercept)".to_string()],
                &[models.clone(), images.clone()],
            )
            .and_then(|f| f.coefficient("(Intercept)"))
        })
        .and_then(|r| r.ok())
        .filter(|c| c.df.is_finite() && c.se > 0.0);
    let c = match fitted {
        Some(c) => {
            out.test = "lmm".to_string();
            c
        }
        None if models.levels == 1 => {
            out.test = "paired_t".to_string();
            one_sample_t(&d)
        }
        None => {
            let (test, c) = two_stage(&d, &models, &images);
            out.test = test.to_string();
            c
        }
    };
    let (lo, hi) = c.ci(level);
    out.estimate = c.estimate;
    out.se = c.se;
    out.df = c.df;
    out.ci_low = lo;
    out.ci_high = hi;
    out.p = c.p;
    out
}

/// When the mixed model degenerates (e.g. two controls, whose difference is the same in
/// every model): the two-stage test over the units that vary, model means or else image
/// means of the differences `d`; its name and result.
fn two_stage(
    d: &[f64],
    models: &lmm::Grouping,
    images: &lmm::Grouping,
) -> (&'static str, lmm::Contrast) {
    let by = |g: &lmm::Grouping| {
        let mut sums = vec![(0.0, 0usize); g.levels];
        for (v, &k) in d.iter().zip(&g.codes) {
            sums[k].0 += v;
            sums[k].1 += 1;
        }
        sums.iter()
            .map(|(s, n)| s / *n as f64)
            .collect::<Vec<f64>>()
    };
    let over_models = by(models);
    if describe::std_dev(&over_models) > 1e-12 {
        ("t over model means", one_sample_t(&over_models))
    } else {
        (
            "t over image means (the difference is the same in every model)",
            one_sample_t(&by(images)),
        )
    }
}

/// The one-sample t-test of mean zero.
fn one_sample_t(x: &[f64]) -> lmm::Contrast {
    let n = x.len() as f64;
    let estimate = describe::mean(x);
    let se = describe::std_dev(x) / n.sqrt();
    let t = estimate / se;
    lmm::Contrast {
        estimate,
        se,
        df: n - 1.0,
        t,
        p: dist::t_two_sided(t, n - 1.0),
    }
}

/// Every pair of `methods` (in order), compared on `scores`.
/// Pairs run in parallel; the result is in pair order whatever the thread count.
pub fn all_pairs(scores: &MethodScores, methods: &[String], level: f64) -> Vec<PairComparison> {
    use rayon::prelude::*;
    let pairs: Vec<(&String, &String)> = methods
        .iter()
        .enumerate()
        .flat_map(|(i, a)| methods[i + 1..].iter().map(move |b| (a, b)))
        .collect();
    pairs
        .par_iter()
        .map(|(a, b)| compare_pair(scores, a, b, level))
        .collect()
}

/// The best set: the real method with the highest mean (after orienting by `sign`) and
/// every real method whose adjusted p against it is not below `alpha`. `p_adj` holds the
/// adjusted p-value of each pair in `pairs`.
pub fn best_set(
    pairs: &[PairComparison],
    p_adj: &[f64],
    means: &BTreeMap<String, f64>,
    sign: f64,
    alpha: f64,
) -> Vec<String> {
    let real: Vec<(&String, f64)> = means
        .iter()
        .filter(|(m, v)| !is_control(m) && v.is_finite())
        .map(|(m, v)| (m, v * sign))
        .collect();
    let Some(top) = real
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|t| t.0.clone())
    else {
        return Vec::new();
    };
    let mut best = vec![top.clone()];
    for (m, _) in &real {
        if **m == top {
            continue;
        }
        let pair = pairs.iter().zip(p_adj).find(|(p, _)| {
            (p.method_a == top && p.method_b == **m) || (p.method_b == top && p.method_a == **m)
        });
        if pair.is_none_or(|(_, &pa)| pa.is_nan() || pa >= alpha) {
            best.push((*m).clone());
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Scores of `methods` for `models × images` with model × method and image effects.
    /// `model_sd`: the method × model interaction.
    fn planted(
        effects: &[(&str, f64)],
        models: usize,
        images: usize,
        model_sd: f64,
        seed: u64,
    ) -> MethodScores {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let noise = |rng: &mut rand::rngs::StdRng, s: f64| (rng.random::<f64>() - 0.5) * s * 3.46;
        let img: Vec<f64> = (0..images).map(|_| noise(&mut rng, 0.1)).collect();
        let mut out = MethodScores::new();
        for (m, eff) in effects {
            for k in 0..models {
                let mm = noise(&mut rng, model_sd);
                for (i, ie) in img.iter().enumerate() {
                    let v = 0.5 + eff + mm + ie + noise(&mut rng, 0.05);
                    out.entry(m.to_string())
                        .or_default()
                        .insert((format!("m{k}"), i as i64), v);
                }
            }
        }
        out
    }

    #[test]
    fn planted_difference_is_found_and_null_is_not() {
        let s = planted(&[("a", 0.05), ("b", 0.0), ("c", 0.0)], 7, 40, 0.01, 1);
        let ab = compare_pair(&s, "a", "b", 0.95);
        assert_eq!(ab.test, "lmm");
        assert!(ab.p < 0.05 && ab.ci_low > 0.0 && ab.ci_high < 0.1, "{ab:?}");
        let bc = compare_pair(&s, "b", "c", 0.95);
        assert!(bc.ci_low < 0.0 && bc.ci_high > 0.0, "{bc:?}");
        assert_eq!((ab.n_models, ab.n_samples), (7, 280));
    }

    #[test]
    fn false_positive_rate_under_the_null_is_at_most_alpha() {
        let reps = 200;
        let mut hits = 0;
        for r in 0..reps {
            // a large method × model interaction: the models, not the samples, are the units
            let s = planted(&[("a", 0.0), ("b", 0.0)], 5, 20, 0.05, 100 + r);
            if compare_pair(&s, "a", "b", 0.95).p < 0.05 {
                hits += 1;
            }
        }
        // 0.05 + 3 Monte Carlo standard errors over 200 replicates
        let bound = 0.05 + 3.0 * (0.05f64 * 0.95 / reps as f64).sqrt();
        assert!((hits as f64 / reps as f64) <= bound, "{hits} of {reps}");
    }

    #[test]
    fn one_model_uses_the_paired_t_test_and_controls_form_their_own_family() {
        let s = planted(&[("random", -0.2), ("b", 0.0)], 1, 30, 0.01, 3);
        let c = compare_pair(&s, "random", "b", 0.95);
        assert_eq!(
            (c.test.as_str(), c.family, c.df),
            ("paired_t", Family::Controls, 29.0)
        );
        assert!(c.p < 1e-6);
        let empty = compare_pair(&s, "x", "b", 0.95);
        assert!(empty.test.starts_with("not testable"), "{}", empty.test);
    }
}
