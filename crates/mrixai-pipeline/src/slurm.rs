//! Scale-out on SLURM: a preparation job (dataset, pre-training), a job array with one
//! task per cell (`mrixai run-cell`), and a dependent aggregation job (`mrixai aggregate`).

use crate::{ExperimentConfig, grid};
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
    /// CPUs per task: `--cpus-per-task`, and the thread count inside each task.
    pub cpus: usize,
    /// At most this many array tasks at once (`--array=…%N`); `None`: no limit.
    pub throttle: Option<usize>,
}

impl Default for SlurmOptions {
    fn default() -> Self {
        Self {
            binary: "mrixai".into(),
            sbatch: Vec::new(),
            time: "04:00:00".into(),
            cpus: 4,
            throttle: None,
        }
    }
}

/// A job script: every `#SBATCH` directive (SLURM reads them only before the first
/// command), then strict mode, the thread count of the task, and `body`.
fn script(name: &str, opts: &SlurmOptions, log_dir: &Path, extra: &[String], body: &str) -> String {
    let mut s = format!(
        "#!/usr/bin/env bash\n#SBATCH --job-name={name}\n#SBATCH --time={}\n#SBATCH --cpus-per-task={}\n#SBATCH --output={}/{name}-%A_%a.log\n",
        opts.time,
        opts.cpus,
        log_dir.display()
    );
    for line in opts.sbatch.iter().chain(extra) {
        s.push_str(&format!("#SBATCH {line}\n"));
    }
    s.push_str(&format!(
        "set -euo pipefail\n# one thread per CPU SLURM gave the task\nexport RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-{}}}\"\n{body}",
        opts.cpus
    ));
    s
}

/// `submit.sh`: submits prepare, the cells without a `done` marker in `run_dir` (all of them
/// the first time; after failures or cancellations only the rest), then the aggregation.
fn submit_script(run_dir: &Path, n: usize) -> String {
    format!(
        r#"#!/usr/bin/env bash
# Submits the experiment: prepare -> the unfinished of its {n} cells -> aggregate.
# Safe to run again after failed or cancelled cells: finished cells are not resubmitted.
set -euo pipefail
cd "$(dirname "$0")"
run={run}
todo=()
i=0
while IFS= read -r id; do
  [ -f "$run/cells/$id/done" ] || todo+=("$i")
  i=$((i + 1))
done < cells.txt
p=$(sbatch --parsable prepare.sbatch)
after=$p
if [ "${{#todo[@]}}" -gt 0 ]; then
  list=$(IFS=,; echo "${{todo[*]}}")
  throttle=$(sed -n 's/^#SBATCH --array=[^%]*\(%[0-9]*\)$/\1/p' cells.sbatch)
  c=$(sbatch --parsable --array="$list$throttle" --dependency=afterok:$p cells.sbatch)
  after=$c
  echo "cells: ${{#todo[@]}} of {n} to run (array $c)"
else
  echo "cells: all {n} finished"
fi
a=$(sbatch --parsable --dependency=afterok:$after aggregate.sbatch)
echo "submitted: prepare $p, aggregate $a"
"#,
        run = shell_quote(&run_dir.display().to_string()),
    )
}

/// The `--gres` line of the jobs that train and explain (prepare, cells) when the config's
/// device is a GPU, unless the user's own `#SBATCH` lines already ask for resources.
fn gres(cfg: &ExperimentConfig, opts: &SlurmOptions) -> Vec<String> {
    let gpus = cfg.device.gpus();
    if gpus == 0 || opts.sbatch.iter().any(|l| l.contains("--gres")) {
        return Vec::new();
    }
    vec![format!("--gres=gpu:{gpus}")]
}

/// `s` as one single-quoted shell word.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
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
    let cells = grid::cells(cfg);
    let config = dir.join("experiment.toml");
    atomic::write_bytes(&config, cfg.to_toml()?.as_bytes())?;
    let ids: Vec<String> = cells.iter().map(|c| cfg.cell_id(c)).collect();
    atomic::write_bytes(
        &dir.join("cells.txt"),
        format!("{}\n", ids.join("\n")).as_bytes(),
    )?;
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| mrixai_core::Error::io(&logs, e))?;
    let common = format!(
        "--run {} --config {}",
        shell_quote(&run_dir.display().to_string()),
        shell_quote(&config.display().to_string())
    );
    let bin = &opts.binary;
    let gres = gres(cfg, opts);
    let prepare = script(
        "mrixai-prepare",
        opts,
        &logs,
        &gres,
        &format!("{bin} run-cell {common} --prepare\n"),
    );
    let throttle = opts.throttle.map(|t| format!("%{t}")).unwrap_or_default();
    let array = script(
        "mrixai-cell",
        opts,
        &logs,
        &[
            vec![format!(
                "--array=0-{}{throttle}",
                cells.len().saturating_sub(1)
            )],
            gres,
        ]
        .concat(),
        &format!(
            "if [ -z \"${{SLURM_ARRAY_TASK_ID:-}}\" ]; then\n  echo \"error: cells.sbatch is a job array: submit it with submit.sh (or sbatch), do not run it directly\" >&2\n  exit 2\nfi\n{bin} run-cell {common} --index \"$SLURM_ARRAY_TASK_ID\"\n"
        ),
    );
    let aggregate = script(
        "mrixai-aggregate",
        opts,
        &logs,
        &[],
        &format!("{bin} aggregate {common}\n"),
    );
    let submit = submit_script(run_dir, cells.len());
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

#[cfg(test)]
mod tests {
    use super::*;
    use mrixai_zoo::Compute;

    /// A GPU config asks SLURM for a GPU in the jobs that train and explain, not in the
    /// aggregation, and leaves the user's own `--gres` alone.
    #[test]
    fn a_gpu_config_asks_for_a_gpu_where_models_run() {
        let mut cfg = ExperimentConfig::profile("tiny").expect("tiny");
        let dir = mrixai_testkit::Scratch::new("slurm-gres");
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("script");
        let opts = SlurmOptions::default();
        emit(&cfg, Path::new("/runs/x"), &dir, &opts).expect("emit");
        assert!(
            !read("cells.sbatch").contains("--gres"),
            "a CPU run asks for no GPU"
        );
        cfg.device = Compute::Gpu(None);
        emit(&cfg, Path::new("/runs/x"), &dir, &opts).expect("emit");
        for name in ["prepare.sbatch", "cells.sbatch"] {
            assert!(read(name).contains("#SBATCH --gres=gpu:1\n"), "{name}");
        }
        assert!(!read("aggregate.sbatch").contains("--gres"));
        assert!(read("experiment.toml").contains("device = \"gpu\""));
        let own = SlurmOptions {
            sbatch: vec!["--gres=gpu:a100:1".into()],
            ..SlurmOptions::default()
        };
        emit(&cfg, Path::new("/runs/x"), &dir, &own).expect("emit");
        assert_eq!(read("cells.sbatch").matches("--gres").count(), 1);
    }
}
