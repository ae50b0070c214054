//! The work of each stage, calling the mrixai crates.

use super::{Cell, Run};
use mrixai_core::{Error, Result};
use std::path::Path;

/// Synthesises the benchmark dataset (and the in-domain pre-training dataset).
pub fn dataset(_run: &Run) -> Result<()> {
    Err(Error::invalid("stage `synth` is not wired yet"))
}

/// Pre-trains the checkpoints of the `ood` and `mri` sources.
pub fn pretrain(_run: &Run) -> Result<()> {
    Err(Error::invalid("stage `pretrain` is not wired yet"))
}

/// Trains, explains and scores one cell into `dir`.
pub fn cell(_run: &Run, _cell: &Cell, _dir: &Path) -> Result<()> {
    Err(Error::invalid("stage `cell` is not wired yet"))
}

/// Builds the long-format table and statistics from all cells.
pub fn aggregate(_run: &Run, _cells: &[Cell]) -> Result<()> {
    Err(Error::invalid("stage `aggregate` is not wired yet"))
}

/// Writes the HTML report.
pub fn report(_run: &Run) -> Result<()> {
    Err(Error::invalid("stage `report` is not wired yet"))
}
