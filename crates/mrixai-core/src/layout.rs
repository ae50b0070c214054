//! The layout of an experiment's run folder, in one place: the pipeline writes through it,
//! `run-cell` and `aggregate` find their work through it, and the report reads through it.
//!
//! ```text
//! run/run.json                       manifest: config, profile, seeds, versions, git commit, timings, machine
//! run/dataset/                       the lesion benchmark (mrixai-synth format)
//! run/pretrain/<source>/             a pre-training source: its dataset (in-domain), checkpoint/, done
//! run/controls/<key>/                maps and scores of the model-free controls, shared by all cells
//! run/cells/<cell-id>/               one model: model/, predictions.csv, attributions/, scores.csv, cell.json, done
//! run/scores.parquet, scores.csv     all cells, long format
//! run/stats/                         statistics tables
//! run/report/index.html              the report
//! ```
//!
//! A step counts as finished only when its folder holds the [`DONE`] marker, written last.

use crate::atomic;
use crate::{Result, Source};
use std::path::{Path, PathBuf};

/// Name of the marker file that says a step finished.
pub const DONE: &str = "done";

/// Whether `dir` holds a finished step.
pub fn is_done(dir: &Path) -> bool {
    dir.join(DONE).is_file()
}

/// Marks `dir` as finished (atomically, after everything else in it was written).
pub fn mark_done(dir: &Path) -> Result<()> {
    atomic::write_bytes(&dir.join(DONE), b"")
}

/// The paths of one run folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLayout {
    root: PathBuf,
}

impl RunLayout {
    /// The layout of the run folder `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// The run folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The run manifest `run.json`.
    pub fn manifest(&self) -> PathBuf {
        self.root.join("run.json")
    }
    /// The benchmark dataset folder.
    pub fn dataset(&self) -> PathBuf {
        self.root.join("dataset")
    }
    /// The folder of pre-training source `source`.
    pub fn pretrain(&self, source: Source) -> PathBuf {
        self.root.join("pretrain").join(source.name())
    }
    /// The dataset an in-domain source is pre-trained on.
    pub fn pretrain_dataset(&self, source: Source) -> PathBuf {
        self.pretrain(source).join("dataset")
    }
    /// The checkpoint of pre-training source `source`.
    pub fn checkpoint(&self, source: Source) -> PathBuf {
        self.pretrain(source).join("checkpoint")
    }
    /// The pre-training sources with a folder in the run, in [`Source::ALL`] order.
    pub fn pretrained_sources(&self) -> Vec<Source> {
        Source::ALL
            .into_iter()
            .filter(|&s| s.is_pretrained() && self.pretrain(s).is_dir())
            .collect()
    }
    /// The folder of the model-free controls shared by every cell, for the settings `key`.
    pub fn controls(&self, key: &str) -> PathBuf {
        self.root.join("controls").join(key)
    }
    /// The folder of the cell `id`.
    pub fn cell(&self, id: &str) -> CellLayout {
        CellLayout {
            dir: self.root.join("cells").join(id),
        }
    }
    /// The long-format score table of all cells, Parquet.
    pub fn scores_parquet(&self) -> PathBuf {
        self.root.join("scores.parquet")
    }
    /// The long-format score table of all cells, CSV.
    pub fn scores_csv(&self) -> PathBuf {
        self.root.join("scores.csv")
    }
    /// The statistics tables.
    pub fn stats(&self) -> PathBuf {
        self.root.join("stats")
    }
    /// The report folder.
    pub fn report(&self) -> PathBuf {
        self.root.join("report")
    }
    /// The report's page.
    pub fn report_index(&self) -> PathBuf {
        self.report().join("index.html")
    }
}

/// The paths of one cell's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellLayout {
    dir: PathBuf,
}

impl CellLayout {
    /// The cell's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// The trained model (a checkpoint folder).
    pub fn model(&self) -> PathBuf {
        self.dir.join("model")
    }
    /// `sample,label,prediction,correct` of the explained samples.
    pub fn predictions(&self) -> PathBuf {
        self.dir.join("predictions.csv")
    }
    /// The maps of method `method`.
    pub fn attributions(&self, method: &str) -> PathBuf {
        self.dir.join("attributions").join(format!("{method}.npy"))
    }
    /// `method,sample,metric,value` of every method.
    pub fn scores(&self) -> PathBuf {
        self.dir.join("scores.csv")
    }
    /// What the cell records about itself (`cell.json`).
    pub fn record(&self) -> PathBuf {
        self.dir.join("cell.json")
    }
    /// Whether the cell finished.
    pub fn is_done(&self) -> bool {
        is_done(&self.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_a_run() {
        let run = RunLayout::new("/r");
        assert_eq!(
            run.checkpoint(Source::Ood),
            Path::new("/r/pretrain/ood/checkpoint")
        );
        assert_eq!(
            run.cell("c1").attributions("lrp"),
            Path::new("/r/cells/c1/attributions/lrp.npy")
        );
        assert_eq!(run.report_index(), Path::new("/r/report/index.html"));
        assert!(!run.cell("c1").is_done());
    }
}
