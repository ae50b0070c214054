//! Every method and control, declared once: its name, Captum equivalent, what it computes,
//! its parameters with their defaults, and how it is built from string parameters. The
//! registry ([`method_by_name`], [`method_names`], [`is_model_free`]), the CLI's help and the
//! table of docs/METHODS.md ([`docs_table`]) all come from [`METHODS`], so adding a method is
//! one entry here (plus its implementation and tests).

use crate::cam::{GradCam, GuidedGradCam};
use crate::controls::{InputMap, Laplace, RandomMap, Sobel};
use crate::deeplift::{DeepLift, DeepLiftShap};
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

/// A parameter of a method: its name (Captum's where Captum has one), its default as the
/// text a user would write (empty: absent, with the meaning `about` gives) and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// Name (`n_steps`, `baselines`, …).
    pub name: &'static str,
    /// Default value as text; empty when the parameter is optional.
    pub default: &'static str,
    /// What it sets.
    pub about: &'static str,
}

/// What a method's maps depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An attribution method: depends on the model and the target class.
    Method,
    /// A control that ignores the model and the target: an experiment computes its maps once
    /// for all models.
    ModelFreeControl,
}

/// One attribution method or control, declared once.
#[derive(Debug, Clone, Copy)]
pub struct MethodSpec {
    /// Name (`integrated_gradients`), as configs, the CLI and score tables spell it.
    pub name: &'static str,
    /// The Captum class it equals (empty: none).
    pub captum: &'static str,
    /// What it computes, in one line.
    pub about: &'static str,
    /// Method or model-free control.
    pub kind: Kind,
    /// Its parameters, in groups (a group may be shared by several methods).
    pub params: &'static [&'static [ParamSpec]],
    /// Builds it from parameters whose values and defaults [`Params`] provides.
    build: fn(&Params) -> Result<Box<dyn Attributor>>,
}

impl MethodSpec {
    /// Its parameters, in declaration order.
    pub fn parameters(&self) -> impl Iterator<Item = &'static ParamSpec> + use<> {
        let groups: &'static [&'static [ParamSpec]] = self.params;
        groups.iter().flat_map(|g| g.iter())
    }
}

/// A parameter declaration (for the tables below).
const fn param(name: &'static str, default: &'static str, about: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        default,
        about,
    }
}

const BASELINES: ParamSpec = param(
    "baselines",
    "0",
    "reference input: a number or a `.npy` path (one sample, one per sample, or a distribution `[B, …]`)",
);
const SEED: ParamSpec = param("seed", "0", "seed of the random draws");
const fn rows(default: &'static str) -> ParamSpec {
    param(
        "internal_batch_size",
        default,
        "rows per model call (bounds memory)",
    )
}
const LAYER: ParamSpec = param(
    "layer",
    "",
    "layer whose activations are used (default: the last convolution)",
);

/// The superpixel parameters of the feature-perturbation methods.
const FEATURES: &[ParamSpec] = &[
    param(
        "superpixels",
        "grid",
        "features: `grid` cells or `slic` superpixels",
    ),
    param("grid_size", "8", "grid cell side in pixels"),
    param("n_segments", "64", "SLIC superpixels requested"),
    param(
        "compactness",
        "0.1",
        "SLIC compactness (input intensity units)",
    ),
    BASELINES,
    SEED,
    rows("64"),
];

/// Every method and control.
pub static METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "gradient",
        captum: "Saliency(abs=False)",
        about: "gradient of the target logit (signed)",
        kind: Kind::Method,
        params: &[&[param("abs", "false", "absolute value of the gradient")]],
        build: |p| Ok(Box::new(Gradient { abs: p.get("abs")? })),
    },
    MethodSpec {
        name: "input_x_gradient",
        captum: "InputXGradient",
        about: "input times gradient",
        kind: Kind::Method,
        params: &[],
        build: |_| Ok(Box::new(InputXGradient)),
    },
    MethodSpec {
        name: "integrated_gradients",
        captum: "IntegratedGradients",
        about: "path integral of gradients from the baseline to the input",
        kind: Kind::Method,
        params: &[&[
            param("n_steps", "50", "integration steps"),
            param(
                "method",
                "gausslegendre",
                "quadrature: `gausslegendre`, `riemann_left`, `riemann_right`, `riemann_middle`, `riemann_trapezoid`",
            ),
            BASELINES,
            rows("64"),
        ]],
        build: |p| {
            Ok(Box::new(IntegratedGradients {
                n_steps: p.positive("n_steps")?,
                method: p.get("method")?,
                baselines: p.baselines()?,
                internal_batch_size: p.positive("internal_batch_size")?,
            }))
        },
    },
    MethodSpec {
        name: "gradient_shap",
        captum: "GradientShap",
        about: "expected gradients over noisy inputs and random baselines",
        kind: Kind::Method,
        params: &[&[
            param("n_samples", "5", "draws per sample"),
            param("stdevs", "0", "standard deviation of the input noise"),
            BASELINES,
            SEED,
            rows("64"),
        ]],
        build: |p| {
            Ok(Box::new(GradientShap {
                n_samples: p.positive("n_samples")?,
                stdevs: p.float("stdevs", |v| v >= 0.0, "a number ≥ 0")? as f32,
                baselines: p.baselines()?,
                seed: p.get("seed")?,
                internal_batch_size: p.positive("internal_batch_size")?,
            }))
        },
    },
    MethodSpec {
        name: "deeplift",
        captum: "DeepLift",
        about: "DeepLIFT Rescale with Captum's max-pool rule",
        kind: Kind::Method,
        params: &[&[
            BASELINES,
            param(
                "eps",
                "1e-10",
                "below this input difference a multiplier is the gradient",
            ),
            rows("32"),
        ]],
        build: |p| {
            Ok(Box::new(DeepLift {
                baselines: p.baselines()?,
                internal_batch_size: p.positive("internal_batch_size")?,
                eps: p.float("eps", |v| v >= 0.0, "a number ≥ 0")? as f32,
            }))
        },
    },
    MethodSpec {
        name: "deeplift_shap",
        captum: "DeepLiftShap",
        about: "mean of DeepLIFT over a distribution of baselines",
        kind: Kind::Method,
        params: &[&[BASELINES, rows("32")]],
        build: |p| {
            Ok(Box::new(DeepLiftShap {
                baselines: p.baselines()?,
                internal_batch_size: p.positive("internal_batch_size")?,
            }))
        },
    },
    MethodSpec {
        name: "lrp",
        captum: "LRP",
        about: "layer-wise relevance propagation: Zennit-style rules assigned by a composite",
        kind: Kind::Method,
        params: &[&[
            param(
                "composite",
                "epsilon",
                "`epsilon`, `epsilon_plus`, `epsilon_plus_box`, `epsilon_plus_flat`, `epsilon_gamma_box`, `epsilon_alpha2_beta1`",
            ),
            param("epsilon", "1e-9", "ε of the ε rule"),
            param("gamma", "0.25", "γ of the γ rule"),
            param("low", "0", "lowest input value (z^B rule)"),
            param("high", "1", "highest input value (z^B rule)"),
            rows("64"),
        ]],
        build: build_lrp,
    },
    MethodSpec {
        name: "guided_backprop",
        captum: "GuidedBackprop",
        about: "gradient with ReLU backward `relu(g·1[z>0])`",
        kind: Kind::Method,
        params: &[],
        build: |_| Ok(Box::new(GuidedBackprop)),
    },
    MethodSpec {
        name: "deconvolution",
        captum: "Deconvolution",
        about: "gradient with ReLU backward `relu(g)`",
        kind: Kind::Method,
        params: &[],
        build: |_| Ok(Box::new(Deconvolution)),
    },
    MethodSpec {
        name: "grad_cam",
        captum: "LayerGradCam",
        about: "class activation map of a layer; raw `[N,1,h,w]` or upsampled to the input (nearest)",
        kind: Kind::Method,
        params: &[&[
            LAYER,
            param("relu_attributions", "false", "ReLU on the map"),
            param(
                "upsample",
                "false",
                "upsample the map to the input size (nearest)",
            ),
        ]],
        build: |p| {
            Ok(Box::new(GradCam {
                layer: p.text("layer")?.map(str::to_string),
                relu_attributions: p.get("relu_attributions")?,
                upsample: p.get("upsample")?,
            }))
        },
    },
    MethodSpec {
        name: "guided_grad_cam",
        captum: "GuidedGradCam",
        about: "guided backprop times the upsampled Grad-CAM map",
        kind: Kind::Method,
        params: &[&[LAYER]],
        build: |p| {
            Ok(Box::new(GuidedGradCam {
                layer: p.text("layer")?.map(str::to_string),
            }))
        },
    },
    MethodSpec {
        name: "occlusion",
        captum: "Occlusion",
        about: "output change when a sliding window is set to the baseline",
        kind: Kind::Method,
        params: &[&[
            param(
                "sliding_window_shapes",
                "8",
                "window over `[C,…]`, over the spatial axes (all channels), or one size for every spatial axis",
            ),
            param("strides", "4", "window strides, given like the window"),
            BASELINES,
            rows("64"),
        ]],
        build: build_occlusion,
    },
    MethodSpec {
        name: "lime",
        captum: "Lime",
        about: "weighted ridge surrogate on superpixel features (Captum's default is Lasso)",
        kind: Kind::Method,
        params: &[
            &[
                param("n_samples", "50", "perturbed samples"),
                param("kernel_width", "1", "width of the similarity kernel"),
                param("alpha", "0.01", "ridge penalty"),
            ],
            FEATURES,
        ],
        build: |p| {
            Ok(Box::new(Lime {
                settings: p.features()?,
                kernel_width: p.float("kernel_width", |v| v > 0.0, "a positive number")?,
                alpha: p.float("alpha", |v| v >= 0.0, "a number ≥ 0")?,
            }))
        },
    },
    MethodSpec {
        name: "kernel_shap",
        captum: "KernelShap",
        about: "Shapley values of superpixel features by weighted regression",
        kind: Kind::Method,
        params: &[&[param("n_samples", "25", "coalitions sampled")], FEATURES],
        build: |p| {
            Ok(Box::new(KernelShap {
                settings: p.features()?,
            }))
        },
    },
    MethodSpec {
        name: "shapley_value_sampling",
        captum: "ShapleyValueSampling",
        about: "Shapley values of superpixel features by permutation sampling",
        kind: Kind::Method,
        params: &[&[param("n_samples", "25", "permutations")], FEATURES],
        build: |p| {
            Ok(Box::new(ShapleyValueSampling {
                settings: p.features()?,
            }))
        },
    },
    MethodSpec {
        name: "random",
        captum: "",
        about: "control: uniform `[0,1)` values, seeded per sample",
        kind: Kind::ModelFreeControl,
        params: &[&[SEED]],
        build: |p| {
            Ok(Box::new(RandomMap {
                seed: p.get("seed")?,
            }))
        },
    },
    MethodSpec {
        name: "sobel",
        captum: "",
        about: "control: Sobel edge magnitude per channel (over depth too in volumes)",
        kind: Kind::ModelFreeControl,
        params: &[],
        build: |_| Ok(Box::new(Sobel)),
    },
    MethodSpec {
        name: "laplace",
        captum: "",
        about: "control: absolute 3×3 (3×3×3 in volumes) Laplacian per channel",
        kind: Kind::ModelFreeControl,
        params: &[],
        build: |_| Ok(Box::new(Laplace)),
    },
    MethodSpec {
        name: "input",
        captum: "",
        about: "control: the input itself",
        kind: Kind::ModelFreeControl,
        params: &[],
        build: |_| Ok(Box::new(InputMap)),
    },
    MethodSpec {
        name: ORACLE,
        captum: "",
        about: "control: the ground-truth mask broadcast over channels (masks from the caller: `--param masks=FILE` or the dataset)",
        kind: Kind::ModelFreeControl,
        params: &[],
        build: |p| {
            Err(p.err(
                "masks",
                "the oracle takes the ground-truth masks from its caller \
                 (`Explanation::attributor`, `explain`, or `Oracle::new`), not from a parameter",
            ))
        },
    },
];

fn build_lrp(p: &Params) -> Result<Box<dyn Attributor>> {
    let composite = p.value("composite")?;
    let epsilon = p.float("epsilon", |v| v >= 0.0, "a number ≥ 0")? as f32;
    let gamma = p.float("gamma", |v| v >= 0.0, "a number ≥ 0")? as f32;
    let low = p.float("low", |_| true, "finite")? as f32;
    let high = p.float("high", |_| true, "finite")? as f32;
    if low > high {
        return Err(p.err("low", format!("{low} is above high = {high}")));
    }
    let composite = Composite::by_name(composite, epsilon, gamma, low, high)
        .map_err(|e| p.err("composite", e))?;
    Ok(Box::new(Lrp {
        composite,
        internal_batch_size: p.positive("internal_batch_size")?,
    }))
}

fn build_occlusion(p: &Params) -> Result<Box<dyn Attributor>> {
    let w = p.list("sliding_window_shapes")?;
    let s = p.list("strides")?;
    if w.contains(&0) || s.contains(&0) {
        return Err(p.err(
            "sliding_window_shapes",
            "window sizes and strides must be ≥ 1",
        ));
    }
    Ok(Box::new(Occlusion {
        sliding_window_shapes: w,
        strides: s,
        baselines: p.baselines()?,
        internal_batch_size: p.positive("internal_batch_size")?,
    }))
}

/// The declaration of method `name`, if there is one.
pub fn spec(name: &str) -> Option<&'static MethodSpec> {
    METHODS.iter().find(|m| m.name == name)
}

/// The names of every method and control, in declaration order.
pub fn method_names() -> Vec<&'static str> {
    METHODS.iter().map(|m| m.name).collect()
}

/// Whether `name` is a control whose maps depend on the input (and, for the oracle, the
/// masks) only, never on the model or the target class.
pub fn is_model_free(name: &str) -> bool {
    spec(name).is_some_and(|m| m.kind == Kind::ModelFreeControl)
}

/// The name of the control that is the ground truth itself (the masks broadcast over
/// channels): the one method whose maps come from the caller's masks.
pub const ORACLE: &str = "oracle";

/// Whether method `name` takes the ground-truth masks from its caller (the [`ORACLE`]).
pub fn needs_masks(name: &str) -> bool {
    name == ORACLE
}

/// The string parameters of one method, read with the defaults its [`MethodSpec`] declares;
/// remembers which were read, so that unknown keys are reported with the known ones.
pub struct Params<'a> {
    spec: &'a MethodSpec,
    map: &'a BTreeMap<String, String>,
    read: RefCell<Vec<&'static str>>,
}

impl<'a> Params<'a> {
    fn err(&self, key: &str, msg: impl std::fmt::Display) -> Error {
        Error::config(format!("{}.{key}", self.spec.name), msg.to_string())
    }

    /// The declaration of `key` (an undeclared key is a bug of the declaration).
    fn declared(&self, key: &'static str) -> Result<&'static ParamSpec> {
        self.read.borrow_mut().push(key);
        self.spec
            .parameters()
            .find(|p| p.name == key)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{}: parameter `{key}` is read but not declared in METHODS",
                    self.spec.name
                ))
            })
    }

    /// The value given for `key`, if any.
    fn text(&self, key: &'static str) -> Result<Option<&'a str>> {
        self.declared(key)?;
        Ok(self.map.get(key).map(|s| s.trim()))
    }

    /// The value given for `key`, or its declared default.
    fn value(&self, key: &'static str) -> Result<&'a str> {
        let spec = self.declared(key)?;
        Ok(self.map.get(key).map_or(spec.default, |s| s.trim()))
    }

    fn get<T: FromStr>(&self, key: &'static str) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        let v = self.value(key)?;
        v.parse::<T>()
            .map_err(|e| self.err(key, format!("cannot parse `{v}`: {e}")))
    }

    fn positive(&self, key: &'static str) -> Result<usize> {
        let v: usize = self.get(key)?;
        if v == 0 {
            return Err(self.err(key, "must be ≥ 1"));
        }
        Ok(v)
    }

    fn float(&self, key: &'static str, ok: impl Fn(f64) -> bool, what: &str) -> Result<f64> {
        let v: f64 = self.get(key)?;
        if !v.is_finite() || !ok(v) {
            return Err(self.err(key, format!("{v} is not {what}")));
        }
        Ok(v)
    }

    fn list(&self, key: &'static str) -> Result<Vec<usize>> {
        let v = self.value(key)?;
        v.trim_matches(|c| c == '(' || c == ')' || c == '[' || c == ']')
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
            .collect()
    }

    fn baselines(&self) -> Result<Baseline> {
        let v = self.value("baselines")?;
        Baseline::parse(v).map_err(|e| self.err("baselines", e))
    }

    fn superpixels(&self) -> Result<Superpixels> {
        let kind = self.value("superpixels")?;
        let grid = self.positive("grid_size")?;
        let n_segments = self.positive("n_segments")?;
        let compactness = self.float("compactness", |v| v > 0.0, "a positive number")? as f32;
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

    fn features(&self) -> Result<FeatureSettings> {
        Ok(FeatureSettings {
            superpixels: self.superpixels()?,
            baselines: self.baselines()?,
            n_samples: self.positive("n_samples")?,
            seed: self.get("seed")?,
            internal_batch_size: self.positive("internal_batch_size")?,
        })
    }

    /// An error for the first given key that is not a parameter of the method.
    fn check_unknown(&self) -> Result<()> {
        let known: Vec<&str> = self.spec.parameters().map(|p| p.name).collect();
        if let Some(k) = self.map.keys().find(|k| !known.contains(&k.as_str())) {
            let mut list = known.clone();
            list.sort_unstable();
            list.dedup();
            let list = if list.is_empty() {
                "none".to_string()
            } else {
                list.join(", ")
            };
            return Err(Error::config(
                format!("{}.{k}", self.spec.name),
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
    let spec = spec(name).ok_or_else(|| {
        Error::invalid(format!(
            "unknown attribution method `{name}` (known: {})",
            method_names().join(", ")
        ))
    })?;
    let p = Params {
        spec,
        map: params,
        read: RefCell::new(Vec::new()),
    };
    p.check_unknown()?;
    (spec.build)(&p)
}

/// The table of docs/METHODS.md: one row per method (name, Captum equivalent, parameters
/// with defaults, what it computes), then one row per parameter.
pub fn docs_table() -> String {
    let mut out = String::from(
        "| name | Captum equivalent | parameters (default) | what it computes |\n|---|---|---|---|\n",
    );
    let or_dash = |s: &str| {
        if s.is_empty() {
            "—".to_string()
        } else {
            format!("`{s}`")
        }
    };
    for m in METHODS {
        let params: Vec<String> = m
            .parameters()
            .map(|p| match p.default {
                "" => format!("`{}`", p.name),
                d => format!("`{}` ({d})", p.name),
            })
            .collect();
        let params = if params.is_empty() {
            "—".to_string()
        } else {
            params.join(", ")
        };
        out.push_str(&format!(
            "| `{}` | {} | {params} | {} |\n",
            m.name,
            or_dash(m.captum),
            m.about
        ));
    }
    out.push_str("\n| method | parameter | default | what it sets |\n|---|---|---|---|\n");
    for m in METHODS {
        for p in m.parameters() {
            out.push_str(&format!(
                "| `{}` | `{}` | {} | {} |\n",
                m.name,
                p.name,
                if p.default.is_empty() {
                    "—".to_string()
                } else {
                    format!("`{}`", p.default)
                },
                p.about
            ));
        }
    }
    out
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
    fn every_method_builds_with_defaults_and_reads_exactly_what_it_declares() {
        let mut names = method_names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METHODS.len(), "a name is declared twice");
        for m in METHODS.iter().filter(|m| m.name != "oracle") {
            let none = BTreeMap::new();
            let p = Params {
                spec: m,
                map: &none,
                read: RefCell::new(Vec::new()),
            };
            let a = (m.build)(&p).unwrap();
            assert_eq!(a.name(), m.name);
            let mut read = p.read.into_inner();
            read.sort_unstable();
            read.dedup();
            let mut declared: Vec<&str> = m.parameters().map(|q| q.name).collect();
            declared.sort_unstable();
            assert_eq!(read, declared, "{}: parameters read vs declared", m.name);
        }
        let eps = spec("deeplift")
            .unwrap()
            .parameters()
            .find(|q| q.name == "eps");
        assert_eq!(
            eps.unwrap().default.parse::<f32>().unwrap(),
            crate::deeplift::DEEPLIFT_EPS
        );
        assert!(is_model_free("sobel") && is_model_free("oracle") && !is_model_free("lrp"));
    }

    /// docs/METHODS.md shows the table [`docs_table`] makes from [`METHODS`]; with
    /// `MRIXAI_BLESS=1` the test writes it there.
    #[test]
    fn docs_table_is_the_declared_one() {
        let path = mrixai_testkit::workspace_dir().join("docs/METHODS.md");
        let doc = std::fs::read_to_string(&path).unwrap();
        let (begin, end) = ("<!-- methods:begin -->\n", "<!-- methods:end -->");
        let (i, j) = (
            doc.find(begin).unwrap() + begin.len(),
            doc.find(end).unwrap(),
        );
        let table = docs_table();
        if std::env::var_os("MRIXAI_BLESS").is_some() {
            std::fs::write(&path, format!("{}{table}{}", &doc[..i], &doc[j..])).unwrap();
        } else {
            assert_eq!(
                doc[i..j],
                table,
                "docs/METHODS.md's method table is not METHODS's: rerun with MRIXAI_BLESS=1"
            );
        }
    }

    #[test]
    fn bad_parameters_are_named() {
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
