//! Model-parameter randomisation test (Adebayo et al. 2018, "Sanity checks for saliency maps"):
//! layers are re-initialised one after another from the output down (cascading), and for each
//! depth the change of every method's map is measured by SSIM and Spearman rank correlation of
//! the absolute maps. A method whose maps barely change does not depend on the model.

use crate::nd;
pub use mrixai_core::Randomizable;
use mrixai_core::{ArrayF, Attributor, Error, LayerKind, Result, ViewF};
use ndarray::{ArrayD, ArrayViewD, Axis};

/// How much one method's map changed for one sample at one randomisation depth.
#[derive(Debug, Clone, PartialEq)]
pub struct SanityRow {
    /// Method name.
    pub method: String,
    /// Number of weight layers re-initialised (from the output).
    pub depth: usize,
    /// Name of the deepest re-initialised layer.
    pub layer: String,
    /// Sample index in the batch.
    pub sample: usize,
    /// SSIM between the original and the randomised |map| (1 = unchanged).
    pub ssim: f64,
    /// Spearman rank correlation between the original and the randomised |map|.
    pub spearman: f64,
}

/// Runs the cascading randomisation for `methods` on a batch, for depths `1..=weight_layers()`.
pub fn cascading_randomization(
    model: &dyn Randomizable,
    methods: &[&dyn Attributor],
    x: ViewF,
    target: &[usize],
    seed: u64,
) -> Result<Vec<SanityRow>> {
    let weight_idx: Vec<usize> = (0..model.layers())
        .filter(|&i| {
            matches!(
                model.layer_kind(i),
                LayerKind::Conv2d | LayerKind::Conv3d | LayerKind::Linear
            )
        })
        .collect();
    let originals: Vec<ArrayF> = methods
        .iter()
        .map(|m| m.attribute(model, x.view(), target))
        .collect::<Result<_>>()?;
    let mut rows = Vec::new();
    for depth in 1..=model.weight_layers() {
        let randomized = model.randomized_top_down(depth, seed)?;
        let layer = weight_idx
            .get(weight_idx.len().saturating_sub(depth))
            .map(|&i| model.layer_name(i))
            .unwrap_or_default();
        for (m, orig) in methods.iter().zip(&originals) {
            let new = m.attribute(randomized.as_ref(), x.view(), target)?;
            for n in 0..x.shape()[0] {
                let a = abs_map(orig.index_axis(Axis(0), n))?;
                let b = abs_map(new.index_axis(Axis(0), n))?;
                rows.push(SanityRow {
                    method: m.name().to_string(),
                    depth,
                    layer: layer.clone(),
                    sample: n,
                    ssim: ssim(a.view(), b.view()),
                    spearman: spearman(a.as_slice().unwrap_or(&[]), b.as_slice().unwrap_or(&[])),
                });
            }
        }
    }
    Ok(rows)
}

/// `Σ_c |map|` of one sample `[C, …spatial]` (a `[H, W]` map as it is): an image or a volume.
fn abs_map(map: ViewF) -> Result<ArrayD<f64>> {
    if map.ndim() < 2 {
        return Err(Error::shape("attribution map", "[C, …, W]", map.shape()));
    }
    Ok(if map.ndim() >= 3 {
        map.mapv(|v| v.abs() as f64).sum_axis(Axis(0))
    } else {
        map.mapv(|v| v.abs() as f64)
    })
}

/// Structural similarity of two non-negative maps (images or volumes) after scaling each to
/// `[0, 1]` by its maximum: uniform windows of 7 along every axis, K1 = 0.01, K2 = 0.03,
/// sample covariance (scikit-image's `structural_similarity` with these options, N-D); an
/// axis shorter than 7 shrinks the window to that length on every axis. NaN for maps of
/// different shapes or without elements.
pub fn ssim(a: ArrayViewD<f64>, b: ArrayViewD<f64>) -> f64 {
    if a.shape() != b.shape() || a.is_empty() {
        return f64::NAN;
    }
    let norm = |m: ArrayViewD<f64>| {
        let mx = m.iter().cloned().fold(0.0, f64::max);
        let m = m.as_standard_layout().into_owned();
        if mx > 0.0 { m.mapv(|v| v / mx) } else { m }
    };
    let (a, b) = (norm(a), norm(b));
    let shape = a.shape().to_vec();
    let win = shape.iter().fold(7, |w, &n| w.min(n)).max(1);
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let np = win.pow(shape.len() as u32) as f64;
    let cov_norm = if np > 1.0 { np / (np - 1.0) } else { 1.0 };
    let (av, bv) = (
        a.as_slice().expect("standard layout"),
        b.as_slice().expect("standard layout"),
    );
    let starts = nd::Odometer::new(shape.iter().map(|&n| n + 1 - win.min(n)).collect());
    let offsets: Vec<usize> = nd::Odometer::new(vec![win; shape.len()])
        .map(|o| nd::flat(&o, &shape))
        .collect();
    let mut total = 0.0;
    let mut count = 0usize;
    for start in starts {
        let base = nd::flat(&start, &shape);
        let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &o in &offsets {
            let (x, y) = (av[base + o], bv[base + o]);
            sa += x;
            sb += y;
            saa += x * x;
            sbb += y * y;
            sab += x * y;
        }
        let (ma, mb) = (sa / np, sb / np);
        let va = cov_norm * (saa / np - ma * ma);
        let vb = cov_norm * (sbb / np - mb * mb);
        let cab = cov_norm * (sab / np - ma * mb);
        total +=
            ((2.0 * ma * mb + c1) * (2.0 * cab + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
        count += 1;
    }
    total / count.max(1) as f64
}

/// Ranks with ties averaged (1-based).
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation (Pearson correlation of tie-averaged ranks); NaN when either
/// input is constant or the lengths differ.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() || a.len() < 2 {
        return f64::NAN;
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    if saa == 0.0 || sbb == 0.0 {
        f64::NAN
    } else {
        sab / (saa * sbb).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn ssim_and_spearman_basics() {
        let a = Array2::from_shape_fn((10, 10), |(i, j)| (i * 10 + j) as f64);
        assert!((ssim(a.view().into_dyn(), a.view().into_dyn()) - 1.0).abs() < 1e-12);
        let b = a.mapv(|v| 99.0 - v);
        assert!(ssim(a.view().into_dyn(), b.view().into_dyn()) < 0.5);
        let s = a.as_slice().unwrap();
        assert!((spearman(s, s) - 1.0).abs() < 1e-12);
        assert!((spearman(s, b.as_slice().unwrap()) + 1.0).abs() < 1e-12);
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
        assert!(spearman(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }

    /// SSIM of an image and of a volume equals scikit-image's `structural_similarity` with
    /// the same options (fixtures/sanity/ssim.py).
    #[test]
    fn ssim_equals_scikit_image_on_images_and_volumes() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/sanity/ssim.json"
        );
        let want: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let field = |k: &str| want[k].as_f64().unwrap();
        let map = |m: usize, p: usize, q: usize, r: usize, div: f64| {
            ndarray::Array3::from_shape_fn((9, 8, 10), |(z, y, x)| {
                ((z * m + y * p + x * q) % r) as f64 / div
            })
        };
        let (a, b) = (map(7, 3, 1, 11, 10.0), map(5, 2, 3, 13, 12.0));
        let volume = ssim(a.view().into_dyn(), b.view().into_dyn());
        assert!(
            (volume - field("volume")).abs() < 1e-12,
            "{volume} vs {}",
            field("volume")
        );
        let plane = ssim(
            a.index_axis(Axis(0), 0).into_dyn(),
            b.index_axis(Axis(0), 0).into_dyn(),
        );
        assert!(
            (plane - field("plane")).abs() < 1e-12,
            "{plane} vs {}",
            field("plane")
        );
    }
}
