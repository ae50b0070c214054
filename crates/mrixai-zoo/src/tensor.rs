//! Conversions between ndarray (the toolkit's array type) and burn tensors, and the compute
//! device selection.

use burn::tensor::{Device, Tensor, TensorData};
use mrixai_core::{ArrayF, Error, Result, ViewF};
use ndarray::IxDyn;

/// Where the tensors of a model live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compute {
    /// burn's pure-Rust CPU backend (Flex), multi-threaded. The default and the tested one.
    #[default]
    Cpu,
    /// burn's CUDA backend on the GPU with this index (cargo feature `cuda`).
    Cuda(usize),
}

impl Compute {
    /// The burn device.
    pub fn device(self) -> Result<Device> {
        match self {
            Compute::Cpu => Ok(Device::flex()),
            #[cfg(feature = "cuda")]
            Compute::Cuda(i) => Ok(Device::cuda(i)),
            #[cfg(not(feature = "cuda"))]
            Compute::Cuda(_) => Err(Error::config(
                "device",
                "CUDA was requested but mrixai-zoo was built without its `cuda` feature",
            )),
        }
    }
}

impl std::str::FromStr for Compute {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(Compute::Cpu),
            "cuda" => Ok(Compute::Cuda(0)),
            other => match other.strip_prefix("cuda:").and_then(|i| i.parse().ok()) {
                Some(i) => Ok(Compute::Cuda(i)),
                None => Err(Error::config(
                    "device",
                    format!("`{other}` (expected cpu, cuda or cuda:N)"),
                )),
            },
        }
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
