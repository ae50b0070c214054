//! Interpretable features for LIME, KernelSHAP and Shapley sampling: a regular grid, or SLIC
//! superpixels (Achanta et al. 2012) on images and supervoxels on volumes. Features are shared
//! by all channels.

use crate::nd;
use mrixai_core::{Error, Result, ViewF};

/// How a sample `[C, …spatial]` is cut into features.
#[derive(Debug, Clone, PartialEq)]
pub enum Superpixels {
    /// Square (cubic) cells of `size` elements along every spatial axis.
    Grid {
        /// Cell edge length.
        size: usize,
    },
    /// SLIC on an image (superpixels) or a volume (supervoxels): about `n_segments` segments;
    /// `compactness` weighs spatial against intensity distance (intensity in input units).
    Slic {
        /// Target number of superpixels.
        n_segments: usize,
        /// Weight of spatial distance relative to intensity distance.
        compactness: f32,
    },
}

impl Default for Superpixels {
    fn default() -> Self {
        Superpixels::Grid { size: 8 }
    }
}

impl Superpixels {
    /// The feature of every spatial element (C order) and the number of features.
    pub fn labels(&self, sample: ViewF) -> Result<(Vec<usize>, usize)> {
        if sample.ndim() < 2 {
            return Err(Error::shape("sample", "[C, …spatial]", sample.shape()));
        }
        let spatial = &sample.shape()[1..];
        match *self {
            Superpixels::Grid { size } => {
                if size == 0 {
                    return Err(Error::invalid("superpixels: grid size must be ≥ 1"));
                }
                let cells: Vec<usize> = spatial.iter().map(|d| d.div_ceil(size)).collect();
                let total: usize = spatial.iter().product();
                let labels = (0..total)
                    .map(|e| {
                        nd::unflat(e, spatial)
                            .iter()
                            .zip(&cells)
                            .fold(0, |acc, (i, c)| acc * c + i / size)
                    })
                    .collect();
                Ok((labels, cells.iter().product()))
            }
            Superpixels::Slic {
                n_segments,
                compactness,
            } => slic(sample, n_segments, compactness),
        }
    }
}

/// SLIC: k-means in (intensity, position) space restricted to windows of ±2S around each
/// centre, 10 iterations; labels are renumbered consecutively (empty clusters dropped). On a
/// volume `[C, D, H, W]` the same clustering makes supervoxels (S = (DHW / n)^⅓).
fn slic(sample: ViewF, n_segments: usize, compactness: f32) -> Result<(Vec<usize>, usize)> {
    if !(3..=4).contains(&sample.ndim()) {
        return Err(Error::invalid(format!(
            "superpixels: SLIC needs an image [C, H, W] or a volume [C, D, H, W], got {:?}",
            sample.shape()
        )));
    }
    if n_segments == 0 || !(compactness > 0.0 && compactness.is_finite()) {
        return Err(Error::invalid(
            "superpixels: SLIC needs n_segments ≥ 1 and compactness > 0",
        ));
    }
    let lattice = Lattice::new(&sample.shape()[1..]);
    let c = sample.shape()[0];
    let values = sample
        .as_standard_layout()
        .mapv(f64::from)
        .into_shape_with_order((c, lattice.len()))
        .map_err(|e| Error::invalid(format!("superpixels: {e}")))?;
    let per_cell = lattice.len() as f64 / n_segments as f64;
    let step = match lattice.dims() {
        2 => per_cell.sqrt(),
        _ => per_cell.cbrt(),
    }
    .max(1.0);
    let colour = |e: usize| -> Vec<f64> { values.column(e).to_vec() };
    let mut centres: Vec<(Vec<f64>, Vec<f64>)> = lattice
        .seeds(step)
        .into_iter()
        .map(|pos| {
            let at: Vec<usize> = pos.iter().map(|&p| p as usize).collect();
            let e = lattice.flat(&at);
            (pos, colour(e))
        })
        .collect();
    let m2 = (compactness as f64).powi(2);
    let s2 = step * step;
    let mut label = vec![usize::MAX; lattice.len()];
    for _ in 0..10 {
        let mut dist = vec![f64::INFINITY; lattice.len()];
        for (k, (pos, col)) in centres.iter().enumerate() {
            lattice.for_each_in_window(pos, 2.0 * step, |e, at| {
                let dc: f64 = (0..c).map(|ch| (values[[ch, e]] - col[ch]).powi(2)).sum();
                let ds: f64 = at
                    .iter()
                    .zip(pos)
                    .map(|(&a, p)| (a as f64 - p).powi(2))
                    .sum();
                let d = dc + ds / s2 * m2;
                if d < dist[e] {
                    dist[e] = d;
                    label[e] = k;
                }
            });
        }
        let mut acc = vec![(vec![0.0; lattice.dims()], vec![0.0; c], 0usize); centres.len()];
        for (e, &k) in label.iter().enumerate() {
            let a = &mut acc[k];
            for (p, i) in a.0.iter_mut().zip(lattice.index(e)) {
                *p += i as f64;
            }
            for (ch, v) in a.1.iter_mut().enumerate() {
                *v += values[[ch, e]];
            }
            a.2 += 1;
        }
        for (centre, (pos, col, n)) in centres.iter_mut().zip(acc) {
            if n > 0 {
                let n = n as f64;
                *centre = (
                    pos.iter().map(|v| v / n).collect(),
                    col.iter().map(|v| v / n).collect(),
                );
            }
        }
    }
    Ok(renumber(label, centres.len()))
}

/// Labels renumbered consecutively in order of first appearance, and their count.
fn renumber(mut label: Vec<usize>, clusters: usize) -> (Vec<usize>, usize) {
    let mut remap = vec![usize::MAX; clusters];
    let mut next = 0;
    for l in label.iter_mut() {
        if remap[*l] == usize::MAX {
            remap[*l] = next;
            next += 1;
        }
        *l = remap[*l];
    }
    (label, next)
}

/// The spatial lattice of a sample: C-order flat indices and per-axis indices.
struct Lattice {
    shape: Vec<usize>,
}

impl Lattice {
    /// The lattice of a spatial `shape`.
    fn new(shape: &[usize]) -> Lattice {
        Lattice {
            shape: shape.to_vec(),
        }
    }
    /// Number of axes.
    fn dims(&self) -> usize {
        self.shape.len()
    }
    /// Number of elements.
    fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// C-order flat index of the per-axis index `at`.
    fn flat(&self, at: &[usize]) -> usize {
        nd::flat(at, &self.shape)
    }
    /// Per-axis index of the flat index `e`.
    fn index(&self, e: usize) -> Vec<usize> {
        nd::unflat(e, &self.shape)
    }
    /// The seed positions: S/2, S/2 + S, … along every axis (the middle of an axis shorter
    /// than S/2), in C order.
    fn seeds(&self, step: f64) -> Vec<Vec<f64>> {
        let mut out: Vec<Vec<f64>> = vec![vec![]];
        for &n in &self.shape {
            let mut along = Vec::new();
            let mut p = step / 2.0;
            while p < n as f64 {
                along.push(p);
                p += step;
            }
            if along.is_empty() {
                // an axis shorter than half a step: one seed at its middle
                along.push(n as f64 / 2.0);
            }
            out = out
                .iter()
                .flat_map(|pre| along.iter().map(move |&p| [pre.as_slice(), &[p]].concat()))
                .collect();
        }
        out
    }
    /// Calls `f(flat, index)` for every element within `radius` of `centre` along each axis
    /// (clipped to the lattice), in C order.
    fn for_each_in_window(&self, centre: &[f64], radius: f64, mut f: impl FnMut(usize, &[usize])) {
        if self.len() == 0 {
            return;
        }
        let lo: Vec<usize> = centre
            .iter()
            .map(|c| (c - radius).max(0.0) as usize)
            .collect();
        let hi: Vec<usize> = (centre.iter().zip(&self.shape))
            .map(|(c, n)| ((c + radius) as usize).min(n - 1))
            .collect();
        if lo.iter().zip(&hi).any(|(l, h)| l > h) {
            return;
        }
        let extent: Vec<usize> = lo.iter().zip(&hi).map(|(l, h)| h - l + 1).collect();
        for off in nd::Odometer::new(extent) {
            let at: Vec<usize> = off.iter().zip(&lo).map(|(o, l)| o + l).collect();
            f(self.flat(&at), &at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mrixai_core::ArrayF;
    use ndarray::IxDyn;

    #[test]
    fn grid_cells_and_slic_follow_edges() {
        let img = ArrayF::from_shape_fn(IxDyn(&[1, 8, 8]), |i| if i[2] < 4 { 0.0 } else { 1.0 });
        let (g, m) = Superpixels::Grid { size: 3 }.labels(img.view()).unwrap();
        assert_eq!(m, 9);
        assert_eq!((g[0], g[3], g[8 * 3], g[63]), (0, 1, 3, 8));
        let (l, m) = Superpixels::Slic {
            n_segments: 4,
            compactness: 0.1,
        }
        .labels(img.view())
        .unwrap();
        assert!((2..=4).contains(&m), "{m}");
        // no superpixel straddles the intensity edge between columns 3 and 4
        for y in 0..8 {
            for y2 in 0..8 {
                assert_ne!(l[y * 8 + 3], l[y2 * 8 + 4]);
            }
        }
        assert!(Superpixels::Grid { size: 0 }.labels(img.view()).is_err());
    }

    /// Supervoxels: SLIC on a volume follows an intensity edge between two slabs and cuts
    /// the volume into about the requested number of segments.
    #[test]
    fn slic_makes_supervoxels_that_follow_edges() {
        let vol = ArrayF::from_shape_fn(IxDyn(&[1, 6, 8, 8]), |i| if i[3] < 4 { 0.0 } else { 1.0 });
        let slic = Superpixels::Slic {
            n_segments: 8,
            compactness: 0.1,
        };
        let (l, m) = slic.labels(vol.view()).unwrap();
        assert!((4..=8).contains(&m), "{m}");
        let lattice = Lattice::new(&[6, 8, 8]);
        let side = |x: usize| -> std::collections::BTreeSet<usize> {
            (0..l.len())
                .filter(|&e| lattice.index(e)[2] == x)
                .map(|e| l[e])
                .collect()
        };
        assert!(side(3).is_disjoint(&side(4)));
        assert!(
            slic.labels(ArrayF::zeros(IxDyn(&[1, 2, 2, 2, 2])).view())
                .is_err()
        );
        // an axis shorter than half a step still gets seeds (one, at its middle)
        let thin = ArrayF::zeros(IxDyn(&[1, 4, 64, 64]));
        let slic = Superpixels::Slic {
            n_segments: 16,
            compactness: 0.1,
        };
        let (l, m) = slic.labels(thin.view()).unwrap();
        assert!(m >= 1 && l.iter().all(|&k| k < m));
    }
}
