//! Channel pooling of multi-channel attribution maps `[N, C, …] → [N, …]`, with the
//! poolings of the CLEVR-XAI benchmark (Arras et al., 2022).

use mrixai_core::{ArrayF, Error, Result, ViewF};

/// How the channel axis (axis 1) of an attribution map is reduced to one value per voxel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooling {
    /// |Σ_c R_c|: sum over channels, then absolute value (default).
    #[default]
    SumAbs,
    /// max(Σ_c R_c, 0): sum over channels, positive part.
    SumPos,
    /// max_c |R_c|.
    MaxNorm,
    /// Σ_c |R_c|.
    L1,
    /// √(Σ_c R_c²).
    L2,
    /// Σ_c R_c².
    L2Sq,
}

impl Pooling {
    /// All poolings with their names.
    pub const ALL: [(&'static str, Pooling); 6] = [
        ("sum_abs", Pooling::SumAbs),
        ("sum_pos", Pooling::SumPos),
        ("max_norm", Pooling::MaxNorm),
        ("l1", Pooling::L1),
        ("l2", Pooling::L2),
        ("l2_sq", Pooling::L2Sq),
    ];

    /// The pooling's name (`sum_abs`, …).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("sum_abs", |(n, _)| n)
    }

    /// Pools the values of one voxel across channels.
    pub fn reduce(self, values: impl Iterator<Item = f32>) -> f32 {
        match self {
            Pooling::SumAbs => values.sum::<f32>().abs(),
            Pooling::SumPos => values.sum::<f32>().max(0.0),
            Pooling::MaxNorm => values.map(f32::abs).fold(0.0, f32::max),
            Pooling::L1 => values.map(f32::abs).sum(),
            Pooling::L2 => values.map(|v| v * v).sum::<f32>().sqrt(),
            Pooling::L2Sq => values.map(|v| v * v).sum(),
        }
    }
}

impl std::str::FromStr for Pooling {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, p)| *p)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
                Error::invalid(format!(
                    "unknown pooling `{s}` (expected one of {})",
                    names.join(", ")
                ))
            })
    }
}

impl std::fmt::Display for Pooling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Pools axis 1 (channels) of `attr` `[N, C, …]`, giving `[N, …]`.
pub fn pool_channels(attr: ViewF, pooling: Pooling) -> Result<ArrayF> {
    if attr.ndim() < 3 {
        return Err(Error::shape(
            "attributions",
            "[N, C, …spatial] with at least one spatial axis",
            attr.shape(),
        ));
    }
    let shape = attr.shape().to_vec();
    let (n, c) = (shape[0], shape[1]);
    let vox: usize = shape[2..].iter().product();
    let data = attr.as_standard_layout();
    let data = data.as_slice().unwrap_or(&[]);
    let mut out = Vec::with_capacity(n * vox);
    for s in 0..n {
        let base = s * c * vox;
        out.extend((0..vox).map(|v| pooling.reduce((0..c).map(|ch| data[base + ch * vox + v]))));
    }
    let mut out_shape = shape;
    out_shape.remove(1);
    ArrayF::from_shape_vec(out_shape, out).map_err(|e| Error::invalid(format!("pooling: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn poolings_of_one_voxel() {
        // one sample, two channels, one voxel: values 3 and -4
        let a = ArrayD::from_shape_vec(IxDyn(&[1, 2, 1, 1]), vec![3.0f32, -4.0]).unwrap();
        let want = [
            ("sum_abs", 1.0),
            ("sum_pos", 0.0),
            ("max_norm", 4.0),
            ("l1", 7.0),
            ("l2", 5.0),
            ("l2_sq", 25.0),
        ];
        for (name, v) in want {
            let p: Pooling = name.parse().unwrap();
            assert_eq!(p.name(), name);
            let out = pool_channels(a.view(), p).unwrap();
            assert_eq!(out.shape(), &[1, 1, 1]);
            assert_eq!(out[[0, 0, 0]], v, "{name}");
        }
        assert!("mean".parse::<Pooling>().is_err());
        assert!(pool_channels(ArrayD::zeros(IxDyn(&[2, 3])).view(), Pooling::L1).is_err());
    }
}
