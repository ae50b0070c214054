//! Experiment configuration (TOML), with the committed `quick` and `paper` profiles.

pub use crate::methods::{ExplainConfig, MethodJob};
use mrixai_core::{Error, Result, Source};
use mrixai_metrics::{MetricSet, Pooling};
use mrixai_synth::Task;
use mrixai_zoo::{Compute, Optimizer};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::path::{Path, PathBuf};

/// The full configuration of one experiment run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Profile name (`quick`, `paper`, or a user's own).
    pub profile: String,
    /// Master seed: dataset, pre-training and everything not seeded per cell derive from it.
    pub seed: u64,
    /// Where models are trained and explained: `cpu` (the default; bit-reproducible), `gpu`
    /// or `gpu:N` (a build with the cargo feature `gpu`; see docs/GPU.md).
    #[serde(default, skip_serializing_if = "Compute::is_cpu")]
    pub device: Compute,
    /// Benchmark data.
    pub data: DataConfig,
    /// The network.
    pub model: ModelConfig,
    /// Fine-tuning on the benchmark (every cell).
    pub train: TrainSettings,
    /// Pre-training runs.
    pub pretrain: PretrainConfig,
    /// The grid of cells.
    pub grid: GridConfig,
    /// Attribution methods.
    pub explain: ExplainConfig,
    /// Metrics.
    pub score: ScoreConfig,
    /// Statistics settings (optional section).
    #[serde(default)]
    pub stats: StatsConfig,
}

/// Statistics settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsConfig {
    /// Accuracy floor: models below it are at chance and left out of the analysis (noted).
    #[serde(default = "default_min_accuracy")]
    pub min_accuracy: f64,
}

impl Default for StatsConfig {
    fn default() -> Self {
        Self {
            min_accuracy: default_min_accuracy(),
        }
    }
}

fn default_min_accuracy() -> f64 {
    0.6
}

/// Where the benchmark data comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Synthesis config file (TOML), relative to the experiment config's folder.
    pub synth_config: PathBuf,
    /// Optional folder of the user's own T1 NIfTI volumes (default: the committed templates).
    #[serde(default)]
    pub mri: Option<PathBuf>,
    /// Synthesis config of the in-domain pre-training task, relative to the config's folder.
    pub pretrain_synth_config: PathBuf,
    /// In-domain pre-training task (`anatomy` or `presence`).
    pub pretrain_task: Task,
}

/// The network of every cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Architecture preset (`vgg-small`, `vgg16`, `vgg16-bn`).
    pub arch: String,
}

/// Optimisation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSettings {
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Learning rate.
    pub learning_rate: f64,
    /// `adam` or `sgd`.
    pub optimizer: Optimizer,
    /// Weight decay.
    #[serde(default)]
    pub weight_decay: f64,
    /// Early-stopping patience in epochs (validation loss).
    pub patience: usize,
}

/// Pre-training runs (one checkpoint per source, shared by all cells of that source).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PretrainConfig {
    /// Optimisation settings of pre-training.
    pub train: TrainSettings,
    /// Out-of-domain source: a path to ImageNet weights (safetensors, torchvision names),
    /// or `procedural` for the offline natural-image stand-in.
    pub ood: OodSource,
    /// Number of procedural images for the stand-in task (train split).
    #[serde(default = "default_ood_images")]
    pub ood_images: usize,
}

fn default_ood_images() -> usize {
    4000
}

/// The grid of cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridConfig {
    /// Pre-training sources: any of `scratch`, `ood`, `mri`.
    pub sources: Vec<Source>,
    /// Values of k, the number of leading weight layers taken from the checkpoint.
    pub pretrained_layers: Vec<usize>,
    /// Whether the k layers are frozen (`true`) or fine-tuned (`false`).
    pub frozen: Vec<bool>,
    /// Values of k for the frozen cells, where they differ from `pretrained_layers`: a
    /// deep frozen stack of features learnt on another task can leave too little trainable
    /// to learn the lesion task (chance-level models). Default: `pretrained_layers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen_layers: Option<Vec<usize>>,
    /// Training seeds (one cell per seed).
    pub seeds: Vec<u64>,
}

impl GridConfig {
    /// The values of k of the frozen (`true`) or fine-tuned (`false`) cells.
    pub fn layers(&self, frozen: bool) -> &[usize] {
        match (&self.frozen_layers, frozen) {
            (Some(k), true) => k,
            _ => &self.pretrained_layers,
        }
    }
}

/// Metric settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreConfig {
    /// The metrics.
    pub metrics: Metrics,
    /// Channel pooling of multi-channel maps.
    #[serde(default, with = "as_text")]
    pub pool: Pooling,
}

/// Where out-of-domain weights come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OodSource {
    /// The offline natural-image stand-in task (`procedural`).
    Procedural,
    /// ImageNet weights from a safetensors file (torchvision names), as written.
    Imagenet(PathBuf),
}

impl std::fmt::Display for OodSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OodSource::Procedural => f.write_str("procedural"),
            OodSource::Imagenet(p) => write!(f, "{}", p.display()),
        }
    }
}

impl std::str::FromStr for OodSource {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "procedural" => Ok(OodSource::Procedural),
            "" => Err(Error::invalid(
                "pretrain.ood: expected `procedural` or the path of an ImageNet weights file",
            )),
            path => Ok(OodSource::Imagenet(PathBuf::from(path))),
        }
    }
}

impl Serialize for OodSource {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        as_text::serialize(self, s)
    }
}

impl<'de> Deserialize<'de> for OodSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        as_text::deserialize(d)
    }
}

/// Serde as text, through `Display` and `FromStr` (whose error is the message).
mod as_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<T: std::fmt::Display, S: Serializer>(
        v: &T,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, T, D>(d: D) -> std::result::Result<T, D::Error>
    where
        T: std::str::FromStr<Err = mrixai_core::Error>,
        D: Deserializer<'de>,
    {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The configured metrics: the parsed set, and the names as the config spells them, which
/// are written back unchanged (a cell's id hashes them).
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    names: Vec<String>,
    set: MetricSet,
}

impl std::ops::Deref for Metrics {
    type Target = MetricSet;
    fn deref(&self) -> &MetricSet {
        &self.set
    }
}

impl Serialize for Metrics {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.names.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Metrics {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        if names.is_empty() {
            return Err(serde::de::Error::custom("score.metrics must not be empty"));
        }
        let set = MetricSet::parse(&names)
            .map_err(|e| serde::de::Error::custom(format!("score.metrics: {e}")))?;
        Ok(Self { names, set })
    }
}

/// Folder of the committed configurations (`<workspace>/configs`).
pub fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

/// Why ImageNet weights cannot start a volumetric model (the config check and the
/// pre-training stage say the same).
pub(crate) const IMAGENET_IS_2D: &str =
    "ImageNet weights are 2-D; volumes pre-train out of domain on `procedural`";

impl ExperimentConfig {
    /// Reads and validates a TOML file; relative data paths are resolved against its folder.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut cfg: ExperimentConfig = toml::from_str(&text).map_err(|e| {
            let why = mrixai_synth::config::toml_error(&text, &e);
            Error::format(path, format!("invalid experiment config: {why}"))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Path| -> PathBuf {
            let joined = if p.is_relative() {
                base.join(p)
            } else {
                p.to_path_buf()
            };
            std::path::absolute(&joined).unwrap_or(joined)
        };
        cfg.data.synth_config = resolve(&cfg.data.synth_config);
        cfg.data.pretrain_synth_config = resolve(&cfg.data.pretrain_synth_config);
        cfg.data.mri = cfg.data.mri.as_deref().map(resolve);
        cfg.validate()
            .map_err(|e| Error::format(path, e.to_string()))?;
        Ok(cfg)
    }

    /// The configuration as TOML (paths absolute, so it can be used from any folder).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self)
            .map_err(|e| Error::invalid(format!("cannot write the experiment config as TOML: {e}")))
    }

    /// A committed profile by name (`quick`, `paper`, `tiny`).
    pub fn profile(name: &str) -> Result<Self> {
        let path = configs_dir().join(format!("{name}.toml"));
        if !path.exists() {
            return Err(Error::config(
                "profile",
                format!("unknown profile `{name}` (no {})", path.display()),
            ));
        }
        Self::from_file(&path)
    }

    /// Rejects a k beyond the weight layers of a preset architecture that precede its
    /// classification head (always new), before any work starts.
    fn validate_layer_counts(&self) -> Result<()> {
        let name = self.model.arch.as_str();
        if !mrixai_zoo::arch::PRESETS.contains(&name) {
            return Ok(());
        }
        let max = mrixai_zoo::Arch::preset(name, 2, &[64, 64])?.weight_layers() - 1;
        let lists = [
            ("grid.pretrained_layers", Some(&self.grid.pretrained_layers)),
            ("grid.frozen_layers", self.grid.frozen_layers.as_ref()),
        ];
        for (field, ks) in lists {
            if let Some(&k) = ks.and_then(|ks| ks.iter().find(|&&k| k > max)) {
                return Err(Error::config(
                    field,
                    format!(
                        "k = {k} exceeds {max}, the weight layers of `{name}` before its (always new) classification head"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Rejects impossible settings, naming the field ([`ExperimentConfig::from_file`] and
    /// [`ExperimentConfig::profile`] call it).
    pub fn validate(&self) -> Result<()> {
        let nonempty = |field: &str, n: usize| {
            if n == 0 {
                Err(Error::config(field, "must not be empty"))
            } else {
                Ok(())
            }
        };
        self.device.check_built()?;
        if !(0.0..=1.0).contains(&self.stats.min_accuracy) {
            return Err(Error::config("stats.min_accuracy", "must lie in [0, 1]"));
        }
        nonempty("grid.sources", self.grid.sources.len())?;
        nonempty("grid.seeds", self.grid.seeds.len())?;
        let pretrained = self.grid.sources.iter().any(|s| s.is_pretrained());
        if self.grid.sources.contains(&Source::Mri) && self.data.pretrain_task == Task::Lesion {
            return Err(Error::config(
                "data.pretrain_task",
                "the in-domain task must differ from the benchmark (`anatomy` or `presence`)",
            ));
        }
        if pretrained {
            nonempty("grid.pretrained_layers", self.grid.pretrained_layers.len())?;
            nonempty("grid.frozen", self.grid.frozen.len())?;
            if self.grid.pretrained_layers.contains(&0) {
                return Err(Error::config(
                    "grid.pretrained_layers",
                    "k = 0 is the `scratch` source; use k ≥ 1",
                ));
            }
            self.validate_layer_counts()?;
        }
        if let Some(k) = &self.grid.frozen_layers {
            if !pretrained || !self.grid.frozen.contains(&true) {
                return Err(Error::config(
                    "grid.frozen_layers",
                    "is only used by frozen cells of a pre-training source: add `true` to grid.frozen and `ood` or `mri` to grid.sources, or remove it",
                ));
            }
            nonempty("grid.frozen_layers", k.len())?;
            if k.contains(&0) {
                return Err(Error::config(
                    "grid.frozen_layers",
                    "k = 0 is the `scratch` source; use k ≥ 1",
                ));
            }
        }
        for (name, t) in [
            ("train", &self.train),
            ("pretrain.train", &self.pretrain.train),
        ] {
            if t.epochs == 0 {
                return Err(Error::config(
                    format!("{name}.epochs"),
                    "must be at least 1",
                ));
            }
            if t.batch_size == 0 {
                return Err(Error::config(
                    format!("{name}.batch_size"),
                    "must be at least 1",
                ));
            }
            if !(t.learning_rate > 0.0 && t.learning_rate.is_finite()) {
                return Err(Error::config(
                    format!("{name}.learning_rate"),
                    "must be a positive number",
                ));
            }
        }
        if self.explain.max_samples == 0 {
            return Err(Error::config("explain.max_samples", "must be at least 1"));
        }
        if self.explain.batch_size == 0 {
            return Err(Error::config("explain.batch_size", "must be at least 1"));
        }
        for p in [&self.data.synth_config, &self.data.pretrain_synth_config] {
            if !p.exists() {
                return Err(Error::config(
                    "data",
                    format!("synthesis config {} not found", p.display()),
                ));
            }
        }
        self.validate_volumes()
    }

    /// Rejects, before any work starts, the pre-training choices that have no volumetric
    /// form when the benchmark synthesises volumes.
    fn validate_volumes(&self) -> Result<()> {
        let dims = |p: &Path| Ok::<_, Error>(mrixai_synth::SynthConfig::from_toml_file(p)?.dims);
        let benchmark = dims(&self.data.synth_config)?;
        if self.grid.sources.contains(&Source::Mri) {
            let in_domain = dims(&self.data.pretrain_synth_config)?;
            if in_domain != benchmark {
                return Err(Error::config(
                    "data.pretrain_synth_config",
                    format!(
                        "synthesises {in_domain}-D data for a {benchmark}-D benchmark: the in-domain checkpoint must have the benchmark's rank"
                    ),
                ));
            }
        }
        if benchmark != 3 {
            return Ok(());
        }
        let sources = &self.grid.sources;
        if sources.contains(&Source::Mri) && self.data.pretrain_task == Task::Anatomy {
            return Err(Error::config(
                "data.pretrain_task",
                "`anatomy` labels the axial level of 2-D slices; volumes pre-train in domain on `presence`",
            ));
        }
        if sources.contains(&Source::Ood) && matches!(self.pretrain.ood, OodSource::Imagenet(_)) {
            return Err(Error::config("pretrain.ood", IMAGENET_IS_2D));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_profiles_parse_and_validate() {
        for name in ["quick", "quick3d", "standard", "paper", "tiny"] {
            let cfg = ExperimentConfig::profile(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(cfg.profile, name);
        }
        assert!(
            ExperimentConfig::profile("nope")
                .unwrap_err()
                .to_string()
                .contains("profile")
        );
    }

    /// The tiny profile's text with `from` replaced by `to`, read as `<name>.toml` from a
    /// scratch folder holding its synthesis config.
    fn tiny_with(name: &str, from: &str, to: &str) -> Result<ExperimentConfig> {
        let tiny = std::fs::read_to_string(configs_dir().join("tiny.toml")).unwrap();
        assert!(tiny.contains(from), "tiny.toml has no `{from}`");
        let dir = mrixai_testkit::Scratch::new(&format!("config-{name}"));
        std::fs::copy(
            configs_dir().join("synth-tiny.toml"),
            dir.join("synth-tiny.toml"),
        )
        .unwrap();
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, tiny.replacen(from, to, 1)).unwrap();
        ExperimentConfig::from_file(&path)
    }

    /// The quick3d profile with `from` replaced by `to`, next to its synthesis config (and
    /// the 2-D quick one).
    fn quick3d_with(name: &str, from: &str, to: &str) -> Result<ExperimentConfig> {
        let text = std::fs::read_to_string(configs_dir().join("quick3d.toml")).unwrap();
        assert!(text.contains(from), "quick3d.toml has no `{from}`");
        let dir = mrixai_testkit::Scratch::new(&format!("config-{name}"));
        for synth in ["synth-quick3d.toml", "synth-quick.toml"] {
            std::fs::copy(configs_dir().join(synth), dir.join(synth)).unwrap();
        }
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        ExperimentConfig::from_file(&path)
    }

    /// A volumetric benchmark refuses, when the config is read, the pre-training choices
    /// that exist only for slices: the `anatomy` task and ImageNet weights.
    #[test]
    fn volumes_refuse_the_slice_only_pre_training() {
        let e = quick3d_with(
            "anatomy3d",
            "pretrain_task = \"presence\"",
            "pretrain_task = \"anatomy\"",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("data.pretrain_task") && e.contains("presence"),
            "{e}"
        );
        let e = quick3d_with(
            "imagenet3d",
            "ood = \"procedural\"",
            "ood = \"weights.safetensors\"",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("pretrain.ood") && e.contains("procedural"),
            "{e}"
        );
        // an in-domain pre-training task of the other rank
        let e = quick3d_with(
            "rank3d",
            "pretrain_synth_config = \"synth-quick3d.toml\"",
            "pretrain_synth_config = \"synth-quick.toml\"",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("data.pretrain_synth_config") && e.contains("2-D"),
            "{e}"
        );
    }

    /// `device` is read from the top level of a config file, written back only when it is
    /// not the CPU (so CPU configs and manifests keep their bytes), and a misspelt device is
    /// an error naming the file and the value.
    #[test]
    fn the_device_key_is_parsed_once_and_round_trips() {
        let write = |device: &str| {
            let to = format!("seed = 1\ndevice = \"{device}\"\n");
            tiny_with(device, "seed = 1\n", &to)
        };
        let cpu = write("cpu").unwrap();
        assert_eq!(cpu.device, Compute::Cpu);
        assert!(!cpu.to_toml().unwrap().contains("device ="));
        let e = write("tpu").unwrap_err().to_string();
        assert!(
            e.contains("tpu.toml") && e.contains("`tpu`") && e.contains("gpu:N"),
            "{e}"
        );
        let mut gpu = cpu.clone();
        gpu.device = Compute::Gpu(Some(2));
        let text = gpu.to_toml().unwrap();
        assert!(text.contains("device = \"gpu:2\""), "{text}");
        let back: ExperimentConfig = toml::from_str(&text).unwrap();
        assert_eq!(back.device, Compute::Gpu(Some(2)));
    }

    /// Sources, optimiser, tasks, the out-of-domain source, metrics and pooling are typed
    /// values read once: a bad one is an error naming the file, the line and the value, and
    /// the typed config writes back the text it was read from.
    #[test]
    fn typed_settings_are_parsed_once_and_written_back_unchanged() {
        let bad = [
            (
                "[\"scratch\", \"ood\"",
                "[\"scratch\", \"imagenet21k\"",
                "(`grid.sources`): unknown pre-training source `imagenet21k`",
            ),
            (
                "optimizer = \"adam\"",
                "optimizer = \"adamw\"",
                "`train.optimizer`",
            ),
            (
                "pretrain_task = \"anatomy\"",
                "pretrain_task = \"lesion\"",
                "data.pretrain_task",
            ),
            (
                "pretrain_task = \"anatomy\"",
                "pretrain_task = \"anatomie\"",
                "(`data.pretrain_task`)",
            ),
            ("[\"emd_score\"", "[\"emd_scor\"", "score.metrics"),
            (
                "metrics = [\"emd_score\", ",
                "metrics = [] #",
                "score.metrics must not be empty",
            ),
            (
                "pool = \"sum_abs\"",
                "pool = \"sum\"",
                "(`score.pool`): unknown pooling `sum`",
            ),
            ("ood = \"procedural\"", "ood = \"\"", "pretrain.ood"),
            (
                "\"integrated_gradients\",",
                "\"integrated_gradient\",",
                "`explain.methods`: unknown method `integrated_gradient`",
            ),
        ];
        for (i, (from, to, what)) in bad.into_iter().enumerate() {
            let e = tiny_with(&format!("bad{i}"), from, to)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!("bad{i}.toml")) && e.contains(what),
                "{e}"
            );
        }
        let cfg = ExperimentConfig::profile("tiny").unwrap();
        assert_eq!(cfg.grid.sources, Source::ALL);
        assert_eq!(
            (cfg.train.optimizer, cfg.data.pretrain_task),
            (Optimizer::Adam, Task::Anatomy)
        );
        assert_eq!(
            (&cfg.pretrain.ood, cfg.score.pool),
            (&OodSource::Procedural, Pooling::SumAbs)
        );
        let text = cfg.to_toml().unwrap();
        assert!(
            text.contains("sources = [\"scratch\", \"ood\", \"mri\"]"),
            "{text}"
        );
        assert!(text.contains("pool = \"sum_abs\""), "{text}");
        assert_eq!(toml::from_str::<ExperimentConfig>(&text).unwrap(), cfg);
        // a metric is written back as spelt (a cell's id hashes it)
        let spelt = tiny_with("spelt", "\"precision\"", "\" precision\"").unwrap();
        assert!(spelt.to_toml().unwrap().contains("\" precision\""));
        let weights = tiny_with(
            "imagenet",
            "ood = \"procedural\"",
            "ood = \"w/vgg.safetensors\"",
        );
        assert_eq!(
            weights.unwrap().pretrain.ood,
            OodSource::Imagenet(PathBuf::from("w/vgg.safetensors"))
        );
    }

    #[test]
    fn impossible_settings_name_the_field() {
        let mut cfg = ExperimentConfig::profile("tiny").unwrap();
        cfg.train.epochs = 0;
        assert!(
            cfg.validate()
                .unwrap_err()
                .to_string()
                .contains("train.epochs")
        );
        let mut cfg = ExperimentConfig::profile("tiny").unwrap();
        cfg.grid.pretrained_layers = vec![0];
        assert!(
            cfg.validate()
                .unwrap_err()
                .to_string()
                .contains("pretrained_layers")
        );
        let mut cfg = ExperimentConfig::profile("tiny").unwrap();
        cfg.grid.pretrained_layers = vec![2, 7];
        let e = cfg.validate().unwrap_err().to_string();
        assert!(
            e.contains("grid.pretrained_layers") && e.contains("7 exceeds 6"),
            "{e}"
        );
        let named = |f: &dyn Fn(&mut ExperimentConfig), field: &str, what: &str| {
            let mut cfg = ExperimentConfig::profile("tiny").unwrap();
            f(&mut cfg);
            let e = cfg.validate().unwrap_err().to_string();
            assert!(e.contains(field) && e.contains(what), "{e}");
        };
        #[cfg(not(feature = "gpu"))]
        named(
            &|c| c.device = Compute::Gpu(Some(1)),
            "device",
            "cargo feature `gpu`",
        );
        for (frozen, layers) in [(vec![false], vec![1]), (vec![false, true], vec![0])] {
            let mut cfg = ExperimentConfig::profile("tiny").unwrap();
            cfg.grid.frozen = frozen;
            cfg.grid.frozen_layers = Some(layers);
            assert!(
                cfg.validate()
                    .unwrap_err()
                    .to_string()
                    .contains("grid.frozen_layers")
            );
        }
    }
}
