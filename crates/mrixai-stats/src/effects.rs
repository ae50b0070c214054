//! The effects behind findings 1–3, each as an estimate with its 95 % CI, the number of
//! models and samples behind it, and the minimal detectable effect (MDE) at 80 % power for
//! the run's own design.
//!
//! Explanation performance is pooled over the real methods (controls excluded): a model's
//! score on an image is the mean over methods. Finding 1 is the Pearson correlation of the
//! model-level score with accuracy across models (the unit of a model-level question is the
//! model). Findings 2 and 3 use every sample a model classified correctly in the mixed model
//! `score ~ accuracy + source + layers (+ frozen) + (1|model) + (1|image)`: source and
//! layers are model-level factors, and the model intercept makes their Satterthwaite
//! degrees of freedom those of the between-model variation, never the samples'.

use crate::{
    corr, dist,
    linalg::{self, Matrix},
    lmm,
    tables::ModelRow,
};
use mrixai_core::SourceName;
use rand::seq::SliceRandom;
use std::collections::{BTreeMap, BTreeSet};

crate::stats_table! {
    /// One estimated effect: a row of the `effects` table.
    pub struct Effect = "effects" {
        /// Finding number (1–3).
        pub finding: i64,
        /// What is estimated (`r(accuracy, score)`, `mri − scratch`, `per layer`).
        pub effect: String,
        /// Estimate.
        pub estimate: f64,
        /// Lower 95 % bound.
        pub ci_low: f64,
        /// Upper 95 % bound.
        pub ci_high: f64,
        /// Degrees of freedom of the test.
        pub df: f64,
        /// p-value of the finding's test (for a multi-level source, the joint F test).
        pub p: f64,
        /// Minimal detectable effect at 80 % power (same unit as the estimate).
        pub mde: f64,
        /// Models behind the estimate.
        pub n_models: usize,
        /// Samples behind the estimate.
        pub n_samples: usize,
        /// The test that ran, or `not testable: …` with the reason.
        pub test: String,
        /// Freedman–Lane permutation p-value of the same hypothesis on the model-level scores
        /// (findings 2–3; NaN where it cannot run).
        pub p_permutation: f64,
    }
}

impl Effect {
    fn untestable(finding: i64, effect: &str, why: String, n_models: usize, n: usize) -> Self {
        let nan = f64::NAN;
        Self {
            finding,
            effect: effect.to_string(),
            estimate: nan,
            ci_low: nan,
            ci_high: nan,
            df: nan,
            p: nan,
            mde: nan,
            n_models,
            n_samples: n,
            test: format!("not testable: {why}"),
            p_permutation: nan,
        }
    }
}

/// MDE of a t-test coefficient: `(t₁₋α/₂ + t₀.₈)·SE` with the test's df.
pub fn mde_t(se: f64, df: f64, alpha: f64) -> f64 {
    (dist::t_ppf(1.0 - alpha / 2.0, df) + dist::t_ppf(0.8, df)) * se
}

/// MDE of a Pearson correlation over `n` units (Fisher z).
pub fn mde_r(n: usize, alpha: f64) -> f64 {
    if n < 4 {
        return f64::NAN;
    }
    ((dist::norm_ppf(1.0 - alpha / 2.0) + dist::norm_ppf(0.8)) / ((n - 3) as f64).sqrt()).tanh()
}

/// Finding 1: Pearson r of the model-level score with accuracy.
pub fn accuracy_correlation(
    model_scores: &BTreeMap<String, f64>,
    models: &BTreeMap<String, ModelRow>,
    n_samples: usize,
    alpha: f64,
) -> Effect {
    let (acc, sc): (Vec<f64>, Vec<f64>) = model_scores
        .iter()
        .filter(|(_, v)| v.is_finite())
        .filter_map(|(m, v)| models.get(m).map(|mi| (mi.accuracy, *v)))
        .unzip();
    let n = acc.len();
    match corr::pearson(&acc, &sc) {
        Ok(c) => Effect {
            finding: 1,
            effect: "r(accuracy, score)".into(),
            estimate: c.r,
            ci_low: c.ci_low,
            ci_high: c.ci_high,
            df: (n as f64) - 2.0,
            p: c.p,
            mde: mde_r(n, alpha),
            n_models: n,
            n_samples,
            test: "Pearson r across models, Fisher-z CI".into(),
            p_permutation: f64::NAN,
        },
        Err(e) => Effect::untestable(1, "r(accuracy, score)", e.to_string(), n, n_samples),
    }
}

/// One sample of the pooled score: its model, image and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Model (cell) id.
    pub model: String,
    /// Image (sample index of the test split).
    pub image: i64,
    /// Score.
    pub score: f64,
}

/// The fixed-effect design: columns, names and the column sets of source and layers.
struct Design {
    x: Matrix,
    names: Vec<String>,
    /// Column and name of each source other than the reference.
    source_cols: Vec<(usize, String)>,
    layers_col: Option<usize>,
}

fn design(
    samples: &[Sample],
    models: &BTreeMap<String, ModelRow>,
    reference: &SourceName,
) -> Design {
    let n = samples.len();
    let info = |s: &Sample| &models[&s.model];
    let used: Vec<&ModelRow> = {
        let ids: BTreeSet<&String> = samples.iter().map(|s| &s.model).collect();
        ids.into_iter().map(|m| &models[m]).collect()
    };
    let mut cols = vec![
        vec![1.0; n],
        samples.iter().map(|s| info(s).accuracy).collect(),
    ];
    let mut names = vec!["(Intercept)".to_string(), "accuracy".to_string()];
    let sources: BTreeSet<&SourceName> = used.iter().map(|m| &m.source).collect();
    let mut source_cols = Vec::new();
    for src in sources.into_iter().filter(|s| *s != reference) {
        source_cols.push((cols.len(), src.to_string()));
        names.push(format!("source[{src}]"));
        cols.push(
            samples
                .iter()
                .map(|s| f64::from(u8::from(info(s).source == *src)))
                .collect(),
        );
    }
    let layer_levels: BTreeSet<i64> = used.iter().map(|m| m.pretrained_layers).collect();
    let layers_col = (layer_levels.len() > 1).then(|| {
        names.push("layers".into());
        cols.push(
            samples
                .iter()
                .map(|s| info(s).pretrained_layers as f64)
                .collect(),
        );
        cols.len() - 1
    });
    if used.iter().any(|m| m.frozen) && used.iter().any(|m| !m.frozen) {
        names.push("frozen".into());
        cols.push(
            samples
                .iter()
                .map(|s| f64::from(u8::from(info(s).frozen)))
                .collect(),
        );
    }
    Design {
        x: Matrix::from_columns(&cols).expect("equal columns"),
        names,
        source_cols,
        layers_col,
    }
}

fn unit(p: usize, j: usize) -> Vec<f64> {
    let mut l = vec![0.0; p];
    l[j] = 1.0;
    l
}

/// Findings 2 (source contrasts, joint F) and 3 (per-layer slope) from the sample-level
/// mixed model on `samples`.
pub fn pretraining_effects(
    samples: &[Sample],
    models: &BTreeMap<String, ModelRow>,
    reference: &SourceName,
    alpha: f64,
) -> Vec<Effect> {
    let n_models = samples
        .iter()
        .map(|s| &s.model)
        .collect::<BTreeSet<_>>()
        .len();
    let n = samples.len();
    if n_models < 3 {
        let why = format!("{n_models} model(s): a model-level effect needs several models");
        return vec![
            Effect::untestable(2, "source", why.clone(), n_models, n),
            Effect::untestable(3, "per layer", why, n_models, n),
        ];
    }
    let d = design(samples, models, reference);
    let y: Vec<f64> = samples.iter().map(|s| s.score).collect();
    let groups = [
        lmm::Grouping::from_labels(
            "model",
            &samples.iter().map(|s| s.model.clone()).collect::<Vec<_>>(),
        ),
        lmm::Grouping::from_labels(
            "image",
            &samples.iter().map(|s| s.image).collect::<Vec<_>>(),
        ),
    ];
    let untestable_all = |why: String| {
        vec![
            Effect::untestable(2, "source", why.clone(), n_models, n),
            Effect::untestable(3, "per layer", why, n_models, n),
        ]
    };
    if d.source_cols.is_empty() {
        let mut v = untestable_all("one pre-training source".into());
        v.truncate(1);
        v.extend(layers_only(&d, &y, &groups, alpha, n_models, n));
        return v;
    }
    let fit = match lmm::fit(&d.x, &y, &d.names, &groups) {
        Ok(f) => f,
        Err(e) => return untestable_all(e.to_string()),
    };
    let p = fit.p();
    let mut out = Vec::new();
    let joint = fit.f_test(
        &d.source_cols
            .iter()
            .map(|(j, _)| unit(p, *j))
            .collect::<Vec<_>>(),
    );
    let joint = joint.as_ref().ok().map(|f| {
        (
            f.p,
            "Wald F (Satterthwaite) of the source contrasts in the sample-level mixed model",
        )
    });
    for (l, label) in source_contrasts(&d.source_cols, reference, p) {
        out.push(effect_of(&fit, 2, &label, &l, alpha, n_models, n, joint));
    }
    out.push(match d.layers_col {
        Some(j) => effect_of(&fit, 3, "per layer", &unit(p, j), alpha, n_models, n, None),
        None => Effect::untestable(
            3,
            "per layer",
            "one pre-trained layer count".into(),
            n_models,
            n,
        ),
    });
    out
}

/// The contrasts of finding 2 with their labels: each source against the reference
/// (`mri − scratch`), then each pair of the other sources (`mri − ood`), which can drive the
/// joint test when neither differs from the reference on its own. `p` coefficients.
fn source_contrasts(
    cols: &[(usize, String)],
    reference: &SourceName,
    p: usize,
) -> Vec<(Vec<f64>, String)> {
    let mut out: Vec<(Vec<f64>, String)> = cols
        .iter()
        .map(|(j, src)| (unit(p, *j), format!("{src} − {reference}")))
        .collect();
    for (a, (ja, sa)) in cols.iter().enumerate() {
        for (jb, sb) in &cols[a + 1..] {
            let mut l = unit(p, *ja);
            l[*jb] = -1.0;
            out.push((l, format!("{sa} − {sb}")));
        }
    }
    out
}

/// Finding 3 when there is a single source: the mixed model without source terms.
fn layers_only(
    d: &Design,
    y: &[f64],
    groups: &[lmm::Grouping],
    alpha: f64,
    n_models: usize,
    n: usize,
) -> Vec<Effect> {
    let Some(j) = d.layers_col else {
        return vec![Effect::untestable(
            3,
            "per layer",
            "one pre-trained layer count".into(),
            n_models,
            n,
        )];
    };
    match lmm::fit(&d.x, y, &d.names, groups) {
        Ok(fit) => vec![effect_of(
            &fit,
            3,
            "per layer",
            &unit(fit.p(), j),
            alpha,
            n_models,
            n,
            None,
        )],
        Err(e) => vec![Effect::untestable(
            3,
            "per layer",
            e.to_string(),
            n_models,
            n,
        )],
    }
}

#[allow(clippy::too_many_arguments)]
fn effect_of(
    fit: &lmm::LmmFit,
    finding: i64,
    label: &str,
    l: &[f64],
    alpha: f64,
    n_models: usize,
    n: usize,
    joint: Option<(f64, &str)>,
) -> Effect {
    match fit.contrast(l) {
        Ok(c) if c.df.is_finite() && c.se.is_finite() => {
            let (lo, hi) = c.ci(0.95);
            let (p, test) = joint.unwrap_or((
                c.p,
                "t (Satterthwaite) of the coefficient in the sample-level mixed model",
            ));
            Effect {
                finding,
                effect: label.to_string(),
                estimate: c.estimate,
                ci_low: lo,
                ci_high: hi,
                df: c.df,
                p,
                mde: mde_t(c.se, c.df, alpha),
                n_models,
                n_samples: n,
                test: test.to_string(),
                p_permutation: f64::NAN,
            }
        }
        Ok(_) => Effect::untestable(
            finding,
            label,
            "degrees of freedom not estimable (a variance on the boundary)".into(),
            n_models,
            n,
        ),
        Err(e) => Effect::untestable(finding, label, e.to_string(), n_models, n),
    }
}

/// Residual sum of squares of `y` on the columns `cols` of `x`.
fn rss(x: &Matrix, cols: &[usize], y: &[f64]) -> Option<f64> {
    let ls = linalg::lstsq(&x.select_columns(cols), y, None).ok()?;
    Some(ls.residuals.iter().map(|r| r * r).sum())
}

/// Freedman–Lane permutation test of the columns `tested` of the model-level design `x`
/// (the other columns are nuisance: intercept, accuracy, the other factor): the residuals
/// of the reduced model are permuted, added to its fitted values and the full model refitted;
/// the statistic is the drop in RSS. Exact in distribution for exchangeable errors whatever
/// the number of models, so it stays valid where the mixed model's df approximation is
/// weakest. Returns NaN when a fit is impossible.
pub fn freedman_lane(x: &Matrix, y: &[f64], tested: &[usize], n_perm: usize, seed: u64) -> f64 {
    let full: Vec<usize> = (0..x.cols).collect();
    let reduced: Vec<usize> = full
        .iter()
        .copied()
        .filter(|c| !tested.contains(c))
        .collect();
    let Ok(red) = linalg::lstsq(&x.select_columns(&reduced), y, None) else {
        return f64::NAN;
    };
    let fitted: Vec<f64> = y.iter().zip(&red.residuals).map(|(a, r)| a - r).collect();
    let stat = |yy: &[f64]| Some(rss(x, &reduced, yy)? - rss(x, &full, yy)?);
    let Some(observed) = stat(y) else {
        return f64::NAN;
    };
    let tol = 1e-12 * observed.abs().max(1e-300);
    let mut rng = mrixai_core::seed::rng(seed, "freedman-lane");
    let mut perm = red.residuals.clone();
    let mut hits = 0usize;
    for _ in 0..n_perm {
        perm.shuffle(&mut rng);
        let yy: Vec<f64> = fitted.iter().zip(&perm).map(|(f, e)| f + e).collect();
        match stat(&yy) {
            Some(v) if v >= observed - tol => hits += 1,
            Some(_) => {}
            None => return f64::NAN,
        }
    }
    (1 + hits) as f64 / (1 + n_perm) as f64
}

/// Each model's mean score over its samples.
pub fn model_means(samples: &[Sample]) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
    for s in samples {
        let e = sums.entry(&s.model).or_insert((0.0, 0));
        e.0 += s.score;
        e.1 += 1;
    }
    sums.into_iter()
        .map(|(m, (t, n))| (m.to_string(), t / n as f64))
        .collect()
}

/// Model-level rows for the permutation tests: the design of [`design`] on one row per
/// model, and the model's mean score.
fn model_level(
    samples: &[Sample],
    models: &BTreeMap<String, ModelRow>,
    reference: &SourceName,
) -> (Design, Vec<f64>) {
    let rows: Vec<Sample> = model_means(samples)
        .into_iter()
        .map(|(model, score)| Sample {
            model,
            image: 0,
            score,
        })
        .collect();
    let y = rows.iter().map(|r| r.score).collect();
    (design(&rows, models, reference), y)
}

/// Adds the Freedman–Lane p-values (source jointly, layers) to the effects of findings 2–3.
pub fn add_permutation_p(
    effects: &mut [Effect],
    samples: &[Sample],
    models: &BTreeMap<String, ModelRow>,
    reference: &SourceName,
    n_perm: usize,
    seed: u64,
) {
    let (d, y) = model_level(samples, models, reference);
    if n_perm == 0 || y.len() <= d.x.cols + 1 {
        return;
    }
    let source: Vec<usize> = d.source_cols.iter().map(|(j, _)| *j).collect();
    let p_source = if source.is_empty() {
        f64::NAN
    } else {
        freedman_lane(&d.x, &y, &source, n_perm, seed)
    };
    let p_layers = d.layers_col.map_or(f64::NAN, |j| {
        freedman_lane(&d.x, &y, &[j], n_perm, seed + 1)
    });
    for e in effects
        .iter_mut()
        .filter(|e| !e.test.starts_with("not testable"))
    {
        e.p_permutation = match e.finding {
            2 => p_source,
            3 => p_layers,
            _ => f64::NAN,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mrixai_core::Source;
    use rand::{Rng, SeedableRng};

    const SCRATCH: SourceName = SourceName::Known(Source::Scratch);

    /// `n_models` models over three sources with 0–4 layers and accuracies that depend on
    /// source and layers; scores with planted source/layer effects plus model and image noise.
    fn world(src_eff: f64, layer_eff: f64, seed: u64) -> (Vec<Sample>, BTreeMap<String, ModelRow>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut g = |s: f64| (rng.random::<f64>() - 0.5) * s * 3.46;
        let img: Vec<f64> = (0..30).map(|_| g(0.08)).collect();
        let mut models = BTreeMap::new();
        let mut samples = Vec::new();
        for k in 0..24 {
            let source = SourceName::from(Source::ALL[k % 3]);
            let layers = if source == Source::Scratch {
                0.0
            } else {
                (1 + k % 4) as f64
            };
            // a null with confounding: accuracy depends on source and layers
            let accuracy =
                0.75 + if source == Source::Mri { 0.08 } else { 0.0 } + 0.02 * layers + g(0.03);
            let eff = if source == Source::Mri { src_eff } else { 0.0 } + layer_eff * layers;
            let me = g(0.04);
            let m = format!("m{k:02}");
            for (i, ie) in img.iter().enumerate() {
                let score = 0.3 + 0.5 * accuracy + eff + me + ie + g(0.05);
                samples.push(Sample {
                    model: m.clone(),
                    image: i as i64,
                    score,
                });
            }
            models.insert(
                m.clone(),
                ModelRow {
                    cell: m,
                    source,
                    pretrained_layers: layers as i64,
                    frozen: false,
                    seed: 1,
                    accuracy,
                },
            );
        }
        (samples, models)
    }

    #[test]
    fn planted_effects_are_detected_with_their_size() {
        let (s, m) = world(0.08, -0.03, 7);
        let e = pretraining_effects(&s, &m, &SCRATCH, 0.05);
        let mri = e.iter().find(|e| e.effect == "mri − scratch").unwrap();
        assert!(
            mri.p < 0.05 && mri.ci_low < 0.08 && mri.ci_high > 0.08,
            "{mri:?}"
        );
        // the contrast between the two pre-training sources: mri − ood = 0.08 planted
        let pair = e.iter().find(|e| e.effect == "mri − ood").unwrap();
        assert!(
            pair.ci_low < 0.08 && pair.ci_high > 0.08 && pair.ci_low > 0.0,
            "{pair:?}"
        );
        assert_eq!(
            pair.p, mri.p,
            "every contrast of finding 2 carries the joint test"
        );
        let layer = e.iter().find(|e| e.finding == 3).unwrap();
        assert!(
            layer.p < 0.05 && layer.ci_low < -0.03 && layer.ci_high > -0.03,
            "{layer:?}"
        );
        assert!(layer.df < 24.0, "model-level df, not samples: {}", layer.df);
        // the MDE is of the size of the between-model noise, far below the sample noise
        assert!(mri.mde > 0.0 && mri.mde < 0.15, "{mri:?}");
    }

    #[test]
    fn confounded_null_keeps_the_false_positive_rate() {
        let reps = 60;
        let (mut src_hits, mut layer_hits) = (0, 0);
        for r in 0..reps {
            let (s, m) = world(0.0, 0.0, 1000 + r);
            let e = pretraining_effects(&s, &m, &SCRATCH, 0.05);
            src_hits += usize::from(e.iter().any(|e| e.finding == 2 && e.p < 0.05));
            layer_hits += usize::from(e.iter().any(|e| e.finding == 3 && e.p < 0.05));
        }
        let bound = (0.05 + 3.0 * (0.05f64 * 0.95 / reps as f64).sqrt()) * reps as f64;
        assert!(
            (src_hits as f64) <= bound && (layer_hits as f64) <= bound,
            "{src_hits} {layer_hits}"
        );
    }

    #[test]
    fn freedman_lane_detects_planted_effects_and_holds_alpha_under_the_confounded_null() {
        let (s, m) = world(0.08, -0.03, 7);
        let mut e = pretraining_effects(&s, &m, &SCRATCH, 0.05);
        add_permutation_p(&mut e, &s, &m, &SCRATCH, 999, 1);
        for eff in &e {
            assert!(eff.p_permutation < 0.05, "{eff:?}");
        }
        let reps = 60;
        let mut hits = [0usize; 2];
        for r in 0..reps {
            let (s, m) = world(0.0, 0.0, 2000 + r);
            let mut e = pretraining_effects(&s, &m, &SCRATCH, 0.05);
            add_permutation_p(&mut e, &s, &m, &SCRATCH, 199, r);
            for (k, finding) in [2, 3].iter().enumerate() {
                let p = e
                    .iter()
                    .find(|e| e.finding == *finding)
                    .unwrap()
                    .p_permutation;
                hits[k] += usize::from(p < 0.05);
            }
        }
        let bound = (0.05 + 3.0 * (0.05f64 * 0.95 / reps as f64).sqrt()) * reps as f64;
        assert!(hits.iter().all(|&h| h as f64 <= bound), "{hits:?}");
    }

    #[test]
    fn single_source_and_few_models_are_not_testable_with_a_reason() {
        let (s, mut m) = world(0.0, 0.0, 3);
        for mi in m.values_mut() {
            mi.source = Source::Scratch.into();
            mi.pretrained_layers = 0;
        }
        let e = pretraining_effects(&s, &m, &SCRATCH, 0.05);
        assert!(
            e.iter().all(|e| e.test.starts_with("not testable")),
            "{e:?}"
        );
        let one: BTreeMap<String, f64> = [("m00".to_string(), 0.5)].into();
        let r = accuracy_correlation(&one, &m, 30, 0.05);
        assert!(r.test.starts_with("not testable") && r.estimate.is_nan());
    }
}
