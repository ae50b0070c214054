//! The on-disk dataset format shared by every mrixai crate and by NumPy users:
//!
//! ```text
//! DIR/dataset.json                      task, classes, config, seed, versions, source checksums
//! DIR/{train,val,test}/images.npy       f32 [N, 1, H, W] (or [N, 1, D, H, W]), values in [0, 1]
//! DIR/{train,val,test}/masks.npy        u8  same shape: 1 = ground-truth lesion voxel
//! DIR/{train,val,test}/weights.npy      f32 same shape: continuous lesion weight in [0, 1]
//! DIR/{train,val,test}/labels.npy       i64 [N]
//! DIR/{train,val,test}/meta.csv         one row per sample
//! ```

use crate::{Error, Result, npy};
use ndarray::{ArrayD, Axis};
use std::path::{Path, PathBuf};

/// A dataset split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training data.
    Train,
    /// Validation data (early stopping).
    Val,
    /// Held-out test data (explanations and scores).
    Test,
}

impl Split {
    /// All splits in order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];
    /// Folder name of the split.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

impl std::str::FromStr for Split {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "train" => Ok(Split::Train),
            "val" => Ok(Split::Val),
            "test" => Ok(Split::Test),
            other => Err(Error::invalid(format!(
                "unknown split `{other}` (expected train, val or test)"
            ))),
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The arrays of one split.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitArrays {
    /// Images `[N, 1, H, W]` or `[N, 1, D, H, W]`, f32 in [0, 1].
    pub images: ArrayD<f32>,
    /// Binary ground-truth masks, same shape as `images`.
    pub masks: ArrayD<u8>,
    /// Continuous ground-truth weights in [0, 1], same shape as `images`.
    pub weights: ArrayD<f32>,
    /// Class labels `[N]`.
    pub labels: ArrayD<i64>,
}

impl SplitArrays {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether the split holds no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Labels as class indices.
    pub fn label_indices(&self) -> Vec<usize> {
        self.labels.iter().map(|&l| l.max(0) as usize).collect()
    }

    /// Checks shapes, ranges and finiteness; `origin` names the folder in messages.
    pub fn validate(&self, origin: &Path) -> Result<()> {
        let s = self.images.shape();
        if !(s.len() == 4 || s.len() == 5) || s[1] != 1 {
            return Err(Error::format(
                origin.join("images.npy"),
                format!("expected [N, 1, H, W] or [N, 1, D, H, W], got {s:?}"),
            ));
        }
        for (name, shape) in [
            ("masks.npy", self.masks.shape()),
            ("weights.npy", self.weights.shape()),
        ] {
            if shape != s {
                return Err(Error::format(
                    origin.join(name),
                    format!("shape {shape:?} differs from images.npy {s:?}"),
                ));
            }
        }
        if self.labels.ndim() != 1 || self.labels.len() != s[0] {
            return Err(Error::format(
                origin.join("labels.npy"),
                format!(
                    "expected [{}] labels, got shape {:?}",
                    s[0],
                    self.labels.shape()
                ),
            ));
        }
        if let Some(l) = self.labels.iter().find(|&&l| l < 0) {
            return Err(Error::format(
                origin.join("labels.npy"),
                format!("negative label {l}"),
            ));
        }
        let bad = self.images.iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            return Err(Error::format(
                origin.join("images.npy"),
                format!("{bad} non-finite value(s)"),
            ));
        }
        if let Some(m) = self.masks.iter().find(|&&m| m > 1) {
            return Err(Error::format(
                origin.join("masks.npy"),
                format!("non-binary mask value {m}"),
            ));
        }
        Ok(())
    }

    /// The samples at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> SplitArrays {
        SplitArrays {
            images: self.images.select(Axis(0), idx),
            masks: self.masks.select(Axis(0), idx),
            weights: self.weights.select(Axis(0), idx),
            labels: self.labels.select(Axis(0), idx),
        }
    }
}

/// Folder of `split` inside dataset folder `dir`.
pub fn split_dir(dir: &Path, split: Split) -> PathBuf {
    dir.join(split.name())
}

/// Reads and validates one split of a dataset folder.
pub fn read_split(dir: &Path, split: Split) -> Result<SplitArrays> {
    if !dir.is_dir() {
        return Err(Error::format(dir, "dataset folder not found"));
    }
    let d = split_dir(dir, split);
    if !d.is_dir() {
        return Err(Error::format(
            &d,
            format!("split folder `{}` not found in dataset", split.name()),
        ));
    }
    let images = npy::read::<f32>(&d.join("images.npy"))?;
    let masks = npy::read::<u8>(&d.join("masks.npy"))?;
    let weights_path = d.join("weights.npy");
    let weights = if weights_path.exists() {
        npy::read::<f32>(&weights_path)?
    } else {
        masks.mapv(f32::from)
    };
    let labels = npy::read::<i64>(&d.join("labels.npy"))?;
    let arrays = SplitArrays {
        images,
        masks,
        weights,
        labels,
    };
    arrays.validate(&d)?;
    Ok(arrays)
}

/// Writes the arrays of one split into `dir/<split>/` (each file atomically).
pub fn write_split(dir: &Path, split: Split, arrays: &SplitArrays) -> Result<()> {
    let d = split_dir(dir, split);
    arrays.validate(&d)?;
    npy::write(&d.join("images.npy"), &arrays.images)?;
    npy::write(&d.join("masks.npy"), &arrays.masks)?;
    npy::write(&d.join("weights.npy"), &arrays.weights)?;
    npy::write(&d.join("labels.npy"), &arrays.labels)?;
    Ok(())
}

/// Reads `dir/dataset.json`.
pub fn read_info(dir: &Path) -> Result<serde_json::Value> {
    let p = dir.join("dataset.json");
    let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
    serde_json::from_str(&text).map_err(|e| Error::format(&p, format!("invalid JSON: {e}")))
}

/// Number of classes recorded in `dataset.json` (`num_classes`), else 1 + the largest label.
pub fn num_classes(dir: &Path, arrays: &SplitArrays) -> usize {
    read_info(dir)
        .ok()
        .and_then(|v| v.get("num_classes").and_then(|n| n.as_u64()))
        .map(|n| n as usize)
        .unwrap_or_else(|| {
            arrays
                .labels
                .iter()
                .copied()
                .max()
                .map_or(0, |m| m as usize + 1)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    #[test]
    fn roundtrip_and_validation() {
        let dir = mrixai_testkit::Scratch::new("ds");
        let images = ArrayD::<f32>::from_elem(IxDyn(&[2, 1, 4, 4]), 0.5);
        let masks = ArrayD::<u8>::zeros(IxDyn(&[2, 1, 4, 4]));
        let arrays = SplitArrays {
            weights: masks.mapv(f32::from),
            images,
            masks,
            labels: ArrayD::from_shape_vec(IxDyn(&[2]), vec![0i64, 1]).unwrap(),
        };
        write_split(&dir, Split::Test, &arrays).unwrap();
        let back = read_split(&dir, Split::Test).unwrap();
        assert_eq!(back, arrays);
        assert_eq!(back.select(&[1]).label_indices(), vec![1]);
        let e = read_split(&dir, Split::Train).unwrap_err().to_string();
        assert!(e.contains("train"), "{e}");
        let mut bad = arrays.clone();
        bad.labels = ArrayD::from_shape_vec(IxDyn(&[1]), vec![0i64]).unwrap();
        assert!(
            bad.validate(&dir)
                .unwrap_err()
                .to_string()
                .contains("labels.npy")
        );
        assert!("nope".parse::<Split>().is_err());
    }
}
