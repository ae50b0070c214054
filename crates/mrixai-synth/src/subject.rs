//! Working-resolution bases and virtual subjects.
//!
//! A [`Base`] is a source volume cropped to its brain and resampled once to the working grid
//! (the output in-plane size for 2-D, the output volume for 3-D). A [`Subject`] is a seeded
//! random variation of a base: a smooth elastic deformation plus a small rotation and scaling,
//! a smooth multiplicative bias field and an intensity gamma. Subjects are never stored as
//! volumes: their fields are separable 1-D tables evaluated where a sample needs them.

use crate::volume::{Source, gaussian_blur, quantile, trilinear, trilinear3};
use mrixai_core::seed::Rng;
use ndarray::{Array3, s};
use rand::Rng as _;

/// A source resampled to the working grid `[z, y, x]`.
#[derive(Debug, Clone)]
pub struct Base {
    /// Name of the source.
    pub name: String,
    /// T1 intensities scaled so bright brain tissue is about 1.
    pub t1: Vec<f32>,
    /// Brain probability in [0, 1].
    pub brain: Vec<f32>,
    /// White-matter probability in [0, 1].
    pub wm: Vec<f32>,
    /// Grid size `[z, y, x]`.
    pub dims: [usize; 3],
    /// Fraction of each axial level covered by brain (2-D level selection).
    pub level_brain: Vec<f32>,
    /// First and last axial level holding brain.
    pub brain_levels: [usize; 2],
}

impl Base {
    /// Crops `src` to its brain (plus a margin) and resamples it isotropically so the brain
    /// fits `grid_hw` in-plane (2-D: as many axial levels as the brain needs at that spacing)
    /// or the whole `[D, H, W]` grid (3-D).
    pub fn prepare(src: &Source, size: &[usize]) -> Base {
        let (lo, hi) = brain_box(src);
        let ext: Vec<f32> = (0..3)
            .map(|a| (hi[a] - lo[a] + 1) as f32 * src.spacing[a])
            .collect();
        let pad = 1.08f32;
        let (step, dims) = if size.len() == 2 {
            let step = (ext[1] / size[0] as f32).max(ext[2] / size[1] as f32) * pad;
            let nz = ((ext[0] / step).ceil() as usize).max(1);
            (step, [nz, size[0], size[1]])
        } else {
            let step = (0..3)
                .map(|a| ext[a] / size[a] as f32)
                .fold(0.0f32, f32::max)
                * pad;
            (step, [size[0], size[1], size[2]])
        };
        let crop = |v: &Array3<f32>| {
            v.slice(s![lo[0]..=hi[0], lo[1]..=hi[1], lo[2]..=hi[2]])
                .to_owned()
        };
        let factor: Vec<f32> = (0..3).map(|a| step / src.spacing[a]).collect();
        let sigma = [0.4 * factor[0], 0.4 * factor[1], 0.4 * factor[2]]
            .map(|s| if s > 0.6 { s } else { 0.0 });
        let t1 = gaussian_blur(&crop(&src.t1), sigma);
        let brain = gaussian_blur(&crop(&src.brain), sigma);
        let wm = gaussian_blur(&crop(&src.wm), sigma);
        let cd = [t1.shape()[0], t1.shape()[1], t1.shape()[2]];
        let centre: Vec<f32> = (0..3).map(|a| (cd[a] as f32 - 1.0) / 2.0).collect();
        let n = dims[0] * dims[1] * dims[2];
        let (mut ot, mut ob, mut ow) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
        let (t1s, bs, ws) = (
            t1.as_slice().unwrap_or(&[]),
            brain.as_slice().unwrap_or(&[]),
            wm.as_slice().unwrap_or(&[]),
        );
        for z in 0..dims[0] {
            for y in 0..dims[1] {
                for x in 0..dims[2] {
                    let p = [z, y, x];
                    let q: Vec<f32> = (0..3)
                        .map(|a| {
                            centre[a] + (p[a] as f32 - (dims[a] as f32 - 1.0) / 2.0) * factor[a]
                        })
                        .collect();
                    let i = (z * dims[1] + y) * dims[2] + x;
                    ot[i] = trilinear(t1s, cd, q[0], q[1], q[2]);
                    ob[i] = trilinear(bs, cd, q[0], q[1], q[2]);
                    ow[i] = trilinear(ws, cd, q[0], q[1], q[2]);
                }
            }
        }
        let bright: Vec<f32> = ot
            .iter()
            .zip(&ob)
            .filter(|(_, b)| **b >= 0.5)
            .map(|(t, _)| *t)
            .collect();
        let reference = quantile(&bright, 0.99).max(f32::EPSILON);
        for v in &mut ot {
            *v = (*v / reference).max(0.0);
        }
        let plane = dims[1] * dims[2];
        let level_brain: Vec<f32> = (0..dims[0])
            .map(|z| {
                ob[z * plane..(z + 1) * plane]
                    .iter()
                    .filter(|&&b| b >= 0.5)
                    .count() as f32
                    / plane as f32
            })
            .collect();
        let first = level_brain.iter().position(|&f| f > 0.0).unwrap_or(0);
        let last = level_brain
            .iter()
            .rposition(|&f| f > 0.0)
            .unwrap_or(dims[0].saturating_sub(1));
        Base {
            name: src.name.clone(),
            t1: ot,
            brain: ob,
            wm: ow,
            dims,
            level_brain,
            brain_levels: [first, last],
        }
    }

    /// Axial levels usable for slices: inside `level_range` (fractions of the brain's extent)
    /// and with at least `min_brain` of the slice covered by brain.
    pub fn valid_levels(&self, level_range: [f32; 2], min_brain: f32) -> Vec<usize> {
        let [a, b] = self.brain_levels;
        let span = (b - a) as f32;
        (a..=b)
            .filter(|&z| {
                let f = if span > 0.0 {
                    (z - a) as f32 / span
                } else {
                    0.5
                };
                f >= level_range[0] && f <= level_range[1] && self.level_brain[z] >= min_brain
            })
            .collect()
    }

    /// Relative position (0 = lowest, 1 = highest brain level) of axial level `z`.
    pub fn level_fraction(&self, z: usize) -> f32 {
        let [a, b] = self.brain_levels;
        if b > a {
            (z as f32 - a as f32) / (b - a) as f32
        } else {
            0.5
        }
    }
}

/// A smooth random field on the working grid, a sum of products of 1-D smooth random
/// functions (low-frequency cosine series), bounded by 1 in absolute value.
#[derive(Debug, Clone)]
pub struct SmoothField {
    terms: Vec<(f32, [Vec<f32>; 3])>,
}

fn smooth_table(rng: &mut Rng, n: usize, kmax: usize) -> Vec<f32> {
    let coefs: Vec<(f32, f32, f32)> = (1..=kmax)
        .map(|k| {
            (
                rng.random_range(-1.0f32..1.0) / k as f32,
                k as f32,
                rng.random_range(0.0..std::f32::consts::TAU),
            )
        })
        .collect();
    let denom = (n.max(2) - 1) as f32;
    let mut t: Vec<f32> = (0..n)
        .map(|i| {
            coefs
                .iter()
                .map(|(a, k, ph)| a * (std::f32::consts::PI * k * i as f32 / denom + ph).cos())
                .sum()
        })
        .collect();
    let m = t.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    for v in &mut t {
        *v /= m;
    }
    t
}

impl SmoothField {
    /// Draws a field on a grid of `dims` whose shortest wavelength is `wavelength` of a side.
    pub fn random(rng: &mut Rng, dims: [usize; 3], wavelength: f32, terms: usize) -> Self {
        let kmax = ((2.0 / wavelength).floor() as usize).clamp(1, 16);
        let mut terms: Vec<(f32, [Vec<f32>; 3])> = (0..terms)
            .map(|_| {
                let c = rng.random_range(-1.0f32..1.0);
                (
                    c,
                    [
                        smooth_table(rng, dims[0], kmax),
                        smooth_table(rng, dims[1], kmax),
                        smooth_table(rng, dims[2], kmax),
                    ],
                )
            })
            .collect();
        // Each table peaks at 1, so the coefficients' absolute sum bounds the field.
        let bound = terms.iter().map(|t| t.0.abs()).sum::<f32>().max(1e-6);
        for t in &mut terms {
            t.0 /= bound;
        }
        SmoothField { terms }
    }

    /// Value at grid point `(z, y, x)`.
    #[inline]
    pub fn at(&self, z: usize, y: usize, x: usize) -> f32 {
        self.terms
            .iter()
            .map(|(c, [tz, ty, tx])| c * tz[z] * ty[y] * tx[x])
            .sum()
    }
}

/// One virtual subject.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Subject id (unique in the dataset).
    pub id: usize,
    /// Index of its base.
    pub base: usize,
    /// Elastic displacement fields (z, y, x), in working voxels.
    disp: [SmoothField; 3],
    /// Largest displacement in voxels.
    amp: f32,
    /// cos, sin of the in-plane rotation.
    rot: (f32, f32),
    /// Isotropic scale (head size).
    zoom: f32,
    /// Bias field (log-amplitude).
    bias: SmoothField,
    bias_strength: f32,
    /// Intensity gamma.
    pub gamma: f32,
    dims: [usize; 3],
}

impl Subject {
    /// Draws subject `id` of base `base` (grid `dims`) from `rng` with the config's variability.
    pub fn random(
        id: usize,
        base: usize,
        dims: [usize; 3],
        cfg: &crate::SubjectConfig,
        rng: &mut Rng,
    ) -> Subject {
        let side = dims[1].max(dims[2]) as f32;
        let disp = [
            SmoothField::random(rng, dims, cfg.deform_wavelength, 3),
            SmoothField::random(rng, dims, cfg.deform_wavelength, 3),
            SmoothField::random(rng, dims, cfg.deform_wavelength, 3),
        ];
        let angle = if cfg.rotate_deg > 0.0 {
            rng.random_range(-cfg.rotate_deg..=cfg.rotate_deg)
        } else {
            0.0
        };
        let angle = angle.to_radians();
        let zoom = 1.0
            + if cfg.scale_jitter > 0.0 {
                rng.random_range(-cfg.scale_jitter..=cfg.scale_jitter)
            } else {
                0.0
            };
        let bias = SmoothField::random(rng, dims, 1.0, 2);
        let gamma = rng.random_range(cfg.gamma[0]..=cfg.gamma[1]);
        Subject {
            id,
            base,
            disp,
            amp: cfg.deform_amplitude * side,
            rot: (angle.cos(), angle.sin()),
            zoom,
            bias,
            bias_strength: cfg.bias_strength,
            gamma,
            dims,
        }
    }

    /// Where output grid point `(z, y, x)` samples the base.
    #[inline]
    pub fn map(&self, z: usize, y: usize, x: usize) -> (f32, f32, f32) {
        let cy = (self.dims[1] as f32 - 1.0) / 2.0;
        let cx = (self.dims[2] as f32 - 1.0) / 2.0;
        let (dy, dx) = (y as f32 - cy, x as f32 - cx);
        let (c, s) = self.rot;
        let ry = (c * dy - s * dx) / self.zoom;
        let rx = (s * dy + c * dx) / self.zoom;
        (
            z as f32 + self.amp * self.disp[0].at(z, y, x),
            cy + ry + self.amp * self.disp[1].at(z, y, x),
            cx + rx + self.amp * self.disp[2].at(z, y, x),
        )
    }

    /// Multiplicative bias at grid point `(z, y, x)`.
    #[inline]
    pub fn bias(&self, z: usize, y: usize, x: usize) -> f32 {
        (self.bias_strength * self.bias.at(z, y, x)).exp()
    }

    /// Renders the subject's tissue on the axial levels `zs` of the grid: returns
    /// (intensity after bias and gamma, brain probability, WM probability), each
    /// `zs.len() × H × W`.
    pub fn render(&self, base: &Base, zs: &[usize]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let (h, w) = (base.dims[1], base.dims[2]);
        let n = zs.len() * h * w;
        let (mut t, mut b, mut m) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
        let mut i = 0;
        for &z in zs {
            for y in 0..h {
                for x in 0..w {
                    let (qz, qy, qx) = self.map(z, y, x);
                    let [v, bv, mv] =
                        trilinear3([&base.t1, &base.brain, &base.wm], base.dims, qz, qy, qx);
                    t[i] = (v * self.bias(z, y, x)).max(0.0).powf(self.gamma);
                    b[i] = bv;
                    m[i] = mv;
                    i += 1;
                }
            }
        }
        (t, b, m)
    }
}

/// The bounding box (inclusive, per axis z, y, x) of a source's brain, 2 voxels wider on
/// each side within the volume.
fn brain_box(src: &Source) -> ([usize; 3], [usize; 3]) {
    let sh = src.brain.shape();
    let (mut lo, mut hi) = ([usize::MAX; 3], [0usize; 3]);
    for ((z, y, x), &b) in src.brain.indexed_iter() {
        if b >= 0.5 {
            for (a, v) in [z, y, x].into_iter().enumerate() {
                lo[a] = lo[a].min(v);
                hi[a] = hi[a].max(v);
            }
        }
    }
    let margin = 2usize;
    for a in 0..3 {
        lo[a] = lo[a].saturating_sub(margin);
        hi[a] = (hi[a] + margin).min(sh[a] - 1);
    }
    (lo, hi)
}
