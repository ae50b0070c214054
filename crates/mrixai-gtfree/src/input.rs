//! What the model-based metrics share: checking a batch, its maps and targets; the baseline
//! a removed feature takes; the output a metric follows.

use mrixai_core::{ArrayF, Error, Explainable, Result, ViewF};
use ndarray::{Axis, IxDyn, Slice};

/// The value a removed feature takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Baseline {
    /// The sample's smallest input value (Quantus's `"black"`).
    Black,
    /// A fixed value.
    Value(f32),
}

impl Baseline {
    /// The value for sample `x` (one sample, any shape).
    pub(crate) fn value(self, x: ViewF) -> f32 {
        match self {
            Baseline::Black => x.iter().copied().fold(f32::INFINITY, f32::min),
            Baseline::Value(v) => v,
        }
    }
}

/// The model output a metric follows for the target class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The softmax probability.
    Probability,
    /// The logit.
    Logit,
}

/// Samples per forward pass.
const CHUNK: usize = 64;

/// Up to [`CHUNK`] samples that go through the model together: their inputs (C order), targets,
/// unperturbed outputs and baseline values.
pub(crate) struct Chunk<'a> {
    /// Index of the first sample.
    pub start: usize,
    /// The inputs.
    pub x: ArrayF,
    /// Their targets.
    pub targets: &'a [usize],
    /// The model's output for each, unperturbed.
    pub y0: Vec<f64>,
    /// The baseline value of each.
    pub base: Vec<f32>,
}

/// `x` in chunks of [`CHUNK`] samples, each with its unperturbed outputs (none when
/// `output` is `None`) and baselines (a non-finite baseline value is an error).
pub(crate) fn chunks<'a>(
    model: &'a dyn Explainable,
    x: ViewF<'a>,
    targets: &'a [usize],
    baseline: Baseline,
    output: Option<Output>,
) -> impl Iterator<Item = Result<Chunk<'a>>> + 'a {
    let n = x.shape()[0];
    (0..n).step_by(CHUNK).map(move |start| {
        if let Baseline::Value(v) = baseline
            && !v.is_finite()
        {
            return Err(Error::invalid(format!(
                "baseline {v} is not a finite value"
            )));
        }
        let end = (start + CHUNK).min(n);
        let xs = (x.slice_axis(Axis(0), Slice::from(start..end)))
            .as_standard_layout()
            .into_owned();
        let t = &targets[start..end];
        Ok(Chunk {
            start,
            y0: match output {
                Some(o) => target_scores(model, xs.view(), t, o)?,
                None => Vec::new(),
            },
            base: xs.outer_iter().map(|s| baseline.value(s)).collect(),
            x: xs,
            targets: t,
        })
    })
}

/// Checks that `maps` (rank of `x`, or one less) and `targets` count the samples of `x`: what
/// every metric needs, the model-free ones included.
pub(crate) fn check_counts(x: ViewF, maps: ViewF, targets: &[usize]) -> Result<()> {
    let n = x.shape().first().copied().unwrap_or(0);
    if x.ndim() < 3 || maps.ndim() + 1 < x.ndim() || maps.ndim() > x.ndim() {
        return Err(Error::shape(
            "maps",
            format!("the rank of the inputs {:?}", x.shape()),
            maps.shape(),
        ));
    }
    if maps.shape()[0] != n || targets.len() != n {
        return Err(Error::invalid(format!(
            "{} map(s) and {} target(s) for {n} sample(s)",
            maps.shape()[0],
            targets.len()
        )));
    }
    Ok(())
}

/// Checks a batch `x` `[N, C, …]`, its maps (the shape of `x`, or one channel) and targets,
/// and returns the maps broadcast to the shape of `x`.
pub(crate) fn checked(
    model: &dyn Explainable,
    x: ViewF,
    maps: ViewF,
    targets: &[usize],
) -> Result<ArrayF> {
    let shape = x.shape();
    if x.ndim() < 3 {
        return Err(Error::shape("inputs", "[N, C, …spatial]", shape));
    }
    let one_channel: Vec<usize> = [shape[0], 1]
        .into_iter()
        .chain(shape[2..].iter().copied())
        .collect();
    if maps.shape() != shape && maps.shape() != one_channel.as_slice() {
        let want = format!("{shape:?} or {one_channel:?} (the inputs' shape, or one channel)");
        return Err(Error::shape("maps", want, maps.shape()));
    }
    if targets.len() != shape[0] {
        return Err(Error::invalid(format!(
            "{} target(s) for {} sample(s)",
            targets.len(),
            shape[0]
        )));
    }
    let classes = model.num_classes();
    if let Some(t) = targets.iter().find(|&&t| t >= classes) {
        return Err(Error::invalid(format!(
            "target {t} of a model with {classes} classes"
        )));
    }
    mrixai_core::error::ensure_finite("inputs", x.iter())?;
    mrixai_core::error::ensure_finite("maps", maps.iter())?;
    let full = maps
        .broadcast(IxDyn(shape))
        .ok_or_else(|| Error::shape("maps", format!("{shape:?}"), maps.shape()))?;
    Ok(full.to_owned())
}

/// The model's `output` for each sample's target class.
pub(crate) fn target_scores(
    model: &dyn Explainable,
    x: ViewF,
    targets: &[usize],
    output: Output,
) -> Result<Vec<f64>> {
    let logits = model.forward(x)?;
    let scores = logits.axis_iter(Axis(0)).zip(targets).map(|(row, &t)| {
        let l: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
        match output {
            Output::Logit => l[t],
            Output::Probability => {
                let max = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = l.iter().map(|v| (v - max).exp()).sum();
                (l[t] - max).exp() / sum
            }
        }
    });
    Ok(scores.collect())
}
