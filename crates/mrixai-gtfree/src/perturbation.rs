//! Perturbation curves: the model's output as the most (MoRF) or least (LeRF) relevant
//! patches ([`region_perturbation`]) or features ([`pixel_flipping`]) are replaced, one
//! after another, by a baseline.

use crate::input::{Baseline, Chunk, Output, checked, chunks, target_scores};
use mrixai_core::{Error, Explainable, Result, ViewF};
use ndarray::Array2;

/// Which features are removed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Most relevant first (the output should fall fast).
    MoRF,
    /// Least relevant first (the output should stay).
    LeRF,
}

/// Region perturbation (Samek et al. 2017; Quantus `RegionPerturbation`): non-overlapping
/// patches of `patch` pixels (voxels) per side, over all channels, ranked by the attribution
/// they hold; the first `regions` are replaced cumulatively. Each point of the curve is the
/// drop `y − y_perturbed` of the target's output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionPerturbation {
    /// Side of a patch. A size it does not divide gets patches cut by the border, the extra
    /// space split as Quantus pads (half before, the rest after).
    pub patch: usize,
    /// Which patches go first.
    pub order: Order,
    /// Most patches replaced (fewer when the input has fewer).
    pub regions: usize,
    /// What a replaced pixel becomes.
    pub baseline: Baseline,
    /// The output followed.
    pub output: Output,
}

impl Default for RegionPerturbation {
    /// Quantus's defaults: 8-pixel patches, MoRF, 100 regions, black, softmax.
    fn default() -> Self {
        Self {
            patch: 8,
            order: Order::MoRF,
            regions: 100,
            baseline: Baseline::Black,
            output: Output::Probability,
        }
    }
}

/// Pixel flipping (Bach et al. 2015; Quantus `PixelFlipping`): features (every channel of
/// every pixel) ranked by attribution are replaced cumulatively, `features_in_step` at a
/// time, until none is left. Each point of the curve is the target's output itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PixelFlipping {
    /// Features replaced per step.
    pub features_in_step: usize,
    /// Which features go first (Quantus has MoRF only).
    pub order: Order,
    /// What a replaced feature becomes.
    pub baseline: Baseline,
    /// The output followed.
    pub output: Output,
}

impl Default for PixelFlipping {
    /// Quantus's defaults: one feature per step, MoRF, black, softmax.
    fn default() -> Self {
        Self {
            features_in_step: 1,
            order: Order::MoRF,
            baseline: Baseline::Black,
            output: Output::Probability,
        }
    }
}

/// One curve per sample: the metric's value after each step (the unperturbed input is not
/// a point).
#[derive(Debug, Clone, PartialEq)]
pub struct Curves {
    /// `[samples, steps]`.
    pub values: Array2<f64>,
}

impl Curves {
    /// The area under each curve by the trapezoid rule with unit spacing (Quantus's
    /// `calculate_auc`): `Σ y − (y₁ + y_last) / 2`; 0 for a single step.
    pub fn auc(&self) -> Vec<f64> {
        (self.values.outer_iter())
            .map(|c| match c.len() {
                0 | 1 => 0.0,
                n => c.sum() - (c[0] + c[n - 1]) / 2.0,
            })
            .collect()
    }
}

/// The region-perturbation curves of `maps` for `model` on `x` and `targets`.
pub fn region_perturbation(
    model: &dyn Explainable,
    x: ViewF,
    maps: ViewF,
    targets: &[usize],
    cfg: &RegionPerturbation,
) -> Result<Curves> {
    if cfg.patch == 0 || cfg.regions == 0 {
        return Err(Error::invalid(
            "region perturbation: patch and regions must be ≥ 1",
        ));
    }
    let a = checked(model, x.view(), maps, targets)?;
    let blocks = blocks(&x.shape()[2..], cfg.patch);
    let (channels, per_channel) = (x.shape()[1], x.shape()[2..].iter().product::<usize>());
    let n = blocks.len().min(cfg.regions);
    let steps: Vec<Vec<Vec<usize>>> = (a.outer_iter())
        .map(|m| {
            let m = m.as_standard_layout();
            let flat = m.as_slice().unwrap_or_default();
            let sums: Vec<f64> = (blocks.iter())
                .map(|b| {
                    let at =
                        |c: usize| b.iter().map(move |&i| f64::from(flat[c * per_channel + i]));
                    (0..channels).flat_map(at).sum()
                })
                .collect();
            (ranked(&sums, cfg.order).into_iter().take(n))
                .map(|k| {
                    (0..channels)
                        .flat_map(|c| blocks[k].iter().map(move |&i| c * per_channel + i))
                        .collect()
                })
                .collect()
        })
        .collect();
    let how = (cfg.baseline, cfg.output);
    run(model, x, targets, &steps, how, |y0, y| y0 - y)
}

/// The pixel-flipping curves of `maps` for `model` on `x` and `targets`.
pub fn pixel_flipping(
    model: &dyn Explainable,
    x: ViewF,
    maps: ViewF,
    targets: &[usize],
    cfg: &PixelFlipping,
) -> Result<Curves> {
    if cfg.features_in_step == 0 {
        return Err(Error::invalid(
            "pixel flipping: features_in_step must be ≥ 1",
        ));
    }
    let a = checked(model, x.view(), maps, targets)?;
    let steps: Vec<Vec<Vec<usize>>> = (a.outer_iter())
        .map(|m| {
            let keys: Vec<f64> = m.iter().map(|&v| f64::from(v)).collect();
            let order = ranked(&keys, cfg.order);
            order
                .chunks(cfg.features_in_step)
                .map(<[usize]>::to_vec)
                .collect()
        })
        .collect();
    let how = (cfg.baseline, cfg.output);
    run(model, x, targets, &steps, how, |_, y| y)
}

/// Indices of `keys` in removal order: descending (MoRF) or ascending (LeRF); ties keep
/// index order (a stable sort; Quantus's numpy argsort breaks ties in a CPU-dependent order).
pub(crate) fn ranked(keys: &[f64], order: Order) -> Vec<usize> {
    // −0 and +0 are one value (total_cmp would put −0 first)
    let keys: Vec<f64> = keys.iter().map(|k| k + 0.0).collect();
    let mut idx: Vec<usize> = (0..keys.len()).collect();
    match order {
        Order::MoRF => idx.sort_by(|&i, &j| keys[j].total_cmp(&keys[i])),
        Order::LeRF => idx.sort_by(|&i, &j| keys[i].total_cmp(&keys[j])),
    }
    idx
}

/// The flat (C-order) spatial indices of each patch of side `p` over `spatial`, patches in
/// C order; an axis `p` does not divide is padded as Quantus pads it (`⌊extra/2⌋` before).
fn blocks(spatial: &[usize], p: usize) -> Vec<Vec<usize>> {
    let per_axis: Vec<Vec<(usize, usize)>> = (spatial.iter())
        .map(|&d| {
            let before = if d % p == 0 { 0 } else { (p - d % p) / 2 };
            (0..d.div_ceil(p))
                .map(|b| {
                    (
                        (b * p).saturating_sub(before),
                        ((b + 1) * p - before).min(d),
                    )
                })
                .collect()
        })
        .collect();
    let mut out = vec![vec![0usize]];
    for (axis, ranges) in per_axis.iter().enumerate() {
        let d = spatial[axis];
        out = (out.iter())
            .flat_map(|prefix| {
                ranges.iter().map(move |&(lo, hi)| {
                    prefix
                        .iter()
                        .flat_map(|&base| (lo..hi).map(move |i| base * d + i))
                        .collect()
                })
            })
            .collect();
    }
    out
}

/// Replaces, sample by sample, the features of each step (cumulatively) by the baseline and
/// records `point(y_unperturbed, y_after_step)` per step; `how` is the baseline and the
/// output followed.
fn run(
    model: &dyn Explainable,
    x: ViewF,
    targets: &[usize],
    steps: &[Vec<Vec<usize>>],
    how: (Baseline, Output),
    point: impl Fn(f64, f64) -> f64,
) -> Result<Curves> {
    let n_steps = steps.iter().map(Vec::len).max().unwrap_or(0);
    let mut values = Array2::<f64>::zeros((x.shape()[0], n_steps));
    for chunk in chunks(model, x, targets, how.0, Some(how.1)) {
        let Chunk {
            start,
            x: mut xs,
            targets: t,
            y0,
            base,
        } = chunk?;
        let per_sample = xs.len() / t.len();
        for k in 0..n_steps {
            let flat = xs.as_slice_mut().unwrap_or_default();
            for (b, s) in steps[start..start + t.len()].iter().enumerate() {
                for &i in s.get(k).into_iter().flatten() {
                    flat[b * per_sample + i] = base[b];
                }
            }
            let y = target_scores(model, xs.view(), t, how.1)?;
            for b in 0..t.len() {
                values[[start + b, k]] = point(y0[b], y[b]);
            }
        }
    }
    Ok(Curves { values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_cover_every_pixel_once_and_pad_like_quantus() {
        let b = blocks(&[5, 4], 2);
        // rows: 5 % 2 = 1 → total pad 1, 0 before: [0,2) [2,4) [4,5); columns [0,2) [2,4)
        assert_eq!(b.len(), 6);
        assert_eq!(b[0], [0, 1, 4, 5]);
        assert_eq!(b[4], [16, 17]);
        assert_eq!(b[5], [18, 19]);
        let b = blocks(&[6, 6, 6], 4);
        // 6 % 4 = 2 → total pad 2, 1 before: [0,3) [3,6)
        assert_eq!(b.len(), 8);
        let mut all: Vec<usize> = b.concat();
        all.sort_unstable();
        assert_eq!(all, (0..216).collect::<Vec<_>>());
        assert_eq!(b[0].len(), 27);
    }

    #[test]
    fn ranking_is_stable_and_lerf_is_ascending() {
        let keys = [0.5, 2.0, 0.5, -1.0];
        assert_eq!(ranked(&keys, Order::MoRF), [1, 0, 2, 3]);
        assert_eq!(ranked(&[0.0, -0.0, 0.0], Order::LeRF), [0, 1, 2]);
        assert_eq!(ranked(&keys, Order::LeRF), [3, 0, 2, 1]);
    }

    #[test]
    fn auc_is_the_unit_spaced_trapezoid() {
        let c = Curves {
            values: Array2::from_shape_vec((2, 3), vec![1.0, 2.0, 3.0, 0.5, 0.5, 0.5]).unwrap(),
        };
        assert_eq!(c.auc(), [4.0, 1.0]);
    }
}
