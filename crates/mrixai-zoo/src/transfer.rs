//! Transfer learning: the first `k` weight layers from a checkpoint, the rest fresh.

use crate::arch::Arch;
use crate::vgg::Vgg;
use crate::weights::{self, RawTensor};
use mrixai_core::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// How a model is initialised from a pre-trained checkpoint.
#[derive(Debug, Clone, Copy)]
pub struct Init<'a> {
    /// The pre-trained model.
    pub checkpoint: &'a Vgg,
    /// `k`: the first `k` weight layers (convolutions and linear layers, in order; BatchNorm
    /// layers go with their convolution) take the pre-trained weights. At most
    /// `weight_layers - 1`: the classification head is always new.
    pub pretrained_layers: usize,
    /// Whether those `k` layers stay frozen (bit-identical) during training.
    pub frozen: bool,
}

impl Vgg {
    /// A model with architecture `arch` whose first `k` weight layers are copied from
    /// `checkpoint` and the rest freshly initialised with `seed`. Shapes of the copied layers
    /// must agree (the error names the tensor); `k` may not reach the classification head.
    pub fn transfer_from(arch: &Arch, checkpoint: &Vgg, k: usize, seed: u64) -> Result<Vgg> {
        let max = arch.weight_layers() - 1;
        if k > max {
            return Err(Error::config(
                "pretrained_layers",
                format!(
                    "{k} exceeds {max}, the number of weight layers before the (always new) classification head"
                ),
            ));
        }
        let mut model = Vgg::init_on(arch, seed, crate::Compute::Cpu)?;
        if model.device != checkpoint.device {
            model = model.to_device(&checkpoint.device);
        }
        let map: BTreeMap<String, RawTensor> = weights::state_dict(checkpoint)?
            .into_iter()
            .map(|(n, shape, data)| (n, RawTensor { shape, data }))
            .collect();
        weights::assign(&mut model, &map, Path::new("pre-trained checkpoint"), k)?;
        // BN update counts travel with their layers
        let include = weights::leading_layers(&model, k);
        for (i, inc) in include.iter().enumerate() {
            if let (
                true,
                crate::vgg::Params::BatchNorm { tracked, .. },
                crate::vgg::Params::BatchNorm { tracked: src, .. },
            ) = (
                *inc,
                &mut model.params[i],
                checkpoint
                    .params
                    .get(i)
                    .unwrap_or(&crate::vgg::Params::None),
            ) {
                *tracked = *src;
            }
        }
        Ok(model)
    }

    /// A copy of the model on another burn device.
    pub fn to_device(&self, device: &burn::tensor::Device) -> Vgg {
        use crate::vgg::Params;
        let params = self
            .params
            .iter()
            .map(|p| match p {
                Params::None => Params::None,
                Params::Conv { w, b } => Params::Conv {
                    w: w.clone().to_device(device),
                    b: b.clone().to_device(device),
                },
                Params::Conv3 { w, b } => Params::Conv3 {
                    w: w.clone().to_device(device),
                    b: b.clone().to_device(device),
                },
                Params::Linear { w, b } => Params::Linear {
                    w: w.clone().to_device(device),
                    b: b.clone().to_device(device),
                },
                Params::BatchNorm {
                    gamma,
                    beta,
                    mean,
                    var,
                    tracked,
                } => Params::BatchNorm {
                    gamma: gamma.clone().to_device(device),
                    beta: beta.clone().to_device(device),
                    mean: mean.clone().to_device(device),
                    var: var.clone().to_device(device),
                    tracked: *tracked,
                },
            })
            .collect();
        Vgg {
            arch: self.arch.clone(),
            specs: self.specs.clone(),
            params,
            device: device.clone(),
        }
    }

    /// Which layers are frozen when training from `init` (per layer of the module list).
    pub(crate) fn frozen_mask(&self, k: usize, frozen: bool) -> Vec<bool> {
        if frozen {
            weights::leading_layers(self, k)
        } else {
            vec![false; self.specs.len()]
        }
    }
}

/// Cascading model-parameter randomisation (Adebayo et al. 2018): the last `n_layers` weight
/// layers re-initialised from `seed`, the leading ones kept — i.e. a transfer of the first
/// `weight_layers − n_layers` layers from the model itself.
impl mrixai_core::Randomizable for Vgg {
    fn randomized_top_down(
        &self,
        n_layers: usize,
        seed: u64,
    ) -> Result<Box<dyn mrixai_core::Explainable>> {
        let total = self.arch().weight_layers();
        if n_layers > total {
            return Err(Error::invalid(format!(
                "cannot randomise {n_layers} weight layers of a model that has {total}"
            )));
        }
        if n_layers == 0 {
            return Ok(Box::new(self.clone()));
        }
        Ok(Box::new(Vgg::transfer_from(
            self.arch(),
            self,
            total - n_layers,
            seed,
        )?))
    }
}
