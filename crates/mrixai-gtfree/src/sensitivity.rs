//! Max-sensitivity (Yeh et al. 2019; Quantus `MaxSensitivity`): how far a map moves when the
//! input moves a little. The explanation is recomputed on noisy copies of the input; the
//! score is the largest relative change `‖a − a_noisy‖₂ / ‖a‖₂` (lower is more robust).

use mrixai_core::{ArrayF, Error, Result, ViewF};
use ndarray::Axis;
use rand::Rng as _;

/// An explanation function: maps for a batch and its target classes.
pub type Explain<'a> = dyn Fn(ViewF, &[usize]) -> Result<ArrayF> + Sync + 'a;

/// Settings of [`max_sensitivity`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxSensitivity {
    /// Noisy copies per sample.
    pub samples: usize,
    /// Half-width of the uniform noise added to every input value (in input units).
    pub radius: f32,
    /// Seed of the noise.
    pub seed: u64,
}

impl Default for MaxSensitivity {
    /// Quantus's defaults: 200 copies, noise U(−0.2, 0.2); seed 0.
    fn default() -> Self {
        Self {
            samples: 200,
            radius: 0.2,
            seed: 0,
        }
    }
}

/// Each sample's max-sensitivity of `maps` (as given: no normalisation) under `explain`,
/// over `cfg.samples` copies of `x` with `U(−radius, radius)` noise on every value.
pub fn max_sensitivity(
    x: ViewF,
    maps: ViewF,
    targets: &[usize],
    explain: &Explain,
    cfg: &MaxSensitivity,
) -> Result<Vec<f64>> {
    if cfg.samples == 0 || !(cfg.radius > 0.0 && cfg.radius.is_finite()) {
        return Err(Error::invalid(
            "max-sensitivity: samples must be ≥ 1 and radius > 0",
        ));
    }
    // one stream per sample (a sample's noise does not depend on the batch); copies are made
    // one at a time
    let mut rngs: Vec<_> = (0..x.shape()[0])
        .map(|i| mrixai_core::seed::rng(cfg.seed, &format!("max-sensitivity {i}")))
        .collect();
    let copy = |_: usize| {
        let mut c = x.to_owned();
        for (mut s, rng) in c.axis_iter_mut(Axis(0)).zip(rngs.iter_mut()) {
            s.mapv_inplace(|v| v + rng.random_range(-cfg.radius..cfg.radius));
        }
        c
    };
    worst_change(x.view(), maps, targets, explain, cfg.samples, copy)
}

/// Each sample's max-sensitivity over the given noisy copies of `x` (each shaped like `x`):
/// for replaying the noise of another implementation.
pub fn max_sensitivity_on(
    x: ViewF,
    maps: ViewF,
    targets: &[usize],
    explain: &Explain,
    noisy: &[ArrayF],
) -> Result<Vec<f64>> {
    if noisy.is_empty() {
        return Err(Error::invalid("max-sensitivity: no noisy copies"));
    }
    worst_change(x, maps, targets, explain, noisy.len(), |c| noisy[c].clone())
}

/// The largest relative change of each sample's map over `copies` noisy inputs made by
/// `copy`.
fn worst_change(
    x: ViewF,
    maps: ViewF,
    targets: &[usize],
    explain: &Explain,
    copies: usize,
    mut copy: impl FnMut(usize) -> ArrayF,
) -> Result<Vec<f64>> {
    crate::input::check_counts(x.view(), maps.view(), targets)?;
    let norms: Vec<f64> = maps
        .axis_iter(Axis(0))
        .map(|m| norm(m.iter().copied()))
        .collect();
    let mut worst = vec![f64::NAN; targets.len()];
    for c in 0..copies {
        let xn = copy(c);
        if xn.shape() != x.shape() {
            return Err(Error::shape(
                "noisy inputs",
                format!("{:?}", x.shape()),
                xn.shape(),
            ));
        }
        let moved = explain(xn.view(), targets)?;
        if moved.shape() != maps.shape() {
            return Err(Error::shape(
                "explanations",
                format!("{:?}", maps.shape()),
                moved.shape(),
            ));
        }
        for (i, (a, b)) in maps
            .axis_iter(Axis(0))
            .zip(moved.axis_iter(Axis(0)))
            .enumerate()
        {
            let change = norm(a.iter().zip(b.iter()).map(|(p, q)| p - q)) / norms[i];
            // NaN-ignoring maximum (Quantus's nanmax)
            worst[i] = match (worst[i].is_nan(), change.is_nan()) {
                (_, true) => worst[i],
                (true, false) => change,
                (false, false) => worst[i].max(change),
            };
        }
    }
    Ok(worst)
}

/// The Euclidean norm, accumulated in f64.
fn norm(values: impl Iterator<Item = f32>) -> f64 {
    values
        .map(|v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt()
}
