//! The gallery: the same test slices for one model, shown as the image with its
//! ground-truth contour and, for each method, |attribution| as a heat map over the image.
//! Volumes show their axial, coronal and sagittal slices through the lesion centre, on one
//! colour scale.
//! Images are small PNGs embedded as base64 data URIs.

use mrixai_core::dataset::{Split, split_dir};
use mrixai_core::layout::RunLayout;
use mrixai_core::{Error, Result, npy};
use ndarray::{ArrayD, Axis};
use std::path::Path;

/// Target size (pixels) of the longer image side.
const TARGET: usize = 132;

/// A 2-D float image, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// Values.
    pub v: Vec<f32>,
    /// Side-by-side panels it holds: 1, or 3 for a volume's orthogonal slices.
    pub panels: usize,
}

/// The 2-D picture shown for sample `i` of `a` (`[N, H, W]`, `[N, C, H, W]` or
/// `[N, C, D, H, W]`): channels pooled by Σ|·| (or max for masks); a volume as its three
/// orthogonal slices through `centre` (the volume's centre when `None`), side by side. None
/// if `i` is out of range or the rank is unsupported.
pub fn slice_of(
    a: &ArrayD<f32>,
    i: usize,
    abs_sum: bool,
    centre: Option<[usize; 3]>,
) -> Option<Slice> {
    if i >= a.shape().first().copied().unwrap_or(0) {
        return None;
    }
    let s = a.index_axis(Axis(0), i).to_owned();
    let pooled = match s.ndim() {
        2 => s,
        3 | 4 => {
            if abs_sum {
                s.map(|v| v.abs()).sum_axis(Axis(0))
            } else {
                s.fold_axis(Axis(0), f32::NEG_INFINITY, |m, v| m.max(*v))
            }
        }
        _ => return None,
    };
    if pooled.is_empty() {
        return None;
    }
    if let Ok(v) = pooled.view().into_dimensionality::<ndarray::Ix3>() {
        let mid = [0, 1, 2].map(|k| v.shape()[k] / 2);
        return Some(orthogonal(v, centre.unwrap_or(mid)));
    }
    let (h, w) = (pooled.shape()[0], pooled.shape()[1]);
    Some(Slice {
        h,
        w,
        v: pooled.iter().copied().collect(),
        panels: 1,
    })
}

/// The axial (`[H, W]` at depth z), coronal (`[D, W]` at row y) and sagittal (`[D, H]` at
/// column x) slices of a volume `[D, H, W]` through `[z, y, x]`, side by side with one
/// empty column between them; depth runs upwards in the coronal and sagittal slices.
fn orthogonal(v: ndarray::ArrayView3<f32>, [z, y, x]: [usize; 3]) -> Slice {
    let d = v.shape()[0];
    let planes = [
        v.index_axis(Axis(0), z.min(d - 1)),
        v.index_axis(Axis(1), y.min(v.shape()[1] - 1)),
        v.index_axis(Axis(2), x.min(v.shape()[2] - 1)),
    ];
    let h = planes.iter().map(|p| p.shape()[0]).max().unwrap_or(0);
    let w = planes.iter().map(|p| p.shape()[1] + 1).sum::<usize>() - 1;
    let mut out = vec![0.0; h * w];
    let mut x0 = 0;
    for (k, p) in planes.iter().enumerate() {
        for ((r, c), val) in p.indexed_iter() {
            let row = if k == 0 { r } else { d - 1 - r };
            out[row * w + x0 + c] = *val;
        }
        x0 += p.shape()[1] + 1;
    }
    Slice {
        h,
        w,
        v: out,
        panels: 3,
    }
}

/// The lesion centre of sample `i` of masks `[N, 1, D, H, W]`: the rounded centroid of its
/// voxels. None for 2-D masks and empty ones.
pub fn lesion_centre(masks: &ArrayD<f32>, i: usize) -> Option<[usize; 3]> {
    if masks.ndim() != 5 || i >= masks.shape()[0] {
        return None;
    }
    let m = masks.index_axis(Axis(0), i);
    let (mut sum, mut n) = ([0.0f64; 3], 0.0f64);
    for (idx, &v) in m.indexed_iter() {
        if v > 0.5 {
            for k in 0..3 {
                sum[k] += idx[k + 1] as f64;
            }
            n += 1.0;
        }
    }
    (n > 0.0).then(|| sum.map(|s| (s / n).round() as usize))
}

const INFERNO: [[f32; 3]; 6] = [
    [0.0, 0.0, 4.0],
    [66.0, 10.0, 104.0],
    [147.0, 38.0, 103.0],
    [221.0, 81.0, 58.0],
    [252.0, 165.0, 10.0],
    [252.0, 255.0, 164.0],
];

/// A CSS `linear-gradient` of the heat maps' colour scale, from 0 (left) to the 99.5th
/// percentile of |attribution| (right): the gallery's colour bar.
pub fn colour_bar_css() -> String {
    let stops: Vec<String> = INFERNO
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let at = 100.0 * i as f32 / (INFERNO.len() - 1) as f32;
            format!("rgb({},{},{}) {at:.0}%", c[0], c[1], c[2])
        })
        .collect();
    format!("linear-gradient(to right,{})", stops.join(","))
}

fn colormap(t: f32) -> [f32; 3] {
    let t = t.clamp(0.0, 1.0) * (INFERNO.len() - 1) as f32;
    let i = (t.floor() as usize).min(INFERNO.len() - 2);
    let f = t - i as f32;
    let (a, b) = (INFERNO[i], INFERNO[i + 1]);
    [
        a[0] + (b[0] - a[0]) * f,
        a[1] + (b[1] - a[1]) * f,
        a[2] + (b[2] - a[2]) * f,
    ]
}

/// Integer upscaling so that the longer side of an image (of each panel, for a volume's
/// side-by-side slices) is about [`TARGET`] pixels.
fn upscale(s: &Slice) -> usize {
    (TARGET / s.h.max(s.w.div_ceil(s.panels.max(1))).max(1)).max(1)
}

/// Renders an RGB PNG of `image` (grey, in [0, 1]) with, optionally, a heat map of `heat`
/// (|values| normalised by their 99.5th percentile) and the contour of `mask`.
pub fn render_png(image: &Slice, heat: Option<&Slice>, mask: Option<&Slice>) -> Result<Vec<u8>> {
    let s = upscale(image);
    let (h, w) = (image.h * s, image.w * s);
    let lo = image
        .v
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f32::INFINITY, f32::min);
    let hi = image
        .v
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f32::NEG_INFINITY, f32::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let norm = heat.map(|hm| {
        let mut a: Vec<f32> =
            hm.v.iter()
                .map(|v| v.abs())
                .filter(|v| v.is_finite())
                .collect();
        a.sort_by(f32::total_cmp);
        let k = ((a.len() as f32 - 1.0) * 0.995).round().max(0.0) as usize;
        a.get(k).copied().filter(|v| *v > 0.0).unwrap_or(1.0)
    });
    let mut rgb = vec![0u8; h * w * 3];
    for y in 0..h {
        for x in 0..w {
            let (sy, sx) = (y / s, x / s);
            let g = ((image.v[sy * image.w + sx] - lo) / span).clamp(0.0, 1.0);
            let mut px = [g * 255.0; 3];
            if let (Some(hm), Some(n)) = (heat, norm)
                && hm.h == image.h
                && hm.w == image.w
            {
                let t = (hm.v[sy * hm.w + sx].abs() / n).clamp(0.0, 1.0);
                let c = colormap(t);
                let a = (0.2 + 0.8 * t.sqrt()).min(1.0);
                for k in 0..3 {
                    px[k] = px[k] * 0.55 * (1.0 - a) + c[k] * a;
                }
            }
            let o = (y * w + x) * 3;
            for k in 0..3 {
                rgb[o + k] = px[k].round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    if let Some(m) = mask.filter(|m| m.h == image.h && m.w == image.w) {
        let inside = |y: isize, x: isize| {
            y >= 0
                && x >= 0
                && (y as usize) < h
                && (x as usize) < w
                && m.v[(y as usize / s) * m.w + x as usize / s] > 0.5
        };
        for y in 0..h as isize {
            for x in 0..w as isize {
                if inside(y, x)
                    && (!inside(y - 1, x)
                        || !inside(y + 1, x)
                        || !inside(y, x - 1)
                        || !inside(y, x + 1))
                {
                    let o = (y as usize * w + x as usize) * 3;
                    rgb[o..o + 3].copy_from_slice(&[0, 230, 160]);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc
            .write_header()
            .map_err(|e| Error::invalid(format!("png: {e}")))?;
        wr.write_image_data(&rgb)
            .map_err(|e| Error::invalid(format!("png: {e}")))?;
        wr.finish()
            .map_err(|e| Error::invalid(format!("png: {e}")))?;
    }
    Ok(out)
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= c.len() {
                s.push(T[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// A `data:image/png;base64,…` URI.
pub fn data_uri(png: &[u8]) -> String {
    format!("data:image/png;base64,{}", base64(png))
}

/// One gallery row: a sample, its image and one map per method.
#[derive(Debug, Clone)]
pub struct GalleryRow {
    /// Sample index in the test split.
    pub sample: usize,
    /// Label of the sample.
    pub label: i64,
    /// Image with GT contour.
    pub image: String,
    /// (method, data URI or None when that method's map is missing).
    pub maps: Vec<(String, Option<String>)>,
}

/// Builds the gallery rows for `cell` and `samples` from a run folder, and whether the
/// samples are volumes, or explains why not.
pub fn build(
    run: &Path,
    cell: &str,
    methods: &[String],
    samples: &[(usize, i64)],
) -> Result<(Vec<GalleryRow>, bool)> {
    let layout = RunLayout::new(run);
    let test = split_dir(&layout.dataset(), Split::Test);
    let images = npy::read::<f32>(&test.join("images.npy"))?;
    let masks = npy::read::<u8>(&test.join("masks.npy"))?.mapv(f32::from);
    let at = layout.cell(cell);
    let maps: Vec<(String, Option<ArrayD<f32>>)> = methods
        .iter()
        .map(|m| (m.clone(), npy::read::<f32>(&at.attributions(m)).ok()))
        .collect();
    if maps.iter().all(|(_, a)| a.is_none()) {
        return Err(Error::invalid(format!(
            "{}: no attribution maps for the methods of the score table",
            at.dir().join("attributions").display()
        )));
    }
    let mut rows = Vec::new();
    for &(i, label) in samples {
        let centre = lesion_centre(&masks, i);
        let Some(img) = slice_of(&images, i, false, centre) else {
            continue;
        };
        let mask = slice_of(&masks, i, false, centre);
        let image = data_uri(&render_png(&img, None, mask.as_ref())?);
        let mut out = Vec::new();
        for (m, a) in &maps {
            let uri = match a.as_ref().and_then(|a| slice_of(a, i, true, centre)) {
                Some(hm) => Some(data_uri(&render_png(&img, Some(&hm), mask.as_ref())?)),
                None => None,
            };
            out.push((m.clone(), uri));
        }
        rows.push(GalleryRow {
            sample: i,
            label,
            image,
            maps: out,
        });
    }
    Ok((rows, images.ndim() == 5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn png_has_signature() {
        let img = Slice {
            h: 4,
            w: 4,
            v: (0..16).map(|v| v as f32 / 15.0).collect(),
            panels: 1,
        };
        let mut m = img.clone();
        m.v = vec![0.0; 16];
        m.v[5] = 1.0;
        let p = render_png(&img, Some(&img), Some(&m)).unwrap();
        assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
    }

    /// A volume is shown as its axial, coronal and sagittal slices through the lesion
    /// centre, each holding the lesion, depth upwards.
    #[test]
    fn volumes_show_three_slices_through_the_lesion() {
        let (d, h, w) = (4, 5, 6);
        let mut masks = ArrayD::<f32>::zeros(ndarray::IxDyn(&[1, 1, d, h, w]));
        masks[[0, 0, 1, 3, 4]] = 1.0;
        masks[[0, 0, 1, 3, 5]] = 1.0;
        let centre = lesion_centre(&masks, 0).unwrap();
        assert_eq!(centre, [1, 3, 5]); // 4.5 rounds away from zero
        let s = slice_of(&masks, 0, false, Some(centre)).unwrap();
        assert_eq!((s.h, s.w), (h.max(d), w + 1 + w + 1 + h));
        let at = |r: usize, c: usize| s.v[r * s.w + c];
        assert_eq!(at(3, 5), 1.0); // axial [y, x]
        assert_eq!(at(d - 1 - 1, w + 1 + 5), 1.0); // coronal [z (up), x]
        assert_eq!(at(d - 1 - 1, 2 * (w + 1) + 3), 1.0); // sagittal [z (up), y]
        assert_eq!(s.v.iter().sum::<f32>(), 5.0); // 2 axial, 2 coronal, 1 sagittal
        assert_eq!(
            lesion_centre(&ArrayD::zeros(ndarray::IxDyn(&[1, 1, 2, 2, 2])), 0),
            None
        );
    }
}

/// The gallery of one model.
#[derive(Debug, Clone)]
pub struct Gallery {
    /// The model's cell id.
    pub cell: String,
    /// Its test accuracy.
    pub accuracy: f64,
    /// Whether the samples are ones every model classified correctly (else: this model).
    pub every_model: bool,
    /// Whether the samples are volumes (shown as three orthogonal slices).
    pub volumes: bool,
    /// One row per sample.
    pub rows: Vec<GalleryRow>,
}
