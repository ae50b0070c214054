//! Gradient-based methods: Saliency, Input×Gradient, Guided Backprop, Deconvolution,
//! Integrated Gradients and GradientSHAP.

use crate::axioms::{Axiom, AxiomChecked};
use crate::backprop::{ReluRule, backward};
use crate::quadrature::{Quadrature, alphas_and_steps};
use crate::util::{Baseline, check_batch, map_chunks, sample_seed, sample_shape, zeros_batch};
use mrixai_core::explain::one_hot_like;
use mrixai_core::{ArrayF, Attributor, Explainable, Result, ViewF};
use ndarray::{Axis, Zip};
use rand::Rng as _;
use rand_distr::{Distribution, Normal};

/// Signed gradient of the target logit (Captum `Saliency(abs=False)`).
#[derive(Debug, Clone, Default)]
pub struct Gradient {
    /// Return `|gradient|` instead (Captum's `abs=True`).
    pub abs: bool,
}

impl Attributor for Gradient {
    fn name(&self) -> &str {
        "gradient"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        let g = model.input_gradient(x, target)?;
        Ok(if self.abs { g.mapv_into(f32::abs) } else { g })
    }
}

/// Input times gradient (Captum `InputXGradient`).
#[derive(Debug, Clone, Default)]
pub struct InputXGradient;

impl Attributor for InputXGradient {
    fn name(&self) -> &str {
        "input_x_gradient"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        Ok(model.input_gradient(x.view(), target)? * &x)
    }
}

/// Gradient with a modified ReLU backward pass; shared by Guided Backprop and Deconvolution.
/// The model's own one-pass version ([`Explainable::relu_rule_gradient`], e.g. on a GPU) when
/// it has one, else a walk over the layers.
pub(crate) fn modified_gradient(
    model: &dyn Explainable,
    x: ViewF,
    target: &[usize],
    rule: ReluRule,
) -> Result<ArrayF> {
    check_batch(model, &x, target)?;
    if let Some(fused) = model.relu_rule_gradient(x.view(), target, rule) {
        return fused;
    }
    let acts = model.activations(x)?;
    let g = one_hot_like(acts[model.layers()].view(), target)?;
    backward(model, &acts, model.layers(), 0, g, rule)
}

/// Guided Backprop (Captum `GuidedBackprop`): only positive gradients pass ReLUs, and only
/// where the ReLU was active.
#[derive(Debug, Clone, Default)]
pub struct GuidedBackprop;

impl Attributor for GuidedBackprop {
    fn name(&self) -> &str {
        "guided_backprop"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        modified_gradient(model, x, target, ReluRule::Guided)
    }
}

/// Deconvolution (Captum `Deconvolution`): ReLUs pass `relu(gradient)` regardless of their input.
#[derive(Debug, Clone, Default)]
pub struct Deconvolution;

impl Attributor for Deconvolution {
    fn name(&self) -> &str {
        "deconvolution"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        modified_gradient(model, x, target, ReluRule::Deconv)
    }
}

/// Integrated Gradients (Captum `IntegratedGradients`):
/// `(x - b) · Σ_k s_k ∇f(b + α_k (x - b))`.
#[derive(Debug, Clone)]
pub struct IntegratedGradients {
    /// Number of integration points (Captum default 50).
    pub n_steps: usize,
    /// Quadrature (Captum default Gauss–Legendre).
    pub method: Quadrature,
    /// Reference input (default all zeros).
    pub baselines: Baseline,
    /// Path points evaluated per model call (bounds memory).
    pub internal_batch_size: usize,
}

impl Default for IntegratedGradients {
    fn default() -> Self {
        Self {
            n_steps: 50,
            method: Quadrature::GaussLegendre,
            baselines: Baseline::default(),
            internal_batch_size: 64,
        }
    }
}

/// Completeness `Σ attr - (f(x) - f(baseline))` per sample (Captum's convergence delta).
impl AxiomChecked for IntegratedGradients {
    fn axiom(&self) -> Axiom<'_> {
        Axiom::Completeness(&self.baselines)
    }
}

impl Attributor for IntegratedGradients {
    fn name(&self) -> &str {
        "integrated_gradients"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        let (alphas, steps) = alphas_and_steps(self.method, self.n_steps)?;
        let b = self.baselines.for_batch(&x)?;
        let diff = &x - &b;
        let k = self.n_steps;
        let sample = sample_shape(&x);
        let parts = map_chunks(x.shape()[0] * k, self.internal_batch_size, |s, e| {
            let mut batch = zeros_batch(e - s, &sample);
            let mut tg = Vec::with_capacity(e - s);
            for (row, r) in (s..e).enumerate() {
                let (n, j) = (r / k, r % k);
                let a = alphas[j];
                Zip::from(batch.index_axis_mut(Axis(0), row))
                    .and(b.index_axis(Axis(0), n))
                    .and(diff.index_axis(Axis(0), n))
                    .for_each(|o, &b, &d| *o = b + a * d);
                tg.push(target[n]);
            }
            let g = model.input_gradient(batch.view(), &tg)?;
            Ok((s, g))
        })?;
        let mut total = ArrayF::zeros(x.raw_dim());
        for (s, g) in parts {
            for (row, gr) in g.axis_iter(Axis(0)).enumerate() {
                let r = s + row;
                let w = steps[r % k];
                total.index_axis_mut(Axis(0), r / k).scaled_add(w, &gr);
            }
        }
        Ok(total * &diff)
    }
}

/// GradientSHAP (Captum `GradientShap`): the expectation over noisy inputs
/// `x + N(0, stdevs²)`, baselines drawn from a distribution and `α ~ U(0, 1)` of
/// `∇f(b + α (x̃ - b)) · (x̃ - b)`.
#[derive(Debug, Clone)]
pub struct GradientShap {
    /// Random draws per sample (Captum default 5).
    pub n_samples: usize,
    /// Standard deviation of the Gaussian input noise (Captum default 0).
    pub stdevs: f32,
    /// Baseline distribution `[B, …]` or a constant (default zeros).
    pub baselines: Baseline,
    /// Seed of the draws.
    pub seed: u64,
    /// Draws evaluated per model call.
    pub internal_batch_size: usize,
}

impl Default for GradientShap {
    fn default() -> Self {
        Self {
            n_samples: 5,
            stdevs: 0.0,
            baselines: Baseline::default(),
            seed: 0,
            internal_batch_size: 64,
        }
    }
}

impl Attributor for GradientShap {
    fn name(&self) -> &str {
        "gradient_shap"
    }
    fn attribute(&self, model: &dyn Explainable, x: ViewF, target: &[usize]) -> Result<ArrayF> {
        check_batch(model, &x, target)?;
        if self.n_samples == 0 || !(self.stdevs >= 0.0 && self.stdevs.is_finite()) {
            return Err(mrixai_core::Error::invalid(
                "gradient_shap: n_samples must be ≥ 1 and stdevs finite and ≥ 0",
            ));
        }
        let sample = sample_shape(&x);
        let dist = self.baselines.distribution(&sample)?;
        let noise = Normal::new(0.0f32, self.stdevs)
            .map_err(|e| mrixai_core::Error::invalid(e.to_string()))?;
        let seeds: Vec<u64> = (0..x.shape()[0])
            .map(|n| {
                sample_seed(
                    self.seed,
                    "gradient_shap",
                    x.index_axis(Axis(0), n),
                    target[n],
                )
            })
            .collect();
        let k = self.n_samples;
        let parts = map_chunks(x.shape()[0] * k, self.internal_batch_size, |s, e| {
            let mut points = zeros_batch(e - s, &sample);
            let mut deltas = zeros_batch(e - s, &sample);
            let mut tg = Vec::with_capacity(e - s);
            for (row, r) in (s..e).enumerate() {
                let (n, j) = (r / k, r % k);
                let mut rng = mrixai_core::seed::rng(seeds[n], &format!("draw/{j}"));
                let bi = rng.random_range(0..dist.shape()[0]);
                let alpha: f32 = rng.random::<f32>();
                let base = dist.index_axis(Axis(0), bi);
                let mut d = deltas.index_axis_mut(Axis(0), row);
                Zip::from(&mut d)
                    .and(x.index_axis(Axis(0), n))
                    .and(&base)
                    .for_each(|d, &xv, &bv| {
                        let xn = if self.stdevs > 0.0 {
                            xv + noise.sample(&mut rng)
                        } else {
                            xv
                        };
                        *d = xn - bv;
                    });
                Zip::from(points.index_axis_mut(Axis(0), row))
                    .and(&base)
                    .and(&d)
                    .for_each(|p, &bv, &dv| *p = bv + alpha * dv);
                tg.push(target[n]);
            }
            let g = model.input_gradient(points.view(), &tg)?;
            Ok((s, g * &deltas))
        })?;
        let mut total = ArrayF::zeros(x.raw_dim());
        for (s, a) in parts {
            for (row, ar) in a.axis_iter(Axis(0)).enumerate() {
                total
                    .index_axis_mut(Axis(0), (s + row) / k)
                    .scaled_add(1.0 / k as f32, &ar);
            }
        }
        Ok(total)
    }
}
