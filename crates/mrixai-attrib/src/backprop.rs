//! A backward pass through an [`Explainable`] model whose ReLU rule can be swapped: the plain
//! gradient, Guided Backprop and Deconvolution differ only there.

pub(crate) use mrixai_core::ReluRule;
use mrixai_core::{ArrayF, Explainable, LayerKind, Result};

/// Propagates the cotangent `g` (at the output of layer `top - 1`) down to the input of layer
/// `bottom`, using the stored layer inputs `acts` (`acts[i]` is the input of layer `i`).
pub(crate) fn backward(
    model: &dyn Explainable,
    acts: &[ArrayF],
    top: usize,
    bottom: usize,
    mut g: ArrayF,
    relu: ReluRule,
) -> Result<ArrayF> {
    for i in (bottom..top).rev() {
        g = if model.layer_kind(i) == LayerKind::Relu && relu != ReluRule::Gradient {
            let z = &acts[i];
            match relu {
                ReluRule::Guided => {
                    ndarray::Zip::from(&mut g)
                        .and(z)
                        .for_each(|g, &z| *g = if z > 0.0 { g.max(0.0) } else { 0.0 });
                    g
                }
                _ => g.mapv_into(|v| v.max(0.0)),
            }
        } else {
            model.layer_vjp(i, acts[i].view(), g.view())?
        };
    }
    Ok(g)
}
