//! Methods by name with string parameters (for the CLI and run configurations).

use crate::cam::{GradCam, GuidedGradCam};
use crate::controls::{InputMap, Laplace, RandomMap, Sobel};
use crate::deeplift::{DEEPLIFT_EPS, DeepLift, DeepLiftShap};
use crate::gradient::{
    Deconvolution, Gradient, GradientShap, GuidedBackprop, InputXGradient, IntegratedGradients,
};
use crate::lrp::{Composite, Lrp};
use crate::perturb::{FeatureSettings, KernelShap, Lime, Occlusion, ShapleyValueSampling};
use crate::superpixels::Superpixels;
use crate::util::Baseline;
use mrixai_core::{Attributor, Error, Result};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::str::FromStr;

/// Every method and control known to [`method_by_name`].
pub const ALL_METHODS: &[&str] = &[
    "gradient",
    "input_x_gradient",
    "integrated_gradients",
    "gradient_shap",
    "deeplift",
    "deeplift_shap",
    "lrp",
    "guided_backprop",
    "deconvolution",
    "grad_cam",
    "guided_grad_cam",
    "occlusion",
    "lime",
    "kernel_shap",
    "shapley_value_sampling",
    "random",
    "sobel",
    "laplace",
    "input",
    "oracle",
];

/// Typed access to string parameters that remembers which keys were asked for, so that
/// unknown keys can be reported with the list of known ones.
struct Params<'a> {
    method: &'a str,
    map: &'a BTreeMap<String, String>,
    known: RefCell<Vec<&'static str>>,
}

impl<'a> Params<'a> {
    fn err(&self, key: &str, msg: impl std::fmt::Display) -> Error {
        Error::config(format!("{}.{key}", self.method), msg.to_string())
    }

    fn raw(&self, key: &'static str) -> Option<&'a str> {
        self.known.borrow_mut().push(key);
        self.map.get(key).map(|s| s.trim())
    }

    fn get<T: FromStr>(&self, key: &'static str, default: T) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.raw(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<T>()
                .map_err(|e| self.err(key, format!("cannot parse `{v}`: {e}"))),
        }
    }

    fn positive(&self, key: &'static str, default: usize) -> Result<usize> {
        let v = self.get(key, default)?;
        if v == 0 {
            return Err(self.err(key, "must be ≥ 1"));
        }
        Ok(v)
    }

    fn float(
        &self,
        key: &'static str,
        default: f64,
        ok: impl Fn(f64) -> bool,
        what: &str,
    ) -> Result<f64> {
        let v = self.get(key, default)?;
        if !v.is_finite() || !ok(v) {
            return Err(self.err(key, format!("{v} is not {what}")));
        }
        Ok(v)
    }

    fn list(&self, key: &'static str, default: &[usize]) -> Result<Vec<usize>> {
        match self.raw(key) {
            None => Ok(default.to_vec()),
            Some(v) => v
                .trim_matches(|c| c == '(' || c == ')' || c == '[' || c == ']')
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim().parse::<usize>().map_err(|e| {
                        self.err(
                            key,
                            format!("cannot parse `{v}` as a list of integers: {e}"),
                        )
                    })
                })
                .collect(),
        }
    }

    fn baselines(&self) -> Result<Baseline> {
        match self.raw("baselines") {
            None => Ok(Baseline::default()),
            Some(v) => Baseline::parse(v).map_err(|e| self.err("baselines", e)),
        }
    }

    fn superpixels(&self) -> Result<Superpixels> {
        let kind = self.raw("superpixels").unwrap_or("grid");
        let grid = self.positive("grid_size", 8)?;
        let n_segments = self.positive("n_segments", 64)?;
        let compactness = self.float("compactness", 0.1, |v| v > 0.0, "a positive number")? as f32;
        match kind {
            "grid" => Ok(Superpixels::Grid { size: grid }),
            "slic" => Ok(Superpixels::Slic {
                n_segments,
                compactness,
            }),
            other => Err(self.err(
                "superpixels",
                format!("unknown kind `{other}` (known: grid, slic)"),
            )),
        }
    }

    fn features(&self, n_samples: usize) -> Result<FeatureSettings> {
        Ok(FeatureSettings {
            superpixels: self.superpixels()?,
            baselines: self.baselines()?,
            n_samples: self.positive("n_samples", n_samples)?,
            seed: self.get("seed", 0u64)?,
            internal_batch_size: self.positive("internal_batch_size", 64)?,
        })
    }

    fn finish(&self) -> Result<()> {
        let known = self.known.borrow();
        if let Some(k) = self.map.keys().find(|k| !known.contains(&k.as_str())) {
            let mut list: Vec<&str> = known.clone();
            list.sort_unstable();
            list.dedup();
            let list = if list.is_empty() {
                "none".to_string()
            } else {
                list.join(", ")
            };
            return Err(Error::config(
                format!("{}.{k}", self.method),
                format!("unknown parameter (known: {list})"),
            ));
        }
        Ok(())
    }
}

/// Builds a method or control from its name and string parameters (Captum's names:
/// `n_steps`, `method`, `n_samples`, `stdevs`, `baselines`, `sliding_window_shapes`, `strides`,
/// …). Unknown names, unknown parameters and impossible values are errors naming the field.
pub fn method_by_name(
    name: &str,
    params: &BTreeMap<String, String>,
) -> Result<Box<dyn Attributor>> {
    let p = Params {
        method: name,
        map: params,
        known: RefCell::new(Vec::new()),
    };
    let m: Box<dyn Attributor> = match name {
        "gradient" => Box::new(Gradient {
            abs: p.get("abs", false)?,
        }),
        "input_x_gradient" => Box::new(InputXGradient),
        "integrated_gradients" => Box::new(IntegratedGradients {
            n_steps: p.positive("n_steps", 50)?,
            method: p.get("method", crate::quadrature::Quadrature::GaussLegendre)?,
            baselines: p.baselines()?,
            internal_batch_size: p.positive("internal_batch_size", 64)?,
        }),
        "gradient_shap" => Box::new(GradientShap {
            n_samples: p.positive("n_samples", 5)?,
            stdevs: p.float("stdevs", 0.0, |v| v >= 0.0, "a number ≥ 0")? as f32,
            baselines: p.baselines()?,
            seed: p.get("seed", 0u64)?,
            internal_batch_size: p.positive("internal_batch_size", 64)?,
        }),
        "deeplift" => Box::new(DeepLift {
            baselines: p.baselines()?,
            internal_batch_size: p.positive("internal_batch_size", 32)?,
            eps: p.float("eps", DEEPLIFT_EPS as f64, |v| v >= 0.0, "a number ≥ 0")? as f32,
        }),
        "deeplift_shap" => Box::new(DeepLiftShap {
            baselines: p.baselines()?,
            internal_batch_size: p.positive("internal_batch_size", 32)?,
        }),
        "lrp" => {
            let composite = p.raw("composite").unwrap_or("epsilon");
            let epsilon = p.float("epsilon", 1e-9, |v| v >= 0.0, "a number ≥ 0")? as f32;
            let gamma = p.float("gamma", 0.25, |v| v >= 0.0, "a number ≥ 0")? as f32;
            let low = p.float("low", 0.0, |_| true, "finite")? as f32;
            let high = p.float("high", 1.0, |_| true, "finite")? as f32;
            if low > high {
                return Err(p.err("low", format!("{low} is above high = {high}")));
            }
            let composite = Composite::by_name(composite, epsilon, gamma, low, high)
                .map_err(|e| p.err("composite", e))?;
            Box::new(Lrp {
                composite,
                internal_batch_size: p.positive("internal_batch_size", 64)?,
            })
        }
        "guided_backprop" => Box::new(GuidedBackprop),
        "deconvolution" => Box::new(Deconvolution),
        "grad_cam" => Box::new(GradCam {
            layer: p.raw("layer").map(str::to_string),
            relu_attributions: p.get("relu_attributions", false)?,
            upsample: p.get("upsample", false)?,
        }),
        "guided_grad_cam" => Box::new(GuidedGradCam {
            layer: p.raw("layer").map(str::to_string),
        }),
        "occlusion" => {
            let w = p.list("sliding_window_shapes", &[8, 8])?;
            let s = p.list("strides", &[4, 4])?;
            if w.contains(&0) || s.contains(&0) {
                return Err(p.err(
                    "sliding_window_shapes",
                    "window sizes and strides must be ≥ 1",
                ));
            }
            Box::new(Occlusion {
                sliding_window_shapes: w,
                strides: s,
                baselines: p.baselines()?,
                internal_batch_size: p.positive("internal_batch_size", 64)?,
            })
        }
        "lime" => Box::new(Lime {
            settings: p.features(50)?,
            kernel_width: p.float("kernel_width", 1.0, |v| v > 0.0, "a positive number")?,
            alpha: p.float("alpha", 0.01, |v| v >= 0.0, "a number ≥ 0")?,
        }),
        "kernel_shap" => Box::new(KernelShap {
            settings: p.features(25)?,
        }),
        "shapley_value_sampling" => Box::new(ShapleyValueSampling {
            settings: p.features(25)?,
        }),
        "random" => Box::new(RandomMap {
            seed: p.get("seed", 0u64)?,
        }),
        "sobel" => Box::new(Sobel),
        "laplace" => Box::new(Laplace),
        "input" => Box::new(InputMap),
        "oracle" => {
            return Err(p.err(
                "masks",
                "the oracle takes the ground-truth masks from its caller \
                 (`Explanation::attributor`, `explain`, or `Oracle::new`), not from a parameter",
            ));
        }
        other => {
            return Err(Error::invalid(format!(
                "unknown attribution method `{other}` (known: {})",
                ALL_METHODS.join(", ")
            )));
        }
    };
    p.finish()?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_method_builds_with_defaults_and_bad_input_is_named() {
        for m in ALL_METHODS.iter().filter(|m| **m != "oracle") {
            let a = method_by_name(m, &BTreeMap::new()).unwrap();
            assert_eq!(a.name(), *m);
        }
        let e = method_by_name("integrated_gradient", &BTreeMap::new())
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("unknown attribution method") && e.contains("integrated_gradients"),
            "{e}"
        );
        let e = method_by_name("integrated_gradients", &params(&[("steps", "5")]))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("integrated_gradients.steps") && e.contains("n_steps"),
            "{e}"
        );
        let e = method_by_name("integrated_gradients", &params(&[("n_steps", "0")]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("n_steps") && e.contains("≥ 1"), "{e}");
        let e = method_by_name("integrated_gradients", &params(&[("method", "simpson")]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("simpson"), "{e}");
        let e = method_by_name("gradient_shap", &params(&[("stdevs", "-1")]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("stdevs"), "{e}");
        let e = method_by_name("lrp", &params(&[("composite", "zennit")]))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("composite") && e.contains("epsilon_plus_box"),
            "{e}"
        );
        let e = method_by_name("occlusion", &params(&[("strides", "1,x")]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("occlusion.strides"), "{e}");
        let e = method_by_name("oracle", &BTreeMap::new())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("oracle.masks") && e.contains("caller"), "{e}");
        let e = method_by_name("sobel", &params(&[("seed", "1")]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("known: none"), "{e}");
        assert!(
            method_by_name(
                "lime",
                &params(&[("superpixels", "slic"), ("n_segments", "16"), ("seed", "3")])
            )
            .is_ok()
        );
    }
}
