//! The grid of model cells and their content-addressed identifiers.

use crate::ExperimentConfig;
use mrixai_core::{Error, Result, seed};
use serde::{Deserialize, Serialize};

/// Where a cell's initial weights come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Random initialisation, nothing pre-trained.
    Scratch,
    /// Out-of-domain pre-training (ImageNet weights or the procedural stand-in).
    Ood,
    /// In-domain pre-training on an MRI task.
    Mri,
}

impl Source {
    /// Name used in folders, tables and figures.
    pub fn name(self) -> &'static str {
        match self {
            Source::Scratch => "scratch",
            Source::Ood => "ood",
            Source::Mri => "mri",
        }
    }
}

impl std::str::FromStr for Source {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "scratch" => Ok(Source::Scratch),
            "ood" => Ok(Source::Ood),
            "mri" => Ok(Source::Mri),
            other => Err(Error::invalid(format!(
                "unknown pre-training source `{other}` (expected scratch, ood or mri)"
            ))),
        }
    }
}

/// One model of the grid: a pre-training source, k, frozen or not, and a seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cell {
    /// Pre-training source.
    pub source: Source,
    /// Leading weight layers initialised from the checkpoint (0 for scratch).
    pub pretrained_layers: usize,
    /// Whether those layers stay frozen.
    pub frozen: bool,
    /// Training seed.
    pub seed: u64,
}

impl Cell {
    /// A readable label, e.g. `mri-k4-frozen-s1`.
    pub fn label(&self) -> String {
        let mode = if self.frozen { "frozen" } else { "tuned" };
        match self.source {
            Source::Scratch => format!("scratch-s{}", self.seed),
            s => format!(
                "{}-k{}-{mode}-s{}",
                s.name(),
                self.pretrained_layers,
                self.seed
            ),
        }
    }

    /// Content-addressed id: the label plus a hash of everything that determines the
    /// cell's results (the cell, data, model, training, pre-training, methods, metrics).
    pub fn id(&self, cfg: &ExperimentConfig) -> String {
        let mut key = data_key(cfg);
        key["cell"] = serde_json::json!(self);
        key["model"] = serde_json::json!(cfg.model);
        key["train"] = serde_json::json!(cfg.train);
        key["pretrain"] = if self.source == Source::Scratch {
            serde_json::Value::Null
        } else {
            serde_json::to_value(&cfg.pretrain).unwrap_or_default()
        };
        format!("{}-{}", self.label(), short_hash(&key))
    }
}

/// What determines the maps and scores of the model-free controls (dataset, methods,
/// metrics, seed, version): the folder of those shared by every cell is named by its hash.
pub fn controls_id(cfg: &ExperimentConfig) -> String {
    short_hash(&data_key(cfg))
}

/// The settings that every cell of a run shares: seed, data, explanation, scoring, version.
fn data_key(cfg: &ExperimentConfig) -> serde_json::Value {
    serde_json::json!({
        "seed": cfg.seed,
        "data": {
            "synth": content_hash(&cfg.data.synth_config),
            "pretrain_synth": content_hash(&cfg.data.pretrain_synth_config),
            "pretrain_task": cfg.data.pretrain_task,
            "mri": cfg.data.mri,
        },
        "explain": cfg.explain,
        "score": cfg.score,
        "version": mrixai_core::VERSION,
    })
}

/// The first 10 hex digits of the SHA-256 of `key`'s JSON text.
fn short_hash(key: &serde_json::Value) -> String {
    seed::sha256_hex(key.to_string().as_bytes())[..10].to_string()
}

/// SHA-256 of a file's content (its path when it cannot be read), so that a cell's id
/// does not depend on where the config files live.
fn content_hash(path: &std::path::Path) -> String {
    std::fs::read(path)
        .map(|b| seed::sha256_hex(&b))
        .unwrap_or_else(|_| path.display().to_string())
}

/// All cells of the grid, in a fixed order: scratch first, then each source × k × frozen, per seed.
pub fn cells(cfg: &ExperimentConfig) -> Result<Vec<Cell>> {
    let mut out = Vec::new();
    for &seed in &cfg.grid.seeds {
        for s in &cfg.grid.sources {
            let source: Source = s.parse()?;
            if source == Source::Scratch {
                out.push(Cell {
                    source,
                    pretrained_layers: 0,
                    frozen: false,
                    seed,
                });
                continue;
            }
            for &frozen in &cfg.grid.frozen {
                for &k in cfg.grid.layers(frozen) {
                    out.push(Cell {
                        source,
                        pretrained_layers: k,
                        frozen,
                        seed,
                    });
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_ids_are_stable_and_distinct() {
        let cfg = ExperimentConfig::profile("quick").unwrap();
        let cells = cells(&cfg).unwrap();
        let n_pre = cfg.grid.sources.iter().filter(|s| *s != "scratch").count();
        let n_scratch = cfg.grid.sources.len() - n_pre;
        let per_source: usize = cfg
            .grid
            .frozen
            .iter()
            .map(|&f| cfg.grid.layers(f).len())
            .sum();
        assert_eq!(
            cells.len(),
            cfg.grid.seeds.len() * (n_scratch + n_pre * per_source)
        );
        let frozen: Vec<usize> = cells
            .iter()
            .filter(|c| c.frozen)
            .map(|c| c.pretrained_layers)
            .collect();
        assert!(frozen.iter().all(|k| cfg.grid.layers(true).contains(k)));
        let ids: std::collections::BTreeSet<_> = cells.iter().map(|c| c.id(&cfg)).collect();
        assert_eq!(ids.len(), cells.len());
        assert_eq!(cells[0].id(&cfg), cells[0].id(&cfg));
        let mut other = cfg.clone();
        other.train.epochs += 1;
        assert_ne!(cells[0].id(&cfg), cells[0].id(&other));
    }
}
