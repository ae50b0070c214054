//! The grid of model cells and their content-addressed identifiers.

use crate::ExperimentConfig;
use mrixai_core::seed;
pub use mrixai_core::{ModelKey as Cell, Source};

impl ExperimentConfig {
    /// Content-addressed id of `cell`: its label plus a hash of everything that determines
    /// its results (the cell, data, model, training, pre-training, methods, metrics).
    pub fn cell_id(&self, cell: &Cell) -> String {
        let mut key = data_key(self);
        key["cell"] = serde_json::json!(cell);
        key["model"] = serde_json::json!(self.model);
        key["train"] = serde_json::json!(self.train);
        key["pretrain"] = if cell.source.is_pretrained() {
            serde_json::to_value(&self.pretrain).unwrap_or_default()
        } else {
            serde_json::Value::Null
        };
        format!("{}-{}", cell.label(), short_hash(&key))
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
pub fn cells(cfg: &ExperimentConfig) -> Vec<Cell> {
    let mut out = Vec::new();
    for &seed in &cfg.grid.seeds {
        for &source in &cfg.grid.sources {
            let cell = |pretrained_layers, frozen| Cell {
                source,
                pretrained_layers,
                frozen,
                seed,
            };
            if !source.is_pretrained() {
                out.push(cell(0, false));
                continue;
            }
            for &frozen in &cfg.grid.frozen {
                for &k in cfg.grid.layers(frozen) {
                    out.push(cell(k, frozen));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_ids_are_stable_and_distinct() {
        let cfg = ExperimentConfig::profile("quick").unwrap();
        let cells = cells(&cfg);
        let n_pre = cfg
            .grid
            .sources
            .iter()
            .filter(|s| s.is_pretrained())
            .count();
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
        let ids: std::collections::BTreeSet<_> = cells.iter().map(|c| cfg.cell_id(c)).collect();
        assert_eq!(ids.len(), cells.len());
        assert_eq!(cfg.cell_id(&cells[0]), cfg.cell_id(&cells[0]));
        let mut other = cfg.clone();
        other.train.epochs += 1;
        assert_ne!(cfg.cell_id(&cells[0]), other.cell_id(&cells[0]));
    }
}
