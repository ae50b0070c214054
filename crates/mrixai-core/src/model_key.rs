//! What names a model of the experiment grid: its pre-training [`Source`] (and a table's
//! [`SourceName`], which may be another) and its
//! [`ModelKey`] (source, k pre-trained layers, frozen or not, seed). The run layout, the
//! zoo's model records, the grid, the statistics and the report all use these types.

use crate::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where a model's initial weights come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Random initialisation, nothing pre-trained.
    Scratch,
    /// Out-of-domain pre-training (ImageNet weights or the procedural stand-in).
    Ood,
    /// In-domain pre-training on an MRI task.
    Mri,
}

impl Source {
    /// Every source, in the order of tables and figures.
    pub const ALL: [Source; 3] = [Source::Scratch, Source::Ood, Source::Mri];

    /// Name used in configs, folders, tables and figures.
    pub fn name(self) -> &'static str {
        match self {
            Source::Scratch => "scratch",
            Source::Ood => "ood",
            Source::Mri => "mri",
        }
    }

    /// Whether the source starts from a pre-trained checkpoint (not `scratch`).
    pub fn is_pretrained(self) -> bool {
        self != Source::Scratch
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Source {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Source::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown pre-training source `{s}` (expected scratch, ood or mri)"
                ))
            })
    }
}

impl Serialize for Source {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A pre-training source as a score table names it: one of the experiment's [`Source`]s,
/// or any other name a user's own table uses (`unknown` for a table of maps). It reads,
/// writes, compares and sorts as its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SourceName {
    /// One of the experiment's sources.
    Known(Source),
    /// Another name.
    Other(String),
}

impl SourceName {
    /// The name.
    pub fn as_str(&self) -> &str {
        match self {
            SourceName::Known(s) => s.name(),
            SourceName::Other(s) => s,
        }
    }

    /// The experiment's source it names, if any.
    pub fn known(&self) -> Option<Source> {
        match self {
            SourceName::Known(s) => Some(*s),
            SourceName::Other(_) => None,
        }
    }

    /// Whether it names a source that starts from a pre-trained checkpoint: `ood`, `mri`
    /// or any other name than `scratch`.
    pub fn is_pretrained(&self) -> bool {
        self.known() != Some(Source::Scratch)
    }

    /// Where it comes in figures and tables: the experiment's sources in [`Source::ALL`]
    /// order, then the others by name.
    pub fn display_order(&self) -> (usize, &str) {
        let rank = self.known().map_or(Source::ALL.len(), |s| s as usize);
        (rank, self.as_str())
    }
}

/// The empty name.
impl Default for SourceName {
    fn default() -> Self {
        SourceName::Other(String::new())
    }
}

impl From<Source> for SourceName {
    fn from(s: Source) -> Self {
        SourceName::Known(s)
    }
}

impl From<&str> for SourceName {
    fn from(s: &str) -> Self {
        s.parse::<Source>()
            .map_or_else(|_| SourceName::Other(s.to_string()), SourceName::Known)
    }
}

/// Any name reads: an experiment's source or another.
impl std::str::FromStr for SourceName {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(Self::from(s))
    }
}

impl PartialEq<Source> for SourceName {
    fn eq(&self, other: &Source) -> bool {
        self.known() == Some(*other)
    }
}

impl PartialOrd for SourceName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// By name, as the tables sort their rows.
impl Ord for SourceName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::fmt::Display for SourceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SourceName {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SourceName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(SourceName::from(String::deserialize(d)?.as_str()))
    }
}

/// One model of the grid: a pre-training source, k, frozen or not, and a seed. Its fields
/// are the model columns of every table (`source`, `pretrained_layers`, `frozen`, `seed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ModelKey {
    /// Pre-training source.
    pub source: Source,
    /// k: leading weight layers initialised from the checkpoint (0 for scratch).
    pub pretrained_layers: usize,
    /// Whether those layers stay frozen.
    pub frozen: bool,
    /// Training seed.
    pub seed: u64,
}

impl ModelKey {
    /// A readable label, e.g. `mri-k4-frozen-s1`, `scratch-s2`.
    pub fn label(&self) -> String {
        let mode = if self.frozen { "frozen" } else { "tuned" };
        match self.source {
            Source::Scratch => format!("scratch-s{}", self.seed),
            s => format!("{s}-k{}-{mode}-s{}", self.pretrained_layers, self.seed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_read_and_write_their_names() {
        for s in Source::ALL {
            assert_eq!(s.name().parse::<Source>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        let e = "imagenet21k".parse::<Source>().unwrap_err().to_string();
        assert!(
            e.contains("`imagenet21k`") && e.contains("scratch, ood or mri"),
            "{e}"
        );
        assert!(serde_json::from_str::<Source>("\"Mri\"").is_err());
    }

    #[test]
    fn source_names_sort_by_name_and_show_known_sources_first() {
        let mut names: Vec<SourceName> = ["scratch", "mri", "imagenet21k", "ood", "unknown"]
            .into_iter()
            .map(SourceName::from)
            .collect();
        assert_eq!(names[1], SourceName::Known(Source::Mri));
        assert_eq!(names[2], SourceName::Other("imagenet21k".into()));
        names.sort();
        let sorted: Vec<&str> = names.iter().map(SourceName::as_str).collect();
        assert_eq!(sorted, ["imagenet21k", "mri", "ood", "scratch", "unknown"]);
        names.sort_by(|a, b| a.display_order().cmp(&b.display_order()));
        let shown: Vec<String> = names.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["scratch", "ood", "mri", "imagenet21k", "unknown"]);
        assert!(!SourceName::from("scratch").is_pretrained());
        assert!(SourceName::from("imagenet21k").is_pretrained());
        let json = serde_json::to_string(&names[3]).unwrap();
        assert_eq!(json, "\"imagenet21k\"");
        assert_eq!(
            serde_json::from_str::<SourceName>("\"ood\"").unwrap(),
            Source::Ood
        );
    }

    #[test]
    fn labels_name_the_model() {
        let key = |source, k, frozen, seed| ModelKey {
            source,
            pretrained_layers: k,
            frozen,
            seed,
        };
        assert_eq!(key(Source::Mri, 4, true, 1).label(), "mri-k4-frozen-s1");
        assert_eq!(key(Source::Ood, 2, false, 3).label(), "ood-k2-tuned-s3");
        assert_eq!(key(Source::Scratch, 0, false, 2).label(), "scratch-s2");
        let json = serde_json::to_string(&key(Source::Ood, 2, false, 3)).unwrap();
        assert_eq!(
            json,
            r#"{"source":"ood","pretrained_layers":2,"frozen":false,"seed":3}"#
        );
    }
}
