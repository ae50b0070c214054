//! Running an experiment: preparation (datasets, pre-training), the cells, aggregation.
//! Every step is skipped when its `done` marker exists.

use super::manifest::Manifest;
use super::{Cell, ExperimentConfig, grid, stages};
use indicatif::{ProgressBar, ProgressStyle};
use mrixai_core::{Error, Result, atomic};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A run folder with its configuration.
#[derive(Debug, Clone)]
pub struct Run {
    /// The run folder.
    pub dir: PathBuf,
    /// The experiment configuration.
    pub cfg: ExperimentConfig,
    /// Show progress bars.
    pub progress: bool,
}

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

impl Run {
    /// Opens (or starts) the run folder `dir` for `cfg`.
    pub fn new(dir: &Path, cfg: ExperimentConfig) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            cfg,
            progress: true,
        })
    }

    /// The benchmark dataset folder.
    pub fn dataset_dir(&self) -> PathBuf {
        self.dir.join("dataset")
    }
    /// Folder of the pre-training products of `source` (`ood` or `mri`).
    pub fn pretrain_dir(&self, source: &str) -> PathBuf {
        self.dir.join("pretrain").join(source)
    }
    /// Folder of one cell.
    pub fn cell_dir(&self, cell: &Cell) -> PathBuf {
        self.dir.join("cells").join(cell.id(&self.cfg))
    }
    /// All cells of the grid.
    pub fn cells(&self) -> Result<Vec<Cell>> {
        grid::cells(&self.cfg)
    }

    fn timed<T>(
        &self,
        manifest: &mut Manifest,
        stage: &str,
        f: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let t = Instant::now();
        let out = f()?;
        manifest.record(&self.dir, stage, t.elapsed().as_secs_f64())?;
        Ok(out)
    }

    /// Datasets and pre-trained checkpoints (what every cell needs).
    pub fn prepare(&self) -> Result<()> {
        let mut m = Manifest::load_or_new(&self.dir, &self.cfg, self.cells()?.len())?;
        m.save(&self.dir)?;
        self.timed(&mut m, "synth", || stages::dataset(self))?;
        self.timed(&mut m, "pretrain", || stages::pretrain(self))?;
        Ok(())
    }

    /// Runs one cell (train, explain, score) unless it is done.
    pub fn run_cell(&self, cell: &Cell) -> Result<()> {
        let dir = self.cell_dir(cell);
        if is_done(&dir) {
            return Ok(());
        }
        stages::cell(self, cell, &dir)?;
        mark_done(&dir)
    }

    /// Collects all finished cells into the long-format table, statistics and report.
    pub fn aggregate(&self) -> Result<()> {
        let cells = self.cells()?;
        let missing: Vec<String> = cells
            .iter()
            .filter(|c| !is_done(&self.cell_dir(c)))
            .map(|c| c.id(&self.cfg))
            .collect();
        if !missing.is_empty() {
            return Err(Error::invalid(format!(
                "{} of {} cells are not finished (e.g. {}): run them first",
                missing.len(),
                cells.len(),
                missing[0]
            )));
        }
        let mut m = Manifest::load_or_new(&self.dir, &self.cfg, cells.len())?;
        self.timed(&mut m, "aggregate", || stages::aggregate(self, &cells))?;
        self.timed(&mut m, "report", || stages::report(self))?;
        Ok(())
    }

    /// The whole experiment in this process: prepare, every cell, aggregate.
    pub fn reproduce(&self) -> Result<()> {
        self.prepare()?;
        let cells = self.cells()?;
        let mut m = Manifest::load_or_new(&self.dir, &self.cfg, cells.len())?;
        let bar = if self.progress {
            ProgressBar::new(cells.len() as u64)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "cells {bar:30} {pos}/{len} [{elapsed_precise} < {eta_precise}] {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        for cell in &cells {
            bar.set_message(cell.label());
            self.timed(&mut m, "cells", || self.run_cell(cell))?;
            bar.inc(1);
        }
        bar.finish_with_message("all cells done");
        self.aggregate()
    }
}
