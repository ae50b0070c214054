//! The ground-truth metrics of one attribution map against its mask, a name registry, and
//! a fast path that scores many metrics of many samples sharing the work per sample.
//!
//! Everywhere, A = |attr| (in f64), GT = mask ≠ 0 and K = |GT|. A sample with an empty
//! mask, an all-zero attribution or a non-finite attribution value scores NaN in every
//! metric. See `docs/METRICS.md` for the definitions and their sources.

use crate::emd::{emd_mask, grid_diameter};
use mrixai_core::progress::Progress;
use mrixai_core::{Error, Metric, Result, ViewF};
use ndarray::{Array2, ArrayViewD};
use rayon::prelude::*;
use std::sync::OnceLock;

/// Names of the default metric set (what `mrixai score` computes unless told otherwise).
pub const ALL_METRICS: [&str; 9] = [
    "emd",
    "emd_score",
    "precision",
    "rank_accuracy",
    "mass_accuracy",
    "positive_mass",
    "pointing_game",
    "auroc",
    "average_precision",
];

/// Parameterised metrics, written `name@value` (the value is optional).
pub const PARAMETERISED_METRICS: [&str; 4] = [
    "top_k_intersection@k",
    "threshold_precision@t",
    "threshold_recall@t",
    "threshold_f1@t",
];

/// Default `k` of `top_k_intersection`.
pub const DEFAULT_TOP_K: usize = 100;
/// Default relative threshold `t` of the `threshold_*` metrics.
pub const DEFAULT_REL_THRESHOLD: f64 = 0.5;

/// One metric, with its parameter where it has one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetricKind {
    /// Exact earth mover's distance between mask/K and A/ΣA (voxel units).
    Emd,
    /// 1 − emd / Dmax with Dmax the grid diagonal.
    EmdScore,
    /// XAI-TRIS precision: GT share of the K largest non-zero A, over K.
    Precision,
    /// GT share of the K largest A (zeros included), over K.
    RankAccuracy,
    /// ΣA over GT / ΣA.
    MassAccuracy,
    /// ΣP over GT / ΣP with P = max(attr, 0).
    PositiveMass,
    /// 1 if the largest A lies in GT, else 0.
    PointingGame,
    /// Area under the ROC curve of A as a GT detector (ties count half).
    Auroc,
    /// Average precision of A as a GT detector (step-wise, as scikit-learn).
    AveragePrecision,
    /// |top-k(A) ∩ GT| / k.
    TopKIntersection(usize),
    /// Precision of the set {A ≥ t·max A}.
    ThresholdPrecision(f64),
    /// Recall of the set {A ≥ t·max A}.
    ThresholdRecall(f64),
    /// F1 of the set {A ≥ t·max A}.
    ThresholdF1(f64),
}

impl MetricKind {
    /// Parses a metric name (`emd_score`, `top_k_intersection@50`, `threshold_f1@0.3`, …).
    pub fn parse(name: &str) -> Result<Self> {
        let (base, param) = match name.split_once('@') {
            Some((b, p)) => (b, Some(p)),
            None => (name, None),
        };
        let plain = |k: MetricKind| {
            if param.is_some() {
                Err(Error::invalid(format!(
                    "metric `{base}` takes no `@` parameter (got `{name}`)"
                )))
            } else {
                Ok(k)
            }
        };
        let rel = || -> Result<f64> {
            match param {
                None => Ok(DEFAULT_REL_THRESHOLD),
                Some(p) => match p.parse::<f64>() {
                    Ok(t) if (0.0..=1.0).contains(&t) => Ok(t),
                    _ => Err(Error::invalid(format!(
                        "metric `{name}`: threshold must be a number in [0, 1], got `{p}`"
                    ))),
                },
            }
        };
        match base {
            "emd" => plain(MetricKind::Emd),
            "emd_score" => plain(MetricKind::EmdScore),
            "precision" => plain(MetricKind::Precision),
            "rank_accuracy" => plain(MetricKind::RankAccuracy),
            "mass_accuracy" => plain(MetricKind::MassAccuracy),
            "positive_mass" => plain(MetricKind::PositiveMass),
            "pointing_game" => plain(MetricKind::PointingGame),
            "auroc" => plain(MetricKind::Auroc),
            "average_precision" => plain(MetricKind::AveragePrecision),
            "top_k_intersection" => match param {
                None => Ok(MetricKind::TopKIntersection(DEFAULT_TOP_K)),
                Some(p) => match p.parse::<usize>() {
                    Ok(k) if k > 0 => Ok(MetricKind::TopKIntersection(k)),
                    _ => Err(Error::invalid(format!(
                        "metric `{name}`: k must be a positive integer, got `{p}`"
                    ))),
                },
            },
            "threshold_precision" => Ok(MetricKind::ThresholdPrecision(rel()?)),
            "threshold_recall" => Ok(MetricKind::ThresholdRecall(rel()?)),
            "threshold_f1" => Ok(MetricKind::ThresholdF1(rel()?)),
            _ => Err(Error::invalid(format!(
                "unknown metric `{name}` (known: {}, {})",
                ALL_METRICS.join(", "),
                PARAMETERISED_METRICS.join(", ")
            ))),
        }
    }

    /// The canonical name (parameterised metrics include their parameter).
    pub fn name(&self) -> String {
        match self {
            MetricKind::Emd => "emd".into(),
            MetricKind::EmdScore => "emd_score".into(),
            MetricKind::Precision => "precision".into(),
            MetricKind::RankAccuracy => "rank_accuracy".into(),
            MetricKind::MassAccuracy => "mass_accuracy".into(),
            MetricKind::PositiveMass => "positive_mass".into(),
            MetricKind::PointingGame => "pointing_game".into(),
            MetricKind::Auroc => "auroc".into(),
            MetricKind::AveragePrecision => "average_precision".into(),
            MetricKind::TopKIntersection(k) => format!("top_k_intersection@{k}"),
            MetricKind::ThresholdPrecision(t) => format!("threshold_precision@{t}"),
            MetricKind::ThresholdRecall(t) => format!("threshold_recall@{t}"),
            MetricKind::ThresholdF1(t) => format!("threshold_f1@{t}"),
        }
    }

    /// Whether the metric's values lie in [0, 1] (all but `emd`).
    pub fn is_bounded(&self) -> bool {
        !matches!(self, MetricKind::Emd)
    }

    /// Whether higher is better (all but `emd`; [`mrixai_core::higher_is_better`] of its name).
    pub fn higher_is_better(&self) -> bool {
        mrixai_core::higher_is_better(&self.name())
    }

    fn needs_order(&self) -> bool {
        matches!(
            self,
            MetricKind::Precision
                | MetricKind::RankAccuracy
                | MetricKind::Auroc
                | MetricKind::AveragePrecision
                | MetricKind::TopKIntersection(_)
        )
    }
}

/// One sample prepared for scoring: A, GT and the sums every metric shares, plus the
/// descending order of A, computed on first use.
pub struct Sample<'s> {
    a: Vec<f64>,
    gt: Vec<bool>,
    shape: &'s [usize],
    k: usize,
    sum: f64,
    sum_gt: f64,
    pos_sum: f64,
    pos_sum_gt: f64,
    max: f64,
    argmax: usize,
    undefined: bool,
    order: OnceLock<Vec<u32>>,
    emd: OnceLock<f64>,
}

impl<'s> Sample<'s> {
    /// Prepares one sample; `attr` and `mask` are flat C-order voxels of `shape`.
    pub fn new(
        attr: impl Iterator<Item = f32>,
        mask: impl Iterator<Item = u8>,
        shape: &'s [usize],
    ) -> Self {
        let mut a = Vec::new();
        let mut gt = Vec::new();
        let (mut sum, mut sum_gt, mut pos_sum, mut pos_sum_gt) = (0.0, 0.0, 0.0, 0.0);
        let (mut max, mut argmax, mut k, mut finite) = (-1.0f64, 0usize, 0usize, true);
        for (i, (v, m)) in attr.zip(mask).enumerate() {
            let v = v as f64;
            finite &= v.is_finite();
            let x = v.abs();
            let g = m != 0;
            let p = v.max(0.0);
            sum += x;
            pos_sum += p;
            if g {
                k += 1;
                sum_gt += x;
                pos_sum_gt += p;
            }
            if x > max {
                max = x;
                argmax = i;
            }
            a.push(x);
            gt.push(g);
        }
        let undefined =
            !finite || k == 0 || sum <= 0.0 || a.len() != shape.iter().product::<usize>();
        Sample {
            a,
            gt,
            shape,
            k,
            sum,
            sum_gt,
            pos_sum,
            pos_sum_gt,
            max,
            argmax,
            undefined,
            order: OnceLock::new(),
            emd: OnceLock::new(),
        }
    }

    /// Voxel indices by decreasing A; ties by increasing flat index (a stable sort).
    fn order(&self) -> &[u32] {
        self.order.get_or_init(|| {
            let mut o: Vec<u32> = (0..self.a.len() as u32).collect();
            o.sort_unstable_by(|&i, &j| {
                self.a[j as usize]
                    .total_cmp(&self.a[i as usize])
                    .then(i.cmp(&j))
            });
            o
        })
    }

    fn gt_in_top(&self, n: usize) -> usize {
        self.order()[..n.min(self.a.len())]
            .iter()
            .filter(|&&i| self.gt[i as usize])
            .count()
    }

    fn emd(&self) -> f64 {
        *self
            .emd
            .get_or_init(|| emd_mask(&self.a, &self.gt, self.shape))
    }

    /// Calls `f(pos, neg)` for each group of tied A values, from the largest down.
    fn tie_groups(&self, mut f: impl FnMut(usize, usize)) {
        let o = self.order();
        let mut i = 0;
        while i < o.len() {
            let v = self.a[o[i] as usize];
            let (mut pos, mut neg) = (0, 0);
            while i < o.len() && self.a[o[i] as usize] == v {
                if self.gt[o[i] as usize] {
                    pos += 1;
                } else {
                    neg += 1;
                }
                i += 1;
            }
            f(pos, neg);
        }
    }

    /// The value of `metric` for this sample.
    pub fn score(&self, metric: MetricKind) -> f64 {
        if self.undefined {
            return f64::NAN;
        }
        let k = self.k as f64;
        match metric {
            MetricKind::Emd => self.emd(),
            MetricKind::EmdScore => {
                let dmax = grid_diameter(self.shape);
                if dmax > 0.0 {
                    1.0 - self.emd() / dmax
                } else {
                    f64::NAN
                }
            }
            MetricKind::Precision => {
                let nnz = self.a.iter().filter(|&&x| x != 0.0).count();
                self.gt_in_top(self.k.min(nnz)) as f64 / k
            }
            MetricKind::RankAccuracy => self.gt_in_top(self.k) as f64 / k,
            MetricKind::MassAccuracy => self.sum_gt / self.sum,
            MetricKind::PositiveMass => {
                if self.pos_sum > 0.0 {
                    self.pos_sum_gt / self.pos_sum
                } else {
                    f64::NAN
                }
            }
            MetricKind::PointingGame => f64::from(u8::from(self.gt[self.argmax])),
            MetricKind::Auroc => {
                let neg_total = self.a.len() - self.k;
                if neg_total == 0 {
                    return f64::NAN;
                }
                let (mut neg_seen, mut acc) = (0usize, 0.0f64);
                self.tie_groups(|pos, neg| {
                    let below = neg_total - neg_seen - neg;
                    acc += pos as f64 * (below as f64 + 0.5 * neg as f64);
                    neg_seen += neg;
                });
                acc / (k * neg_total as f64)
            }
            MetricKind::AveragePrecision => {
                let (mut tp, mut fp, mut ap) = (0usize, 0usize, 0.0f64);
                self.tie_groups(|pos, neg| {
                    tp += pos;
                    fp += neg;
                    if pos > 0 {
                        ap += pos as f64 * (tp as f64 / (tp + fp) as f64);
                    }
                });
                // divided once at the end (and capped against rounding), so a perfect
                // ranking gives exactly 1, never 1 + 2⁻⁵²
                (ap / k).min(1.0)
            }
            MetricKind::TopKIntersection(n) => self.gt_in_top(n) as f64 / n as f64,
            MetricKind::ThresholdPrecision(t)
            | MetricKind::ThresholdRecall(t)
            | MetricKind::ThresholdF1(t) => {
                let cut = t * self.max;
                let (mut sel, mut hit) = (0usize, 0usize);
                for (&x, &g) in self.a.iter().zip(&self.gt) {
                    if x > 0.0 && x >= cut {
                        sel += 1;
                        hit += usize::from(g);
                    }
                }
                let precision = hit as f64 / sel as f64;
                let recall = hit as f64 / k;
                match metric {
                    MetricKind::ThresholdPrecision(_) => precision,
                    MetricKind::ThresholdRecall(_) => recall,
                    _ if hit == 0 => 0.0,
                    _ => 2.0 * precision * recall / (precision + recall),
                }
            }
        }
    }
}

/// A metric usable through the [`mrixai_core::Metric`] trait.
#[derive(Debug, Clone)]
pub struct NamedMetric {
    kind: MetricKind,
    name: String,
}

impl NamedMetric {
    /// The metric of `kind`.
    pub fn new(kind: MetricKind) -> Self {
        Self {
            name: kind.name(),
            kind,
        }
    }
    /// Its kind.
    pub fn kind(&self) -> MetricKind {
        self.kind
    }
}

impl Metric for NamedMetric {
    fn name(&self) -> &str {
        &self.name
    }
    fn score(&self, attr: ViewF, mask: ArrayViewD<u8>) -> f64 {
        if attr.shape() != mask.shape() {
            return f64::NAN;
        }
        Sample::new(attr.iter().copied(), mask.iter().copied(), attr.shape()).score(self.kind)
    }
    fn score_batch(&self, attr: ViewF, mask: ArrayViewD<u8>) -> Result<Vec<f64>> {
        let set = MetricSet::from_kinds(vec![self.kind]);
        Ok(set
            .score_batch(attr, mask, &mrixai_core::progress::Silent)?
            .into_raw_vec_and_offset()
            .0)
    }
}

/// The metric named `name` (see [`ALL_METRICS`] and [`PARAMETERISED_METRICS`]).
pub fn metric_by_name(name: &str) -> Result<Box<dyn Metric>> {
    Ok(Box::new(NamedMetric::new(MetricKind::parse(name)?)))
}

/// Several metrics scored together, sharing the sorting and sums of each sample.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSet {
    kinds: Vec<MetricKind>,
}

impl MetricSet {
    /// Parses metric names; an empty list means [`ALL_METRICS`].
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self> {
        if names.is_empty() {
            return Self::parse(&ALL_METRICS);
        }
        let kinds = names
            .iter()
            .map(|n| MetricKind::parse(n.as_ref().trim()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::from_kinds(kinds))
    }

    /// A set of the given metrics.
    pub fn from_kinds(kinds: Vec<MetricKind>) -> Self {
        Self { kinds }
    }

    /// The metrics, in order.
    pub fn kinds(&self) -> &[MetricKind] {
        &self.kinds
    }

    /// Canonical names, in order.
    pub fn names(&self) -> Vec<String> {
        self.kinds.iter().map(MetricKind::name).collect()
    }

    /// Scores one sample (`attr` and `mask` of the same spatial shape).
    pub fn score(&self, attr: ViewF, mask: ArrayViewD<u8>) -> Result<Vec<f64>> {
        check_same_shape(attr.shape(), mask.shape())?;
        let s = Sample::new(attr.iter().copied(), mask.iter().copied(), attr.shape());
        Ok(self.kinds.iter().map(|&k| s.score(k)).collect())
    }

    /// Scores a batch `[N, …spatial]` in parallel over samples; row i holds sample i's
    /// values in the order of [`MetricSet::kinds`]. Reports one step per sample to `progress`.
    pub fn score_batch(
        &self,
        attr: ViewF,
        mask: ArrayViewD<u8>,
        progress: &dyn Progress,
    ) -> Result<Array2<f64>> {
        check_same_shape(attr.shape(), mask.shape())?;
        if attr.ndim() < 2 {
            return Err(Error::shape(
                "attributions",
                "[N, …spatial] with at least one spatial axis",
                attr.shape(),
            ));
        }
        let n = attr.shape()[0];
        progress.start("scoring", n as u64);
        let spatial = &attr.shape()[1..];
        let attr = attr.as_standard_layout();
        let mask = mask.as_standard_layout();
        let vox: usize = spatial.iter().product();
        let (a, m) = (
            attr.as_slice().unwrap_or(&[]),
            mask.as_slice().unwrap_or(&[]),
        );
        let rows: Vec<Vec<f64>> = (0..n)
            .into_par_iter()
            .map(|i| {
                let r = i * vox..(i + 1) * vox;
                let s = Sample::new(a[r.clone()].iter().copied(), m[r].iter().copied(), spatial);
                let row = self.kinds.iter().map(|&k| s.score(k)).collect();
                progress.advance(1, "");
                row
            })
            .collect();
        progress.finish();
        let flat: Vec<f64> = rows.into_iter().flatten().collect();
        Array2::from_shape_vec((n, self.kinds.len()), flat)
            .map_err(|e| Error::invalid(format!("scores: {e}")))
    }

    /// Whether any metric of the set needs the sorted order of A.
    pub fn needs_sorting(&self) -> bool {
        self.kinds.iter().any(MetricKind::needs_order)
    }
}

/// Scores one sample on the metrics `names` (empty = [`ALL_METRICS`]), computing the shared
/// work (sums, sorting, EMD) once.
pub fn score_all<S: AsRef<str>>(
    attr: ViewF,
    mask: ArrayViewD<u8>,
    names: &[S],
) -> Result<Vec<f64>> {
    MetricSet::parse(names)?.score(attr, mask)
}

fn check_same_shape(a: &[usize], m: &[usize]) -> Result<()> {
    if a != m {
        return Err(Error::shape(
            "mask",
            format!("the attribution shape {a:?}"),
            m,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    /// The direction of every metric, with and without a parameter, is the one rule of
    /// `mrixai_core::higher_is_better`: only the distance `emd` is better when lower.
    #[test]
    fn only_the_distance_is_better_when_lower() {
        let mut names: Vec<String> = ALL_METRICS.iter().map(|s| s.to_string()).collect();
        names.extend(["top_k_intersection@10", "threshold_f1@0.5"].map(String::from));
        for name in names {
            let kind = MetricKind::parse(&name).unwrap();
            assert_eq!(kind.higher_is_better(), kind != MetricKind::Emd, "{name}");
            assert_eq!(
                kind.higher_is_better(),
                mrixai_core::higher_is_better(&kind.name())
            );
        }
    }

    #[test]
    fn names_roundtrip_and_errors() {
        for n in ALL_METRICS {
            assert_eq!(MetricKind::parse(n).unwrap().name(), n);
            assert_eq!(metric_by_name(n).unwrap().name(), n);
        }
        assert_eq!(
            MetricKind::parse("top_k_intersection@7").unwrap(),
            MetricKind::TopKIntersection(7)
        );
        assert_eq!(
            MetricKind::parse("threshold_f1").unwrap(),
            MetricKind::ThresholdF1(0.5)
        );
        for bad in [
            "emdd",
            "emd@3",
            "top_k_intersection@0",
            "threshold_recall@2",
            "threshold_f1@x",
        ] {
            assert!(MetricKind::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hand_computed_sample() {
        // 1x6 grid, GT = voxels 0 and 1; A = [4, 0, 3, 0, 1, 0] with signs
        let attr =
            ArrayD::from_shape_vec(IxDyn(&[1, 6]), vec![4.0f32, 0.0, -3.0, 0.0, 1.0, 0.0]).unwrap();
        let mask = ArrayD::from_shape_vec(IxDyn(&[1, 6]), vec![1u8, 1, 0, 0, 0, 0]).unwrap();
        let names = [
            "mass_accuracy",
            "positive_mass",
            "pointing_game",
            "rank_accuracy",
            "precision",
            "top_k_intersection@3",
            "threshold_precision@0.5",
            "threshold_recall@0.5",
            "threshold_f1@0.5",
            "auroc",
            "average_precision",
            "emd",
        ];
        let v = score_all(attr.view(), mask.view(), &names).unwrap();
        let auroc = (4.0 + (0.0 + 0.5 * 2.0)) / 8.0; // GT scores 4 (above all 4 neg) and 0 (ties with 2 neg)
        let ap = 0.5 * 1.0 + 0.5 * (2.0 / 6.0);
        // emd: q = [.5, 0, .375, 0, .125, 0], p = [.5, .5, 0, …] → .375 moves 1, .125 moves 3
        let want = [
            0.5,
            0.8,
            1.0,
            0.5,
            0.5,
            1.0 / 3.0,
            0.5,
            0.5,
            0.5,
            auroc,
            ap,
            0.375 + 0.375,
        ];
        for ((n, g), w) in names.iter().zip(&v).zip(want) {
            assert!((g - w).abs() < 1e-12, "{n}: {g} vs {w}");
        }
        let empty = ArrayD::<u8>::zeros(IxDyn(&[1, 6]));
        assert!(
            score_all(attr.view(), empty.view(), &names)
                .unwrap()
                .iter()
                .all(|x| x.is_nan())
        );
        let bad = ArrayD::<u8>::zeros(IxDyn(&[1, 5]));
        assert!(score_all(attr.view(), bad.view(), &names).is_err());
    }
}
