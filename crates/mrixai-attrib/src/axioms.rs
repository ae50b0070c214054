//! Axiom checks reported per sample: completeness of Integrated Gradients, DeepLIFT's
//! summation-to-delta and LRP's conservation.

use crate::util::{Baseline, pick};
use mrixai_core::explain::check_targets;
use mrixai_core::{ArrayF, Attributor, Error, Explainable, Result, ViewF};
use ndarray::Axis;

/// The result of an axiom check: one `delta` per sample, and whether it exceeds the tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct AxiomCheck {
    /// Which property was checked, e.g. `completeness`.
    pub axiom: &'static str,
    /// `Σ attr - expected` per sample.
    pub delta: Vec<f64>,
    /// The expected sum per sample (`f(x) - f(b)` or `f(x)`).
    pub expected: Vec<f64>,
    /// Relative tolerance: a sample violates the axiom when
    /// `|delta| > rtol · max(|expected|, 1e-6)`.
    pub rtol: f64,
    /// Per sample: whether the tolerance is exceeded.
    pub violated: Vec<bool>,
}

impl AxiomCheck {
    fn new(axiom: &'static str, sums: Vec<f64>, expected: Vec<f64>, rtol: f64) -> Self {
        let delta: Vec<f64> = sums.iter().zip(&expected).map(|(s, e)| s - e).collect();
        let violated = delta
            .iter()
            .zip(&expected)
            .map(|(d, e)| d.abs() > rtol * e.abs().max(1e-6))
            .collect();
        Self {
            axiom,
            delta,
            expected,
            rtol,
            violated,
        }
    }

    /// Whether any sample violates the axiom.
    pub fn any_violated(&self) -> bool {
        self.violated.iter().any(|&v| v)
    }

    /// Prints one warning line to stderr when any sample violates the axiom; returns whether it did.
    pub fn warn_if_violated(&self, method: &str) -> bool {
        let bad: Vec<usize> = (0..self.violated.len())
            .filter(|&i| self.violated[i])
            .collect();
        if let Some(&worst) = bad
            .iter()
            .max_by(|&&a, &&b| self.delta[a].abs().total_cmp(&self.delta[b].abs()))
        {
            eprintln!(
                "warning: {method}: {axiom} violated for {} of {} sample(s) beyond rtol {}; worst sample {worst}: delta {:.3e} (expected sum {:.3e})",
                bad.len(),
                self.violated.len(),
                self.rtol,
                self.delta[worst],
                self.expected[worst],
                axiom = self.axiom,
            );
            true
        } else {
            false
        }
    }
}

fn sums(attr: &ViewF, n: usize) -> Result<Vec<f64>> {
    if attr.ndim() == 0 || attr.shape()[0] != n {
        return Err(Error::shape(
            "attributions",
            format!("[{n}, …]"),
            attr.shape(),
        ));
    }
    Ok(attr
        .axis_iter(Axis(0))
        .map(|a| a.iter().map(|&v| v as f64).sum())
        .collect())
}

/// Completeness (IG) and summation-to-delta (DeepLIFT):
/// `Σ attr[n] ≈ f(x[n])[t] - f(baseline[n])[t]`; `baseline` is shaped like `x`.
pub fn completeness(
    model: &dyn Explainable,
    x: ViewF,
    baseline: ViewF,
    target: &[usize],
    attr: ViewF,
    rtol: f64,
) -> Result<AxiomCheck> {
    if baseline.shape() != x.shape() {
        return Err(Error::shape(
            "baseline",
            format!("{:?}", x.shape()),
            baseline.shape(),
        ));
    }
    let fx = model.forward(x.view())?;
    check_targets(fx.shape(), target)?;
    let fb = model.forward(baseline)?;
    let expected = pick(&fx, target)
        .iter()
        .zip(pick(&fb, target))
        .map(|(a, b)| *a as f64 - b as f64)
        .collect();
    Ok(AxiomCheck::new(
        "completeness",
        sums(&attr, x.shape()[0])?,
        expected,
        rtol,
    ))
}

/// The property a method's maps satisfy.
#[derive(Debug, Clone, Copy)]
pub enum Axiom<'a> {
    /// `Σ attr = f(x) - f(b)` for the method's baselines (IG completeness, DeepLIFT
    /// summation-to-delta).
    Completeness(&'a Baseline),
    /// `Σ attr = f(x)[t]` (LRP conservation).
    Conservation,
}

/// Methods that report an axiom check per sample next to their maps: IG and DeepLIFT
/// ([`completeness`] against their baselines), LRP ([`conservation`]).
pub trait AxiomChecked: Attributor {
    /// The property this method's maps satisfy.
    fn axiom(&self) -> Axiom<'_>;

    /// Attributions together with the per-sample check (`delta`, and the samples whose
    /// `|delta|` exceeds `rtol` relative to the expected sum).
    fn attribute_with_delta(
        &self,
        model: &dyn Explainable,
        x: ViewF,
        target: &[usize],
        rtol: f64,
    ) -> Result<(ArrayF, AxiomCheck)> {
        let attr = self.attribute(model, x.view(), target)?;
        let check = match self.axiom() {
            Axiom::Completeness(baselines) => {
                let b = baselines.for_batch(&x)?;
                completeness(model, x, b.view(), target, attr.view(), rtol)?
            }
            Axiom::Conservation => conservation(model, x, target, attr.view(), rtol)?,
        };
        Ok((attr, check))
    }
}

/// Conservation (LRP): `Σ attr[n] ≈ f(x[n])[t]` (exact for bias-free layers with LRP-0/ε→0).
pub fn conservation(
    model: &dyn Explainable,
    x: ViewF,
    target: &[usize],
    attr: ViewF,
    rtol: f64,
) -> Result<AxiomCheck> {
    let fx: ArrayF = model.forward(x.view())?;
    check_targets(fx.shape(), target)?;
    let expected = pick(&fx, target).iter().map(|&v| v as f64).collect();
    Ok(AxiomCheck::new(
        "conservation",
        sums(&attr, x.shape()[0])?,
        expected,
        rtol,
    ))
}
