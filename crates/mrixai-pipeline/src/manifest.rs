//! The run manifest `run.json`: config, profile, seeds, versions, git commit, machine and
//! per-stage timings, updated atomically as stages finish.

use crate::ExperimentConfig;
use mrixai_core::layout::RunLayout;
use mrixai_core::{Error, Result, atomic};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Contents of `run.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Profile name.
    pub profile: String,
    /// The experiment configuration.
    pub config: ExperimentConfig,
    /// Master seed.
    pub seed: u64,
    /// Training seeds of the grid.
    pub seeds: Vec<u64>,
    /// mrixai version.
    pub mrixai_version: String,
    /// Pinned versions of the main dependencies.
    pub dependencies: BTreeMap<String, String>,
    /// Git commit of the source tree, when known.
    pub git_commit: Option<String>,
    /// Machine description.
    pub machine: Machine,
    /// Wall-clock seconds per stage (accumulated over resumed runs).
    pub timings: BTreeMap<String, f64>,
    /// Number of cells in the grid.
    pub cells: usize,
}

/// The machine a run ran on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    /// Operating system and architecture.
    pub os: String,
    /// Logical CPUs available.
    pub cpus: usize,
    /// CPU model, when known.
    pub cpu_model: Option<String>,
    /// Total memory in GiB, when known.
    pub memory_gib: Option<f64>,
    /// Compute backend.
    pub backend: String,
}

impl Machine {
    /// Describes the current machine.
    pub fn current() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_gib = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| (kb / 1024.0 / 1024.0 * 10.0).round() / 10.0);
        Self {
            os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            cpu_model,
            memory_gib,
            backend: format!(
                "cpu ({} kernels, burn flex)",
                mrixai_zoo::simd::Path::current()
            ),
        }
    }

    /// This machine with models on `device`.
    pub fn on(mut self, device: mrixai_zoo::Compute) -> Self {
        if !device.is_cpu() {
            self.backend = format!("{device} (burn wgpu)");
        }
        self
    }
}

/// The git commit of the workspace, if it is a git checkout.
pub fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Manifest {
    /// A fresh manifest for `cfg`.
    pub fn new(cfg: &ExperimentConfig, cells: usize) -> Self {
        let dependencies = [
            ("burn", "0.22.1"),
            ("ndarray", "0.17"),
            ("nifti", "0.18"),
            ("polars", "0.55"),
            ("statrs", "0.19"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Self {
            profile: cfg.profile.clone(),
            config: cfg.clone(),
            seed: cfg.seed,
            seeds: cfg.grid.seeds.clone(),
            mrixai_version: mrixai_core::VERSION.into(),
            dependencies,
            git_commit: git_commit(),
            machine: Machine::current().on(cfg.device),
            timings: BTreeMap::new(),
            cells,
        }
    }

    /// Loads `dir/run.json` if present and for the same config, else starts a new one.
    pub fn load_or_new(dir: &Path, cfg: &ExperimentConfig, cells: usize) -> Result<Self> {
        let path = RunLayout::new(dir).manifest();
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let old: Manifest = serde_json::from_str(&text)
                .map_err(|e| Error::format(&path, format!("invalid run manifest: {e}")))?;
            if old.config == *cfg {
                let mut m = Manifest::new(cfg, cells);
                m.timings = old.timings;
                return Ok(m);
            }
        }
        Ok(Manifest::new(cfg, cells))
    }

    /// Adds `seconds` to the timing of `stage` and saves.
    pub fn record(&mut self, dir: &Path, stage: &str, seconds: f64) -> Result<()> {
        *self.timings.entry(stage.to_string()).or_insert(0.0) += seconds;
        self.save(dir)
    }

    /// Writes `dir/run.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        atomic::write_json(&RunLayout::new(dir).manifest(), self)
    }
}
