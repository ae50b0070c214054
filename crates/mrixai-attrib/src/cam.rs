//! Grad-CAM and Guided Grad-CAM (Captum `LayerGradCam`, `GuidedGradCam`).

use crate::backprop::{ReluRule, backward};
use crate::gradient::modified_gradient;
use crate::util::{check_batch, upsample_nearest};
use mrixai_core::explain::one_hot_like;
use mrixai_core::{ArrayF, Attributor, Error, Explainable, Result, ViewF};
use ndarray::{Axis, IxDyn};

/// Index of the layer named `name`, or of the last convolution when `name` is `None`.
pub fn resolve_layer(model: &dyn Explainable, name: Option<&str>) -> Result<usize> {
    match name {
        Some(n) => (0..model.layers())
            .find(|&i| model.layer_name(i) == n)
            .ok_or_else(|| {
                let names: Vec<String> = (0..model.layers()).map(|i| model.layer_name(i)).collect();
                Error::invalid(format!(
                    "layer `{n}` not found (layers: {})",
                    names.join(", ")
                ))
            }),
        None => (0..model.layers())
            .rev()
            .find(|&i| model.layer_kind(i).is_conv())
            .ok_or_else(|| Error::invalid("the model has no convolution layer for Grad-CAM")),
    }
}

/// The Grad-CAM map `[N, 1, …]` of layer `layer`'s output: `Σ_c mean(∂logit/∂A_c) · A_c`.
fn cam(
    model: &dyn Explainable,
    x: ViewF,
    target: &[usize],
    layer: usize,
    relu: bool,
) -> Result<ArrayF> {
    let acts = model.activations(x)?;
    let g = one_hot_like(acts[model.layers()].view(), target)?;
    let grad = backward(
        model,
        &acts,
        model.layers(),
        layer + 1,
        g,
        ReluRule::Gradient,
    )?;
    let a = &acts[layer + 1];
    if a.ndim() < 3 {
        return Err(Error::invalid(format!(
            "Grad-CAM layer `{}` has no spatial axes (output {:?})",
            model.layer_name(layer),
            a.shape()
        )));
    }
    let (n, c) = (a.shape()[0], a.shape()[1]);
    let spatial: Vec<usize> = a.shape()[2..].to_vec();
    let mut shape = vec![n, 1];
    shape.extend_from_slice(&spatial);
    let mut out = ArrayF::zeros(IxDyn(&shape));
    for s in 0..n {
        let mut m = out.index_axis_mut(Axis(0), s);
        let mut m = m.index_axis_mut(Axis(0), 0);
        for ch in 0..c {
            let gc = grad.index_axis(Axis(0), s);
            let gc = gc.index_axis(Axis(0), ch);
            let w = gc.iter().map(|&v| v as f64).sum::<f64>() / gc.len() as f64;
            let ac = a.index_axis(Axis(0), s);
            m.scaled_add(w as f32, &ac.index_axis(Axis(0), ch));
        }
    }
    if relu {
        out.mapv_inplace(|v| v.max(0.0));
    }
    Ok(out)
}

/// Grad-CAM of a convolution layer's output (before its ReLU/BN), as Captum's `LayerGradCam`.
#[derive(Debug, Clone, Default)]
pub struct GradCam {
    /// Layer name (torchvision naming); default the last convolution.
    pub layer: Option<String>,
    /// Apply a ReLU to the map (Captum `relu_attributions`, default false).
    pub relu_attributions: bool,
    /// Upsample the `[N, 1, h, w]` map to the input's spatial size (nearest) — `[N, 1, H, W]`.
    pub upsample: bool,
}

impl Attributor for GradCam {
    fn name(&self) -> &str {
        "grad_cam"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        let layer = resolve_layer(model, self.layer.as_deref())?;
        let m = cam(model, x.view(), target, layer, self.relu_attributions)?;
        if self.upsample {
            upsample_nearest(&m, &x.shape()[2..])
        } else {
            Ok(m)
        }
    }
}

/// Guided Grad-CAM: `upsample(relu(Grad-CAM)) · GuidedBackprop`, the map broadcast over channels.
#[derive(Debug, Clone, Default)]
pub struct GuidedGradCam {
    /// Layer name; default the last convolution.
    pub layer: Option<String>,
}

impl Attributor for GuidedGradCam {
    fn name(&self) -> &str {
        "guided_grad_cam"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        let layer = resolve_layer(model, self.layer.as_deref())?;
        let m = upsample_nearest(&cam(model, x.view(), target, layer, true)?, &x.shape()[2..])?;
        let gb = modified_gradient(model, x, target, ReluRule::Guided)?;
        Ok(gb * &m)
    }
}
