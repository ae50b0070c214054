//! Scale-out on SLURM: a preparation job (dataset, pre-training), a job array with one
//! task per cell (`mrixai run-cell`), and a dependent aggregation job (`mrixai aggregate`).

use super::{ExperimentConfig, grid};
use mrixai_core::{Result, atomic};
use std::path::Path;

/// Options of the emitted scripts.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// The `mrixai` binary as the cluster nodes see it.
    pub binary: String,
    /// Extra `#SBATCH` lines (e.g. `--partition=gpu`, `--gres=gpu:1`).
    pub sbatch: Vec<String>,
    /// Per-task time limit (`HH:MM:SS`).
    pub time: String,
    /// CPUs per task.
    pub cpus: usize,
}

impl Default for SlurmOptions {
    fn default() -> Self {
        Self {
            binary: "mrixai".into(),
            sbatch: Vec::new(),
            time: "04:00:00".into(),
            cpus: 4,
        }
    }
}

fn header(name: &str, opts: &SlurmOptions, log_dir: &Path) -> String {
    let mut s = format!(
        "#!/usr/bin/env bash\n#SBATCH --job-name={name}\n#SBATCH --time={}\n#SBATCH --cpus-per-task={}\n#SBATCH --output={}/{name}-%A_%a.log\n",
        opts.time,
        opts.cpus,
        log_dir.display()
    );
    for line in &opts.sbatch {
        s.push_str(&format!("#SBATCH {line}\n"));
    }
    s.push_str("set -euo pipefail\n");
    s
}

/// Writes `experiment.toml` (the config, paths absolute), `prepare.sbatch`, `cells.sbatch`,
/// `aggregate.sbatch`, `cells.txt` and `submit.sh` into `dir` for the run folder `run_dir`.
/// Returns the number of cells.
pub fn emit(
    cfg: &ExperimentConfig,
    run_dir: &Path,
    dir: &Path,
    opts: &SlurmOptions,
) -> Result<usize> {
    let cells = grid::cells(cfg)?;
    let config = dir.join("experiment.toml");
    atomic::write_bytes(&config, cfg.to_toml()?.as_bytes())?;
    let ids: Vec<String> = cells.iter().map(|c| c.id(cfg)).collect();
    atomic::write_bytes(
        &dir.join("cells.txt"),
        format!("{}\n", ids.join("\n")).as_bytes(),
    )?;
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| mrixai_core::Error::io(&logs, e))?;
    let common = format!("--run {} --config {}", run_dir.display(), config.display());
    let bin = &opts.binary;
    let prepare = format!(
        "{}{bin} run-cell {common} --prepare\n",
        header("mrixai-prepare", opts, &logs)
    );
    let array = format!(
        "{}#SBATCH --array=0-{}\n{bin} run-cell {common} --index \"$SLURM_ARRAY_TASK_ID\"\n",
        header("mrixai-cell", opts, &logs),
        cells.len().saturating_sub(1)
    );
    let aggregate = format!(
        "{}{bin} aggregate {common}\n",
        header("mrixai-aggregate", opts, &logs)
    );
    let submit = format!(
        "#!/usr/bin/env bash\n# Submits the whole experiment: prepare -> {} cells -> aggregate.\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\np=$(sbatch --parsable prepare.sbatch)\nc=$(sbatch --parsable --dependency=afterok:$p cells.sbatch)\na=$(sbatch --parsable --dependency=afterok:$c aggregate.sbatch)\necho \"submitted: prepare $p, cells $c, aggregate $a\"\n",
        cells.len()
    );
    for (name, text) in [
        ("prepare.sbatch", prepare),
        ("cells.sbatch", array),
        ("aggregate.sbatch", aggregate),
        ("submit.sh", submit),
    ] {
        atomic::write_bytes(&dir.join(name), text.as_bytes())?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("submit.sh");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| mrixai_core::Error::io(&p, e))?;
    }
    Ok(cells.len())
}
