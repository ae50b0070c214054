//! The procedural out-of-domain task in volumes: the images of [`crate::pretrain`]'s task,
//! drawn in three dimensions.

use crate::pretrain::{add_noise, pattern, polarity};
use ndarray::{Array3, ArrayD};
use rand::Rng;
use std::f32::consts::TAU;

/// Outlines of the objects in volumes: ball, cube, cone, three-bar cross.
const OUTLINES_3D: usize = 4;

/// One volume `[S, S, S]` of `class` with its object mask: a dead-leaves background of
/// occluding grey balls with power-law radii, and one object of random outline, size,
/// position, 3-D orientation and polarity whose surface pattern (in the object's frame) is
/// the class, at the same mean intensity for every class.
pub(crate) fn render3(class: usize, s: usize, rng: &mut impl Rng) -> (ArrayD<f32>, ArrayD<u8>) {
    let sf = s as f32;
    let mut img = Array3::<f32>::zeros((s, s, s));
    img.fill(0.3 + 0.4 * rng.random::<f32>());
    for _ in 0..40 {
        let c: [f32; 3] = std::array::from_fn(|_| rng.random::<f32>() * sf);
        let r = sf * (0.03 + 0.25 * rng.random::<f32>().powi(3));
        let g = 0.3 + 0.4 * rng.random::<f32>();
        paint_ball(&mut img, c, r, g);
    }
    let outline = rng.random_range(0..OUTLINES_3D);
    let r = sf * (0.18 + 0.14 * rng.random::<f32>());
    let centre: [f32; 3] =
        std::array::from_fn(|_| sf * 0.5 + (rng.random::<f32>() - 0.5) * (sf - 2.2 * r));
    let rot = random_rotation(rng);
    let (fill, amp) = polarity(rng);
    // pattern period in voxels (3–6 up to 32-voxel volumes): about 2–7 periods across an object
    let period = (3.0 + 3.0 * rng.random::<f32>()) * (sf / 32.0).max(1.0);
    let f = TAU / period;
    let phase: [f32; 3] = std::array::from_fn(|_| rng.random::<f32>() * TAU);
    let mut mask = Array3::<u8>::zeros((s, s, s));
    for ((z, y, x), v) in img.indexed_iter_mut() {
        let p = [z, y, x].map(|i| i as f32 + 0.5);
        let p: [f32; 3] = std::array::from_fn(|k| p[k] - centre[k]);
        // object frame in voxels, and in radii
        let u: [f32; 3] =
            std::array::from_fn(|k| rot[k][0] * p[0] + rot[k][1] * p[1] + rot[k][2] * p[2]);
        if inside(outline, u.map(|v| v / r)) {
            let phases: [f32; 3] = std::array::from_fn(|k| f * u[k] + phase[k]);
            *v = fill + amp * pattern(class, &phases);
            mask[[z, y, x]] = 1;
        }
    }
    add_noise(&mut img, rng);
    (img.into_dyn(), mask.into_dyn())
}

/// Sets the voxels whose centres lie in the ball of centre `c` and radius `r` to `g`,
/// visiting only the ball's bounding box.
fn paint_ball(img: &mut Array3<f32>, c: [f32; 3], r: f32, g: f32) {
    let s = img.shape().to_vec();
    let lo = |k: usize| (c[k] - r - 0.5).floor().max(0.0) as usize;
    let hi = |k: usize| ((c[k] + r + 0.5).ceil().max(0.0) as usize).min(s[k]);
    for z in lo(0)..hi(0) {
        for y in lo(1)..hi(1) {
            for x in lo(2)..hi(2) {
                let d = [z, y, x].map(|i| i as f32 + 0.5);
                let d2: f32 = (0..3).map(|k| (d[k] - c[k]) * (d[k] - c[k])).sum();
                if d2 <= r * r {
                    img[[z, y, x]] = g;
                }
            }
        }
    }
}

/// Whether a point at object coordinates `q` (in radii) lies in the outline: a unit ball, a
/// cube, a cone (apex up) or a cross of three bars.
fn inside(outline: usize, q: [f32; 3]) -> bool {
    let [a, b, c] = q;
    match outline {
        0 => a * a + b * b + c * c <= 1.0,
        1 => q.iter().all(|v| v.abs() <= 0.7),
        2 => (-0.6..=0.9).contains(&c) && (a * a + b * b).sqrt() <= 0.75 * (0.9 - c) / 1.5,
        _ => q.iter().filter(|v| v.abs() <= 0.3).count() >= 2 && q.iter().all(|v| v.abs() <= 0.9),
    }
}

/// A uniformly random rotation matrix (from a normalised Gaussian quaternion).
fn random_rotation(rng: &mut impl Rng) -> [[f32; 3]; 3] {
    let n = rand_distr::StandardNormal;
    let q: [f32; 4] = std::array::from_fn(|_| rand_distr::Distribution::sample(&n, rng));
    let norm = q
        .iter()
        .map(|v| v * v)
        .sum::<f32>()
        .sqrt()
        .max(f32::MIN_POSITIVE);
    mrixai_core::geometry::quaternion_rotation(q.map(|v| v / norm))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every class fills its object with the same mean intensity (the class is the pattern,
    /// not the brightness), and each volume has one object of plausible size.
    #[test]
    fn volume_classes_share_the_mean_and_hold_one_object() {
        let means = [0, 1, 2, 3].map(|class| {
            let mut sum = (0.0f64, 0usize);
            for i in 0..24 {
                let mut rng = mrixai_core::seed::rng(i, "ood3d-test");
                let (img, mask) = render3(class, 24, &mut rng);
                let n = mask.iter().filter(|&&m| m == 1).count();
                assert!(n > 24 && n < 24 * 24 * 24 / 4, "object of {n} voxels");
                for (v, m) in img.iter().zip(mask.iter()) {
                    if *m == 1 {
                        sum.0 += f64::from(*v);
                        sum.1 += 1;
                    }
                }
            }
            sum.0 / sum.1 as f64
        });
        let spread = means.iter().fold(0.0f64, |a, b| a.max(*b))
            - means.iter().fold(1.0f64, |a, b| a.min(*b));
        assert!(spread < 0.03, "class means {means:?}");
    }
}
