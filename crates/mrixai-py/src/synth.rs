//! `synth`: a benchmark dataset in memory, the same arrays `mrixai synth` writes for the same
//! config and seed.

use crate::OrPy;
use mrixai_synth::{SynthConfig, Task, default_mri_dir, generate, load_sources, prepare_bases};
use numpy::{PyArrayDyn, ToPyArray};
use pyo3::prelude::*;
use std::path::{Path, PathBuf};

/// One split: name, images, masks, weights, labels, and the `meta.csv` text.
type SplitTuple<'py> = (
    &'static str,
    Bound<'py, PyArrayDyn<f32>>,
    Bound<'py, PyArrayDyn<u8>>,
    Bound<'py, PyArrayDyn<f32>>,
    Bound<'py, PyArrayDyn<i64>>,
    String,
);

/// The configuration named `config`: `quick`, `paper`, or a TOML file.
fn config(config: &str) -> PyResult<SynthConfig> {
    match config {
        "quick" => Ok(SynthConfig::quick()),
        "paper" => Ok(SynthConfig::paper()),
        path => SynthConfig::from_toml_file(Path::new(path)).or_py(),
    }
}

/// Synthesises every split with `seed` from the T1 volumes in `mri` (default: the
/// checkout's fixtures/mri); `task` overrides the config's task.
#[pyfunction]
#[pyo3(signature = (config="quick", seed=0, task=None, mri=None))]
pub fn synth<'py>(
    py: Python<'py>,
    config: &str,
    seed: u64,
    task: Option<&str>,
    mri: Option<PathBuf>,
) -> PyResult<Vec<SplitTuple<'py>>> {
    let mut cfg = self::config(config)?;
    if let Some(t) = task {
        cfg.task = t.parse::<Task>().or_py()?;
    }
    cfg.validate().or_py()?;
    let dir = mri.unwrap_or_else(default_mri_dir);
    let splits = py
        .detach(|| {
            let sources = load_sources(&dir)?;
            let bases = prepare_bases(&cfg, &sources);
            generate(&cfg, seed, &bases, &|| {})
        })
        .or_py()?;
    Ok(splits
        .iter()
        .map(|g| {
            let a = &g.arrays;
            (
                g.split.name(),
                a.images.to_pyarray(py),
                a.masks.to_pyarray(py),
                a.weights.to_pyarray(py),
                a.labels.to_pyarray(py),
                mrixai_synth::write::meta_csv(&g.meta),
            )
        })
        .collect())
}
