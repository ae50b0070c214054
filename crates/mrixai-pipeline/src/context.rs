//! A run folder with its configuration: what every stage works on. The stages
//! ([`crate::stages`]) read and write through it; the orchestration ([`crate::run`]) drives
//! them.

use crate::{Cell, ExperimentConfig, grid};
use mrixai_core::layout::{CellLayout, RunLayout};
use mrixai_core::progress::{Progress, Silent};
use mrixai_core::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A run folder with its configuration.
#[derive(Clone)]
pub struct Run {
    /// The run folder.
    pub dir: PathBuf,
    /// The experiment configuration.
    pub cfg: ExperimentConfig,
    /// Where the stages report their progress and notes (the datasets made, each
    /// checkpoint's accuracy, the report's notes): [`Silent`] unless a front end sets it.
    pub progress: Arc<dyn Progress + Send + Sync>,
    /// Cells that [`Run::reproduce`] runs at once, each on `cores / jobs` threads (0: one
    /// per core). Results do not depend on it: a cell's numbers are the same on any number
    /// of threads.
    pub jobs: usize,
}

impl Run {
    /// Opens (or starts) the run folder `dir` for `cfg` (checked first, whatever made it).
    pub fn new(dir: &Path, cfg: ExperimentConfig) -> Result<Self> {
        cfg.validate()?;
        // a GPU that is not there fails here, before any work
        cfg.device.device()?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            cfg,
            progress: Arc::new(Silent),
            jobs: 0,
        })
    }

    /// The paths of the run folder.
    pub fn layout(&self) -> RunLayout {
        RunLayout::new(&self.dir)
    }
    /// Folder of the model-free controls' maps and scores that every cell shares (named by
    /// the settings they depend on, so a changed config never reuses stale ones).
    pub fn controls_dir(&self) -> PathBuf {
        self.layout().controls(&grid::controls_id(&self.cfg))
    }
    /// The paths of one cell.
    pub fn cell_layout(&self, cell: &Cell) -> CellLayout {
        self.layout().cell(&self.cfg.cell_id(cell))
    }
    /// All cells of the grid.
    pub fn cells(&self) -> Vec<Cell> {
        grid::cells(&self.cfg)
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("dir", &self.dir)
            .field("cfg", &self.cfg)
            .field("jobs", &self.jobs)
            .finish_non_exhaustive()
    }
}
