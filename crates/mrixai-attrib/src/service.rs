//! One batched explain loop for every front end (`mrixai explain`, the pipeline's cells and
//! the Python package): a method by name, its string parameters, the ground truth the oracle
//! control needs, and batches of `batch_size` samples.
//!
//! ```
//! use mrixai_attrib::service::{Explanation, explain};
//! use mrixai_core::{ArrayF, Explainable, Result, ViewF};
//!
//! /// Integrated gradients of class 1 for every sample, 8 samples per call.
//! fn ig(model: &dyn Explainable, x: ViewF) -> Result<ArrayF> {
//!     let job = Explanation::new("integrated_gradients")
//!         .param("n_steps", "32")
//!         .batch_size(8);
//!     let targets = vec![1; x.shape()[0]];
//!     explain(model, &job, x, &targets, None, &mut |done| eprintln!("{done} done"))
//! }
//! ```

use crate::controls::Oracle;
use crate::registry::{method_by_name, method_names, spec};
use mrixai_core::{ArrayF, Attributor, Error, Explainable, Result, ViewF};
use ndarray::{ArrayViewD, Axis, Slice, concatenate};
use std::collections::BTreeMap;

/// What to explain with: a method of [`crate::METHODS`], its parameters (Captum names, string
/// values) and the number of samples per attribution call.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// Method name.
    pub method: String,
    /// Parameters `key → value`.
    pub params: BTreeMap<String, String>,
    /// Samples per attribution call (≥ 1).
    pub batch_size: usize,
}

impl Explanation {
    /// `method` with default parameters and batches of 16.
    pub fn new(method: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            params: BTreeMap::new(),
            batch_size: 16,
        }
    }

    /// The same with parameter `key = value`.
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.insert(key.into(), value.into());
        self
    }

    /// The same with `batch_size` samples per call.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Checks the method name and the batch size (the parameters are checked when the method
    /// is built).
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::invalid("batch size must be ≥ 1"));
        }
        if spec(&self.method).is_none() {
            return Err(Error::invalid(format!(
                "unknown method `{}` (known: {})",
                self.method,
                method_names().join(", ")
            )));
        }
        Ok(())
    }

    /// The method itself, built once (the oracle on `masks`, the ground truth of the whole
    /// batch it will see).
    pub fn attributor(&self, masks: Option<ArrayViewD<u8>>) -> Result<Box<dyn Attributor>> {
        self.validate()?;
        match self.oracle_masks(masks) {
            Some(m) => Ok(Box::new(Oracle::new(m))),
            None => method_by_name(&self.method, &self.params),
        }
    }

    /// `masks` when this job is the oracle, which takes its ground truth from the caller.
    fn oracle_masks<'a>(&self, masks: Option<ArrayViewD<'a, u8>>) -> Option<ArrayViewD<'a, u8>> {
        masks.filter(|_| crate::needs_masks(&self.method))
    }
}

/// Which class a map explains when true labels are known: the model's prediction (the
/// default everywhere — `mrixai explain`, the pipeline's cells, the Python package) or the
/// true label. For a correctly classified sample the two coincide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetClass {
    /// The predicted class.
    #[default]
    Prediction,
    /// The true label.
    Label,
}

impl TargetClass {
    /// The name used on the command line and in configs.
    pub fn name(self) -> &'static str {
        match self {
            TargetClass::Prediction => "prediction",
            TargetClass::Label => "label",
        }
    }
}

impl std::str::FromStr for TargetClass {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "prediction" => Ok(TargetClass::Prediction),
            "label" => Ok(TargetClass::Label),
            other => Err(Error::invalid(format!(
                "target class must be `prediction` or `label`, got `{other}`"
            ))),
        }
    }
}

/// How one batch is attributed: a method built once, or the oracle on the batch's masks.
enum Runner {
    Method(Box<dyn Attributor>),
    Oracle(Oracle),
}

impl Runner {
    fn new(job: &Explanation, masks: Option<ArrayViewD<u8>>) -> Result<Self> {
        job.validate()?;
        Ok(match job.oracle_masks(masks) {
            Some(m) => Runner::Oracle(Oracle::new(m)),
            None => Runner::Method(method_by_name(&job.method, &job.params)?),
        })
    }

    fn attribute(
        &self,
        model: &dyn Explainable,
        x: ViewF,
        targets: &[usize],
        start: usize,
    ) -> Result<ArrayF> {
        match self {
            Runner::Method(m) => m.attribute(model, x, targets),
            Runner::Oracle(o) => o.slice(start, targets.len())?.attribute(model, x, targets),
        }
    }
}

/// Explains the prepared batch `x` (`[N, C, …]`) for `targets` (one class per sample) with
/// `job`, `job.batch_size` samples at a time, calling `progress` with the number of samples
/// finished after each batch. `masks` (`[N, …]` or `[N, 1, …]`) is the ground truth the
/// oracle control reads; other methods ignore it. The result is `[N, C, …]` (raw Grad-CAM
/// `[N, 1, h, w]`). The same job, batch size included, gives bit-identical maps; another batch
/// size changes some methods (LRP, DeepLIFT, occlusion) by float32 rounding only (≈ 1e-6 of
/// the largest value).
pub fn explain(
    model: &dyn Explainable,
    job: &Explanation,
    x: ViewF,
    targets: &[usize],
    masks: Option<ArrayViewD<u8>>,
    progress: &mut dyn FnMut(usize),
) -> Result<ArrayF> {
    let n = x.shape().first().copied().unwrap_or(0);
    if targets.len() != n {
        return Err(Error::invalid(format!(
            "{} target(s) for {n} input sample(s)",
            targets.len()
        )));
    }
    if let Some(m) = &masks
        && m.shape().first() != Some(&n)
    {
        return Err(Error::invalid(format!(
            "{} mask(s) for {n} input sample(s)",
            m.shape().first().copied().unwrap_or(0)
        )));
    }
    let runner = Runner::new(job, masks)?;
    let mut parts: Vec<ArrayF> = Vec::new();
    for start in (0..n).step_by(job.batch_size) {
        let end = (start + job.batch_size).min(n);
        let xb = x.slice_axis(Axis(0), Slice::from(start..end));
        parts.push(runner.attribute(model, xb, &targets[start..end], start)?);
        progress(end);
    }
    if parts.is_empty() {
        return Ok(ArrayF::zeros(x.raw_dim()));
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    concatenate(Axis(0), &views)
        .map_err(|e| Error::invalid(format!("{}: cannot join batches: {e}", job.method)))
}
