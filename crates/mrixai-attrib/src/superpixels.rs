//! Interpretable features for LIME, KernelSHAP and Shapley sampling: a regular grid, or SLIC
//! superpixels (Achanta et al. 2012) on 2-D images. Features are shared by all channels.

use mrixai_core::{Error, Result, ViewF};

/// How a sample `[C, …spatial]` is cut into features.
#[derive(Debug, Clone, PartialEq)]
pub enum Superpixels {
    /// Square (cubic) cells of `size` elements along every spatial axis.
    Grid {
        /// Cell edge length.
        size: usize,
    },
    /// SLIC on a 2-D image: about `n_segments` superpixels; `compactness` weighs spatial
    /// against intensity distance (intensity in input units).
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
                    .map(|mut e| {
                        let mut idx = vec![0; spatial.len()];
                        for d in (0..spatial.len()).rev() {
                            idx[d] = e % spatial[d];
                            e /= spatial[d];
                        }
                        idx.iter()
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

/// SLIC: k-means in (intensity, position) space restricted to 2S×2S windows, 10 iterations;
/// labels are renumbered consecutively (empty clusters dropped).
fn slic(sample: ViewF, n_segments: usize, compactness: f32) -> Result<(Vec<usize>, usize)> {
    if sample.ndim() != 3 {
        return Err(Error::invalid(format!(
            "superpixels: SLIC needs a 2-D image [C, H, W], got {:?}",
            sample.shape()
        )));
    }
    if n_segments == 0 || !(compactness > 0.0 && compactness.is_finite()) {
        return Err(Error::invalid(
            "superpixels: SLIC needs n_segments ≥ 1 and compactness > 0",
        ));
    }
    let (c, h, w) = (sample.shape()[0], sample.shape()[1], sample.shape()[2]);
    let step = (((h * w) as f64 / n_segments as f64).sqrt()).max(1.0);
    let pix =
        |y: usize, x: usize| -> Vec<f64> { (0..c).map(|ch| sample[[ch, y, x]] as f64).collect() };
    // centres: (y, x, intensities)
    let mut centres: Vec<(f64, f64, Vec<f64>)> = Vec::new();
    let mut y = step / 2.0;
    while y < h as f64 {
        let mut x = step / 2.0;
        while x < w as f64 {
            centres.push((y, x, pix(y as usize, x as usize)));
            x += step;
        }
        y += step;
    }
    let m2 = (compactness as f64).powi(2);
    let s2 = step * step;
    let mut label = vec![usize::MAX; h * w];
    for _ in 0..10 {
        let mut dist = vec![f64::INFINITY; h * w];
        for (k, (cy, cx, ci)) in centres.iter().enumerate() {
            let y0 = (cy - 2.0 * step).max(0.0) as usize;
            let y1 = ((cy + 2.0 * step) as usize).min(h - 1);
            let x0 = (cx - 2.0 * step).max(0.0) as usize;
            let x1 = ((cx + 2.0 * step) as usize).min(w - 1);
            for yy in y0..=y1 {
                for xx in x0..=x1 {
                    let dc: f64 = (0..c)
                        .map(|ch| (sample[[ch, yy, xx]] as f64 - ci[ch]).powi(2))
                        .sum();
                    let ds = (yy as f64 - cy).powi(2) + (xx as f64 - cx).powi(2);
                    let d = dc + ds / s2 * m2;
                    if d < dist[yy * w + xx] {
                        dist[yy * w + xx] = d;
                        label[yy * w + xx] = k;
                    }
                }
            }
        }
        let mut acc = vec![(0.0, 0.0, vec![0.0; c], 0usize); centres.len()];
        for yy in 0..h {
            for xx in 0..w {
                let k = label[yy * w + xx];
                let a = &mut acc[k];
                a.0 += yy as f64;
                a.1 += xx as f64;
                for (ch, v) in a.2.iter_mut().enumerate() {
                    *v += sample[[ch, yy, xx]] as f64;
                }
                a.3 += 1;
            }
        }
        for (centre, a) in centres.iter_mut().zip(acc) {
            if a.3 > 0 {
                let n = a.3 as f64;
                *centre = (a.0 / n, a.1 / n, a.2.iter().map(|v| v / n).collect());
            }
        }
    }
    let mut remap = vec![usize::MAX; centres.len()];
    let mut next = 0;
    for l in label.iter_mut() {
        if remap[*l] == usize::MAX {
            remap[*l] = next;
            next += 1;
        }
        *l = remap[*l];
    }
    Ok((label, next))
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
}
