//! `mrixai pretrain`: pre-train a VGG in-domain (a dataset folder) or out-of-domain
//! (`ood`: the procedural shapes task; `imagenet`: import a torchvision checkpoint).

use super::train::TrainOptions;
use mrixai_zoo::OodTask;
use std::path::PathBuf;

/// Arguments of `mrixai pretrain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `ood` (procedural natural-image stand-in), `imagenet` (with --weights), or a dataset folder.
    #[arg(long)]
    pub task: String,
    /// Architecture: a preset (vgg-small, vgg-small-3d, vgg16, vgg16-bn) or an arch.json file.
    #[arg(long, default_value = "vgg-small")]
    pub arch: String,
    /// Output checkpoint folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing checkpoint folder that holds only checkpoint files (a folder with
    /// anything else in it is never replaced).
    #[arg(long)]
    pub force: bool,
    /// Training seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seed of the generated images (`ood`; defaults to --seed).
    #[arg(long)]
    pub data_seed: Option<u64>,
    /// torchvision ImageNet weights converted to safetensors (`--task imagenet`).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Training images per class (`ood`).
    #[arg(long, default_value_t = 1000)]
    pub train_per_class: usize,
    /// Image side (`ood`, `imagenet`).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Spatial axes of the `ood` task: 2 (images) or 3 (volumes `size`³, for a 3-D model).
    #[arg(long, default_value_t = 2)]
    pub dims: usize,
    /// Optimisation options.
    #[command(flatten)]
    pub training: TrainOptions,
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = args.training.config();
    let bar = mrixai_cli::Bar::new(!args.training.quiet);
    let out = mrixai_zoo::OutDir {
        path: args.out.clone(),
        replace: args.force,
    };
    let info = match args.task.as_str() {
        "ood" => {
            let task = OodTask {
                train_per_class: args.train_per_class,
                size: args.size,
                dims: args.dims,
                ..OodTask::default()
            };
            mrixai_zoo::pretrain_ood(
                &task,
                &args.arch,
                &cfg,
                args.seed,
                args.data_seed.unwrap_or(args.seed),
                &out,
                &bar,
            )?
        }
        "imagenet" => {
            if args.dims != 2 {
                anyhow::bail!("--task imagenet: ImageNet weights are 2-D (--dims 2)");
            }
            let Some(w) = &args.weights else {
                anyhow::bail!(
                    "--task imagenet needs --weights FILE (a torchvision VGG-16 state dict in safetensors; see docs/MODELS.md)"
                );
            };
            mrixai_zoo::import_imagenet(w, &args.arch, [args.size, args.size], &out)?
        }
        dir => mrixai_zoo::train_on_dataset(
            std::path::Path::new(dir),
            &args.arch,
            &cfg,
            None,
            args.seed,
            &out,
            &bar,
        )?,
    };
    println!(
        "{}: task {}, {} epoch(s), val accuracy {}, test accuracy {}",
        args.out.display(),
        info.task,
        info.epochs,
        info.val_accuracy.map_or("-".into(), |v| format!("{v:.4}")),
        info.test_accuracy.map_or("-".into(), |v| format!("{v:.4}"))
    );
    Ok(())
}
