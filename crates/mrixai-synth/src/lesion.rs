//! Lesion shapes, their parameters and their footprints.
//!
//! Every lesion draws its area, intensity change, edge softness, elongation and orientation
//! from the same distributions whatever its shape, and its radius is then calibrated so that the
//! rasterised footprint hits the drawn area, so that only the boundary shape differs between
//! classes.

use crate::config::{LesionConfig, Polarity};
use mrixai_core::seed::Rng;
use rand::Rng as _;
use std::f32::consts::{PI, TAU};

/// The shape family of a lesion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// Ellipse / ellipsoid with a smooth edge (benchmark class 0).
    Regular,
    /// Lobed, noise-perturbed boundary (benchmark class 1).
    Irregular,
    /// Gaussian blob (presence task).
    Blob,
    /// Ring / shell (presence task).
    Ring,
}

impl Shape {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Regular => "regular",
            Shape::Irregular => "irregular",
            Shape::Blob => "blob",
            Shape::Ring => "ring",
        }
    }
}

/// One radial harmonic of an irregular boundary: `amp · cos(freq · t + phase)` where `t` is
/// the polar angle (2-D) or `π · (u · dir)` for a unit direction `u` (3-D).
#[derive(Debug, Clone, Copy)]
struct Harmonic {
    amp: f32,
    freq: f32,
    phase: f32,
    dir: [f32; 3],
    cos_phase: f32,
    sin_phase: f32,
}

impl Harmonic {
    fn new(amp: f32, freq: f32, phase: f32, dir: [f32; 3]) -> Self {
        Harmonic {
            amp,
            freq,
            phase,
            dir,
            cos_phase: phase.cos(),
            sin_phase: phase.sin(),
        }
    }
}

/// Drawn parameters of one lesion.
#[derive(Debug, Clone)]
pub struct LesionParams {
    /// Shape family.
    pub shape: Shape,
    /// Area (2-D, pixels) or volume (3-D, voxels) the footprint is scaled to.
    pub target_area: f32,
    /// Signed relative intensity change at the core (negative darkens).
    pub contrast: f32,
    /// Edge sigma as a fraction of the equivalent radius.
    pub softness: f32,
    /// Long / short axis ratio.
    pub aspect: f32,
    /// Rotation (row-major 3×3; 2-D uses the leading 2×2 of the in-plane part).
    rot: [[f32; 3]; 3],
    harmonics: Vec<Harmonic>,
    /// Interior texture: plane waves (direction, wavelength in units of the equivalent
    /// radius, phase).
    texture: Vec<([f32; 3], f32, f32)>,
    /// Relative amplitude of the interior texture.
    pub heterogeneity: f32,
    /// Number of spatial dimensions (2 or 3).
    pub ndim: usize,
    /// Base radius, calibrated so the rasterised footprint covers the target area.
    radius: f32,
}

fn uniform(rng: &mut Rng, r: [f32; 2]) -> f32 {
    if r[1] > r[0] {
        rng.random_range(r[0]..=r[1])
    } else {
        r[0]
    }
}

fn random_unit(rng: &mut Rng) -> [f32; 3] {
    loop {
        let v = [
            rng.random_range(-1.0f32..1.0),
            rng.random_range(-1.0f32..1.0),
            rng.random_range(-1.0f32..1.0),
        ];
        let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        if n > 0.05 && n <= 1.0 {
            return [v[0] / n, v[1] / n, v[2] / n];
        }
    }
}

fn random_rotation(rng: &mut Rng, ndim: usize) -> [[f32; 3]; 3] {
    if ndim == 2 {
        let a = rng.random_range(0.0..PI);
        let (c, s) = (a.cos(), a.sin());
        return [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]];
    }
    // Random unit quaternion → rotation matrix.
    let q = loop {
        let v: [f32; 4] = [
            rng.random_range(-1.0f32..1.0),
            rng.random_range(-1.0f32..1.0),
            rng.random_range(-1.0f32..1.0),
            rng.random_range(-1.0f32..1.0),
        ];
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if n > 0.05 && n <= 1.0 {
            break [v[0] / n, v[1] / n, v[2] / n, v[3] / n];
        }
    };
    mrixai_core::geometry::quaternion_rotation(q)
}

/// A smooth random boundary: `lobes` radial harmonics (2-D: frequencies 3, 4, …; 3-D: random
/// directions) with random amplitudes falling as 1/√k and random phases, scaled so that their
/// amplitudes sum to `scale` times an irregularity drawn from the config. No harmonic
/// dominates, so no boundary is a regular star.
fn boundary(cfg: &LesionConfig, ndim: usize, scale: f32, rng: &mut Rng) -> Vec<Harmonic> {
    let n = rng.random_range(cfg.lobes[0]..=cfg.lobes[1]);
    let total = uniform(rng, cfg.irregularity) * scale;
    let mut h: Vec<Harmonic> = (0..n)
        .map(|j| {
            let weight = rng.random_range(0.4f32..1.0) / (1.0 + j as f32).sqrt();
            if ndim == 2 {
                Harmonic::new(weight, (j + 3) as f32, rng.random_range(0.0..TAU), [0.0; 3])
            } else {
                let freq = rng.random_range(1.5f32..2.5) + 0.5 * j as f32;
                Harmonic::new(weight, freq, rng.random_range(0.0..TAU), random_unit(rng))
            }
        })
        .collect();
    let sum: f32 = h.iter().map(|x| x.amp).sum();
    for x in &mut h {
        x.amp *= total / sum.max(1e-6);
    }
    h
}

impl LesionParams {
    /// Relative interior texture in [-1, 1] at offset `p` (`[z, y, x]`, voxels) from the
    /// lesion's centre: the mean of four plane waves of a third to half its radius.
    pub fn texture_at(&self, p: [f32; 3]) -> f32 {
        let r = self.equivalent_radius().max(1.0);
        let sum: f32 = self
            .texture
            .iter()
            .map(|(d, wl, ph)| {
                (TAU * (p[0] * d[0] + p[1] * d[1] + p[2] * d[2]) / (wl * r) + ph).cos()
            })
            .sum();
        sum / self.texture.len().max(1) as f32
    }

    /// Draws a lesion of `shape` for an image of `image_voxels` voxels in `ndim` dimensions.
    /// The shape-independent parameters are drawn first, in the same order for every shape,
    /// so their distributions are identical across classes.
    pub fn draw(
        cfg: &LesionConfig,
        shape: Shape,
        ndim: usize,
        image_voxels: usize,
        rng: &mut Rng,
    ) -> Self {
        let target_area = uniform(rng, cfg.area_fraction) * image_voxels as f32;
        let magnitude = uniform(rng, cfg.contrast);
        let darken = match cfg.polarity {
            Polarity::Darken => true,
            Polarity::Brighten => false,
            Polarity::Both => rng.random_bool(0.5),
        };
        let softness = uniform(rng, cfg.edge_softness);
        let aspect = uniform(rng, cfg.aspect);
        let rot = random_rotation(rng, ndim);
        let heterogeneity = uniform(rng, cfg.heterogeneity);
        let texture = (0..4)
            .map(|_| {
                let mut d = random_unit(rng);
                if ndim == 2 {
                    let n = (d[1] * d[1] + d[2] * d[2]).sqrt().max(1e-6);
                    d = [0.0, d[1] / n, d[2] / n];
                }
                (d, rng.random_range(0.3f32..0.6), rng.random_range(0.0..TAU))
            })
            .collect();
        // Shape-specific draws come last, so they never shift the shared parameters above.
        // Both classes get a smooth random boundary from the same spectrum; regular lesions
        // get a fraction of it, so the classes differ by degree of irregularity.
        let harmonics = match shape {
            Shape::Irregular => boundary(cfg, ndim, 1.0, rng),
            Shape::Regular => boundary(cfg, ndim, 0.6 * cfg.difficulty, rng),
            _ => Vec::new(),
        };
        let mut p = LesionParams {
            shape,
            target_area,
            contrast: if darken { -magnitude } else { magnitude },
            softness,
            aspect,
            rot,
            harmonics,
            texture,
            heterogeneity,
            ndim,
            radius: 0.0,
        };
        p.radius = p.calibrate([0.2, 0.3, -0.2], p.equivalent_radius());
        p
    }

    /// Relative boundary radius in unit direction `u` of the normalised frame.
    #[inline]
    fn radial(&self, u: [f32; 3]) -> f32 {
        if self.harmonics.is_empty() {
            return 1.0;
        }
        let g: f32 = if self.ndim == 2 {
            // cos(kθ + φ) = cos kθ cos φ − sin kθ sin φ, with cos kθ, sin kθ by recurrence from
            // cos θ = u_x, sin θ = u_y (integer frequencies in 2-D).
            let (c1, s1) = (u[2], u[1]);
            let mut cs = [(1.0f32, 0.0f32); 16];
            for k in 1..16 {
                let (c, s) = cs[k - 1];
                cs[k] = (c * c1 - s * s1, s * c1 + c * s1);
            }
            1.0 + self
                .harmonics
                .iter()
                .map(|h| {
                    let (c, s) = cs[(h.freq as usize).min(15)];
                    h.amp * (c * h.cos_phase - s * h.sin_phase)
                })
                .sum::<f32>()
        } else {
            1.0 + self
                .harmonics
                .iter()
                .map(|h| {
                    h.amp
                        * (PI * h.freq * (u[0] * h.dir[0] + u[1] * h.dir[1] + u[2] * h.dir[2])
                            + h.phase)
                            .cos()
                })
                .sum::<f32>()
        };
        g.max(0.25)
    }

    fn max_radial(&self) -> f32 {
        1.0 + self.harmonics.iter().map(|h| h.amp.abs()).sum::<f32>()
    }

    /// Equivalent radius of the target area.
    pub fn equivalent_radius(&self) -> f32 {
        if self.ndim == 2 {
            (self.target_area / PI).sqrt()
        } else {
            (3.0 * self.target_area / (4.0 * PI)).cbrt()
        }
    }

    /// Long and short semi-axis factors (area/volume preserving).
    fn axes(&self) -> (f32, f32) {
        if self.ndim == 2 {
            (self.aspect.sqrt(), 1.0 / self.aspect.sqrt())
        } else {
            (self.aspect.powf(2.0 / 3.0), self.aspect.powf(-1.0 / 3.0))
        }
    }

    fn render_at(&self, centre: [f32; 3], dims: [usize; 3], r0: f32) -> Footprint {
        let (long, short) = self.axes();
        let sigma = (self.softness * self.equivalent_radius()).max(1e-3);
        let reach = r0 * self.max_radial() * long + 4.0 * sigma + 2.0;
        let lo = |a: usize| ((centre[a] - reach).floor().max(0.0)) as usize;
        let hi = |a: usize| {
            ((centre[a] + reach).ceil().max(0.0) as usize).min(dims[a].saturating_sub(1))
        };
        let (zr, yr, xr) = if self.ndim == 2 {
            (
                (centre[0] as usize, centre[0] as usize),
                (lo(1), hi(1)),
                (lo(2), hi(2)),
            )
        } else {
            ((lo(0), hi(0)), (lo(1), hi(1)), (lo(2), hi(2)))
        };
        let mut fp = Footprint::default();
        if dims.contains(&0) {
            return fp;
        }
        for z in zr.0..=zr.1 {
            for y in yr.0..=yr.1 {
                for x in xr.0..=xr.1 {
                    let p = [
                        if self.ndim == 2 {
                            0.0
                        } else {
                            z as f32 - centre[0]
                        },
                        y as f32 - centre[1],
                        x as f32 - centre[2],
                    ];
                    // Local frame: q = Rᵀ p, then stretch so the long axis is axis 0 (3-D) / 1 (2-D).
                    let r = &self.rot;
                    let mut q = [
                        r[0][0] * p[0] + r[1][0] * p[1] + r[2][0] * p[2],
                        r[0][1] * p[0] + r[1][1] * p[1] + r[2][1] * p[2],
                        r[0][2] * p[0] + r[1][2] * p[1] + r[2][2] * p[2],
                    ];
                    if self.ndim == 2 {
                        q[1] /= long;
                        q[2] /= short;
                    } else {
                        q[0] /= long;
                        q[1] /= short;
                        q[2] /= short;
                    }
                    let norm = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2]).sqrt();
                    let u = if norm > 0.0 {
                        [q[0] / norm, q[1] / norm, q[2] / norm]
                    } else {
                        [0.0, 0.0, 1.0]
                    };
                    let (w, inside) = match self.shape {
                        Shape::Regular | Shape::Irregular => {
                            let d = norm - r0 * self.radial(u);
                            (1.0 / (1.0 + (d / sigma).exp()), d <= 0.0)
                        }
                        Shape::Blob => {
                            let t = norm / r0;
                            ((-std::f32::consts::LN_2 * t * t).exp(), t <= 1.0)
                        }
                        Shape::Ring => {
                            let d = (norm - 0.7 * r0).abs() - 0.3 * r0;
                            (1.0 / (1.0 + (d / (sigma * 0.3).max(1e-3)).exp()), d <= 0.0)
                        }
                    };
                    if w < 1e-3 && !inside {
                        continue;
                    }
                    fp.index.push((z * dims[1] + y) * dims[2] + x);
                    fp.weight.push(w.clamp(0.0, 1.0));
                    fp.inside.push(inside);
                    if inside {
                        fp.area += 1;
                    }
                }
            }
        }
        fp
    }

    /// Finds the base radius whose footprint hits the target area, on a free canvas around a
    /// centre with the given sub-pixel offset (`[z, y, x]`, each in [-0.5, 0.5]), starting from
    /// `start`: damped secant steps on `area ∝ r^ndim`, then bisection of the bracket of radii
    /// around the target, keeping the best.
    fn calibrate(&self, offset: [f32; 3], start: f32) -> f32 {
        let (long, _) = self.axes();
        let req = self.equivalent_radius();
        let sigma = (self.softness * req).max(1e-3);
        let half = (1.25 * req * self.max_radial() * long + 4.0 * sigma + 3.0).ceil();
        let side = 2 * half as usize + 1;
        let (dims, centre) = if self.ndim == 2 {
            ([1, side, side], [0.0, half + offset[1], half + offset[2]])
        } else {
            (
                [side, side, side],
                [half + offset[0], half + offset[1], half + offset[2]],
            )
        };
        let exp = 1.0 / self.ndim as f32;
        let err = |a: usize| (a as f32 - self.target_area).abs();
        let tol = (0.003 * self.target_area).max(0.5);
        let (mut best_r, mut best_err) = (start, f32::INFINITY);
        // The inside test `|q| <= r0·radial(u)` makes the area monotone in r0. Keep a bracket:
        // the largest radius seen with too small an area, the smallest with too large an area.
        let (mut below, mut above) = (0.0f32, f32::INFINITY);
        let mut r0 = start;
        for step in 0..24 {
            let area = self.render_at(centre, dims, r0).area;
            if err(area) < best_err {
                best_err = err(area);
                best_r = r0;
            }
            if best_err <= tol {
                break;
            }
            if (area as f32) < self.target_area {
                below = below.max(r0);
            } else {
                above = above.min(r0);
            }
            if above.is_finite() && above - below <= 1e-4 * above {
                // Adjacent discrete steps: the target falls inside one jump of the area.
                break;
            }
            r0 = if step < 3 && area > 0 {
                // Area grows as r0^ndim: damped secant steps get near in a few renders.
                r0 * (self.target_area / area as f32).powf(exp * 0.8)
            } else if above.is_finite() {
                0.5 * (below + above)
            } else {
                r0 * 1.25
            };
            // Secant steps must stay inside the bracket.
            if r0 <= below || r0 >= above {
                r0 = if above.is_finite() {
                    0.5 * (below + above)
                } else {
                    below * 1.25
                };
            }
        }
        best_r
    }

    /// Rasterises the lesion centred at `centre` (`[z, y, x]`; `z` is the plane index in 2-D)
    /// on a grid of `dims`. The radius is calibrated to the target area for this centre's
    /// sub-pixel position, so the footprint covers the target area wherever it is placed (unless
    /// the grid border cuts it).
    pub fn render(&self, centre: [f32; 3], dims: [usize; 3]) -> Footprint {
        let offset = centre.map(|c| c - c.round());
        let r0 = self.calibrate(offset, self.radius);
        self.render_at(centre, dims, r0)
    }
}

/// The rasterised footprint of a lesion: flat voxel indices with their weight and whether
/// they are inside the binary mask.
#[derive(Debug, Clone, Default)]
pub struct Footprint {
    /// Flat indices into the grid.
    pub index: Vec<usize>,
    /// Continuous weight in [0, 1].
    pub weight: Vec<f32>,
    /// Inside the binary lesion mask.
    pub inside: Vec<bool>,
    /// Number of inside voxels.
    pub area: usize,
}

impl Footprint {
    /// Centre of mass of the inside voxels, `[z, y, x]`.
    pub fn centroid(&self, dims: [usize; 3]) -> [f32; 3] {
        let mut c = [0f64; 3];
        for (&i, &ins) in self.index.iter().zip(&self.inside) {
            if ins {
                c[0] += (i / (dims[1] * dims[2])) as f64;
                c[1] += ((i / dims[2]) % dims[1]) as f64;
                c[2] += (i % dims[2]) as f64;
            }
        }
        let n = self.area.max(1) as f64;
        [(c[0] / n) as f32, (c[1] / n) as f32, (c[2] / n) as f32]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SynthConfig;
    use mrixai_core::seed::rng;

    #[test]
    fn footprints_hit_the_target_area() {
        let cfg = SynthConfig::quick().lesion;
        for (ndim, dims) in [(2, [1, 96, 96]), (3, [48, 48, 48])] {
            for shape in [Shape::Regular, Shape::Irregular, Shape::Blob, Shape::Ring] {
                let mut r = rng(3, &format!("{ndim}{shape:?}"));
                for _ in 0..20 {
                    let p = LesionParams::draw(
                        &cfg,
                        shape,
                        ndim,
                        64 * 64 * if ndim == 3 { 8 } else { 1 },
                        &mut r,
                    );
                    let c = if ndim == 2 {
                        [0.0, 48.3, 47.8]
                    } else {
                        [24.2, 23.9, 24.4]
                    };
                    let fp = p.render(c, dims);
                    let rel = (fp.area as f32 - p.target_area).abs() / p.target_area;
                    assert!(
                        rel < 0.1,
                        "{shape:?} {ndim}-D: area {} vs target {}",
                        fp.area,
                        p.target_area
                    );
                    assert!(fp.weight.iter().all(|w| (0.0..=1.0).contains(w)));
                }
            }
        }
    }
}
