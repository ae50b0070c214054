//! `mrixai train`: train (or fine-tune) a VGG on a dataset folder.

use mrixai_zoo::{InitSpec, Optimizer, TrainConfig};
use std::path::PathBuf;

/// Arguments of `mrixai train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset folder (train/val[/test] splits in the mrixai format).
    #[arg(long)]
    pub dataset: PathBuf,
    /// Architecture: a preset (vgg-small, vgg-small-3d, vgg16, vgg16-bn) or an arch.json file.
    #[arg(long, default_value = "vgg-small")]
    pub arch: String,
    /// Pre-trained checkpoint folder to initialise the first layers from.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Number of leading weight layers (conv and linear) taken from --init.
    #[arg(long, requires = "init")]
    pub pretrained_layers: Option<usize>,
    /// Keep the pre-trained layers frozen.
    #[arg(long, requires = "init")]
    pub frozen: bool,
    /// Training seed (init, batch order, dropout).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output checkpoint folder (model.safetensors, arch.json, model.json, metrics.json).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing checkpoint folder that holds only those files (a folder with
    /// anything else in it is never replaced).
    #[arg(long)]
    pub force: bool,
    /// Optimisation options.
    #[command(flatten)]
    pub training: TrainOptions,
}

/// Optimisation options shared by `mrixai train` and `mrixai pretrain`.
#[derive(Debug, clap::Args)]
pub struct TrainOptions {
    /// Maximum number of epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Batch size.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Optimiser: adam or sgd.
    #[arg(long, value_parser = optimizer)]
    pub optimizer: Option<Optimizer>,
    /// Early-stopping patience in epochs.
    #[arg(long)]
    pub patience: Option<usize>,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Where the model is trained.
    #[command(flatten)]
    pub device: super::DeviceArg,
}

impl TrainOptions {
    /// The training configuration: the defaults, overridden by the options given.
    pub fn config(&self) -> TrainConfig {
        let mut cfg = TrainConfig {
            device: self.device.device,
            ..TrainConfig::default()
        };
        if let Some(e) = self.epochs {
            cfg.epochs = e;
        }
        if let Some(b) = self.batch_size {
            cfg.batch_size = b;
        }
        if let Some(l) = self.lr {
            cfg.lr = l;
        }
        if let Some(o) = self.optimizer {
            cfg.optimizer = o;
            if o == Optimizer::Sgd && self.lr.is_none() {
                cfg.lr = 0.01;
            }
        }
        if let Some(p) = self.patience {
            cfg.patience = p;
        }
        cfg
    }
}

/// Reads `--optimizer` (its names in configs: `adam`, `sgd`).
fn optimizer(name: &str) -> Result<Optimizer, String> {
    let quoted = serde_json::Value::String(name.to_string());
    serde_json::from_value(quoted).map_err(|_| format!("`{name}`: expected adam or sgd"))
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = args.training.config();
    let init = args.init.map(|checkpoint| InitSpec {
        source: mrixai_zoo::run::source_of(&checkpoint),
        checkpoint,
        pretrained_layers: args.pretrained_layers.unwrap_or(0),
        frozen: args.frozen,
    });
    let info = mrixai_zoo::train_on_dataset(
        &args.dataset,
        &args.arch,
        &cfg,
        init.as_ref(),
        args.seed,
        &mrixai_zoo::OutDir {
            path: args.out.clone(),
            replace: args.force,
        },
        &mrixai_cli::Bar::new(!args.training.quiet),
    )?;
    println!(
        "{}: {} epoch(s), weights of epoch {} kept (best_epoch = {} in model.json, 0-based), val accuracy {:.4}{}",
        args.out.display(),
        info.epochs,
        info.best_epoch + 1,
        info.best_epoch,
        info.val_accuracy.unwrap_or(f64::NAN),
        info.test_accuracy
            .map(|t| format!(", test accuracy {t:.4}"))
            .unwrap_or_default()
    );
    Ok(())
}
