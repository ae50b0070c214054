//! The metrics by name, for tables: each gives one value per sample (a curve its area).

use crate::{
    FaithfulnessCorrelation, Order, PixelFlipping, RegionPerturbation, Road, complexity,
    faithfulness_correlation, pixel_flipping, region_perturbation, road, sparseness,
};
use mrixai_core::progress::Progress;
use mrixai_core::{Error, Explainable, Result, ViewF};

/// Every metric's name, as tables write it: the areas of the MoRF and LeRF region-perturbation
/// drop curves, the area of the MoRF pixel-flipping curve, the mean of the MoRF ROAD curve,
/// faithfulness correlation, sparseness, complexity.
pub const NAMES: [&str; 7] = [
    "region_perturbation_morf",
    "region_perturbation_lerf",
    "pixel_flipping",
    "road",
    "faithfulness_correlation",
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
}

/// The metrics named in `names` (all when empty), checked; an unknown one is an error
/// naming the known ones.
pub fn parse_names(names: &[String]) -> Result<Vec<&'static str>> {
    if names.is_empty() {
        return Ok(NAMES.to_vec());
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

/// Each metric of `names` on `maps` for `model` on `x` and `targets`: one value per sample;
/// `progress` hears of each metric done.
pub fn score(
    model: &dyn Explainable,
    x: ViewF,
    maps: ViewF,
    targets: &[usize],
    names: &[&str],
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<Vec<Vec<f64>>> {
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
        assert_eq!(parse_names(&[]).unwrap(), NAMES);
        let two = parse_names(&["sparseness".into(), " complexity".into()]).unwrap();
        assert_eq!(two, ["sparseness", "complexity"]);
        let e = parse_names(&["roar".into()]).unwrap_err().to_string();
        assert!(
            e.contains("`roar`") && e.contains("faithfulness_correlation"),
            "{e}"
        );
        let higher: Vec<bool> = NAMES
            .iter()
            .map(|n| mrixai_core::higher_is_better(n))
            .collect();
        assert_eq!(higher, [true, false, false, false, true, true, false]);
    }
}
