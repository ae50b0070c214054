//! Running an experiment: preparation (datasets, pre-training), the cells, aggregation.
//! Every step is skipped when its `done` marker exists.

use super::manifest::Manifest;
use super::{Cell, ExperimentConfig, grid, stages};
use indicatif::{ProgressBar, ProgressStyle};
use mrixai_core::{Error, Result, atomic};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    /// Cells that [`Run::reproduce`] runs at once, each on `cores / jobs` threads (0: one
    /// per core). Results do not depend on it: a cell's numbers are the same on any number
    /// of threads.
    pub jobs: usize,
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
            jobs: 0,
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
    /// Folder of the model-free controls' maps and scores that every cell shares (named by
    /// the settings they depend on, so a changed config never reuses stale ones).
    pub fn controls_dir(&self) -> PathBuf {
        self.dir
            .join("controls")
            .join(super::grid::controls_id(&self.cfg))
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

    /// Runs `cells` on [`Run::jobs`] workers, each with a rayon pool of its share of the
    /// cores; the first failure stops the workers from starting further cells. The costliest
    /// cells start first (fully trained ones, then frozen ones by ascending k: a frozen
    /// layer needs no weight gradient), so that the last cells, run while other workers may
    /// already idle, are the shortest.
    fn run_cells(&self, cells: &[Cell], bar: &ProgressBar) -> Result<()> {
        let mut cells: Vec<&Cell> = cells.iter().collect();
        cells.sort_by_key(|c| (c.frozen, c.frozen.then_some(c.pretrained_layers)));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let jobs = match self.jobs {
            0 => cores,
            j => j,
        }
        .clamp(1, cells.len().max(1));
        let threads = (cores / jobs).max(1);
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let worker = || -> Result<()> {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| Error::invalid(format!("cannot start a cell worker: {e}")))?;
            while !failed.load(Ordering::Relaxed) {
                let Some(&cell) = cells.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                bar.set_message(cell.label());
                if let Err(e) = pool.install(|| self.run_cell(cell)) {
                    failed.store(true, Ordering::Relaxed);
                    return Err(e);
                }
                bar.inc(1);
            }
            Ok(())
        };
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..jobs).map(|_| s.spawn(worker)).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::invalid("a cell worker panicked")))
                })
                .collect::<Result<Vec<()>>>()
        })?;
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
        self.timed(&mut m, "cells", || self.run_cells(&cells, &bar))?;
        bar.finish_with_message("all cells done");
        self.aggregate()
    }
}
