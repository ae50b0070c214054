//! The metrics by name, for tables: each gives one value per sample (a curve its area).

use crate::{
    Baseline, FaithfulnessCorrelation, MaxSensitivity, Order, PixelFlipping, RegionPerturbation,
    Road, complexity, faithfulness_correlation, max_sensitivity, pixel_flipping,
    region_perturbation, road, sparseness,
};
use mrixai_core::progress::Progress;
use mrixai_core::{Attributor, Error, Explainable, Result, ViewF};

/// Every metric's name, as tables write it: the areas of the MoRF and LeRF region-perturbation
/// drop curves, the area of the MoRF pixel-flipping curve, the mean of the MoRF ROAD curve,
/// faithfulness correlation, max-sensitivity, sparseness, complexity.
pub const NAMES: [&str; 8] = [
    "region_perturbation_morf",
    "region_perturbation_lerf",
    "pixel_flipping",
    "road",
    "faithfulness_correlation",
    "max_sensitivity",
    "sparseness",
    "complexity",
];

/// The settings of the model-based metrics (the orders are set by the names).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settings {
    /// Region perturbation.
    pub region: RegionPerturbation,
    /// Pixel flipping.
    pub flipping: PixelFlipping,
    /// Faithfulness correlation.
    pub faithfulness: FaithfulnessCorrelation,
    /// ROAD.
    pub road: Road,
    /// Max-sensitivity.
    pub sensitivity: MaxSensitivity,
}

impl Settings {
    /// The defaults with one `seed` for every random draw (faithfulness correlation's
    /// subsets, ROAD's and max-sensitivity's noise) and one `baseline` for every metric that
    /// replaces features (ROAD imputes instead).
    pub fn seeded(seed: u64, baseline: Baseline) -> Self {
        let mut s = Self::default();
        (s.region.baseline, s.flipping.baseline) = (baseline, baseline);
        (s.faithfulness.baseline, s.faithfulness.seed) = (baseline, seed);
        (s.road.seed, s.sensitivity.seed) = (seed, seed);
        s
    }
}

/// The metrics named in `names`, checked (an unknown one is an error naming the known
/// ones); when empty, all of them, `max_sensitivity` only when the method is `known`.
pub fn parse_names(names: &[String], known: bool) -> Result<Vec<&'static str>> {
    if names.is_empty() {
        return Ok(NAMES
            .into_iter()
            .filter(|n| known || *n != "max_sensitivity")
            .collect());
    }
    (names.iter())
        .map(|n| {
            NAMES
                .iter()
                .copied()
                .find(|k| *k == n.trim())
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "unknown metric `{}` (metrics without ground truth: {})",
                        n.trim(),
                        NAMES.join(", ")
                    ))
                })
        })
        .collect()
}

/// What the metrics look at: a model, its inputs `x`, the maps of its `targets`, and the
/// method that made them (max-sensitivity runs it again).
pub struct Batch<'a> {
    /// The model.
    pub model: &'a dyn Explainable,
    /// The inputs `[N, C, …spatial]`.
    pub x: ViewF<'a>,
    /// The maps: the inputs' shape, or one channel.
    pub maps: ViewF<'a>,
    /// The class each map explains.
    pub targets: &'a [usize],
    /// The method that made the maps, if known.
    pub method: Option<&'a dyn Attributor>,
}

/// Each metric of `names` on `batch`: one value per sample; `progress` hears of each metric
/// done. `max_sensitivity` needs `batch.method`.
pub fn score(
    batch: &Batch,
    names: &[&str],
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<Vec<Vec<f64>>> {
    let Batch {
        model,
        x,
        maps,
        targets,
        method,
    } = batch;
    let (model, targets) = (*model, *targets);
    crate::input::check_counts(x.view(), maps.view(), targets)?;
    let region = |order| {
        let cfg = RegionPerturbation {
            order,
            ..settings.region
        };
        Ok::<_, Error>(region_perturbation(model, x.view(), maps.view(), targets, &cfg)?.auc())
    };
    progress.start("metrics without ground truth", names.len() as u64);
    let one = |name: &str| match name {
        "region_perturbation_morf" => region(Order::MoRF),
        "region_perturbation_lerf" => region(Order::LeRF),
        "pixel_flipping" => {
            let cfg = PixelFlipping {
                order: Order::MoRF,
                ..settings.flipping
            };
            Ok(pixel_flipping(model, x.view(), maps.view(), targets, &cfg)?.auc())
        }
        "road" => {
            let cfg = Road {
                order: Order::MoRF,
                ..settings.road.clone()
            };
            let curves = road(model, x.view(), maps.view(), targets, &cfg)?;
            Ok(curves
                .values
                .rows()
                .into_iter()
                .map(|r| r.mean().unwrap_or(f64::NAN))
                .collect())
        }
        "max_sensitivity" => {
            let method = method.ok_or_else(|| {
                Error::invalid(
                    "max_sensitivity re-explains noisy inputs: name the method that made the maps",
                )
            })?;
            let explain = |x: ViewF, t: &[usize]| method.attribute(model, x, t);
            max_sensitivity(
                x.view(),
                maps.view(),
                targets,
                &explain,
                &settings.sensitivity,
            )
        }
        "faithfulness_correlation" => faithfulness_correlation(
            model,
            x.view(),
            maps.view(),
            targets,
            &settings.faithfulness,
        ),
        "sparseness" => Ok(sparseness(maps.view())),
        "complexity" => Ok(complexity(maps.view())),
        other => Err(Error::invalid(format!("unknown metric `{other}`"))),
    };
    let mut out = Vec::with_capacity(names.len());
    for &name in names {
        out.push(one(name)?);
        progress.advance(1, name);
    }
    progress.finish();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_have_their_direction() {
        assert_eq!(parse_names(&[], true).unwrap(), NAMES);
        assert_eq!(parse_names(&[], false).unwrap().len(), NAMES.len() - 1);
        let two = parse_names(&["sparseness".into(), " complexity".into()], false).unwrap();
        assert_eq!(two, ["sparseness", "complexity"]);
        let e = parse_names(&["roar".into()], true).unwrap_err().to_string();
        assert!(
            e.contains("`roar`") && e.contains("faithfulness_correlation"),
            "{e}"
        );
        let higher: Vec<bool> = NAMES
            .iter()
            .map(|n| mrixai_core::higher_is_better(n))
            .collect();
        assert_eq!(
            higher,
            [true, false, false, false, true, false, true, false]
        );
    }
}
