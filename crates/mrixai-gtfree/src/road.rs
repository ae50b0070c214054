//! ROAD, remove and debias (Rong et al. 2022; Quantus `ROAD`): the most (MoRF) or least
//! (LeRF) relevant pixels are removed, a share at a time, and filled in by noisy linear
//! imputation (each removed pixel the weighted mean of its neighbours, solved for all removed
//! pixels at once, plus Gaussian noise), so that the model cannot see the removal's shape;
//! each point of a sample's curve says whether the model still predicts its target.

use crate::input::{Baseline, checked, chunks};
use crate::perturbation::{Curves, Order, ranked};
use mrixai_core::{ArrayF, Error, Explainable, Result, ViewF};
use ndarray::{Array2, Axis};
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Settings of [`road`].
#[derive(Debug, Clone, PartialEq)]
pub struct Road {
    /// Shares of the pixels removed, in percent (Quantus: 1, 3, …, 99).
    pub percentages: Vec<f64>,
    /// Which pixels go first (Quantus has MoRF only).
    pub order: Order,
    /// Standard deviation of the noise added to each imputed value (Quantus: 0.01).
    pub noise: f32,
    /// Seed of the noise (one stream per sample and percentage).
    pub seed: u64,
}

impl Default for Road {
    /// Quantus's defaults: 1, 3, …, 99 %, MoRF, noise 0.01; seed 0.
    fn default() -> Self {
        Self {
            percentages: (1..100).step_by(2).map(f64::from).collect(),
            order: Order::MoRF,
            noise: 0.01,
            seed: 0,
        }
    }
}

/// Each sample's ROAD curve: 1 where the model still predicts the target after the share of
/// pixels of each percentage was imputed, else 0. Pixels (all channels of a position) are
/// ranked by the map summed over channels; `int(pixels · p / 100)` go at `p` %, each time
/// from the original input. The curve's mean is the sample's share of percentages still
/// classified (MoRF: lower is better).
pub fn road(
    model: &dyn Explainable,
    x: ViewF,
    maps: ViewF,
    targets: &[usize],
    cfg: &Road,
) -> Result<Curves> {
    let in_range = cfg.percentages.iter().all(|p| (0.0..100.0).contains(p));
    if cfg.percentages.is_empty() || !in_range || !cfg.noise.is_finite() {
        return Err(Error::invalid(
            "ROAD: one or more percentages in [0, 100), and a finite noise",
        ));
    }
    let a = checked(model, x.view(), maps, targets)?;
    let spatial = &x.shape()[2..];
    let pixels: usize = spatial.iter().product();
    let mut values = Array2::<f64>::zeros((x.shape()[0], cfg.percentages.len()));
    for chunk in chunks(model, x.view(), targets, Baseline::Value(0.0), None) {
        let chunk = chunk?;
        for (b, sample) in chunk.x.outer_iter().enumerate() {
            let i = chunk.start + b;
            let keys: Vec<f64> = (a.index_axis(Axis(0), i).sum_axis(Axis(0)).iter())
                .map(|&v| f64::from(v))
                .collect();
            let order = ranked(&keys, cfg.order);
            // one noise stream per sample and percentage: the same numbers on any thread count
            let imputed: Vec<ArrayF> = (cfg.percentages.par_iter().enumerate())
                .map(|(j, p)| {
                    let k = (pixels as f64 * p / 100.0) as usize;
                    let mut rng = mrixai_core::seed::rng(cfg.seed, &format!("road {i} {j}"));
                    impute(sample.view(), &order[..k], cfg.noise, &mut rng)
                })
                .collect();
            let views: Vec<_> = imputed.iter().map(|a| a.view()).collect();
            let batch =
                ndarray::stack(Axis(0), &views).map_err(|e| Error::invalid(e.to_string()))?;
            let logits = model.forward(batch.view())?;
            for (j, row) in logits.outer_iter().enumerate() {
                let best = (0..row.len()).fold(0, |m, c| if row[c] > row[m] { c } else { m });
                values[[i, j]] = f64::from(u8::from(best == targets[i]));
            }
        }
    }
    Ok(Curves { values })
}

/// `x` (one sample, `[C, …spatial]`) with the pixels `removed` (flat spatial indices) filled
/// in by linear imputation without noise: ROAD's imputation, for checking it.
pub fn road_impute(x: ViewF, removed: &[usize]) -> ArrayF {
    impute(x, removed, 0.0, &mut mrixai_core::seed::rng(0, "road"))
}

/// The neighbours of a pixel in `dims` spatial axes and their weights: every offset in
/// {−1, 0, 1}^dims but 0, weighted ∝ 1/|offset|², summing to 1 (in 2-D: 1/6 for the four
/// sides, 1/12 for the four corners, Quantus's weights).
fn neighbours(dims: usize) -> Vec<(Vec<isize>, f64)> {
    let mut out = Vec::new();
    for code in 0..3usize.pow(dims as u32) {
        let off: Vec<isize> = (0..dims)
            .map(|d| (code / 3usize.pow(d as u32) % 3) as isize - 1)
            .collect();
        let d2 = off.iter().map(|o| o * o).sum::<isize>();
        if d2 > 0 {
            out.push((off, 1.0 / d2 as f64));
        }
    }
    let total: f64 = out.iter().map(|o| o.1).sum();
    out.iter_mut().for_each(|o| o.1 /= total);
    out
}

/// `x` (one sample, `[C, …spatial]`) with the pixels `removed` (flat spatial indices)
/// replaced by noisy linear imputation: for each removed pixel i,
/// `sᵢ·vᵢ − Σ_{removed neighbours j} w·vⱼ = Σ_{kept neighbours k} w·xₖ` (sᵢ the weight of its
/// neighbours inside the image), solved per channel, then `noise·N(0, 1)` added.
fn impute(x: ViewF, removed: &[usize], noise: f32, rng: &mut mrixai_core::seed::Rng) -> ArrayF {
    let spatial = &x.shape()[1..];
    let pixels: usize = spatial.iter().product();
    let mut out = x.as_standard_layout().into_owned();
    if removed.is_empty() {
        return out;
    }
    let mut var = vec![usize::MAX; pixels];
    removed.iter().enumerate().for_each(|(i, &p)| var[p] = i);
    let strides: Vec<usize> = (0..spatial.len())
        .map(|d| spatial[d + 1..].iter().product())
        .collect();
    let nb = neighbours(spatial.len());
    // rows of the system: (diagonal, off-diagonal (variable, weight)), kept neighbours
    let mut diag = vec![0.0; removed.len()];
    let mut off: Vec<Vec<(usize, f64)>> = vec![Vec::new(); removed.len()];
    let mut kept: Vec<Vec<(usize, f64)>> = vec![Vec::new(); removed.len()];
    for (i, &p) in removed.iter().enumerate() {
        for (o, w) in &nb {
            let Some(q) = step(p, o, spatial, &strides) else {
                continue;
            };
            diag[i] += w;
            match var[q] {
                usize::MAX => kept[i].push((q, *w)),
                j => off[i].push((j, *w)),
            }
        }
    }
    let flat = out.as_slice_mut().unwrap_or_default();
    for c in 0..x.shape()[0] {
        let base = c * pixels;
        let rhs: Vec<f64> = (kept.iter())
            .map(|k| k.iter().map(|&(q, w)| w * f64::from(flat[base + q])).sum())
            .collect();
        let v = conjugate_gradient(&diag, &off, &rhs);
        for (i, &p) in removed.iter().enumerate() {
            let e: f64 = StandardNormal.sample(rng);
            flat[base + p] = (v[i] + f64::from(noise) * e) as f32;
        }
    }
    out
}

/// The flat index of pixel `p` moved by `off`, if it stays inside `spatial`.
fn step(p: usize, off: &[isize], spatial: &[usize], strides: &[usize]) -> Option<usize> {
    let mut q = 0;
    for d in 0..spatial.len() {
        let c = (p / strides[d] % spatial[d]) as isize + off[d];
        if c < 0 || c >= spatial[d] as isize {
            return None;
        }
        q += c as usize * strides[d];
    }
    Some(q)
}

/// Solves `A v = b` for the symmetric, diagonally dominant `A` given by its diagonal and its
/// off-diagonal entries `−w` (Jacobi-preconditioned conjugate gradients, to a residual of
/// 1e-13 of `b`).
fn conjugate_gradient(diag: &[f64], off: &[Vec<(usize, f64)>], b: &[f64]) -> Vec<f64> {
    let apply = |v: &[f64]| -> Vec<f64> {
        (0..v.len())
            .map(|i| diag[i] * v[i] - off[i].iter().map(|&(j, w)| w * v[j]).sum::<f64>())
            .collect()
    };
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut v: Vec<f64> = b.iter().zip(diag).map(|(r, d)| r / d).collect();
    let av = apply(&v);
    let mut r: Vec<f64> = b.iter().zip(&av).map(|(b, a)| b - a).collect();
    let mut z: Vec<f64> = r.iter().zip(diag).map(|(r, d)| r / d).collect();
    let mut p = z.clone();
    let mut rz = dot(&r, &z);
    let goal = 1e-13 * dot(b, b).sqrt().max(f64::MIN_POSITIVE);
    for _ in 0..10 * b.len() + 100 {
        if dot(&r, &r).sqrt() <= goal {
            break;
        }
        let ap = apply(&p);
        let alpha = rz / dot(&p, &ap);
        v.iter_mut().zip(&p).for_each(|(v, p)| *v += alpha * p);
        r.iter_mut().zip(&ap).for_each(|(r, a)| *r -= alpha * a);
        z = r.iter().zip(diag).map(|(r, d)| r / d).collect();
        let next = dot(&r, &z);
        let beta = next / rz;
        rz = next;
        p.iter_mut().zip(&z).for_each(|(p, z)| *p = z + beta * *p);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn neighbour_weights_are_quantus_in_2d_and_sum_to_one() {
        let nb = neighbours(2);
        assert_eq!(nb.len(), 8);
        for (o, w) in &nb {
            let want = if o.iter().all(|v| *v != 0) {
                1.0 / 12.0
            } else {
                1.0 / 6.0
            };
            assert!((w - want).abs() < 1e-15, "{o:?} {w}");
        }
        let nb3 = neighbours(3);
        assert_eq!(nb3.len(), 26);
        assert!((nb3.iter().map(|o| o.1).sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_removed_pixel_in_a_linear_ramp_is_restored() {
        // a linear ramp is harmonic: the neighbours' weighted mean restores it exactly
        let x = ArrayD::from_shape_fn(IxDyn(&[2, 6, 7]), |i| (i[0] + 2 * i[1] + 3 * i[2]) as f32);
        let mut rng = mrixai_core::seed::rng(0, "test");
        let removed = [8, 9, 16, 23, 30];
        let y = impute(x.view(), &removed, 0.0, &mut rng);
        assert!(
            y.iter().zip(x.iter()).all(|(a, b)| (a - b).abs() < 1e-4),
            "{y}"
        );
    }
}
