//! How concentrated a map is, without the model: [`sparseness`] (Gini index, Chalasani et
//! al. 2020) and [`complexity`] (entropy, Bhatt et al. 2020), per sample, of `|map|` over all
//! its values (channels included).

use mrixai_core::ViewF;
use ndarray::Axis;

/// Each map's `|values|` divided by its largest (Quantus divides by the largest of the whole
/// batch; per map, a sample's score does not depend on the others).
fn scaled(map: ViewF) -> Vec<f64> {
    let a: Vec<f64> = map.iter().map(|&v| f64::from(v.abs())).collect();
    let max = a.iter().copied().fold(0.0, f64::max);
    match max > 0.0 {
        true => a.iter().map(|v| v / max).collect(),
        false => a,
    }
}

/// The Gini index of each map `[N, …]`: of `|a|/max|a| + 1e-7` sorted ascending,
/// `Σᵢ (2i − n − 1)·a₍ᵢ₎ / (n·Σ a)`; 0 for a flat map, towards 1 as the mass concentrates
/// (higher = sparser); none for a 0-d array. Quantus `Sparseness`.
pub fn sparseness(maps: ViewF) -> Vec<f64> {
    if maps.ndim() == 0 {
        return Vec::new();
    }
    (maps.axis_iter(Axis(0)))
        .map(|m| {
            let mut a: Vec<f64> = scaled(m).into_iter().map(|v| v + 1e-7).collect();
            a.sort_by(f64::total_cmp);
            let n = a.len() as f64;
            let weighted: f64 = (a.iter().enumerate())
                .map(|(i, v)| (2.0 * (i + 1) as f64 - n - 1.0) * v)
                .sum();
            weighted / (n * a.iter().sum::<f64>())
        })
        .collect()
}

/// The entropy of each map `[N, …]` as a distribution, `p = |a|/Σ|a|`:
/// `−Σ p·ln(p + 1e-12)` (lower = simpler); NaN for a map that is zero everywhere. Quantus
/// `Complexity`.
pub fn complexity(maps: ViewF) -> Vec<f64> {
    if maps.ndim() == 0 {
        return Vec::new();
    }
    (maps.axis_iter(Axis(0)))
        .map(|m| {
            let a = scaled(m);
            let total: f64 = a.iter().sum();
            -a.iter()
                .map(|v| v / total)
                .map(|p| p * (p + 1e-12).ln())
                .sum::<f64>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn a_flat_map_is_not_sparse_and_has_the_largest_entropy() {
        let flat = ArrayD::from_elem(IxDyn(&[1, 1, 4, 4]), 0.5f32);
        let mut one = ArrayD::zeros(IxDyn(&[1, 1, 4, 4]));
        one[[0, 0, 1, 2]] = -3.0f32;
        assert!(sparseness(flat.view())[0].abs() < 1e-12);
        assert!(sparseness(one.view())[0] > 0.93);
        assert!((complexity(flat.view())[0] - 16f64.ln()).abs() < 1e-9);
        assert!(complexity(one.view())[0].abs() < 1e-9);
        assert!(complexity(ArrayD::<f32>::zeros(IxDyn(&[1, 3])).view())[0].is_nan());
    }
}
