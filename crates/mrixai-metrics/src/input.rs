//! Reading and checking user inputs: attribution files, binary or continuous masks, and
//! aligning an attribution map `[N, C, …]` or `[N, …]` with a mask `[N, 1, …]` or `[N, …]`.

use crate::pool::{Pooling, pool_channels};
use mrixai_core::{ArrayF, Error, Result};
use ndarray::{ArrayD, ArrayViewD, Axis, CowArray, IxDyn};
use std::path::Path;

/// Default level at which a continuous ground truth is binarised (GT = weight ≥ level).
pub const DEFAULT_MASK_THRESHOLD: f32 = 0.05;

/// What to do with NaN or infinite attribution values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NanPolicy {
    /// Fail with an error naming the file and the count (default).
    #[default]
    Error,
    /// Score the affected samples as NaN in every metric.
    Nan,
}

impl std::str::FromStr for NanPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "error" => Ok(NanPolicy::Error),
            "nan" => Ok(NanPolicy::Nan),
            _ => Err(Error::invalid(format!(
                "unknown NaN policy `{s}` (expected error or nan)"
            ))),
        }
    }
}

/// Checks a binarisation level: it must lie in (0, 1], since ground truth is a 0–1 mask or
/// lesion weight and any other level marks every pixel or none.
pub fn check_threshold(t: f32) -> Result<()> {
    if t.is_finite() && t > 0.0 && t <= 1.0 {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "threshold must lie in (0, 1], got {t}: ground truth is a 0–1 mask or lesion weight, so any other level marks every pixel or none"
    )))
}

/// Binarises a continuous ground truth: 1 where `weight ≥ threshold`, else 0.
pub fn binarize(weights: ArrayViewD<f32>, threshold: f32) -> ArrayD<u8> {
    weights.mapv(|w| u8::from(w >= threshold))
}

/// Reads an attribution `.npy` of any numeric dtype (float16/32/64, integers, bool; either
/// byte order, C or Fortran order) as float32, with a note saying what was converted when
/// the file was not float32 in C order.
pub fn read_attributions(path: &Path) -> Result<(ArrayF, Option<String>)> {
    Ok(mrixai_core::npy_any::read(path)?.into_f32(path))
}

/// Applies `policy` to non-finite values of `attr`; `origin` names the file in the error.
pub fn check_finite(attr: ArrayViewD<f32>, policy: NanPolicy, origin: &str) -> Result<()> {
    if policy == NanPolicy::Error {
        let bad = attr.iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            return Err(Error::NonFinite {
                what: format!("{origin} (pass --nan-policy nan to score such samples as NaN)"),
                count: bad,
            });
        }
    }
    Ok(())
}

/// Reads a ground-truth `.npy` of any numeric type (bool, integers, float16/32/64, either
/// byte order, C or Fortran order). A mask whose
/// values are all 0 or 1 is used as is; other values need `threshold` (GT = value ≥ threshold)
/// and are an error without it.
pub fn read_mask(path: &Path, threshold: Option<f32>) -> Result<ArrayD<u8>> {
    mask_from_values(
        mrixai_core::npy_any::read(path)?.values.view(),
        threshold,
        path,
    )
}

/// A ground truth from numeric values (as [`read_mask`] reads them from a file): used as is
/// when every value is 0 or 1, else binarised at `threshold` (an error without one).
/// `origin` names the array in errors.
pub fn mask_from_values(
    values: ArrayViewD<f64>,
    threshold: Option<f32>,
    origin: impl AsRef<Path>,
) -> Result<ArrayD<u8>> {
    let path = origin.as_ref();
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(Error::format(
            path,
            format!("mask contains a non-finite value ({v})"),
        ));
    }
    match threshold {
        Some(t) => Ok(values.mapv(|v| u8::from(v >= f64::from(t)))),
        None => {
            if let Some(v) = values.iter().find(|&&v| v != 0.0 && v != 1.0) {
                return Err(Error::format(
                    path,
                    format!(
                        "mask is not binary (found value {v}); pass a threshold (e.g. --threshold {DEFAULT_MASK_THRESHOLD}) to binarise a continuous ground truth"
                    ),
                ));
            }
            Ok(values.mapv(|v| u8::from(v == 1.0)))
        }
    }
}

/// Brings attributions and masks to the same `[N, …spatial]` shape.
///
/// The mask is `[N, …spatial]` or `[N, 1, …spatial]` (the singleton channel is dropped when
/// it has at least two spatial axes after it). The attributions are either `[N, …spatial]`
/// or `[N, C, …spatial]`; channels are pooled with `pooling`, or, when `pooling` is `None`,
/// a single channel is squeezed (keeping signs) and several are pooled with
/// [`Pooling::SumAbs`]. `attr_name` and `mask_name` name the inputs in errors.
///
/// Borrowed attributions stay borrowed unless channels are pooled (no copy of a
/// `[N, …spatial]` or `[N, 1, …spatial]` map).
pub fn align<'a>(
    attr: impl Into<CowArray<'a, f32, IxDyn>>,
    mask: ArrayD<u8>,
    pooling: Option<Pooling>,
    attr_name: &str,
    mask_name: &str,
) -> Result<(CowArray<'a, f32, IxDyn>, ArrayD<u8>)> {
    let attr = attr.into();
    let mask = if mask.ndim() >= 4 && mask.shape()[1] == 1 {
        mask.index_axis_move(Axis(1), 0)
    } else {
        mask
    };
    if mask.ndim() < 2 {
        return Err(Error::shape(
            mask_name,
            "[N, …spatial] or [N, 1, …spatial]",
            mask.shape(),
        ));
    }
    let spatial = &mask.shape()[1..];
    let a = attr.shape();
    if a.first() != mask.shape().first() {
        return Err(Error::invalid(format!(
            "{attr_name} has {} sample(s) but {mask_name} has {} (shapes {a:?} and {:?})",
            a.first().copied().unwrap_or(0),
            mask.shape()[0],
            mask.shape()
        )));
    }
    let attr = if &a[1..] == spatial {
        match pooling {
            None => attr,
            // a pooling asked for explicitly on a channel-less map acts on one channel
            Some(p) => pool_channels(attr.insert_axis(Axis(1)).view(), p)?.into(),
        }
    } else if a.len() == spatial.len() + 2 && &a[2..] == spatial {
        match (pooling, a[1]) {
            (None, 1) => attr.index_axis_move(Axis(1), 0),
            (p, _) => pool_channels(attr.view(), p.unwrap_or_default())?.into(),
        }
    } else {
        return Err(Error::shape(
            attr_name,
            format!(
                "[N, …spatial] or [N, C, …spatial] matching {mask_name} spatial shape {spatial:?}"
            ),
            a,
        ));
    };
    Ok((attr, mask))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mrixai_core::npy;
    use ndarray::IxDyn;

    #[test]
    fn masks_binary_continuous_and_bad() {
        let dir = mrixai_testkit::Scratch::new("metrics-input");
        let tmp = |name: &str| dir.join(name);
        let p = tmp("w.npy");
        let w = ArrayD::from_shape_vec(IxDyn(&[1, 2, 2]), vec![0.0f32, 0.04, 0.05, 0.9]).unwrap();
        npy::write(&p, &w).unwrap();
        let e = read_mask(&p, None).unwrap_err().to_string();
        assert!(e.contains("not binary") && e.contains("w.npy"), "{e}");
        let m = read_mask(&p, Some(DEFAULT_MASK_THRESHOLD)).unwrap();
        assert_eq!(m.iter().copied().collect::<Vec<_>>(), vec![0, 0, 1, 1]);
        assert_eq!(binarize(w.view(), 0.05), m);
        let b = tmp("b.npy");
        npy::write(
            &b,
            &ArrayD::from_shape_vec(IxDyn(&[1, 2]), vec![0u8, 1]).unwrap(),
        )
        .unwrap();
        assert_eq!(
            read_mask(&b, None)
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            vec![0, 1]
        );
        let empty = tmp("empty.npy");
        std::fs::write(&empty, b"").unwrap();
        let e = read_mask(&empty, None).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        assert!(
            read_attributions(&empty)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
    }

    #[test]
    fn nan_policy() {
        let a =
            ArrayD::from_shape_vec(IxDyn(&[1, 3]), vec![0.0f32, f32::NAN, f32::INFINITY]).unwrap();
        let e = check_finite(a.view(), NanPolicy::Error, "a.npy")
            .unwrap_err()
            .to_string();
        assert!(e.contains("a.npy") && e.contains("2 non-finite"), "{e}");
        assert!(check_finite(a.view(), NanPolicy::Nan, "a.npy").is_ok());
        assert_eq!("nan".parse::<NanPolicy>().unwrap(), NanPolicy::Nan);
        assert!("zero".parse::<NanPolicy>().is_err());
    }

    #[test]
    fn alignment_of_shapes() {
        let mask = ArrayD::<u8>::zeros(IxDyn(&[2, 1, 4, 5]));
        // [N, C, H, W] pooled
        let a = ArrayD::<f32>::from_elem(IxDyn(&[2, 3, 4, 5]), -1.0);
        let (p, m) = align(a, mask.clone(), None, "a", "m").unwrap();
        assert_eq!(p.shape(), &[2, 4, 5]);
        assert_eq!(m.shape(), &[2, 4, 5]);
        assert!(p.iter().all(|&v| v == 3.0));
        // single channel keeps its sign
        let a = ArrayD::<f32>::from_elem(IxDyn(&[2, 1, 4, 5]), -1.0);
        let (p, _) = align(a, mask.clone(), None, "a", "m").unwrap();
        assert!(p.iter().all(|&v| v == -1.0));
        // [N, H, W] attributions with [N, H, W] masks
        let a = ArrayD::<f32>::zeros(IxDyn(&[2, 4, 5]));
        assert!(align(a, ArrayD::zeros(IxDyn(&[2, 4, 5])), None, "a", "m").is_ok());
        // mismatches
        let e = align(
            ArrayD::zeros(IxDyn(&[2, 4, 6])),
            mask.clone(),
            None,
            "a.npy",
            "m.npy",
        )
        .unwrap_err();
        assert!(e.to_string().contains("a.npy"), "{e}");
        let e = align(
            ArrayD::zeros(IxDyn(&[3, 4, 5])),
            mask,
            None,
            "a.npy",
            "m.npy",
        )
        .unwrap_err();
        assert!(e.to_string().contains("sample"), "{e}");
    }
}
