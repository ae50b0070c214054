//! Control "explanations" that ignore the model: random maps, edge detectors, the input itself
//! and the ground-truth mask (an oracle, the best any method can do).

use crate::util::{check_batch, sample_seed};
use mrixai_core::{ArrayF, Attributor, Error, Explainable, Result, ViewF};
use ndarray::{ArrayViewD, Axis};
use rand::Rng as _;

/// Uniform random values in `[0, 1)`, seeded per sample (same seed and sample → same map,
/// whatever the model or target class).
#[derive(Debug, Clone, Default)]
pub struct RandomMap {
    /// Seed.
    pub seed: u64,
}

impl Attributor for RandomMap {
    fn name(&self) -> &str {
        "random"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        let mut out = ArrayF::zeros(x.raw_dim());
        for (n, mut o) in out.axis_iter_mut(Axis(0)).enumerate() {
            let mut rng = mrixai_core::seed::rng(
                sample_seed(self.seed, "random", x.index_axis(Axis(0), n), 0),
                "random",
            );
            o.iter_mut().for_each(|v| *v = rng.random::<f32>());
        }
        Ok(out)
    }
}

/// Applies a 3×3 filter per channel to every 2-D slice (last two axes), replicating edges,
/// and combines the responses with `combine`.
fn filter2d(
    x: &ViewF,
    kernels: &[[[f32; 3]; 3]],
    combine: impl Fn(&[f32]) -> f32,
) -> Result<ArrayF> {
    if x.ndim() < 3 {
        return Err(Error::shape("input", "[N, …, H, W]", x.shape()));
    }
    let sh = x.shape();
    let (h, w) = (sh[sh.len() - 2], sh[sh.len() - 1]);
    let mut out = ArrayF::zeros(x.raw_dim());
    let lead: usize = sh[..sh.len() - 2].iter().product();
    let xs = x
        .to_shape((lead, h, w))
        .map_err(|e| Error::invalid(e.to_string()))?;
    let mut os = out
        .view_mut()
        .into_shape_with_order((lead, h, w))
        .map_err(|e| Error::invalid(e.to_string()))?;
    let mut resp = vec![0.0f32; kernels.len()];
    for l in 0..lead {
        let img = xs.index_axis(Axis(0), l);
        for i in 0..h {
            for j in 0..w {
                for (r, k) in resp.iter_mut().zip(kernels) {
                    *r = 0.0;
                    for (di, row) in k.iter().enumerate() {
                        for (dj, &kv) in row.iter().enumerate() {
                            let ii = (i + di).saturating_sub(1).min(h - 1);
                            let jj = (j + dj).saturating_sub(1).min(w - 1);
                            *r += kv * img[[ii, jj]];
                        }
                    }
                }
                os[[l, i, j]] = combine(&resp);
            }
        }
    }
    Ok(out)
}

/// Sobel edge magnitude `sqrt(gx² + gy²)` of the input, per channel.
#[derive(Debug, Clone, Default)]
pub struct Sobel;

impl Attributor for Sobel {
    fn name(&self) -> &str {
        "sobel"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        let gx = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]];
        let gy = [[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]];
        filter2d(&x, &[gx, gy], |r| (r[0] * r[0] + r[1] * r[1]).sqrt())
    }
}

/// Absolute response of the 3×3 Laplace filter, per channel.
#[derive(Debug, Clone, Default)]
pub struct Laplace;

impl Attributor for Laplace {
    fn name(&self) -> &str {
        "laplace"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        let k = [[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]];
        filter2d(&x, &[k], |r| r[0].abs())
    }
}

/// The input itself as the map.
#[derive(Debug, Clone, Default)]
pub struct InputMap;

impl Attributor for InputMap {
    fn name(&self) -> &str {
        "input"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        Ok(x.to_owned())
    }
}

/// The ground-truth mask as the map (broadcast over channels): the upper bound of every metric.
/// It holds the masks of the batch it is applied to (`[N, …]` with the input's spatial shape,
/// with or without a channel axis of size 1).
#[derive(Debug, Clone)]
pub struct Oracle {
    masks: ArrayF,
}

impl Oracle {
    /// An oracle for a batch whose ground-truth masks are `masks`.
    pub fn new(masks: ArrayViewD<u8>) -> Self {
        Self {
            masks: masks.mapv(|v| if v > 0 { 1.0 } else { 0.0 }),
        }
    }

    /// The oracle of samples `start..start+len` of this oracle's masks.
    pub fn slice(&self, start: usize, len: usize) -> Result<Self> {
        if start + len > self.masks.shape()[0] {
            return Err(Error::invalid(format!(
                "oracle: samples {start}..{} out of range of {} masks",
                start + len,
                self.masks.shape()[0]
            )));
        }
        Ok(Self {
            masks: self
                .masks
                .slice_axis(Axis(0), ndarray::Slice::from(start..start + len))
                .to_owned(),
        })
    }
}

impl Attributor for Oracle {
    fn name(&self) -> &str {
        "oracle"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        let m = if self.masks.ndim() + 1 == x.ndim() {
            self.masks.clone().insert_axis(Axis(1))
        } else {
            self.masks.clone()
        };
        let ok = m.ndim() == x.ndim()
            && m.shape()[0] == x.shape()[0]
            && m.shape()[2..] == x.shape()[2..]
            && (m.shape()[1] == 1 || m.shape()[1] == x.shape()[1]);
        if !ok {
            return Err(Error::shape(
                "oracle masks",
                format!("[{}, 1 or C, {:?}]", x.shape()[0], &x.shape()[2..]),
                self.masks.shape(),
            ));
        }
        let mut out = ArrayF::zeros(x.raw_dim());
        out.zip_mut_with(
            &m.broadcast(x.raw_dim())
                .ok_or_else(|| Error::invalid("oracle: masks do not broadcast"))?,
            |o, &v| *o = v,
        );
        Ok(out)
    }
}
