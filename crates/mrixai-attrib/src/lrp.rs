//! Layer-wise Relevance Propagation, Zennit-style: a [`Rule`] says how one layer redistributes
//! relevance; a [`Composite`] assigns rules to layers. Captum's `LRP` default is
//! [`Composite::epsilon`] with ε = 1e-9 on every convolution, linear, batch-norm and pooling
//! layer, ReLU and dropout passing relevance through.

use crate::axioms::{Axiom, AxiomChecked};
use crate::util::{check_batch, map_chunks};
use mrixai_core::explain::one_hot_like;
use mrixai_core::{
    ArrayF, Attributor, Error, Explainable, LayerKind, Result, ViewF, WeightMap, WeightTransform,
};
use ndarray::{Axis, Slice, Zip, concatenate};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How one layer maps the relevance at its output to relevance at its input.
pub trait Rule: Send + Sync + std::fmt::Debug {
    /// Short name, e.g. `epsilon`.
    fn name(&self) -> String;
    /// Relevance at the input of layer `i` (input `a`), given relevance `r` at its output.
    fn relevance(&self, model: &dyn Explainable, i: usize, a: ViewF, r: ViewF) -> Result<ArrayF>;
}

/// `z + ε·sign(z)` with `sign(0) = 1` (Captum's and Zennit's stabiliser).
fn stabilize(z: &mut ArrayF, eps: f32) {
    z.mapv_inplace(|z| if z >= 0.0 { z + eps } else { z - eps });
}

/// `r / stabilize(z)`.
fn ratio(r: &ViewF, mut z: ArrayF, eps: f32) -> ArrayF {
    stabilize(&mut z, eps);
    Zip::from(&mut z).and(r).for_each(|z, &r| *z = r / *z);
    z
}

/// The weight map `weights` with the bias dropped.
fn no_bias(weights: WeightMap) -> WeightTransform {
    WeightTransform {
        weights,
        bias: false,
    }
}

/// LRP-ε: `R_in = a ⊙ Jᵀ(R / (z + ε·sign z))` with `z = f(a)` (bias included, so biases absorb
/// relevance). ε = 0 is LRP-0.
#[derive(Debug, Clone, Copy)]
pub struct Epsilon {
    /// The stabiliser ε.
    pub epsilon: f32,
}

impl Rule for Epsilon {
    fn name(&self) -> String {
        format!("epsilon({})", self.epsilon)
    }
    fn relevance(&self, model: &dyn Explainable, i: usize, a: ViewF, r: ViewF) -> Result<ArrayF> {
        let z = model.layer_forward(i, a.view())?;
        let s = ratio(&r, z, self.epsilon);
        Ok(model.layer_vjp(i, a.view(), s.view())? * &a)
    }
}

/// z⁺: positive contributions only, `w⁺` on `a⁺` and `w⁻` on `a⁻`, bias dropped
/// (Montavon et al. 2019; Zennit's `ZPlus`).
#[derive(Debug, Clone, Copy)]
pub struct ZPlus {
    /// Stabiliser of the denominator.
    pub stabilizer: f32,
}

impl Rule for ZPlus {
    fn name(&self) -> String {
        "zplus".into()
    }
    fn relevance(&self, model: &dyn Explainable, i: usize, a: ViewF, r: ViewF) -> Result<ArrayF> {
        let (ap, an) = (a.mapv(|v| v.max(0.0)), a.mapv(|v| v.min(0.0)));
        let (tp, tn) = (no_bias(WeightMap::Positive), no_bias(WeightMap::Negative));
        let z = model.layer_forward_with(i, ap.view(), tp)?
            + model.layer_forward_with(i, an.view(), tn)?;
        let s = ratio(&r, z, self.stabilizer);
        Ok(model.layer_vjp_with(i, ap.view(), s.view(), tp)? * &ap
            + model.layer_vjp_with(i, an.view(), s.view(), tn)? * &an)
    }
}

/// αβ: positive and negative contributions normalised separately,
/// `R_in = α·R⁺ - β·R⁻` (α - β = 1 conserves relevance); bias dropped.
#[derive(Debug, Clone, Copy)]
pub struct AlphaBeta {
    /// Weight of positive contributions.
    pub alpha: f32,
    /// Weight of negative contributions.
    pub beta: f32,
    /// Stabiliser of the denominators.
    pub stabilizer: f32,
}

impl Rule for AlphaBeta {
    fn name(&self) -> String {
        format!("alpha{}beta{}", self.alpha, self.beta)
    }
    fn relevance(&self, model: &dyn Explainable, i: usize, a: ViewF, r: ViewF) -> Result<ArrayF> {
        let (ap, an) = (a.mapv(|v| v.max(0.0)), a.mapv(|v| v.min(0.0)));
        let (tp, tn) = (no_bias(WeightMap::Positive), no_bias(WeightMap::Negative));
        let f = |x: &ArrayF, t| model.layer_forward_with(i, x.view(), t);
        let zp = f(&ap, tp)? + f(&an, tn)?;
        let zn = f(&ap, tn)? + f(&an, tp)?;
        let sp = ratio(&r, zp, self.stabilizer);
        let sn = ratio(&r, zn, self.stabilizer);
        let b = |x: &ArrayF, s: &ArrayF, t| model.layer_vjp_with(i, x.view(), s.view(), t);
        let pos = b(&ap, &sp, tp)? * &ap + b(&an, &sp, tn)? * &an;
        let neg = b(&ap, &sn, tn)? * &ap + b(&an, &sn, tp)? * &an;
        Ok(pos * self.alpha - neg * self.beta)
    }
}

/// γ: `w + γ·w⁺` (and the same for the bias), favouring positive contributions.
#[derive(Debug, Clone, Copy)]
pub struct Gamma {
    /// The factor γ.
    pub gamma: f32,
    /// Stabiliser of the denominator.
    pub stabilizer: f32,
}

impl Rule for Gamma {
    fn name(&self) -> String {
        format!("gamma({})", self.gamma)
    }
    fn relevance(&self, model: &dyn Explainable, i: usize, a: ViewF, r: ViewF) -> Result<ArrayF> {
        let t = WeightTransform {
            weights: WeightMap::Gamma(self.gamma),
            bias: true,
        };
        let z = model.layer_forward_with(i, a.view(), t)?;
        let s = ratio(&r, z, self.stabilizer);
        Ok(model.layer_vjp_with(i, a.view(), s.view(), t)? * &a)
    }
}

/// z^B (box rule) for inputs bounded by `[low, high]`:
/// `z = W a - W⁺ l - W⁻ h`, `R_in = a ⊙ Jᵀs - l ⊙ J⁺ᵀs - h ⊙ J⁻ᵀs` (biases cancel).
#[derive(Debug, Clone, Copy)]
pub struct ZBox {
    /// Lower bound of the input values.
    pub low: f32,
    /// Upper bound of the input values.
    pub high: f32,
    /// Stabiliser of the denominator.
    pub stabilizer: f32,
}

impl Rule for ZBox {
    fn name(&self) -> String {
        format!("zbox({}, {})", self.low, self.high)
    }
    fn relevance(&self, model: &dyn Explainable, i: usize, a: ViewF, r: ViewF) -> Result<ArrayF> {
        let l = ArrayF::from_elem(a.raw_dim(), self.low);
        let h = ArrayF::from_elem(a.raw_dim(), self.high);
        let (t0, tp, tn) = (
            no_bias(WeightMap::Identity),
            no_bias(WeightMap::Positive),
            no_bias(WeightMap::Negative),
        );
        let z = model.layer_forward_with(i, a.view(), t0)?
            - model.layer_forward_with(i, l.view(), tp)?
            - model.layer_forward_with(i, h.view(), tn)?;
        let s = ratio(&r, z, self.stabilizer);
        Ok(model.layer_vjp_with(i, a.view(), s.view(), t0)? * &a
            - model.layer_vjp_with(i, l.view(), s.view(), tp)? * &l
            - model.layer_vjp_with(i, h.view(), s.view(), tn)? * &h)
    }
}

/// Flat: relevance spread uniformly over each output's receptive field (weights and inputs
/// set to one, bias dropped).
#[derive(Debug, Clone, Copy)]
pub struct Flat {
    /// Stabiliser of the denominator.
    pub stabilizer: f32,
}

impl Rule for Flat {
    fn name(&self) -> String {
        "flat".into()
    }
    fn relevance(&self, model: &dyn Explainable, i: usize, a: ViewF, r: ViewF) -> Result<ArrayF> {
        let ones = ArrayF::ones(a.raw_dim());
        let t = no_bias(WeightMap::Ones);
        let z = model.layer_forward_with(i, ones.view(), t)?;
        let s = ratio(&r, z, self.stabilizer);
        model.layer_vjp_with(i, ones.view(), s.view(), t)
    }
}

/// Assignment of rules to layers. Layers without a rule (ReLU, dropout, flatten) pass
/// relevance through unchanged (reshaped for flatten).
#[derive(Debug, Clone)]
pub struct Composite {
    /// Name of the composite, e.g. `epsilon`.
    pub name: String,
    /// Rule of the first layer with weights (overrides `conv` / `linear` there), if any.
    pub first: Option<Arc<dyn Rule>>,
    /// Rule of convolutions.
    pub conv: Arc<dyn Rule>,
    /// Rule of fully connected layers.
    pub linear: Arc<dyn Rule>,
    /// Rule of batch-norm layers (treated as a per-channel affine map).
    pub batch_norm: Arc<dyn Rule>,
    /// Rule of max / average pooling layers.
    pub pooling: Arc<dyn Rule>,
    /// Per-layer overrides by torchvision layer name (e.g. `features.0`).
    pub layers: BTreeMap<String, Arc<dyn Rule>>,
}

/// Names accepted by [`Composite::by_name`].
pub const COMPOSITES: &[&str] = &[
    "epsilon",
    "epsilon_plus",
    "epsilon_plus_box",
    "epsilon_plus_flat",
    "epsilon_gamma_box",
    "epsilon_alpha2_beta1",
];

impl Composite {
    /// Captum's default: ε everywhere (Captum uses ε = 1e-9).
    pub fn epsilon(epsilon: f32) -> Self {
        let e: Arc<dyn Rule> = Arc::new(Epsilon { epsilon });
        Self {
            name: "epsilon".into(),
            first: None,
            conv: e.clone(),
            linear: e.clone(),
            batch_norm: e.clone(),
            pooling: e,
            layers: BTreeMap::new(),
        }
    }

    /// A composite by name: `epsilon`, `epsilon_plus` (z⁺ on convolutions, ε elsewhere),
    /// `epsilon_plus_box` (z^B on the first layer, z⁺ on convolutions, ε on dense layers),
    /// `epsilon_plus_flat` (flat first), `epsilon_gamma_box` (z^B first, γ on convolutions),
    /// `epsilon_alpha2_beta1` (α2β1 on convolutions).
    pub fn by_name(name: &str, epsilon: f32, gamma: f32, low: f32, high: f32) -> Result<Self> {
        let mut c = Self::epsilon(epsilon);
        let zplus: Arc<dyn Rule> = Arc::new(ZPlus { stabilizer: 1e-6 });
        let zbox: Arc<dyn Rule> = Arc::new(ZBox {
            low,
            high,
            stabilizer: 1e-6,
        });
        match name {
            "epsilon" => {}
            "epsilon_plus" => c.conv = zplus,
            "epsilon_plus_box" => {
                c.conv = zplus;
                c.first = Some(zbox);
            }
            "epsilon_plus_flat" => {
                c.conv = zplus;
                c.first = Some(Arc::new(Flat { stabilizer: 1e-6 }));
            }
            "epsilon_gamma_box" => {
                c.conv = Arc::new(Gamma {
                    gamma,
                    stabilizer: 1e-6,
                });
                c.first = Some(zbox);
            }
            "epsilon_alpha2_beta1" => {
                c.conv = Arc::new(AlphaBeta {
                    alpha: 2.0,
                    beta: 1.0,
                    stabilizer: 1e-6,
                })
            }
            other => {
                return Err(Error::invalid(format!(
                    "unknown LRP composite `{other}` (known: {})",
                    COMPOSITES.join(", ")
                )));
            }
        }
        c.name = name.to_string();
        Ok(c)
    }

    /// The rule of layer `i`, or `None` for a pass-through layer.
    pub fn rule_for(&self, model: &dyn Explainable, i: usize) -> Option<Arc<dyn Rule>> {
        if let Some(r) = self.layers.get(&model.layer_name(i)) {
            return Some(r.clone());
        }
        let kind = model.layer_kind(i);
        if let Some(first) = &self.first
            && kind.has_weights()
            && kind != LayerKind::BatchNorm
            && (0..i).all(|j| !model.layer_kind(j).has_weights())
        {
            return Some(first.clone());
        }
        match kind {
            LayerKind::Conv2d | LayerKind::Conv3d => Some(self.conv.clone()),
            LayerKind::Linear => Some(self.linear.clone()),
            LayerKind::BatchNorm => Some(self.batch_norm.clone()),
            LayerKind::MaxPool | LayerKind::AvgPool | LayerKind::AdaptiveAvgPool => {
                Some(self.pooling.clone())
            }
            LayerKind::Relu | LayerKind::Dropout | LayerKind::Flatten => None,
        }
    }
}

/// LRP with a composite (Captum `LRP`: relevance starts as the target logit).
#[derive(Debug, Clone)]
pub struct Lrp {
    /// The rule assignment.
    pub composite: Composite,
    /// Samples per model call.
    pub internal_batch_size: usize,
}

impl Default for Lrp {
    fn default() -> Self {
        Self {
            composite: Composite::epsilon(1e-9),
            internal_batch_size: 64,
        }
    }
}

impl Lrp {
    fn rows(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        let acts = model.activations(x)?;
        let logits = &acts[model.layers()];
        let mut r = one_hot_like(logits.view(), target)? * logits;
        for i in (0..model.layers()).rev() {
            let a = acts[i].view();
            r = match self.composite.rule_for(model, i) {
                Some(rule) => rule.relevance(model, i, a, r.view())?,
                None if a.shape() == r.shape() => r,
                None => model.layer_vjp(i, a, r.view())?,
            };
        }
        Ok(r)
    }
}

/// Conservation `Σ attr - f(x)[t]` per sample.
impl AxiomChecked for Lrp {
    fn axiom(&self) -> Axiom<'_> {
        Axiom::Conservation
    }
}

impl Attributor for Lrp {
    fn name(&self) -> &str {
        "lrp"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        let parts = map_chunks(x.shape()[0], self.internal_batch_size, |s, e| {
            self.rows(
                model,
                x.slice_axis(Axis(0), Slice::from(s..e)),
                &target[s..e],
            )
        })?;
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        concatenate(Axis(0), &views).map_err(|e| Error::invalid(format!("lrp: {e}")))
    }
}
