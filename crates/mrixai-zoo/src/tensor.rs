//! Conversions between ndarray (the toolkit's array type) and burn tensors, and the compute
//! device selection.

use burn::tensor::{Device, Tensor, TensorData};
use mrixai_core::{ArrayF, Error, Result, ViewF};
use ndarray::IxDyn;

/// Where the tensors of a model live: `cpu`, `gpu` or `gpu:N` on the command line, in
/// configs and in `model.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compute {
    /// burn's pure-Rust CPU backend (Flex) with mrixai's own kernels, multi-threaded. The
    /// default; bit-reproducible.
    #[default]
    Cpu,
    /// A GPU through burn's wgpu backend (Vulkan, Metal, DX12 or OpenGL; cargo feature `gpu`):
    /// `None` is the adapter wgpu ranks best (a discrete GPU first, a software renderer where
    /// the machine has nothing else), `Some(i)` the `i`-th discrete GPU.
    Gpu(Option<usize>),
}

impl Compute {
    /// Whether this is the CPU (the serialisation default).
    pub fn is_cpu(&self) -> bool {
        *self == Compute::Cpu
    }

    /// Whether this build can run on a GPU (cargo feature `gpu`).
    pub const GPU_BUILT: bool = cfg!(feature = "gpu");

    /// The burn device. A GPU is set up on first use (once per process and adapter); a build
    /// without the `gpu` feature, or a machine without a usable adapter, is an error that
    /// says so.
    pub fn device(self) -> Result<Device> {
        match self {
            Compute::Cpu => Ok(Device::flex()),
            Compute::Gpu(index) => gpu::device(index),
        }
    }

    /// Checks that this build can use the device at all (the `gpu` feature for a GPU),
    /// without looking for an adapter: a config may name a GPU that only the machines
    /// running it have.
    pub fn check_built(self) -> Result<()> {
        match self {
            Compute::Gpu(_) if !Self::GPU_BUILT => self.device().map(|_| ()),
            _ => Ok(()),
        }
    }

    /// How many GPUs a job on this device asks a scheduler for (SLURM's `--gres=gpu:N`).
    pub fn gpus(self) -> usize {
        match self {
            Compute::Cpu => 0,
            Compute::Gpu(_) => 1,
        }
    }
}

#[cfg(feature = "gpu")]
mod gpu {
    use super::{Device, Error, Result};
    use burn::tensor::DeviceKind;
    use std::sync::Mutex;

    /// The wgpu devices set up so far: a runtime is initialised once per adapter selector.
    static DEVICES: Mutex<Vec<(Option<usize>, Device)>> = Mutex::new(Vec::new());

    pub(super) fn device(index: Option<usize>) -> Result<Device> {
        let mut devices = DEVICES.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, d)) = devices.iter().find(|(i, _)| *i == index) {
            return Ok(d.clone());
        }
        let kind = match index {
            None => DeviceKind::DefaultDevice,
            Some(i) => DeviceKind::DiscreteGpu(i),
        };
        let name = super::Compute::Gpu(index).to_string();
        let device = Device::wgpu_options()
            .device_kind(kind)
            .init()
            .map_err(|e| {
                Error::config("device", format!("`{name}`: no usable GPU adapter ({e})"))
            })?;
        devices.push((index, device.clone()));
        Ok(device)
    }
}

#[cfg(not(feature = "gpu"))]
mod gpu {
    use super::{Device, Error, Result};

    pub(super) fn device(index: Option<usize>) -> Result<Device> {
        Err(Error::config(
            "device",
            format!(
                "`{}` was requested, but this build has no GPU support: rebuild with the cargo \
                 feature `gpu` (e.g. `cargo build --release -p mrixai-cli --features gpu`)",
                super::Compute::Gpu(index)
            ),
        ))
    }
}

impl std::fmt::Display for Compute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Compute::Cpu => f.write_str("cpu"),
            Compute::Gpu(None) => f.write_str("gpu"),
            Compute::Gpu(Some(i)) => write!(f, "gpu:{i}"),
        }
    }
}

impl std::str::FromStr for Compute {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(Compute::Cpu),
            "gpu" => Ok(Compute::Gpu(None)),
            other => match other.strip_prefix("gpu:").and_then(|i| i.parse().ok()) {
                Some(i) => Ok(Compute::Gpu(Some(i))),
                None => Err(Error::config(
                    "device",
                    format!("`{other}` (expected cpu, gpu or gpu:N)"),
                )),
            },
        }
    }
}

impl serde::Serialize for Compute {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Compute {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A burn tensor of rank `D` holding a copy of `x` (which must have rank `D`).
pub fn to_tensor<const D: usize>(x: ViewF, device: &Device) -> Tensor<D> {
    debug_assert_eq!(x.ndim(), D);
    let shape: Vec<usize> = x.shape().to_vec();
    let data = mrixai_core::c_order_values(&x).into_owned();
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// A burn tensor from a flat vector and a shape.
pub fn from_vec<const D: usize>(data: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(data, shape.to_vec()), device)
}

/// The values of a tensor, in C order.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .try_into_vec_as::<f32>()
        .map_err(|e| Error::invalid(format!("reading a tensor back from the device: {e:?}")))
}

/// An ndarray copy of a tensor.
pub fn to_array<const D: usize>(t: Tensor<D>) -> Result<ArrayF> {
    let shape = t.dims().to_vec();
    let v = to_vec(t)?;
    ArrayF::from_shape_vec(IxDyn(&shape), v)
        .map_err(|e| Error::invalid(format!("tensor shape: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_read_and_write_as_the_command_line_spells_them() {
        for (text, c) in [
            ("cpu", Compute::Cpu),
            ("gpu", Compute::Gpu(None)),
            ("gpu:3", Compute::Gpu(Some(3))),
        ] {
            assert_eq!(text.parse::<Compute>().unwrap(), c);
            assert_eq!(c.to_string(), text);
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{text}\""));
            assert_eq!(
                serde_json::from_str::<Compute>(&format!("\"{text}\"")).unwrap(),
                c
            );
        }
        for bad in ["cuda", "gpu:", "gpu:x", "GPU", ""] {
            let e = bad.parse::<Compute>().unwrap_err().to_string();
            assert!(e.contains("device") && e.contains("gpu:N"), "{bad}: {e}");
        }
        assert_eq!(Compute::Gpu(Some(1)).gpus(), 1);
        assert_eq!(Compute::Cpu.gpus(), 0);
        Compute::Cpu.check_built().unwrap();
        if !Compute::GPU_BUILT {
            let e = Compute::Gpu(None).check_built().unwrap_err().to_string();
            assert!(e.contains("cargo feature `gpu`"), "{e}");
        }
    }

    /// `model.json` of a CPU model names no device (its bytes are unchanged); a GPU model's does.
    #[test]
    fn the_training_config_names_only_a_non_cpu_device() {
        let cpu = serde_json::to_string(&crate::TrainConfig::default()).unwrap();
        assert!(!cpu.contains("device"), "{cpu}");
        let gpu = crate::TrainConfig {
            device: Compute::Gpu(None),
            ..crate::TrainConfig::default()
        };
        let text = serde_json::to_string(&gpu).unwrap();
        assert!(text.contains("\"device\":\"gpu\""), "{text}");
        let back: crate::TrainConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(back, gpu);
    }
}
