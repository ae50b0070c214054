//! The VGG model: torchvision's module list on burn tensors, seen layer by layer
//! ([`Explainable`]) or as one fused network.

use crate::arch::{Arch, LayerSpec};
use crate::kernels::conv::ConvShape;
use crate::kernels::features::{
    Batch, BnStats, Tape, leading_ops, max_pool_2x2_backward, scale_channels,
};
pub use crate::params::BN_EPS;
pub(crate) use crate::params::{Params, bn_affine};
use crate::tensor::{Compute, from_vec, to_array, to_tensor, to_vec};
use burn::tensor::module::{adaptive_avg_pool2d, adaptive_avg_pool3d, conv2d, conv3d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, activation::relu};
use mrixai_core::explain::{check_targets, one_hot_like};
use mrixai_core::{
    ArrayF, Error, Explainable, LayerKind, ReluRule, Result, ViewF, WeightMap, WeightTransform,
    c_order_values,
};
use ndarray::{Axis, IxDyn};
use rand_distr::{Distribution, Normal};

/// Batch size used internally by [`Vgg::predict`] and [`Vgg::logits_batched`].
pub const EVAL_BATCH: usize = 64;

/// An activation between layers: spatial `[N, C, H, W]`, volumetric `[N, C, D, H, W]` or
/// flat `[N, F]`.
#[derive(Clone, Debug)]
pub(crate) enum Act {
    /// `[N, C, H, W]`.
    S(Tensor<4>),
    /// `[N, C, D, H, W]`.
    V(Tensor<5>),
    /// `[N, F]`.
    F(Tensor<2>),
}

impl Act {
    pub(crate) fn from_view(x: ViewF, device: &Device) -> Result<Act> {
        match x.ndim() {
            4 => Ok(Act::S(to_tensor::<4>(x, device))),
            5 => Ok(Act::V(to_tensor::<5>(x, device))),
            2 => Ok(Act::F(to_tensor::<2>(x, device))),
            _ => Err(Error::shape(
                "layer input",
                "[N, C, H, W], [N, C, D, H, W] or [N, F]",
                x.shape(),
            )),
        }
    }
    pub(crate) fn into_array(self) -> Result<ArrayF> {
        match self {
            Act::S(t) => to_array(t),
            Act::V(t) => to_array(t),
            Act::F(t) => to_array(t),
        }
    }
    pub(crate) fn dims(&self) -> Vec<usize> {
        match self {
            Act::S(t) => t.dims().to_vec(),
            Act::V(t) => t.dims().to_vec(),
            Act::F(t) => t.dims().to_vec(),
        }
    }
    /// The activation tracked by autodiff (without requiring its own gradient).
    pub(crate) fn into_autodiff(self) -> Act {
        match self {
            Act::S(t) => Act::S(t.autodiff()),
            Act::V(t) => Act::V(t.autodiff()),
            Act::F(t) => Act::F(t.autodiff()),
        }
    }
    pub(crate) fn autodiff_leaf(self) -> Act {
        match self {
            Act::S(t) => Act::S(t.autodiff().require_grad()),
            Act::V(t) => Act::V(t.autodiff().require_grad()),
            Act::F(t) => Act::F(t.autodiff().require_grad()),
        }
    }
    /// `x·a + c` per channel (per feature of a flat activation).
    pub(crate) fn channel_affine(self, a: Tensor<1>, c: Tensor<1>) -> Act {
        match self {
            Act::S(x) => Act::S(channel_affine(x, a, c)),
            Act::V(x) => Act::V(channel_affine(x, a, c)),
            Act::F(x) => Act::F(channel_affine(x, a, c)),
        }
    }
    /// The gradient of `grads` with respect to this leaf (zeros where it has none).
    pub(crate) fn grad_of(&self, grads: &burn::tensor::Gradients) -> Act {
        fn or_zeros<const D: usize>(l: &Tensor<D>, g: &burn::tensor::Gradients) -> Tensor<D> {
            l.grad(g)
                .unwrap_or_else(|| Tensor::zeros(l.dims(), &l.device()))
        }
        match self {
            Act::S(l) => Act::S(or_zeros(l, grads)),
            Act::V(l) => Act::V(or_zeros(l, grads)),
            Act::F(l) => Act::F(or_zeros(l, grads)),
        }
    }
    pub(crate) fn dot_sum(self, v: Act) -> Result<Tensor<1>> {
        match (self, v) {
            (Act::S(a), Act::S(b)) if a.dims() == b.dims() => Ok((a * b).sum()),
            (Act::V(a), Act::V(b)) if a.dims() == b.dims() => Ok((a * b).sum()),
            (Act::F(a), Act::F(b)) if a.dims() == b.dims() => Ok((a * b).sum()),
            (a, b) => Err(Error::shape(
                "cotangent",
                format!("{:?} (the layer output)", a.dims()),
                &b.dims(),
            )),
        }
    }
}

/// Applies a weight map to a tensor.
fn map_tensor<const D: usize>(t: &Tensor<D>, m: WeightMap) -> Tensor<D> {
    match m {
        WeightMap::Identity => t.clone(),
        WeightMap::Positive => t.clone().clamp_min(0.0),
        WeightMap::Negative => t.clone().clamp_max(0.0),
        WeightMap::Gamma(g) => t.clone() + t.clone().clamp_min(0.0) * g,
        WeightMap::Ones => t.ones_like(),
    }
}

fn map_bias(b: &Tensor<1>, t: WeightTransform) -> Tensor<1> {
    if t.bias {
        map_tensor(b, t.weights)
    } else {
        b.zeros_like()
    }
}

/// `x·a + c` with per-channel `a`, `c` broadcast over `[N, C, …]`.
pub(crate) fn channel_affine<const D: usize>(
    x: Tensor<D>,
    a: Tensor<1>,
    c: Tensor<1>,
) -> Tensor<D> {
    let mut shape = [1usize; D];
    shape[1] = a.dims()[0];
    x * a.reshape(shape) + c.reshape(shape)
}

/// 3×3×3 convolution with padding 1 (burn's `conv3d`).
pub(crate) fn conv3x3x3(x: Tensor<5>, w: Tensor<5>, b: Tensor<1>) -> Tensor<5> {
    conv3d(
        x,
        w,
        Some(b),
        ConvOptions::new([1, 1, 1], [1, 1, 1], [1, 1, 1], 1),
    )
}

/// 2×2×2 max pooling with stride 2 (odd trailing planes, rows and columns dropped, as in
/// PyTorch). Each window's eight values are gathered in row-major order and reduced with
/// `max_dim`, whose gradient goes to the first maximum, as PyTorch's does.
pub(crate) fn maxpool2x2x2(x: Tensor<5>) -> Tensor<5> {
    let [n, c, d, h, w] = x.dims();
    let (d2, h2, w2) = (d / 2, h / 2, w / 2);
    x.slice([0..n, 0..c, 0..2 * d2, 0..2 * h2, 0..2 * w2])
        .reshape([n, c, d2, 2, h2, 2, w2, 2])
        .permute([0, 1, 2, 4, 6, 3, 5, 7])
        .reshape([n, c, d2, h2, w2, 8])
        .max_dim(5)
        .reshape([n, c, d2, h2, w2])
}

/// 3×3 convolution with padding 1. Outside autodiff on the CPU it runs on the kernels of
/// [`crate::kernels::conv`] (equal to burn's, several times faster); otherwise it is burn's `conv2d`.
pub(crate) fn conv3x3(x: Tensor<4>, w: Tensor<4>, b: Tensor<1>) -> Tensor<4> {
    let opts = || ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let device = x.device();
    let plain = plain_cpu(&[x.is_autodiff(), w.is_autodiff(), b.is_autodiff()], &x);
    let [n, ci, h, wd] = x.dims();
    let [co, wci, kh, kw] = w.dims();
    if !(plain && [wci, kh, kw] == [ci, 3, 3] && b.dims() == [co]) {
        return conv2d(x, w, Some(b), opts());
    }
    let (Ok(wv), Ok(bv)) = (to_vec(w.clone()), to_vec(b.clone())) else {
        return conv2d(x, w, Some(b), opts());
    };
    // The input is read in place (no copy).
    let data = x.into_data();
    match data.as_slice::<f32>() {
        Ok(xv) => {
            let shape = ConvShape {
                n,
                ci,
                co,
                h,
                w: wd,
            };
            from_vec(
                crate::kernels::conv::forward(&shape, xv, &wv, &bv),
                [n, co, h, wd],
                &device,
            )
        }
        Err(_) => conv2d(Tensor::from_data(data, &device), w, Some(b), opts()),
    }
}

/// Fully connected layer `x·wᵀ + b`. Outside autodiff on the CPU it runs on
/// [`crate::kernels::head::linear`] (the same bytes on every instruction path); otherwise it
/// is burn's `matmul`.
pub(crate) fn linear(x: Tensor<2>, w: Tensor<2>, b: Tensor<1>) -> Tensor<2> {
    let ([n, fin], [fout, wfin]) = (x.dims(), w.dims());
    let fits = fin == wfin && b.dims() == [fout];
    if plain_cpu(&[x.is_autodiff(), w.is_autodiff(), b.is_autodiff()], &x) && fits {
        let device = x.device();
        if let (Ok(xv), Ok(wv), Ok(bv)) = (to_vec(x.clone()), to_vec(w.clone()), to_vec(b.clone()))
        {
            let shape = crate::kernels::head::LinearShape { n, fin, fout };
            let y = crate::kernels::head::linear(shape, &xv, &wv, &bv);
            return from_vec(y, [n, fout], &device);
        }
    }
    x.matmul(w.transpose()) + b.reshape([1, fout])
}

/// Adaptive average pooling to `out`; outside autodiff on the CPU it runs on
/// [`crate::kernels::head::adaptive_avg_pool`].
pub(crate) fn avg_pool(x: Tensor<4>, out: [usize; 2]) -> Tensor<4> {
    if plain_cpu(&[x.is_autodiff()], &x) {
        let (device, dims) = (x.device(), x.dims());
        if let Ok(v) = to_vec(x.clone()) {
            let y = crate::kernels::head::adaptive_avg_pool(&v, dims, out);
            return from_vec(y, [dims[0], dims[1], out[0], out[1]], &device);
        }
    }
    adaptive_avg_pool2d(x, out)
}

/// Whether a layer runs on the CPU kernels: no operand under autodiff and `x` on the CPU.
fn plain_cpu<const D: usize>(autodiff: &[bool], x: &Tensor<D>) -> bool {
    !autodiff.iter().any(|a| *a) && x.device() == Device::flex()
}

/// 2×2 max pooling with stride 2 (odd trailing rows/columns dropped, as in PyTorch).
///
/// Inference on the CPU runs [`crate::kernels::features::max_pool_2x2`], several times faster than
/// the backend's generic pooling kernel and equal to it on finite inputs. Under autodiff and
/// off the CPU this is burn's `max_pool2d`.
pub(crate) fn maxpool2(x: Tensor<4>) -> Tensor<4> {
    let device = x.device();
    let [n, c, h, w] = x.dims();
    let (ho, wo) = (h / 2, w / 2);
    if x.is_autodiff() || device != Device::flex() || n * c * ho * wo == 0 {
        return max_pool2d(x, MaxPoolOptions::new([2, 2]));
    }
    let data = x.into_data();
    match data.as_slice::<f32>() {
        Ok(v) => {
            let (out, _) = crate::kernels::features::max_pool_2x2(v, [n, c, h, w], false);
            from_vec(out.data, out.dims, &device)
        }
        Err(_) => max_pool2d(
            Tensor::from_data(data, &device),
            MaxPoolOptions::new([2, 2]),
        ),
    }
}

/// A torchvision-layout VGG on burn tensors.
#[derive(Clone, Debug)]
pub struct Vgg {
    pub(crate) arch: Arch,
    pub(crate) specs: Vec<LayerSpec>,
    pub(crate) params: Vec<Params>,
    pub(crate) device: Device,
}

impl Vgg {
    /// A freshly initialised model (torchvision's VGG init: Kaiming-normal convolutions with
    /// fan-out, N(0, 0.01) linear weights, zero biases, identity BatchNorm), seeded.
    pub fn init(arch: &Arch, seed: u64) -> Result<Vgg> {
        Self::init_on(arch, seed, Compute::Cpu)
    }

    /// [`Vgg::init`] on a chosen compute device.
    pub fn init_on(arch: &Arch, seed: u64, compute: Compute) -> Result<Vgg> {
        arch.validate()?;
        let device = compute.device()?;
        let specs = arch.layers();
        let params = specs
            .iter()
            .map(|s| init_params(s, seed, &device))
            .collect();
        Ok(Vgg {
            arch: arch.clone(),
            specs,
            params,
            device,
        })
    }

    /// The architecture.
    pub fn arch(&self) -> &Arch {
        &self.arch
    }

    /// The burn device the model lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Adapts a dataset batch `[N, c, H, W]` (volumes: `[N, c, D, H, W]`) to the model input: a single grayscale channel is
    /// replicated when the model has 3 input channels, then `arch.input_norm` is applied.
    /// Other channel mismatches are an error.
    pub fn prepare(&self, x: ViewF) -> Result<ArrayF> {
        let want = self.arch.in_channels;
        if x.ndim() != 2 + self.arch.spatial_dims() {
            return Err(Error::shape("images", self.input_layout(want), x.shape()));
        }
        let c = x.shape()[1];
        let mut out = if c == want {
            x.to_owned()
        } else if c == 1 {
            let views: Vec<_> = (0..want).map(|_| x.view()).collect();
            ndarray::concatenate(Axis(1), &views)
                .map_err(|e| Error::invalid(format!("channel replication: {e}")))?
        } else {
            return Err(Error::shape(
                "images",
                format!(
                    "{} (or 1 channel, replicated) for a model with {want} input channel(s)",
                    self.input_layout(want)
                ),
                x.shape(),
            ));
        };
        if let Some(n) = &self.arch.input_norm {
            for (ch, mut plane) in out.axis_iter_mut(Axis(1)).enumerate() {
                let (m, s) = (n.mean[ch], n.std[ch]);
                plane.mapv_inplace(|v| (v - m) / s);
            }
        }
        Ok(out)
    }

    pub(crate) fn check_batch(&self, x: &ViewF) -> Result<()> {
        let c = self.arch.in_channels;
        let min = 1usize
            << self
                .specs
                .iter()
                .filter(|s| s.kind == LayerKind::MaxPool)
                .count();
        let s = x.shape();
        if x.ndim() != 2 + self.arch.spatial_dims() || s[1] != c || s[2..].iter().any(|&n| n < min)
        {
            return Err(Error::shape(
                "input",
                format!(
                    "{} with spatial sizes >= {min} (model input {:?})",
                    self.input_layout(c),
                    self.input_shape()
                ),
                s,
            ));
        }
        mrixai_core::error::ensure_finite("input", x.iter())
    }

    /// Whether training and input gradients run on the hand-written CPU kernels: 2-D models
    /// on the CPU. Volumes and other devices go through burn's operations and autodiff.
    pub(crate) fn runs_cpu_kernels(&self) -> bool {
        self.device == Device::flex() && self.arch.spatial_dims() == 2
    }

    /// The batch layout the model takes, `[N, c, H, W]` or `[N, c, D, H, W]`.
    fn input_layout(&self, c: usize) -> String {
        match self.arch.spatial_dims() {
            3 => format!("[N, {c}, D, H, W]"),
            _ => format!("[N, {c}, H, W]"),
        }
    }

    /// The adaptive pool's output size of a 2-D model (an error for a volumetric one).
    fn avgpool_2d(&self) -> Result<[usize; 2]> {
        match self.arch.avgpool[..] {
            [h, w] => Ok([h, w]),
            _ => Err(Error::invalid(format!(
                "avgpool: a 2-D activation [N, C, H, W] reached a volumetric model (input {})",
                self.input_layout(self.arch.in_channels)
            ))),
        }
    }

    /// Applies layer `i` (inference mode) to `x` with weights transformed by `t`.
    pub(crate) fn apply(&self, i: usize, x: Act, t: WeightTransform) -> Result<Act> {
        self.apply_with(i, &self.params[i], x, t)
    }

    /// [`Vgg::apply`] with the parameters `params` in place of layer `i`'s own (training
    /// passes its autodiff leaves).
    pub(crate) fn apply_with(
        &self,
        i: usize,
        params: &Params,
        x: Act,
        t: WeightTransform,
    ) -> Result<Act> {
        let spec = &self.specs[i];
        let bad = |x: &Act| {
            Error::shape(
                format!("input of layer {} ({:?})", spec.name, spec.kind),
                expected_rank(spec.kind),
                &x.dims(),
            )
        };
        Ok(match (params, spec.kind, x) {
            (Params::Conv { w, b }, _, Act::S(x)) => {
                check_channels(spec, x.dims()[1])?;
                Act::S(conv3x3(x, map_tensor(w, t.weights), map_bias(b, t)))
            }
            (Params::Conv3 { w, b }, _, Act::V(x)) => {
                check_channels(spec, x.dims()[1])?;
                Act::V(conv3x3x3(x, map_tensor(w, t.weights), map_bias(b, t)))
            }
            (
                Params::BatchNorm {
                    gamma,
                    beta,
                    mean,
                    var,
                    ..
                },
                _,
                x @ (Act::S(_) | Act::V(_)),
            ) => {
                check_channels(spec, x.dims()[1])?;
                let (a, c) = bn_affine(gamma, beta, mean, var);
                x.channel_affine(map_tensor(&a, t.weights), map_bias(&c, t))
            }
            (Params::Linear { w, b }, _, Act::F(x)) => {
                check_channels(spec, x.dims()[1])?;
                Act::F(linear(x, map_tensor(w, t.weights), map_bias(b, t)))
            }
            (Params::None, LayerKind::Relu, Act::S(x)) => Act::S(relu(x)),
            (Params::None, LayerKind::Relu, Act::V(x)) => Act::V(relu(x)),
            (Params::None, LayerKind::Relu, Act::F(x)) => Act::F(relu(x)),
            (Params::None, LayerKind::Dropout, x) => x,
            (Params::None, LayerKind::MaxPool, Act::S(x)) => {
                let d = x.dims();
                if d[2] < 2 || d[3] < 2 {
                    return Err(Error::shape(
                        format!("input of {}", spec.name),
                        "[N, C, H>=2, W>=2]",
                        &d,
                    ));
                }
                Act::S(maxpool2(x))
            }
            (Params::None, LayerKind::MaxPool, Act::V(x)) => {
                let d = x.dims();
                if d[2..].iter().any(|&n| n < 2) {
                    return Err(Error::shape(
                        format!("input of {}", spec.name),
                        "[N, C, D>=2, H>=2, W>=2]",
                        &d,
                    ));
                }
                Act::V(maxpool2x2x2(x))
            }
            (Params::None, LayerKind::AdaptiveAvgPool, Act::S(x)) => {
                Act::S(avg_pool(x, self.avgpool_2d()?))
            }
            (Params::None, LayerKind::AdaptiveAvgPool, Act::V(x)) => {
                let [d, h, w] = self.arch.avgpool[..] else {
                    return Err(bad(&Act::V(x)));
                };
                Act::V(adaptive_avg_pool3d(x, [d, h, w]))
            }
            (Params::None, LayerKind::Flatten, Act::S(x)) => {
                let [n, c, h, w] = x.dims();
                Act::F(x.reshape([n, c * h * w]))
            }
            (Params::None, LayerKind::Flatten, Act::V(x)) => {
                let [n, c, d, h, w] = x.dims();
                Act::F(x.reshape([n, c * d * h * w]))
            }
            (_, _, x) => return Err(bad(&x)),
        })
    }

    /// Logits of a prepared batch, computed in chunks of [`EVAL_BATCH`].
    pub fn logits_batched(&self, x: ViewF) -> Result<ArrayF> {
        self.check_batch(&x)?;
        let n = x.shape()[0];
        let mut parts = Vec::new();
        let mut start = 0;
        while start < n {
            let end = (start + EVAL_BATCH).min(n);
            let xb = x.slice_axis(Axis(0), (start..end).into());
            parts.push(self.forward(xb)?);
            start = end;
        }
        if parts.is_empty() {
            return Ok(ArrayF::zeros(IxDyn(&[0, self.arch.num_classes])));
        }
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        ndarray::concatenate(Axis(0), &views)
            .map_err(|e| Error::invalid(format!("joining logits: {e}")))
    }

    /// Predicted class of every sample of a prepared batch `[N, C, H, W]` (or volumes).
    pub fn predict(&self, x: ViewF) -> Result<Vec<usize>> {
        let logits = self.logits_batched(x)?;
        Ok(argmax_rows(&logits))
    }

    /// The fused forward pass on a (possibly autodiff) image or volume batch, inference mode.
    pub(crate) fn forward_act(&self, x: Act) -> Result<Tensor<2>> {
        let mut a = x;
        for i in 0..self.specs.len() {
            a = self.apply(i, a, WeightTransform::IDENTITY)?;
        }
        match a {
            Act::F(t) => Ok(t),
            a => Err(Error::shape("logits", "[N, classes]", &a.dims())),
        }
    }
}

/// Softmax of each row of `[N, C]` logits (stabilised by the row maximum).
pub fn softmax_rows(logits: &ArrayF) -> Vec<Vec<f32>> {
    logits
        .axis_iter(Axis(0))
        .map(|row| {
            let mx = row.iter().fold(f32::NEG_INFINITY, |a, b| a.max(*b));
            let e: Vec<f32> = row.iter().map(|v| (v - mx).exp()).collect();
            let z: f32 = e.iter().sum();
            e.iter().map(|v| v / z).collect()
        })
        .collect()
}

/// Index of the largest value of each row of `[N, C]` (first on ties).
pub fn argmax_rows(logits: &ArrayF) -> Vec<usize> {
    logits
        .axis_iter(Axis(0))
        .map(|row| {
            let mut best = 0;
            for (j, v) in row.iter().enumerate() {
                if *v > row[best] {
                    best = j;
                }
            }
            best
        })
        .collect()
}

fn expected_rank(kind: LayerKind) -> &'static str {
    match kind {
        LayerKind::Linear => "[N, F]",
        LayerKind::Relu | LayerKind::Dropout => "[N, C, H, W] or [N, F]",
        _ => "[N, C, H, W]",
    }
}

fn check_channels(spec: &LayerSpec, got: usize) -> Result<()> {
    if got != spec.in_out.0 {
        return Err(Error::invalid(format!(
            "input of layer {} has {got} channel(s)/feature(s), expected {}",
            spec.name, spec.in_out.0
        )));
    }
    Ok(())
}

/// Fresh parameters of one layer, torchvision's init, seeded per layer name.
pub(crate) fn init_params(spec: &LayerSpec, seed: u64, device: &Device) -> Params {
    let mut rng = mrixai_core::seed::rng(seed, &format!("zoo/init/{}", spec.name));
    let (cin, cout) = spec.in_out;
    let mut normal = |n: usize, std: f32| -> Vec<f32> {
        let d = Normal::new(0.0f32, std).expect("positive std");
        (0..n).map(|_| d.sample(&mut rng)).collect()
    };
    match spec.kind {
        LayerKind::Conv2d => {
            let std = (2.0 / (cout * 9) as f32).sqrt();
            Params::Conv {
                w: from_vec(normal(cout * cin * 9, std), [cout, cin, 3, 3], device),
                b: Tensor::zeros([cout], device),
            }
        }
        LayerKind::Conv3d => {
            let std = (2.0 / (cout * 27) as f32).sqrt();
            Params::Conv3 {
                w: from_vec(normal(cout * cin * 27, std), [cout, cin, 3, 3, 3], device),
                b: Tensor::zeros([cout], device),
            }
        }
        LayerKind::Linear => Params::Linear {
            w: from_vec(normal(cout * cin, 0.01), [cout, cin], device),
            b: Tensor::zeros([cout], device),
        },
        LayerKind::BatchNorm => Params::BatchNorm {
            gamma: Tensor::ones([cout], device),
            beta: Tensor::zeros([cout], device),
            mean: Tensor::zeros([cout], device),
            var: Tensor::ones([cout], device),
            tracked: 0,
        },
        _ => Params::None,
    }
}

impl Explainable for Vgg {
    fn input_shape(&self) -> Vec<usize> {
        let mut shape = vec![self.arch.in_channels];
        shape.extend(&self.arch.input_size);
        shape
    }
    fn num_classes(&self) -> usize {
        self.arch.num_classes
    }
    fn layers(&self) -> usize {
        self.specs.len()
    }
    fn layer_kind(&self, i: usize) -> LayerKind {
        self.specs[i].kind
    }
    fn layer_name(&self, i: usize) -> String {
        self.specs[i].name.clone()
    }
    fn layer_forward(&self, i: usize, x: ViewF) -> Result<ArrayF> {
        self.layer_forward_with(i, x, WeightTransform::IDENTITY)
    }
    fn layer_vjp(&self, i: usize, x: ViewF, v: ViewF) -> Result<ArrayF> {
        self.layer_vjp_with(i, x, v, WeightTransform::IDENTITY)
    }
    fn layer_forward_with(&self, i: usize, x: ViewF, t: WeightTransform) -> Result<ArrayF> {
        self.check_layer(i)?;
        let a = Act::from_view(x, &self.device)?;
        self.apply(i, a, t)?.into_array()
    }
    fn layer_vjp_with(&self, i: usize, x: ViewF, v: ViewF, t: WeightTransform) -> Result<ArrayF> {
        self.check_layer(i)?;
        if let Some(g) = self.layer_vjp_cpu(i, x.view(), v.view(), t)? {
            return Ok(g);
        }
        let (x, v) = (
            Act::from_view(x, &self.device)?,
            Act::from_view(v, &self.device)?,
        );
        self.vjp_act(i, x, v, t)?.into_array()
    }

    fn forward(&self, x: ViewF) -> Result<ArrayF> {
        self.check_batch(&x)?;
        let logits = self.forward_act(Act::from_view(x, &self.device)?)?;
        to_array(logits)
    }

    fn relu_rule_gradient(
        &self,
        x: ViewF,
        target: &[usize],
        rule: ReluRule,
    ) -> Option<Result<ArrayF>> {
        // the CPU keeps attrib's layer walk over the CPU kernels (bit-identical maps)
        (self.device != Device::flex()).then(|| self.relu_rule_gradient_on_device(x, target, rule))
    }

    fn input_gradient(&self, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        self.check_batch(&x)?;
        check_targets(&[x.shape()[0], self.arch.num_classes], target)?;
        match self.input_gradient_cpu(x.view(), target)? {
            Some(g) => Ok(g),
            None => self.input_gradient_autodiff(x, target),
        }
    }
}

impl Vgg {
    /// The input gradient through one burn autodiff graph of the whole model.
    fn input_gradient_autodiff(&self, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        let leaf = Act::from_view(x.view(), &self.device)?.autodiff_leaf();
        let logits = self.forward_act(leaf.clone())?;
        let onehot = self.one_hot_tensor(x.shape()[0], target)?;
        let grads = (logits * onehot).sum().backward();
        leaf.grad_of(&grads).into_array()
    }

    /// The one-hot cotangent of `target` for `n` rows of logits (`[n, classes]`, C order).
    fn one_hot(&self, n: usize, target: &[usize]) -> Result<ArrayF> {
        one_hot_like(
            ArrayF::zeros(IxDyn(&[n, self.arch.num_classes])).view(),
            target,
        )
    }

    /// [`Vgg::one_hot`] on the model's device.
    pub(crate) fn one_hot_tensor(&self, n: usize, target: &[usize]) -> Result<Tensor<2>> {
        Ok(to_tensor::<2>(
            self.one_hot(n, target)?.view(),
            &self.device,
        ))
    }

    /// The vector–Jacobian product of layer `i` (weights transformed by `t`) at `x` with
    /// cotangent `v`, through burn's autodiff on the model's device; zeros where the output
    /// does not depend on the input.
    pub(crate) fn vjp_act(&self, i: usize, x: Act, v: Act, t: WeightTransform) -> Result<Act> {
        let leaf = x.autodiff_leaf();
        let y = self.apply(i, leaf.clone(), t)?;
        let grads = y.dot_sum(v)?.backward();
        Ok(leaf.grad_of(&grads))
    }
}

impl Vgg {
    /// [`Explainable::layer_vjp_with`] on the CPU kernels for every layer kind (`None` off the
    /// CPU, or for shapes the layer does not accept, which burn's path then reports).
    fn layer_vjp_cpu(
        &self,
        i: usize,
        x: ViewF,
        v: ViewF,
        t: WeightTransform,
    ) -> Result<Option<ArrayF>> {
        if self.device != Device::flex() {
            return Ok(None);
        }
        let xs = x.shape().to_vec();
        let values = |a: &ViewF| -> Vec<f32> { c_order_values(a).into_owned() };
        let dx = match (&self.params[i], self.specs[i].kind, xs.as_slice()) {
            (Params::Conv { w, .. }, _, &[n, ci, h, wd]) => {
                let [co, wci, kh, kw] = w.dims();
                if [wci, kh, kw] != [ci, 3, 3] || v.shape() != [n, co, h, wd] {
                    return Ok(None);
                }
                let wt = to_vec(map_tensor(w, t.weights))?;
                let shape = ConvShape {
                    n,
                    ci,
                    co,
                    h,
                    w: wd,
                };
                crate::kernels::conv::backward_input(&shape, &wt, &c_order_values(&v))
            }
            (Params::None, LayerKind::MaxPool, &[n, c, h, w]) => {
                if v.shape() != [n, c, h / 2, w / 2] {
                    return Ok(None);
                }
                let (_, argmax) =
                    crate::kernels::features::max_pool_2x2(&c_order_values(&x), [n, c, h, w], true);
                max_pool_2x2_backward(&c_order_values(&v), &argmax, [n, c, h, w])
            }
            (Params::None, LayerKind::Relu, _) if v.shape() == x.shape() => {
                let (xv, vv) = (c_order_values(&x), c_order_values(&v));
                xv.iter()
                    .zip(vv.iter())
                    .map(|(&a, &g)| if a > 0.0 { g } else { 0.0 })
                    .collect()
            }
            (
                Params::BatchNorm {
                    gamma,
                    beta,
                    mean,
                    var,
                    ..
                },
                _,
                &[n, c, h, w],
            ) if v.shape() == x.shape() && gamma.dims() == [c] => {
                let (a, _) = bn_affine(gamma, beta, mean, var);
                let scale = to_vec(map_tensor(&a, t.weights))?;
                scale_channels(values(&v), [n, c, h, w], &scale)
            }
            (Params::Linear { w, .. }, _, &[n, fin]) => {
                let [fout, wfin] = w.dims();
                if wfin != fin || v.shape() != [n, fout] {
                    return Ok(None);
                }
                let shape = crate::kernels::head::LinearShape { n, fin, fout };
                let wt = to_vec(map_tensor(w, t.weights))?;
                crate::kernels::head::linear_backward_input(shape, &wt, &c_order_values(&v))
            }
            (Params::None, LayerKind::AdaptiveAvgPool, &[n, c, h, w]) => {
                let [oh, ow] = self.avgpool_2d()?;
                if v.shape() != [n, c, oh, ow] {
                    return Ok(None);
                }
                let dims = [n, c, h, w];
                crate::kernels::head::adaptive_avg_pool_backward(
                    &c_order_values(&v),
                    dims,
                    [oh, ow],
                )
            }
            (Params::None, LayerKind::Dropout, _) if v.shape() == x.shape() => values(&v),
            (Params::None, LayerKind::Flatten, &[n, ..])
                if v.shape() == [n, x.len() / n.max(1)] =>
            {
                values(&v)
            }
            _ => return Ok(None),
        };
        ArrayF::from_shape_vec(IxDyn(&xs), dx)
            .map(Some)
            .map_err(|e| Error::invalid(format!("layer gradient shape: {e}")))
    }

    /// [`Explainable::input_gradient`] on the CPU: the model runs on the CPU kernels
    /// ([`crate::kernels::features`]) and their backward pass is taken by hand. `None` off the
    /// CPU.
    fn input_gradient_cpu(&self, x: ViewF, target: &[usize]) -> Result<Option<ArrayF>> {
        if !self.runs_cpu_kernels() {
            return Ok(None);
        }
        let (tape, out, _) = self.cpu_tape(|_| true, x.view(), None)?;
        let onehot = self.one_hot(out.dims[0], target)?;
        let dx = tape.input_gradient(c_order_values(&onehot.view()).into_owned());
        ArrayF::from_shape_vec(IxDyn(x.shape()), dx)
            .map(Some)
            .map_err(|e| Error::invalid(format!("input gradient shape: {e}")))
    }

    /// The whole model's forward pass on the CPU kernels, recorded for the backward pass:
    /// BatchNorm on batch statistics where not `frozen(i)` (else its fixed affine map), dropout
    /// from `rng` when given. Returns the tape, the logits (`[n, classes, 1, 1]`) and the batch
    /// statistics; an error names a layer without a CPU kernel.
    pub(crate) fn cpu_tape(
        &self,
        frozen: impl Fn(usize) -> bool,
        x: ViewF,
        rng: Option<&mut mrixai_core::seed::Rng>,
    ) -> Result<(Tape, Batch, Vec<BnStats>)> {
        let layers = (self.specs.iter().zip(&self.params)).map(|(spec, p)| (spec.kind, p.clone()));
        let ops = leading_ops(layers, frozen, &self.arch)?;
        if let Some(spec) = self.specs.get(ops.len()) {
            return Err(Error::invalid(format!(
                "layer {} ({:?}) has no CPU kernel",
                spec.name, spec.kind
            )));
        }
        let &[n, c, h, w] = x.shape() else {
            return Err(Error::shape("model input", "[N, C, H, W]", x.shape()));
        };
        let data = c_order_values(&x).into_owned();
        Ok(Tape::forward(
            ops,
            Batch {
                data,
                dims: [n, c, h, w],
            },
            rng,
        ))
    }

    fn check_layer(&self, i: usize) -> Result<()> {
        if i >= self.specs.len() {
            return Err(Error::invalid(format!(
                "layer index {i} out of range (model has {} layers)",
                self.specs.len()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Layer vector–Jacobian products on the CPU kernels (convolution and linear layers with
    /// every weight map, max pooling with ties, ReLU, adaptive pooling) equal burn's autodiff
    /// ones.
    #[test]
    fn cpu_layer_vjps_equal_the_autodiff_ones() {
        let arch = Arch::preset("vgg-small", 2, &[12, 10]).unwrap();
        let model = Vgg::init(&arch, 9).unwrap();
        let mut rng = mrixai_core::seed::rng(2, "vjp");
        let mut random = |shape: &[usize]| {
            ArrayF::from_shape_fn(IxDyn(shape), |_| {
                // half zeros: ties in the pooling windows and kinks of ReLU
                (rand::Rng::random::<f32>(&mut rng) - 0.5).max(0.0)
            })
        };
        let maps = [
            WeightMap::Identity,
            WeightMap::Positive,
            WeightMap::Negative,
            WeightMap::Gamma(0.25),
            WeightMap::Ones,
        ];
        let mut checked = std::collections::BTreeMap::new();
        let mut shape = vec![2usize, 1, 12, 10];
        for (i, spec) in model.specs.iter().enumerate() {
            let x = random(&shape);
            let y = model.layer_forward(i, x.view()).unwrap();
            let v = random(y.shape());
            for &m in &maps {
                let t = WeightTransform {
                    weights: m,
                    bias: true,
                };
                let want = {
                    let leaf = Act::from_view(x.view(), &model.device)
                        .unwrap()
                        .autodiff_leaf();
                    let out = model.apply(i, leaf.clone(), t).unwrap();
                    let grads = out
                        .dot_sum(Act::from_view(v.view(), &model.device).unwrap())
                        .unwrap()
                        .backward();
                    leaf.grad_of(&grads).into_array().unwrap()
                };
                let Some(got) = model.layer_vjp_cpu(i, x.view(), v.view(), t).unwrap() else {
                    continue;
                };
                assert_eq!(got.shape(), want.shape(), "layer {i}");
                crate::testutil::assert_close(
                    &got,
                    &want,
                    (1e-5, 1e-6),
                    &format!("layer {i} {m:?}"),
                );
                *checked.entry(format!("{:?}", spec.kind)).or_insert(0) += 1;
            }
            shape = y.shape().to_vec();
        }
        // every layer kind, with all five weight maps
        let want: std::collections::BTreeMap<String, usize> = [
            ("AdaptiveAvgPool", 1),
            ("BatchNorm", 4),
            ("Conv2d", 4),
            ("Dropout", 2),
            ("Flatten", 1),
            ("Linear", 3),
            ("MaxPool", 3),
            ("Relu", 6),
        ]
        .into_iter()
        .map(|(k, n)| (k.to_string(), 5 * n))
        .collect();
        assert_eq!(checked, want);
    }

    /// The input gradient through the CPU feature kernels equals the one through a single
    /// burn autodiff graph, for a BatchNorm and a plain model with odd image sizes.
    #[test]
    fn cpu_input_gradient_equals_the_autodiff_one() {
        let mut rng = mrixai_core::seed::rng(1, "input-gradient");
        for (bn, size) in [(true, [16, 16]), (false, [13, 10])] {
            let mut arch = Arch::preset("vgg-small", 3, &size).unwrap();
            arch.batch_norm = bn;
            let mut model = Vgg::init(&arch, 5).unwrap();
            // non-trivial running statistics
            for p in &mut model.params {
                if let Params::BatchNorm { mean, var, .. } = p {
                    *mean = mean.clone() + 0.1;
                    *var = var.clone() * 1.7;
                }
            }
            let x = ArrayF::from_shape_fn(IxDyn(&[3, 1, size[0], size[1]]), |_| {
                rand::Rng::random::<f32>(&mut rng)
            });
            let target = [2, 0, 1];
            let got = model.input_gradient(x.view(), &target).unwrap();
            let want = model.input_gradient_autodiff(x.view(), &target).unwrap();
            assert_eq!(got.shape(), want.shape());
            crate::testutil::assert_close(&got, &want, (1e-4, 1e-6), "input gradient");
        }
    }

    #[test]
    fn cpu_inference_pooling_equals_the_backend_kernel() {
        let device = Device::flex();
        let mut rng = mrixai_core::seed::rng(0, "pool");
        for shape in [[2usize, 3, 8, 8], [1, 2, 7, 9], [2, 1, 1, 5]] {
            // half the values zero (as after a ReLU): ties inside the windows
            let v: Vec<f32> = (0..shape.iter().product::<usize>())
                .map(|_| {
                    let u = rand::Rng::random::<f32>(&mut rng) - 0.5;
                    u.max(0.0)
                })
                .collect();
            let x = from_vec(v, shape, &device);
            let ours = to_array(maxpool2(x.clone())).unwrap();
            let burn = to_array(max_pool2d(x.clone(), MaxPoolOptions::new([2, 2]))).unwrap();
            assert_eq!(ours, burn, "shape {shape:?}");
            // gradients: to the first maximum of every window, like the backend kernel
            let out_shape = [shape[0], shape[1], shape[2] / 2, shape[3] / 2];
            let weights: Vec<f32> = (0..out_shape.iter().product::<usize>())
                .map(|i| 1.0 + i as f32)
                .collect();
            let wt = from_vec(weights, out_shape, &device);
            let grad = |ours: bool| {
                let leaf = x.clone().autodiff().require_grad();
                let y = if ours {
                    maxpool2(leaf.clone())
                } else {
                    max_pool2d(leaf.clone(), MaxPoolOptions::new([2, 2]))
                };
                let g = (y * wt.clone()).sum().backward();
                to_array(leaf.grad(&g).unwrap()).unwrap()
            };
            assert_eq!(grad(true), grad(false), "gradient, shape {shape:?}");
        }
    }
}
