//! Small helpers shared by the methods: input checks, batching, baselines, per-sample seeds.

use mrixai_core::explain::{check_input, check_targets};
use mrixai_core::{ArrayF, Error, Explainable, Result, ViewF};
use ndarray::{Axis, IxDyn};
use rayon::prelude::*;
use std::path::Path;

/// Checks a batch and its targets against a model: shape, finiteness, one target per sample
/// and each target below the number of classes.
pub fn check_batch(model: &dyn Explainable, x: &ViewF, target: &[usize]) -> Result<()> {
    check_input(model, x)?;
    mrixai_core::error::ensure_finite("input", x.iter())?;
    check_targets(&[x.shape()[0], model.num_classes()], target)
}

/// Shape of one sample (`x` without its batch axis).
pub(crate) fn sample_shape(x: &ViewF) -> Vec<usize> {
    x.shape()[1..].to_vec()
}

/// An empty batch of `rows` samples shaped like `sample`.
pub(crate) fn zeros_batch(rows: usize, sample: &[usize]) -> ArrayF {
    let mut shape = vec![rows];
    shape.extend_from_slice(sample);
    ArrayF::zeros(IxDyn(&shape))
}

/// `a` in standard (C-contiguous) layout, copied only when it is not.
pub(crate) fn into_standard(a: ArrayF) -> ArrayF {
    if a.is_standard_layout() {
        a
    } else {
        a.as_standard_layout().into_owned()
    }
}

/// `logits[n, target[n]]` for every sample.
pub(crate) fn pick(logits: &ArrayF, target: &[usize]) -> Vec<f32> {
    target
        .iter()
        .enumerate()
        .map(|(n, &t)| logits[[n, t]])
        .collect()
}

/// Runs `f` on consecutive chunks `[start, end)` of `0..total` of at most `chunk` rows, in
/// parallel, and returns the results in chunk order (so reductions stay deterministic).
pub(crate) fn map_chunks<T: Send>(
    total: usize,
    chunk: usize,
    f: impl Fn(usize, usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let chunk = chunk.max(1);
    let starts: Vec<usize> = (0..total).step_by(chunk).collect();
    starts
        .into_par_iter()
        .map(|s| f(s, (s + chunk).min(total)))
        .collect()
}

/// Reference input of a method (Captum's `baselines`).
#[derive(Debug, Clone, PartialEq)]
pub enum Baseline {
    /// The same value at every element (Captum's scalar baseline; `0.0` is the default).
    Constant(f32),
    /// An explicit array: one sample (broadcast to the batch), one per sample `[N, …]`, or,
    /// for the SHAP methods, a distribution `[B, …]` to draw from.
    Array(ArrayF),
}

impl Default for Baseline {
    fn default() -> Self {
        Baseline::Constant(0.0)
    }
}

impl Baseline {
    /// Parses a parameter value: a number is a constant, anything else a path to a `.npy` file.
    pub fn parse(value: &str) -> Result<Self> {
        if let Ok(v) = value.trim().parse::<f32>() {
            if !v.is_finite() {
                return Err(Error::invalid(format!(
                    "baselines: {value} is not a finite number"
                )));
            }
            return Ok(Baseline::Constant(v));
        }
        Ok(Baseline::Array(mrixai_core::npy::read_finite_f32(
            Path::new(value),
        )?))
    }

    /// The baseline of every sample of `x`, shaped like `x`.
    pub fn for_batch(&self, x: &ViewF) -> Result<ArrayF> {
        match self {
            Baseline::Constant(v) => Ok(ArrayF::from_elem(x.raw_dim(), *v)),
            Baseline::Array(a) => {
                if a.shape() == x.shape() {
                    Ok(a.clone())
                } else if a.shape() == &x.shape()[1..] {
                    let mut out = ArrayF::zeros(x.raw_dim());
                    for mut row in out.axis_iter_mut(Axis(0)) {
                        row.assign(a);
                    }
                    Ok(out)
                } else {
                    Err(Error::shape(
                        "baselines",
                        format!("{:?} or {:?}", x.shape(), &x.shape()[1..]),
                        a.shape(),
                    ))
                }
            }
        }
    }

    /// The baselines as a distribution `[B, …sample]` (one row for a constant).
    pub fn distribution(&self, sample: &[usize]) -> Result<ArrayF> {
        match self {
            Baseline::Constant(v) => {
                let mut b = zeros_batch(1, sample);
                b.fill(*v);
                Ok(b)
            }
            Baseline::Array(a) => {
                if a.shape() == sample {
                    Ok(a.clone().insert_axis(Axis(0)))
                } else if a.ndim() == sample.len() + 1
                    && &a.shape()[1..] == sample
                    && a.shape()[0] > 0
                {
                    Ok(a.clone())
                } else {
                    Err(Error::shape(
                        "baselines",
                        format!("[B, {sample:?}] or {sample:?}"),
                        a.shape(),
                    ))
                }
            }
        }
    }
}

/// A 64-bit seed for one sample: derived from the user seed, a stream label, the sample's
/// content and its target, so results do not depend on how a data set is cut into batches.
pub(crate) fn sample_seed(seed: u64, label: &str, sample: ViewF, target: usize) -> u64 {
    let mut bytes = Vec::with_capacity(sample.len() * 4 + 8);
    for v in sample.iter() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes.extend_from_slice(&(target as u64).to_le_bytes());
    let h = mrixai_core::seed::sha256_hex(&bytes);
    mrixai_core::seed::derive(seed, &format!("{label}/{h}"))
}

/// Nearest-neighbour resize of a map `[N, C, …spatial]` to `size` (PyTorch's `nearest`:
/// source index `floor(dst * in / out)`).
pub fn upsample_nearest(map: &ArrayF, size: &[usize]) -> Result<ArrayF> {
    let sh = map.shape();
    if sh.len() != size.len() + 2 {
        return Err(Error::shape(
            "map",
            format!("[N, C, {} spatial axes]", size.len()),
            sh,
        ));
    }
    let mut out_shape = sh[..2].to_vec();
    out_shape.extend_from_slice(size);
    let inn = &sh[2..];
    Ok(ArrayF::from_shape_fn(IxDyn(&out_shape), |idx| {
        let mut src = vec![idx[0], idx[1]];
        for d in 0..size.len() {
            src.push(idx[d + 2] * inn[d] / size[d]);
        }
        map[IxDyn(&src)]
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_upsampling_matches_torch_rule() {
        let m = ArrayF::from_shape_vec(IxDyn(&[1, 1, 2, 3]), vec![1., 2., 3., 4., 5., 6.]).unwrap();
        let u = upsample_nearest(&m, &[4, 5]).unwrap();
        // columns: floor(j*3/5) = 0,0,1,1,2
        assert_eq!(
            u.index_axis(Axis(2), 0).iter().copied().collect::<Vec<_>>(),
            vec![1., 1., 2., 2., 3.]
        );
        assert_eq!(
            u.index_axis(Axis(2), 3).iter().copied().collect::<Vec<_>>(),
            vec![4., 4., 5., 5., 6.]
        );
    }

    #[test]
    fn baselines_broadcast_and_reject_bad_shapes() {
        let x = ArrayF::zeros(IxDyn(&[2, 1, 3]));
        let b = Baseline::Array(ArrayF::ones(IxDyn(&[1, 3])))
            .for_batch(&x.view())
            .unwrap();
        assert_eq!(b.shape(), &[2, 1, 3]);
        assert!(
            Baseline::Array(ArrayF::ones(IxDyn(&[4])))
                .for_batch(&x.view())
                .is_err()
        );
        assert_eq!(Baseline::parse("0.5").unwrap(), Baseline::Constant(0.5));
        assert!(
            Baseline::parse("/nonexistent/b.npy")
                .unwrap_err()
                .to_string()
                .contains("b.npy")
        );
    }
}
