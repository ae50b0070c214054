//! One-pass backward passes for the methods that change a ReLU's backward (guided backprop,
//! deconvolution, guided Grad-CAM's guided part) off the CPU: the activations stay on the
//! device, so a GPU sees one upload and one download per batch instead of two transfers per
//! layer. On the CPU the layer walk of `mrixai-attrib` (with the CPU kernels) stays in use.

use crate::vgg::{Act, Vgg};
use burn::tensor::activation::relu;
use mrixai_core::explain::check_targets;
use mrixai_core::{ArrayF, Error, LayerKind, ReluRule, Result, ViewF, WeightTransform};

impl Vgg {
    /// [`mrixai_core::Explainable::relu_rule_gradient`] on the model's device.
    pub(crate) fn relu_rule_gradient_on_device(
        &self,
        x: ViewF,
        target: &[usize],
        rule: ReluRule,
    ) -> Result<ArrayF> {
        self.check_batch(&x)?;
        let n = x.shape()[0];
        check_targets(&[n, self.arch.num_classes], target)?;
        let mut acts = vec![Act::from_view(x, &self.device)?];
        for i in 0..self.specs.len() {
            let out = self.apply(i, acts[i].clone(), WeightTransform::IDENTITY)?;
            acts.push(out);
        }
        let mut g = Act::F(self.one_hot_tensor(n, target)?);
        for i in (0..self.specs.len()).rev() {
            g = match (self.specs[i].kind, rule) {
                (LayerKind::Relu, ReluRule::Guided) => guided(g, &acts[i])?,
                (LayerKind::Relu, ReluRule::Deconv) => match g {
                    Act::S(t) => Act::S(relu(t)),
                    Act::V(t) => Act::V(relu(t)),
                    Act::F(t) => Act::F(relu(t)),
                },
                _ => self.vjp_act(i, acts[i].clone(), g, WeightTransform::IDENTITY)?,
            };
        }
        g.into_array()
    }
}

/// Guided backprop at a ReLU with input `z`: `relu(g)` where `z > 0`, else 0.
fn guided(g: Act, z: &Act) -> Result<Act> {
    Ok(match (g, z) {
        (Act::S(g), Act::S(z)) => Act::S(relu(g).mask_fill(z.clone().lower_equal_elem(0.0), 0.0)),
        (Act::V(g), Act::V(z)) => Act::V(relu(g).mask_fill(z.clone().lower_equal_elem(0.0), 0.0)),
        (Act::F(g), Act::F(z)) => Act::F(relu(g).mask_fill(z.clone().lower_equal_elem(0.0), 0.0)),
        _ => {
            return Err(Error::invalid(
                "guided backprop: cotangent and activation differ in rank",
            ));
        }
    })
}
