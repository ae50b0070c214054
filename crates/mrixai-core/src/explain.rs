//! The traits that connect models, attribution methods and metrics.
//!
//! A model is seen as a sequence of layers ([`Explainable`]): attribution methods such as
//! LRP, DeepLIFT, Guided Backprop and Deconvolution change the backward pass layer by layer,
//! so they need each layer's forward pass and its vector–Jacobian product, not just the
//! whole-model gradient. Arrays always carry the batch as their first axis.

use crate::{ArrayF, Error, Result, ViewF};
use ndarray::{ArrayViewD, Axis};

/// What a layer of an [`Explainable`] model is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LayerKind {
    /// 2-D convolution (weights `[out, in, kh, kw]`).
    Conv2d,
    /// 3-D convolution (weights `[out, in, kd, kh, kw]`).
    Conv3d,
    /// Fully connected layer (weights `[out, in]`).
    Linear,
    /// Rectified linear unit.
    Relu,
    /// Max pooling.
    MaxPool,
    /// Fixed-window average pooling.
    AvgPool,
    /// Adaptive average pooling to a fixed output size.
    AdaptiveAvgPool,
    /// Flattening of all non-batch axes (C order).
    Flatten,
    /// Dropout (the identity at inference).
    Dropout,
    /// Batch normalisation in inference mode (an affine map per channel).
    BatchNorm,
}

impl LayerKind {
    /// Whether the layer has weights that [`WeightTransform`] applies to.
    pub fn has_weights(self) -> bool {
        matches!(
            self,
            LayerKind::Conv2d | LayerKind::Conv3d | LayerKind::Linear | LayerKind::BatchNorm
        )
    }
    /// Whether the layer is a convolution.
    pub fn is_conv(self) -> bool {
        matches!(self, LayerKind::Conv2d | LayerKind::Conv3d)
    }
}

/// How an LRP rule transforms a layer's weights.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum WeightMap {
    /// `w` unchanged.
    Identity,
    /// `max(w, 0)`.
    Positive,
    /// `min(w, 0)`.
    Negative,
    /// `w + γ·max(w, 0)`.
    Gamma(f32),
    /// All ones (the flat rule).
    Ones,
}

impl WeightMap {
    /// Applies the map to one weight value.
    pub fn apply(self, w: f32) -> f32 {
        match self {
            WeightMap::Identity => w,
            WeightMap::Positive => w.max(0.0),
            WeightMap::Negative => w.min(0.0),
            WeightMap::Gamma(g) => w + g * w.max(0.0),
            WeightMap::Ones => 1.0,
        }
    }
}

/// A weight transformation for [`Explainable::layer_forward_with`]: the map applied to the
/// weights, and whether the bias is kept (mapped the same way) or dropped.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WeightTransform {
    /// The map applied to weights (and to the bias when `bias` is true).
    pub weights: WeightMap,
    /// Keep the (mapped) bias; `false` sets it to zero.
    pub bias: bool,
}

impl WeightTransform {
    /// The identity transform (the layer as it is).
    pub const IDENTITY: Self = Self {
        weights: WeightMap::Identity,
        bias: true,
    };
}

/// A model seen layer by layer, for attribution methods that need more than a gradient.
///
/// Implementors provide the per-layer operations; whole-model `forward`, `activations` and
/// `input_gradient` have default implementations built from them, which an implementation
/// may override with a faster fused version (results must agree).
pub trait Explainable: Send + Sync {
    /// Shape of one input sample without the batch axis, e.g. `[1, 64, 64]`.
    fn input_shape(&self) -> Vec<usize>;
    /// Number of output classes (logits).
    fn num_classes(&self) -> usize;
    /// Number of layers.
    fn layers(&self) -> usize;
    /// Kind of layer `i`.
    fn layer_kind(&self, i: usize) -> LayerKind;
    /// Name of layer `i` in torchvision's state-dict naming, e.g. `features.0`.
    fn layer_name(&self, i: usize) -> String;
    /// Output of layer `i` for input `x`.
    fn layer_forward(&self, i: usize, x: ViewF) -> Result<ArrayF>;
    /// Vector–Jacobian product of layer `i` at input `x` with cotangent `v` (shaped like the output).
    fn layer_vjp(&self, i: usize, x: ViewF, v: ViewF) -> Result<ArrayF>;
    /// Output of layer `i` with its weights transformed by `t` (layers without weights ignore `t`).
    fn layer_forward_with(&self, i: usize, x: ViewF, t: WeightTransform) -> Result<ArrayF>;
    /// Vector–Jacobian product of layer `i` with its weights transformed by `t`.
    fn layer_vjp_with(&self, i: usize, x: ViewF, v: ViewF, t: WeightTransform) -> Result<ArrayF>;

    /// Logits `[N, classes]` for a batch `x` `[N, …input_shape]`.
    fn forward(&self, x: ViewF) -> Result<ArrayF> {
        let mut a = x.to_owned();
        for i in 0..self.layers() {
            a = self.layer_forward(i, a.view())?;
        }
        Ok(a)
    }

    /// The input of every layer followed by the logits (`layers() + 1` arrays).
    fn activations(&self, x: ViewF) -> Result<Vec<ArrayF>> {
        let mut acts = Vec::with_capacity(self.layers() + 1);
        acts.push(x.to_owned());
        for i in 0..self.layers() {
            let next = self.layer_forward(i, acts[i].view())?;
            acts.push(next);
        }
        Ok(acts)
    }

    /// Gradient of `logit[n, target[n]]` with respect to the input, per sample.
    fn input_gradient(&self, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        let acts = self.activations(x)?;
        let logits = &acts[self.layers()];
        let mut g = one_hot_like(logits.view(), target)?;
        for i in (0..self.layers()).rev() {
            g = self.layer_vjp(i, acts[i].view(), g.view())?;
        }
        Ok(g)
    }

    /// The input gradient of `logit[n, target[n]]` with every ReLU's backward replaced by
    /// `rule`, computed by the model in one pass that keeps its activations where it computes
    /// (on a GPU: one upload, one download). `None`, the default, when the model offers no
    /// such pass: the caller then walks the layers with [`Explainable::layer_vjp`]. Results
    /// must agree with that walk.
    fn relu_rule_gradient(
        &self,
        _x: ViewF,
        _target: &[usize],
        _rule: ReluRule,
    ) -> Option<Result<ArrayF>> {
        None
    }
}

/// What a backward pass does at a ReLU with input `z` and incoming gradient `g`: the plain
/// gradient, Guided Backprop and Deconvolution differ only there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReluRule {
    /// The ordinary gradient `g·1[z>0]`.
    Gradient,
    /// Guided Backprop: `relu(g)·1[z>0]`.
    Guided,
    /// Deconvolution: `relu(g)`.
    Deconv,
}

/// A one-hot cotangent shaped like `logits` `[N, classes]`, with 1 at `target[n]`.
pub fn one_hot_like(logits: ViewF, target: &[usize]) -> Result<ArrayF> {
    check_targets(logits.shape(), target)?;
    let mut g = ArrayF::zeros(logits.raw_dim());
    for (n, &t) in target.iter().enumerate() {
        g[[n, t]] = 1.0;
    }
    Ok(g)
}

/// Checks that `target` has one class index per sample, each below the number of classes.
pub fn check_targets(logits_shape: &[usize], target: &[usize]) -> Result<()> {
    if logits_shape.len() != 2 {
        return Err(Error::shape("logits", "[N, classes]", logits_shape));
    }
    let (n, c) = (logits_shape[0], logits_shape[1]);
    if target.len() != n {
        return Err(Error::invalid(format!(
            "target: {} value(s) for a batch of {n}",
            target.len()
        )));
    }
    if let Some((i, t)) = target.iter().enumerate().find(|(_, t)| **t >= c) {
        return Err(Error::invalid(format!(
            "target[{i}] = {t} is out of range for a model with {c} classes"
        )));
    }
    Ok(())
}

/// Checks that a batch `x` matches a model's input shape (`[N, …input_shape]`).
pub fn check_input(model: &dyn Explainable, x: &ViewF) -> Result<()> {
    let want = model.input_shape();
    if x.ndim() != want.len() + 1 || x.shape()[1..] != want[..] {
        let mut expected = vec!["N".to_string()];
        expected.extend(want.iter().map(|d| d.to_string()));
        return Err(Error::shape(
            "input",
            format!("[{}]", expected.join(", ")),
            x.shape(),
        ));
    }
    Ok(())
}

/// An attribution method: maps a batch and target classes to one map per input element.
pub trait Attributor: Send + Sync {
    /// The method's name, e.g. `integrated_gradients`.
    fn name(&self) -> &str;
    /// Attribution of `logit[n, target[n]]` to each element of `x`; same shape as `x`
    /// unless the method documents otherwise (e.g. raw Grad-CAM).
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF>;
}

/// An explanation metric of one attribution map against its ground-truth mask.
pub trait Metric: Send + Sync {
    /// The metric's name, e.g. `emd_score`.
    fn name(&self) -> &str;
    /// Score of `attr` against `mask` (same spatial shape). NaN when undefined
    /// (empty mask, all-zero attribution).
    fn score(&self, attr: ViewF, mask: ArrayViewD<u8>) -> f64;
    /// Scores of a batch (first axis = samples).
    fn score_batch(&self, attr: ViewF, mask: ArrayViewD<u8>) -> Result<Vec<f64>> {
        if attr.shape() != mask.shape() {
            return Err(Error::invalid(format!(
                "attribution shape {:?} differs from mask shape {:?}",
                attr.shape(),
                mask.shape()
            )));
        }
        Ok(attr
            .axis_iter(Axis(0))
            .zip(mask.axis_iter(Axis(0)))
            .map(|(a, m)| self.score(a, m))
            .collect())
    }
}

/// A model that can hand out copies of itself with its top layers re-initialised (for the
/// model-parameter randomisation sanity check of attribution methods).
pub trait Randomizable: Explainable {
    /// A copy whose last `n_layers` weight layers (convolution / linear, counted from the output)
    /// are re-initialised at random from `seed`; the others keep their trained weights.
    fn randomized_top_down(&self, n_layers: usize, seed: u64) -> Result<Box<dyn Explainable>>;

    /// Number of convolution and linear layers (the possible randomisation depths).
    fn weight_layers(&self) -> usize {
        (0..self.layers())
            .filter(|&i| {
                matches!(
                    self.layer_kind(i),
                    LayerKind::Conv2d | LayerKind::Conv3d | LayerKind::Linear
                )
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, IxDyn};

    /// y = relu(W x): a two-layer model to exercise the default methods.
    struct Tiny {
        w: Array2<f32>,
    }

    impl Explainable for Tiny {
        fn input_shape(&self) -> Vec<usize> {
            vec![self.w.ncols()]
        }
        fn num_classes(&self) -> usize {
            self.w.nrows()
        }
        fn layers(&self) -> usize {
            2
        }
        fn layer_kind(&self, i: usize) -> LayerKind {
            [LayerKind::Linear, LayerKind::Relu][i]
        }
        fn layer_name(&self, i: usize) -> String {
            format!("l{i}")
        }
        fn layer_forward(&self, i: usize, x: ViewF) -> Result<ArrayF> {
            self.layer_forward_with(i, x, WeightTransform::IDENTITY)
        }
        fn layer_vjp(&self, i: usize, x: ViewF, v: ViewF) -> Result<ArrayF> {
            self.layer_vjp_with(i, x, v, WeightTransform::IDENTITY)
        }
        fn layer_forward_with(&self, i: usize, x: ViewF, t: WeightTransform) -> Result<ArrayF> {
            let x2 = x.into_dimensionality::<ndarray::Ix2>().unwrap();
            Ok(match i {
                0 => x2.dot(&self.w.mapv(|w| t.weights.apply(w)).t()).into_dyn(),
                _ => x2.mapv(|v| v.max(0.0)).into_dyn(),
            })
        }
        fn layer_vjp_with(
            &self,
            i: usize,
            x: ViewF,
            v: ViewF,
            t: WeightTransform,
        ) -> Result<ArrayF> {
            let v2 = v.into_dimensionality::<ndarray::Ix2>().unwrap();
            Ok(match i {
                0 => v2.dot(&self.w.mapv(|w| t.weights.apply(w))).into_dyn(),
                _ => (&v2
                    * &x.mapv(|a| if a > 0.0 { 1.0 } else { 0.0 })
                        .into_dimensionality::<ndarray::Ix2>()
                        .unwrap())
                    .into_dyn(),
            })
        }
    }

    #[test]
    fn default_gradient_chains_vjps() {
        let m = Tiny {
            w: Array2::from_shape_vec((2, 3), vec![1., -2., 3., -1., 1., 0.5]).unwrap(),
        };
        let x = ArrayF::from_shape_vec(IxDyn(&[1, 3]), vec![1., 1., 1.]).unwrap();
        let y = m.forward(x.view()).unwrap();
        assert_eq!(y.as_slice().unwrap(), &[2.0, 0.5]);
        let g = m.input_gradient(x.view(), &[0]).unwrap();
        assert_eq!(g.as_slice().unwrap(), &[1., -2., 3.]);
        assert!(
            m.input_gradient(x.view(), &[2])
                .unwrap_err()
                .to_string()
                .contains("out of range")
        );
        assert!(check_input(&m, &x.view()).is_ok());
        let bad = ArrayF::zeros(IxDyn(&[1, 4]));
        assert!(check_input(&m, &bad.view()).is_err());
        assert_eq!(WeightMap::Gamma(0.25).apply(2.0), 2.5);
        assert_eq!(WeightMap::Negative.apply(2.0), 0.0);
    }
}
