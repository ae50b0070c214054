//! # mrixai-synth
//!
//! The benchmark data of mrixai: labelled brain-MRI images with synthetic lesions and their
//! exact ground-truth footprints, synthesised from real T1 volumes.
//!
//! Pipeline: NIfTI T1 volumes (with optional GM/WM probability maps) → brain crop and one
//! resampling to the working grid ([`subject::Base`]) → seeded virtual subjects (elastic
//! deformation, rotation/scale, bias field, gamma; [`subject::Subject`]) → axial slices or
//! volumes with lesions whose area, contrast and edge softness share one distribution across
//! classes ([`lesion`]) → the shared dataset format of `mrixai_core::dataset`, written
//! atomically.
//!
//! Nothing is embedded: the base volumes are read at run time, by default from
//! [`default_mri_dir`].
//!
//! ```no_run
//! use mrixai_synth::{SynthConfig, SynthOptions, synthesize};
//! let summary = synthesize(&SynthConfig::quick(), 7, None, "dataset".as_ref(), &SynthOptions::default())?;
//! println!("{} training images", summary.counts[0]);
//! # Ok::<(), mrixai_core::Error>(())
//! ```

// unsafe code is denied by the workspace lints; not forbidden here because ndarray's `s!`
// macro expands to an `allow(unsafe_code)`, which a `forbid` rejects.

pub mod config;
pub mod generate;
pub mod lesion;
pub mod subject;
pub mod volume;
pub mod write;

pub use config::{
    AnatomyConfig, LesionConfig, Polarity, SliceConfig, SplitFractions, SubjectConfig, SynthConfig,
    Task,
};
pub use generate::{GeneratedSplit, LesionMeta, SampleMeta, generate};
pub use volume::{Source, load_nifti, load_sources};

use mrixai_core::progress::{Progress, Silent};
use mrixai_core::{Result, atomic::OutDir};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The folder of the committed base volumes: `<workspace>/fixtures/mri`.
pub fn default_mri_dir() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .ancestors()
        .nth(2)
        .unwrap_or(crate_dir)
        .join("fixtures")
        .join("mri")
}

/// Options of [`synthesize`] that do not change the data.
#[derive(Clone, Copy)]
pub struct SynthOptions<'a> {
    /// Replace an existing output folder.
    pub force: bool,
    /// Write `preview.png` with this many test images (0 = none).
    pub preview: usize,
    /// Also write `images.nii.gz` and `masks.nii.gz` per split.
    pub nifti: bool,
    /// Receives one step per image generated (default: [`Silent`]).
    pub progress: &'a dyn Progress,
}

impl Default for SynthOptions<'_> {
    fn default() -> Self {
        Self {
            force: false,
            preview: 0,
            nifti: false,
            progress: &Silent,
        }
    }
}

impl std::fmt::Debug for SynthOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SynthOptions")
            .field("force", &self.force)
            .field("preview", &self.preview)
            .field("nifti", &self.nifti)
            .finish_non_exhaustive()
    }
}

/// What [`synthesize`] produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DatasetSummary {
    /// The dataset folder.
    pub path: PathBuf,
    /// The task.
    pub task: Task,
    /// Number of classes.
    pub num_classes: usize,
    /// Class names.
    pub class_names: Vec<String>,
    /// Shape of one sample (`[1, H, W]` or `[1, D, H, W]`).
    pub sample_shape: Vec<usize>,
    /// Samples per split (train, val, test).
    pub counts: [usize; 3],
    /// Subjects per split (train, val, test).
    pub subjects: [usize; 3],
    /// Names of the base volumes used.
    pub sources: Vec<String>,
    /// Wall-clock seconds.
    pub elapsed_s: f64,
    /// Warnings about the inputs (e.g. a volume without orientation), for the caller to show.
    pub warnings: Vec<String>,
}

/// Prepares every source on the working grid of `cfg` (in parallel).
pub fn prepare_bases(cfg: &SynthConfig, sources: &[Source]) -> Vec<subject::Base> {
    sources
        .par_iter()
        .map(|s| subject::Base::prepare(s, &cfg.size))
        .collect()
}

/// What a dataset folder holds (patterns, see [`OutDir::check`]). An existing folder is
/// replaced (with [`SynthOptions::force`]) only when it holds nothing else.
pub const DATASET_FILES: &[&str] = &[
    "train",
    "val",
    "test",
    "*/images.npy",
    "*/masks.npy",
    "*/labels.npy",
    "*/weights.npy",
    "*/meta.csv",
    "*/images.nii.gz",
    "*/masks.nii.gz",
    "dataset.json",
    "preview.png",
];

/// Synthesises a dataset from already loaded sources into `out` (see [`synthesize`]).
pub fn synthesize_from(
    cfg: &SynthConfig,
    seed: u64,
    sources: &[Source],
    out: &Path,
    opts: &SynthOptions,
) -> Result<DatasetSummary> {
    let start = Instant::now();
    cfg.validate()?;
    let target = OutDir {
        path: out.to_path_buf(),
        replace: opts.force,
    };
    let dir = target.begin(DATASET_FILES)?;
    let bases = prepare_bases(cfg, sources);
    let total = cfg.subjects * cfg.samples_per_subject;
    opts.progress.start("synth", total as u64);
    let splits = generate(cfg, seed, &bases, &|| opts.progress.advance(1, ""))?;
    opts.progress.finish();
    write::write_dataset(
        dir.path(),
        cfg,
        seed,
        sources,
        &splits,
        opts.preview,
        opts.nifti,
    )?;
    let path = dir.commit()?;
    let count = |i: usize| splits.get(i).map_or(0, |g| g.meta.len());
    let subj = |i: usize| splits.get(i).map_or(0, |g| g.subjects.len());
    Ok(DatasetSummary {
        path,
        task: cfg.task,
        num_classes: cfg.num_classes(),
        class_names: cfg.class_names(),
        sample_shape: splits
            .first()
            .map(|g| g.arrays.images.shape()[1..].to_vec())
            .unwrap_or_default(),
        counts: [count(0), count(1), count(2)],
        subjects: [subj(0), subj(1), subj(2)],
        sources: sources.iter().map(|s| s.name.clone()).collect(),
        elapsed_s: start.elapsed().as_secs_f64(),
        warnings: sources.iter().flat_map(|s| s.warnings.clone()).collect(),
    })
}

/// Synthesises the dataset described by `cfg` with `seed` from the T1 volumes in `mri_dir`
/// (default: [`default_mri_dir`]) into the folder `out`.
///
/// The config is validated and every source loaded before anything is written; the folder is
/// built under a temporary name and renamed into place only when complete, so a failure
/// leaves no partial dataset. The same config and seed give byte-identical files.
pub fn synthesize(
    cfg: &SynthConfig,
    seed: u64,
    mri_dir: Option<&Path>,
    out: &Path,
    opts: &SynthOptions,
) -> Result<DatasetSummary> {
    cfg.validate()?;
    let dir = mri_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(default_mri_dir);
    let sources = load_sources(&dir)?;
    synthesize_from(cfg, seed, &sources, out, opts)
}

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
