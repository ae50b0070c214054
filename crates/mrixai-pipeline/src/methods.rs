//! The attribution settings of an experiment, read once into typed method jobs: each method
//! or control with its parameters, checked against the attribution registry when the config
//! is read, and whether it is model-free (computed once per run, not per cell).

use mrixai_core::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// One configured attribution method or control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodJob {
    /// Registry name (`integrated_gradients`, `oracle`, …).
    pub name: String,
    /// Its parameters `key → value` (checked by building the method once).
    pub params: BTreeMap<String, String>,
    /// Whether its maps do not depend on the model (the run computes them once).
    pub model_free: bool,
}

impl MethodJob {
    /// The explanation job of this method with `batch_size` samples per call.
    pub fn explanation(&self, batch_size: usize) -> mrixai_attrib::Explanation {
        mrixai_attrib::Explanation {
            method: self.name.clone(),
            params: self.params.clone(),
            batch_size,
        }
    }
}

/// Attribution settings (the config's `[explain]` table).
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainConfig {
    /// The methods and controls, in the config's order.
    pub jobs: Vec<MethodJob>,
    /// Explain at most this many test samples per cell (the first ones).
    pub max_samples: usize,
    /// Batch size for attribution.
    pub batch_size: usize,
}

/// `[explain]` as written: method names and a parameter table per method.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    methods: Vec<String>,
    #[serde(default)]
    params: BTreeMap<String, BTreeMap<String, String>>,
    max_samples: usize,
    #[serde(default = "default_explain_batch")]
    batch_size: usize,
}

fn default_explain_batch() -> usize {
    16
}

impl ExplainConfig {
    /// The jobs of `methods` with their `params` tables, each checked (a method the registry
    /// lacks, a bad parameter, parameters of a method not listed: errors naming the field).
    pub fn checked(
        methods: &[String],
        mut params: BTreeMap<String, BTreeMap<String, String>>,
        max_samples: usize,
        batch_size: usize,
    ) -> Result<Self> {
        if methods.is_empty() {
            return Err(Error::config("explain.methods", "must not be empty"));
        }
        let mut jobs = Vec::with_capacity(methods.len());
        for (i, name) in methods.iter().enumerate() {
            if methods[..i].contains(name) {
                return Err(Error::config(
                    "explain.methods",
                    format!("`{name}` is listed twice"),
                ));
            }
            let job = MethodJob {
                name: name.clone(),
                params: params.remove(name).unwrap_or_default(),
                model_free: mrixai_attrib::is_model_free(name),
            };
            check(&job)?;
            jobs.push(job);
        }
        if let Some(name) = params.keys().next() {
            return Err(Error::config(
                format!("explain.params.{name}"),
                "sets parameters of a method that is not in explain.methods",
            ));
        }
        Ok(Self {
            jobs,
            max_samples,
            batch_size,
        })
    }
}

/// Checks one job against the attribution registry by building its method once.
fn check(job: &MethodJob) -> Result<()> {
    let name = job.name.as_str();
    if mrixai_attrib::needs_masks(name) {
        return match job.params.keys().next() {
            Some(key) => Err(Error::config(
                format!("explain.params.{name}.{key}"),
                "the oracle takes the dataset's masks and has no parameters",
            )),
            None => Ok(()),
        };
    }
    if mrixai_attrib::registry::spec(name).is_none() {
        return Err(Error::config(
            "explain.methods",
            format!(
                "unknown method `{name}` (known: {})",
                mrixai_attrib::method_names().join(", ")
            ),
        ));
    }
    // the registry names `method.key`; the config's field is `explain.params.method.key`
    mrixai_attrib::method_by_name(name, &job.params).map_err(|e| match e {
        Error::Config { field, msg } => Error::config(format!("explain.params.{field}"), msg),
        e => Error::config(format!("explain.params.{name}"), e.to_string()),
    })?;
    Ok(())
}

impl Serialize for ExplainConfig {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        Written {
            methods: self.jobs.iter().map(|j| j.name.clone()).collect(),
            params: (self.jobs.iter())
                .filter(|j| !j.params.is_empty())
                .map(|j| (j.name.clone(), j.params.clone()))
                .collect(),
            max_samples: self.max_samples,
            batch_size: self.batch_size,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ExplainConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let w = Written::deserialize(d)?;
        Self::checked(&w.methods, w.params, w.max_samples, w.batch_size)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(m: &str, k: &str, v: &str) -> BTreeMap<String, BTreeMap<String, String>> {
        [(m.to_string(), [(k.to_string(), v.to_string())].into())].into()
    }

    /// Each bad method setting is an error naming its field; good ones become jobs that
    /// know whether they are model-free.
    #[test]
    fn methods_are_checked_once_into_jobs() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let bad = [
            (
                names(&["integrated_gradient"]),
                BTreeMap::new(),
                "explain.methods",
            ),
            (
                names(&["gradient"]),
                params("gradient", "steps", "5"),
                "gradient.steps",
            ),
            (
                names(&["occlusion"]),
                params("occlusion", "strides", "0,0"),
                "≥ 1",
            ),
            (
                names(&["gradient"]),
                params("lime", "n_samples", "9"),
                "explain.params.lime",
            ),
            (
                names(&["oracle"]),
                params("oracle", "masks", "m"),
                "explain.params.oracle.masks",
            ),
            (names(&[]), BTreeMap::new(), "must not be empty"),
            (
                names(&["lrp", "lrp"]),
                BTreeMap::new(),
                "`lrp` is listed twice",
            ),
        ];
        for (methods, p, what) in bad {
            let e = ExplainConfig::checked(&methods, p, 10, 16)
                .unwrap_err()
                .to_string();
            assert!(e.contains(what), "{e}");
        }
        let ok = ExplainConfig::checked(
            &names(&["gradient", "random", "oracle"]),
            params("gradient", "abs", "true"),
            10,
            16,
        )
        .unwrap();
        let free: Vec<bool> = ok.jobs.iter().map(|j| j.model_free).collect();
        assert_eq!(free, [false, true, mrixai_attrib::is_model_free("oracle")]);
        assert_eq!(ok.jobs[0].explanation(4).params["abs"], "true");
        let json = serde_json::to_value(&ok).unwrap();
        assert_eq!(
            json["params"],
            serde_json::json!({ "gradient": { "abs": "true" } })
        );
        assert_eq!(serde_json::from_value::<ExplainConfig>(json).unwrap(), ok);
    }
}
