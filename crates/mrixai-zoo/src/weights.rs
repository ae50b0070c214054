//! `model.safetensors` with torchvision state-dict names and PyTorch layouts.
//!
//! A torchvision `VGG` state dict saved with `safetensors.torch.save_file` loads unchanged:
//! `features.{i}.weight` `[out, in, 3, 3]`, `features.{i}.bias`, BatchNorm
//! `weight, bias, running_mean, running_var` (+ `num_batches_tracked`, int64, optional),
//! `classifier.{0,3,6}.weight` `[out, in]` and `.bias`. All float tensors are float32.

use crate::arch::Arch;
use crate::params::Params;
use crate::tensor::Compute;
use crate::tensor::{from_vec, to_vec};
use crate::vgg::Vgg;
use mrixai_core::{Error, LayerKind, Result};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// File name of the weights in a checkpoint folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// One tensor read from a weights file.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    /// Shape.
    pub shape: Vec<usize>,
    /// Values in C order (integers converted to f32).
    pub data: Vec<f32>,
}

/// Reads every tensor of a safetensors file (float32, or int64 for `num_batches_tracked`).
pub fn read(path: &Path) -> Result<BTreeMap<String, RawTensor>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::format(path, format!("not a valid safetensors file: {e}")))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let data = match view.dtype() {
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::I64 if name.ends_with("num_batches_tracked") => view
                .data()
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                .collect(),
            other => {
                return Err(Error::format(
                    path,
                    format!(
                        "tensor `{name}` has dtype {other:?}; expected float32 (convert with .float())"
                    ),
                ));
            }
        };
        out.insert(
            name,
            RawTensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    Ok(out)
}

/// `(name, shape)` of every parameter tensor of layer `i` (BN: with running statistics).
pub(crate) fn layer_tensors(model: &Vgg, i: usize) -> Vec<(String, Vec<usize>)> {
    let s = &model.specs[i];
    let (cin, cout) = s.in_out;
    let n = &s.name;
    match s.kind {
        LayerKind::Conv2d => vec![
            (format!("{n}.weight"), vec![cout, cin, 3, 3]),
            (format!("{n}.bias"), vec![cout]),
        ],
        LayerKind::Conv3d => vec![
            (format!("{n}.weight"), vec![cout, cin, 3, 3, 3]),
            (format!("{n}.bias"), vec![cout]),
        ],
        LayerKind::Linear => vec![
            (format!("{n}.weight"), vec![cout, cin]),
            (format!("{n}.bias"), vec![cout]),
        ],
        LayerKind::BatchNorm => ["weight", "bias", "running_mean", "running_var"]
            .iter()
            .map(|p| (format!("{n}.{p}"), vec![cout]))
            .collect(),
        _ => vec![],
    }
}

/// Which layers the first `k` weight layers (conv/linear, in order) cover, BN going with its conv.
pub(crate) fn leading_layers(model: &Vgg, k: usize) -> Vec<bool> {
    let mut count = 0;
    let mut prev_included = false;
    model
        .specs
        .iter()
        .map(|s| match s.kind {
            LayerKind::Conv2d | LayerKind::Conv3d | LayerKind::Linear => {
                count += 1;
                prev_included = count <= k;
                prev_included
            }
            LayerKind::BatchNorm => prev_included,
            _ => false,
        })
        .collect()
}

/// Assigns tensors to the first `k` weight layers of `model` (`usize::MAX` = all layers, in
/// which case tensors the architecture does not have are an error too). `path` names the file
/// in messages.
pub(crate) fn assign(
    model: &mut Vgg,
    tensors: &BTreeMap<String, RawTensor>,
    path: &Path,
    k: usize,
) -> Result<()> {
    let include = leading_layers(model, k);
    let mut used = std::collections::BTreeSet::new();
    for (i, &inc) in include.iter().enumerate() {
        if !inc {
            continue;
        }
        let mut vals = Vec::new();
        for (name, shape) in layer_tensors(model, i) {
            let t = tensors.get(&name).ok_or_else(|| {
                Error::format(
                    path,
                    format!("tensor `{name}` is missing (arch.json expects shape {shape:?})"),
                )
            })?;
            if t.shape != shape {
                return Err(Error::format(
                    path,
                    format!(
                        "tensor `{name}` has shape {:?}, but arch.json implies {shape:?}",
                        t.shape
                    ),
                ));
            }
            let bad = t.data.iter().filter(|v| !v.is_finite()).count();
            if bad > 0 {
                return Err(Error::format(
                    path,
                    format!("tensor `{name}` has {bad} non-finite value(s)"),
                ));
            }
            used.insert(name.clone());
            vals.push(t);
        }
        let dev = model.device.clone();
        let n = &model.specs[i].name;
        let tracked_name = format!("{n}.num_batches_tracked");
        model.params[i] = match (&model.params[i], vals.as_slice()) {
            (Params::Conv { .. }, [w, b]) => Params::Conv {
                w: from_vec(w.data.clone(), shape_of(&w.shape), &dev),
                b: from_vec(b.data.clone(), [b.shape[0]], &dev),
            },
            (Params::Conv3 { .. }, [w, b]) => Params::Conv3 {
                w: from_vec(w.data.clone(), shape_of(&w.shape), &dev),
                b: from_vec(b.data.clone(), [b.shape[0]], &dev),
            },
            (Params::Linear { .. }, [w, b]) => Params::Linear {
                w: from_vec(w.data.clone(), [w.shape[0], w.shape[1]], &dev),
                b: from_vec(b.data.clone(), [b.shape[0]], &dev),
            },
            (Params::BatchNorm { .. }, [g, b, m, v]) => {
                let c = g.shape[0];
                if v.data.iter().any(|x| *x < 0.0) {
                    return Err(Error::format(
                        path,
                        format!("tensor `{n}.running_var` has negative values"),
                    ));
                }
                used.insert(tracked_name.clone());
                Params::BatchNorm {
                    gamma: from_vec(g.data.clone(), [c], &dev),
                    beta: from_vec(b.data.clone(), [c], &dev),
                    mean: from_vec(m.data.clone(), [c], &dev),
                    var: from_vec(v.data.clone(), [c], &dev),
                    tracked: tensors
                        .get(&tracked_name)
                        .and_then(|t| t.data.first())
                        .map_or(0, |v| *v as i64),
                }
            }
            (p, _) => p.clone(),
        };
    }
    if k == usize::MAX {
        let extra: Vec<&String> = tensors.keys().filter(|n| !used.contains(*n)).collect();
        if !extra.is_empty() {
            return Err(Error::format(
                path,
                format!(
                    "tensor(s) {} are not part of the architecture in arch.json",
                    extra
                        .iter()
                        .take(5)
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// A shape checked against `layer_tensors` as a fixed-rank array.
fn shape_of<const D: usize>(s: &[usize]) -> [usize; D] {
    std::array::from_fn(|i| s[i])
}

/// A named tensor: torchvision name, shape, values in C order.
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// Every tensor of the model with its torchvision name, in module order.
pub fn state_dict(model: &Vgg) -> Result<Vec<NamedTensor>> {
    let mut out = Vec::new();
    for (i, p) in model.params.iter().enumerate() {
        let names = layer_tensors(model, i);
        let values: Vec<Vec<f32>> = match p {
            Params::None => continue,
            Params::Conv { w, b } => vec![to_vec(w.clone())?, to_vec(b.clone())?],
            Params::Conv3 { w, b } => vec![to_vec(w.clone())?, to_vec(b.clone())?],
            Params::Linear { w, b } => vec![to_vec(w.clone())?, to_vec(b.clone())?],
            Params::BatchNorm {
                gamma,
                beta,
                mean,
                var,
                ..
            } => {
                vec![
                    to_vec(gamma.clone())?,
                    to_vec(beta.clone())?,
                    to_vec(mean.clone())?,
                    to_vec(var.clone())?,
                ]
            }
        };
        for ((name, shape), v) in names.into_iter().zip(values) {
            out.push((name, shape, v));
        }
    }
    Ok(out)
}

/// A tensor encoded for safetensors: name, dtype, shape, little-endian bytes.
type Encoded = (String, Dtype, Vec<usize>, Vec<u8>);

/// Writes the model's weights to a safetensors file (atomically).
pub fn write(model: &Vgg, path: &Path) -> Result<()> {
    let sd = state_dict(model)?;
    let mut bufs: Vec<Encoded> = sd
        .into_iter()
        .map(|(n, s, v)| {
            (
                n,
                Dtype::F32,
                s,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect();
    for (i, p) in model.params.iter().enumerate() {
        if let Params::BatchNorm { tracked, .. } = p {
            bufs.push((
                format!("{}.num_batches_tracked", model.specs[i].name),
                Dtype::I64,
                vec![],
                tracked.to_le_bytes().to_vec(),
            ));
        }
    }
    let views = bufs
        .iter()
        .map(|(n, d, s, b)| {
            TensorView::new(*d, s.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| Error::invalid(format!("tensor `{n}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, None)
        .map_err(|e| Error::format(path, format!("serialising: {e}")))?;
    mrixai_core::atomic::write_bytes(path, &bytes)
}

/// File name of the architecture description in a checkpoint folder.
pub const ARCH_FILE: &str = "arch.json";

/// `(model.safetensors, arch.json)` for a checkpoint folder or weights file.
pub fn checkpoint_paths(path: &Path) -> Result<(PathBuf, PathBuf)> {
    if path.is_dir() {
        let w = path.join(WEIGHTS_FILE);
        let a = path.join(ARCH_FILE);
        for p in [&w, &a] {
            if !p.is_file() {
                return Err(Error::format(p, "not found in the checkpoint folder"));
            }
        }
        Ok((w, a))
    } else if path.is_file() {
        let a = path.parent().unwrap_or(Path::new(".")).join(ARCH_FILE);
        if !a.is_file() {
            return Err(Error::format(
                &a,
                format!("not found beside {}", path.display()),
            ));
        }
        Ok((path.to_path_buf(), a))
    } else {
        Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "checkpoint not found (expected a folder with model.safetensors and arch.json)",
            ),
        ))
    }
}

/// Checkpoint I/O of a model, in torchvision's names and layouts.
impl Vgg {
    /// Loads a model: `path` is a folder with `model.safetensors` and `arch.json`, or a
    /// `model.safetensors` file with `arch.json` beside it. Tensor names and layouts are
    /// torchvision's (`features.0.weight` `[out, in, 3, 3]`, `classifier.0.weight` `[out, in]`, …).
    pub fn load(path: &Path) -> Result<Vgg> {
        Self::load_on(path, Compute::Cpu)
    }

    /// [`Vgg::load`] on a chosen compute device.
    pub fn load_on(path: &Path, compute: Compute) -> Result<Vgg> {
        let (weights_path, arch_path) = checkpoint_paths(path)?;
        let arch = Arch::read(&arch_path)?;
        let mut model = Self::init_on(&arch, 0, compute)?;
        let tensors = read(&weights_path)?;
        assign(&mut model, &tensors, &weights_path, usize::MAX)?;
        Ok(model)
    }

    /// Writes `model.safetensors` (torchvision names) and `arch.json` into folder `dir`
    /// (created if needed; each file written atomically).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        write(self, &dir.join(WEIGHTS_FILE))?;
        mrixai_core::atomic::write_json(&dir.join(ARCH_FILE), self.arch())
    }
}
