//! The parameters of a VGG's layers in PyTorch's layouts, and the BatchNorm constants: what
//! the model ([`crate::vgg`]), its CPU kernels ([`crate::kernels`]), its weight files
//! ([`crate::weights`]) and training share.

use burn::tensor::Tensor;

/// BatchNorm2d epsilon (PyTorch's default).
pub const BN_EPS: f32 = 1e-5;

/// The parameters of one layer (PyTorch layouts). A model has a few dozen layers at most,
/// so the size difference between variants does not matter.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Params {
    /// A layer without parameters.
    None,
    /// Conv2d: weight `[out, in, 3, 3]`, bias `[out]`.
    Conv { w: Tensor<4>, b: Tensor<1> },
    /// Conv3d: weight `[out, in, 3, 3, 3]`, bias `[out]`.
    Conv3 { w: Tensor<5>, b: Tensor<1> },
    /// Linear: weight `[out, in]`, bias `[out]`.
    Linear { w: Tensor<2>, b: Tensor<1> },
    /// BatchNorm2d: affine weight and bias, running statistics, update count.
    BatchNorm {
        gamma: Tensor<1>,
        beta: Tensor<1>,
        mean: Tensor<1>,
        var: Tensor<1>,
        tracked: i64,
    },
}

/// BN in inference mode as the per-channel affine map `a·x + c`.
pub(crate) fn bn_affine(
    gamma: &Tensor<1>,
    beta: &Tensor<1>,
    mean: &Tensor<1>,
    var: &Tensor<1>,
) -> (Tensor<1>, Tensor<1>) {
    let a = gamma.clone() / (var.clone() + BN_EPS).sqrt();
    let c = beta.clone() - mean.clone() * a.clone();
    (a, c)
}
