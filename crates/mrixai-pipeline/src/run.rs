//! Running an experiment: preparation (datasets, pre-training), the cells, aggregation.
//! Every step is skipped when its `done` marker exists.

use crate::manifest::Manifest;
use crate::{Cell, Run, stages};
use mrixai_core::layout::mark_done;
use mrixai_core::{Error, Result};
use std::time::Instant;

impl Run {
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
        let mut m = Manifest::load_or_new(&self.dir, &self.cfg, self.cells().len())?;
        m.save(&self.dir)?;
        self.timed(&mut m, "synth", || stages::dataset(self))?;
        self.timed(&mut m, "pretrain", || stages::pretrain(self))?;
        Ok(())
    }

    /// Runs one cell (train, explain, score) unless it is done.
    pub fn run_cell(&self, cell: &Cell) -> Result<()> {
        let at = self.cell_layout(cell);
        if at.is_done() {
            return Ok(());
        }
        stages::cell(self, cell, &at)?;
        mark_done(at.dir())
    }

    /// Collects all finished cells into the long-format table, statistics and report.
    pub fn aggregate(&self) -> Result<()> {
        let cells = self.cells();
        let missing: Vec<String> = cells
            .iter()
            .filter(|c| !self.cell_layout(c).is_done())
            .map(|c| self.cfg.cell_id(c))
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
        let (records, tables) =
            self.timed(&mut m, "aggregate", || stages::aggregate(self, &cells))?;
        self.timed(&mut m, "report", || stages::report(self, &records, &tables))?;
        Ok(())
    }

    /// Runs `cells` on [`Run::jobs`] workers, each with a rayon pool of its share of the
    /// cores; the first failure stops the workers from starting further cells. The costliest
    /// cells start first (fully trained ones, then frozen ones by ascending k: a frozen
    /// layer needs no weight gradient), so that the last cells, run while other workers may
    /// already idle, are the shortest.
    fn run_cells(&self, cells: &[Cell]) -> Result<()> {
        let bar = self.progress.as_ref();
        let mut cells: Vec<&Cell> = cells.iter().collect();
        cells.sort_by_key(|c| (c.frozen, c.frozen.then_some(c.pretrained_layers)));
        crate::workers::on_workers(&cells, self.jobs, "cell worker", |cell| {
            bar.advance(0, &cell.label());
            self.run_cell(cell)?;
            bar.advance(1, &cell.label());
            Ok(())
        })
    }

    /// The whole experiment in this process: prepare, every cell, aggregate.
    pub fn reproduce(&self) -> Result<()> {
        self.prepare()?;
        let cells = self.cells();
        let mut m = Manifest::load_or_new(&self.dir, &self.cfg, cells.len())?;
        self.progress.start("cells", cells.len() as u64);
        self.timed(&mut m, "cells", || self.run_cells(&cells))?;
        self.progress.finish();
        self.progress.note("cells: all done");
        self.aggregate()
    }
}
