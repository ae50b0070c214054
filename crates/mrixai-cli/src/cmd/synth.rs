//! `mrixai synth`: synthesise a lesion benchmark (or an in-domain pre-training task) dataset
//! from T1 MRI volumes.

use mrixai_synth::{SynthConfig, SynthOptions, Task, synthesize};
use std::path::PathBuf;

/// Arguments of `mrixai synth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Synthesis config (TOML), e.g. configs/synth-paper.toml; default: the built-in quick
    /// profile (the same as configs/synth-quick.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output dataset folder (created atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of every random choice; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Folder of T1 volumes (.nii / .nii.gz, optional *_gm / *_wm maps); default: the
    /// committed fixtures/mri.
    #[arg(long)]
    pub mri: Option<PathBuf>,
    /// Task, overriding the config's: lesion, anatomy or presence.
    #[arg(long)]
    pub task: Option<String>,
    /// Write preview.png with this many test images and their lesion contours.
    #[arg(long, default_value_t = 0)]
    pub preview: usize,
    /// Also write images.nii.gz and masks.nii.gz per split.
    #[arg(long)]
    pub nifti: bool,
    /// Replace an existing output folder that holds only a dataset mrixai wrote (a folder
    /// with anything else in it is never replaced).
    #[arg(long)]
    pub force: bool,
    /// Hide the progress bar (results still go to stdout, notes and errors to stderr).
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut cfg = match &args.config {
        Some(p) => SynthConfig::from_toml_file(p)?,
        None => SynthConfig::quick(),
    };
    if let Some(t) = &args.task {
        cfg.task = t.parse::<Task>()?;
        cfg.validate()?;
    }
    let bar = mrixai_cli::Bar::new(!args.quiet);
    let opts = SynthOptions {
        force: args.force,
        preview: args.preview,
        nifti: args.nifti,
        progress: &bar,
    };
    let s = synthesize(&cfg, args.seed, args.mri.as_deref(), &args.out, &opts)?;
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "wrote {}: task {} ({} classes), sample shape {:?}, train/val/test = {}/{}/{} images from {}/{}/{} subjects \
         of {} base volume(s) in {:.1} s",
        s.path.display(),
        s.task.name(),
        s.num_classes,
        s.sample_shape,
        s.counts[0],
        s.counts[1],
        s.counts[2],
        s.subjects[0],
        s.subjects[1],
        s.subjects[2],
        s.sources.len(),
        s.elapsed_s
    );
    Ok(())
}
