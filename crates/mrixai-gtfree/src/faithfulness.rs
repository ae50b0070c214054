//! Faithfulness correlation (Bhatt et al. 2020; Quantus `FaithfulnessCorrelation`): over
//! random subsets of features, the Pearson correlation of the attribution a subset holds and
//! the drop in the target's output when it is replaced by a baseline.

use crate::input::{Baseline, Chunk, Output, checked, chunks, target_scores};
use mrixai_core::{Error, Explainable, Result, ViewF};
use ndarray::{Array3, ArrayView3, Axis};
use rand::Rng as _;

/// Settings of [`faithfulness_correlation`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaithfulnessCorrelation {
    /// Random subsets per sample.
    pub runs: usize,
    /// Features per subset (fewer than a sample has).
    pub subset: usize,
    /// What a replaced feature becomes.
    pub baseline: Baseline,
    /// The output followed.
    pub output: Output,
    /// Seed of the subsets.
    pub seed: u64,
}

impl Default for FaithfulnessCorrelation {
    /// Quantus's defaults: 100 subsets of 224 features, black, logits; seed 0.
    fn default() -> Self {
        Self {
            runs: 100,
            subset: 224,
            baseline: Baseline::Black,
            output: Output::Logit,
            seed: 0,
        }
    }
}

/// Each sample's faithfulness correlation, with subsets drawn from `cfg.seed` (each a
/// uniform draw without replacement; one stream per sample position, so that a sample's
/// subsets do not depend on the other samples).
pub fn faithfulness_correlation(
    model: &dyn Explainable,
    x: ViewF,
    maps: ViewF,
    targets: &[usize],
    cfg: &FaithfulnessCorrelation,
) -> Result<Vec<f64>> {
    let features: usize = x.shape()[1..].iter().product();
    if cfg.runs < 2 || cfg.subset == 0 || cfg.subset >= features {
        return Err(Error::invalid(format!(
            "faithfulness correlation: runs must be ≥ 2 and subset within 1..{features} (got {} and {})",
            cfg.runs, cfg.subset
        )));
    }
    // one stream per sample: a sample's subsets do not depend on the others
    let n = x.shape()[0];
    let mut subsets = Array3::<usize>::zeros((cfg.runs, n, cfg.subset));
    for b in 0..n {
        let mut rng = mrixai_core::seed::rng(cfg.seed, &format!("faithfulness-correlation {b}"));
        let mut pool: Vec<usize> = (0..features).collect();
        for r in 0..cfg.runs {
            for i in 0..cfg.subset {
                let j = rng.random_range(i..features);
                pool.swap(i, j);
                subsets[[r, b, i]] = pool[i];
            }
        }
    }
    faithfulness_correlation_on(
        model,
        x,
        maps,
        targets,
        subsets.view(),
        cfg.baseline,
        cfg.output,
    )
}

/// Each sample's faithfulness correlation over the given subsets `[runs, N, size]` (flat
/// feature indices of one sample, channels first): for replaying the subsets of another
/// implementation.
pub fn faithfulness_correlation_on(
    model: &dyn Explainable,
    x: ViewF,
    maps: ViewF,
    targets: &[usize],
    subsets: ArrayView3<usize>,
    baseline: Baseline,
    output: Output,
) -> Result<Vec<f64>> {
    let a = checked(model, x.view(), maps, targets)?;
    let (runs, n) = (subsets.shape()[0], x.shape()[0]);
    let features: usize = x.shape()[1..].iter().product();
    if subsets.shape()[1] != n || subsets.iter().any(|&i| i >= features) {
        return Err(Error::shape(
            "subsets",
            format!("[runs, {n}, size] of indices < {features}"),
            subsets.shape(),
        ));
    }
    let a = a.as_standard_layout();
    let a = a.as_slice().unwrap_or_default();
    let mut out = Vec::with_capacity(n);
    for chunk in chunks(model, x.view(), targets, baseline, Some(output)) {
        let Chunk {
            start,
            x: xs,
            targets: t,
            y0,
            base,
        } = chunk?;
        let end = start + t.len();
        let (mut held, mut drops) = (
            vec![vec![0.0; runs]; end - start],
            vec![vec![0.0; runs]; end - start],
        );
        for r in 0..runs {
            let mut xp = xs.clone();
            let flat = xp.as_slice_mut().unwrap_or_default();
            let run = subsets.index_axis(Axis(0), r);
            for b in 0..end - start {
                for &i in run.index_axis(Axis(0), start + b) {
                    flat[b * features + i] = base[b];
                    held[b][r] += f64::from(a[(start + b) * features + i]);
                }
            }
            let y = target_scores(model, xp.view(), t, output)?;
            for b in 0..end - start {
                drops[b][r] = y0[b] - y[b];
            }
        }
        out.extend(held.iter().zip(&drops).map(|(h, d)| pearson(h, d)));
    }
    Ok(out)
}

/// Pearson's r of `x` and `y`; NaN when either is constant.
fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    match sxx > 0.0 && syy > 0.0 {
        true => (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0),
        false => f64::NAN,
    }
}
