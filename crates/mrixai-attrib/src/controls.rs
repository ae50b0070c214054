//! Control "explanations" that ignore the model: random maps, edge detectors, the input itself
//! and the ground-truth mask (an oracle, the best any method can do).

use crate::nd;
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

/// Applies 3×…×3 filters (`kernels`, taps in C order) per channel over the spatial axes —
/// the last two of an image batch, the last three of a volume batch `[N, C, D, H, W]` —
/// replicating edges, and combines the responses with `combine`.
fn filter_nd(x: &ViewF, kernels: &[Vec<f32>], combine: impl Fn(&[f32]) -> f32) -> Result<ArrayF> {
    if x.ndim() < 3 {
        return Err(Error::shape("input", "[N, …, H, W]", x.shape()));
    }
    let sh = x.shape();
    let d = spatial_axes(x.ndim());
    let spatial = &sh[sh.len() - d..];
    let plane: usize = spatial.iter().product();
    let lead: usize = sh[..sh.len() - d].iter().product();
    let xs = x
        .to_shape((lead, plane))
        .map_err(|e| Error::invalid(e.to_string()))?;
    let mut out = ArrayF::zeros(x.raw_dim());
    let mut os = out
        .view_mut()
        .into_shape_with_order((lead, plane))
        .map_err(|e| Error::invalid(e.to_string()))?;
    // each tap's offset per axis, in C order
    let taps: Vec<Vec<isize>> = nd::Odometer::new(vec![3; d])
        .map(|t| t.iter().map(|&i| i as isize - 1).collect())
        .collect();
    let mut resp = vec![0.0f32; kernels.len()];
    let mut at = vec![0usize; d];
    for l in 0..lead {
        let img = xs.index_axis(Axis(0), l);
        for e in 0..plane {
            nd::unflat_into(e, spatial, &mut at);
            for (r, k) in resp.iter_mut().zip(kernels) {
                *r = 0.0;
                for (off, &kv) in taps.iter().zip(k) {
                    let src = (0..d).fold(0, |acc, a| {
                        let i = (at[a] as isize + off[a]).clamp(0, spatial[a] as isize - 1);
                        acc * spatial[a] + i as usize
                    });
                    *r += kv * img[src];
                }
            }
            os[[l, e]] = combine(&resp);
        }
    }
    Ok(out)
}

/// How many trailing axes of a batch of rank `ndim` are spatial: 3 for volumes
/// `[N, C, D, H, W]`, else 2.
fn spatial_axes(ndim: usize) -> usize {
    if ndim >= 5 { 3 } else { 2 }
}

/// The 3×…×3 Sobel kernels of `d` spatial axes, last axis first: the central difference
/// `[-1, 0, 1]` along one axis times the smoothing `[1, 2, 1]` along every other (in 2-D the
/// classic gx, gy; scipy's `ndimage.sobel` per axis).
fn sobel_kernels(d: usize) -> Vec<Vec<f32>> {
    (0..d)
        .rev()
        .map(|axis| {
            nd::Odometer::new(vec![3; d])
                .map(|t| {
                    (0..d)
                        .map(|a| {
                            let i = t[a];
                            if a == axis {
                                [-1.0, 0.0, 1.0][i]
                            } else {
                                [1.0, 2.0, 1.0][i]
                            }
                        })
                        .product()
                })
                .collect()
        })
        .collect()
}

/// The discrete Laplacian of `d` spatial axes: −2d at the centre, 1 at the 2d face neighbours.
fn laplace_kernel(d: usize) -> Vec<f32> {
    nd::Odometer::new(vec![3; d])
        .map(|t| match t.iter().filter(|&&o| o != 1).count() {
            0 => -2.0 * d as f32,
            1 => 1.0,
            _ => 0.0,
        })
        .collect()
}

/// Sobel edge magnitude `sqrt(Σ g_a²)` over the spatial axes of the input, per channel.
#[derive(Debug, Clone, Default)]
pub struct Sobel;

impl Attributor for Sobel {
    fn name(&self) -> &str {
        "sobel"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        let kernels = sobel_kernels(spatial_axes(x.ndim()));
        filter_nd(&x, &kernels, |r| {
            r.iter().map(|g| g * g).sum::<f32>().sqrt()
        })
    }
}

/// Absolute response of the 3×…×3 Laplace filter over the spatial axes, per channel.
#[derive(Debug, Clone, Default)]
pub struct Laplace;

impl Attributor for Laplace {
    fn name(&self) -> &str {
        "laplace"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        let kernel = laplace_kernel(spatial_axes(x.ndim()));
        filter_nd(&x, &[kernel], |r| r[0].abs())
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
        crate::registry::ORACLE
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    /// In 2-D the kernels are the classic 3×3 Sobel pair (gx first) and Laplacian.
    #[test]
    fn kernels_in_two_dimensions_are_the_classic_ones() {
        let gx = vec![-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0];
        let gy = vec![-1.0, -2.0, -1.0, 0.0, 0.0, 0.0, 1.0, 2.0, 1.0];
        assert_eq!(sobel_kernels(2), vec![gx, gy]);
        assert_eq!(
            laplace_kernel(2),
            vec![0.0, 1.0, 0.0, 1.0, -4.0, 1.0, 0.0, 1.0, 0.0]
        );
        assert_eq!(laplace_kernel(3).iter().sum::<f32>(), 0.0);
    }

    /// In volumes the filters see the depth axis too: a step between two depth planes gives
    /// the 3-D Sobel magnitude 16 (difference 1, smoothing weights summing to 16) and the
    /// Laplacian ±1 on both sides of it, and nothing away from it.
    #[test]
    fn volumes_are_filtered_in_three_dimensions() {
        let step = ArrayF::from_shape_fn(IxDyn(&[1, 1, 8, 5, 5]), |i| f32::from(i[2] >= 4));
        let sobel = sobel_kernels(3);
        let s = filter_nd(&step.view(), &sobel, |r| {
            r.iter().map(|g| g * g).sum::<f32>().sqrt()
        })
        .unwrap();
        assert_eq!((s[[0, 0, 3, 2, 2]], s[[0, 0, 4, 0, 4]]), (16.0, 16.0));
        assert_eq!((s[[0, 0, 1, 2, 2]], s[[0, 0, 6, 2, 2]]), (0.0, 0.0));
        let l = filter_nd(&step.view(), &[laplace_kernel(3)], |r| r[0].abs()).unwrap();
        assert_eq!(
            (l[[0, 0, 3, 2, 2]], l[[0, 0, 4, 2, 2]], l[[0, 0, 6, 1, 1]]),
            (1.0, 1.0, 0.0)
        );
    }
}
