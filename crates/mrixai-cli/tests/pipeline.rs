//! End-to-end pipeline tests on the `tiny` profile: a run killed with SIGKILL and resumed,
//! and a run executed as separate per-cell processes (as SLURM would), must both end with
//! tables identical to an uninterrupted single-process run.

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/bin.rs"]
mod support;

use mrixai_core::{ArrayF, npy};
use mrixai_pipeline::{ExperimentConfig, Run, grid, slurm};
use mrixai_testkit::run_ok;
use ndarray::Axis;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::mrixai;

fn tiny_config() -> PathBuf {
    mrixai_pipeline::config::configs_dir().join("tiny.toml")
}

fn scratch(name: &str) -> PathBuf {
    mrixai_testkit::fresh_path(&format!("pipeline-{name}"))
}

/// The final tables of a run: the long-format scores and every statistics table.
fn tables(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = vec!["scores.csv".to_string()];
    let mut stats: Vec<String> = std::fs::read_dir(dir.join("stats"))
        .expect("stats folder")
        .map(|e| format!("stats/{}", e.expect("entry").file_name().to_string_lossy()))
        .filter(|n| n.ends_with(".csv"))
        .collect();
    stats.sort();
    files.extend(stats);
    files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            (f, bytes)
        })
        .collect()
}

fn reference(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let cfg = ExperimentConfig::from_file(&tiny_config()).expect("tiny profile");
    let mut run = Run::new(dir, cfg).expect("run folder");
    // two cell workers; `run-cell --all` and the per-cell processes below run the cells one
    // after another on all cores: equal tables show that the workers change no number
    run.jobs = 2;
    run.reproduce().expect("tiny run");
    assert!(dir.join("report/index.html").is_file());
    tables(dir)
}

fn assert_same(a: &[(String, Vec<u8>)], b: &[(String, Vec<u8>)]) {
    assert_eq!(
        a.iter().map(|t| &t.0).collect::<Vec<_>>(),
        b.iter().map(|t| &t.0).collect::<Vec<_>>()
    );
    for ((name, x), (_, y)) in a.iter().zip(b) {
        assert!(x == y, "{name} differs between the two runs");
    }
}

#[test]
fn killed_resumed_and_per_cell_runs_equal_the_single_run() {
    let single = scratch("single");
    let want = reference(&single);
    assert!(want[0].1.len() > 100, "scores.csv has rows");
    explain_equals_the_pipeline(&single);

    // 1. kill -9 in the middle of the work, then resume until done.
    let killed = scratch("killed");
    let cfg = tiny_config();
    let mut child = mrixai()
        .args(["run-cell", "--all", "--quiet", "--run"])
        .arg(&killed)
        .arg("--config")
        .arg(&cfg)
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(4500));
    let _ = child.kill(); // SIGKILL on unix
    let _ = child.wait();
    // files of the user's in the run folder survive run-cell and aggregate
    let planted = [killed.join("notes.txt"), killed.join("cells/mine.txt")];
    for p in &planted {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"mine").unwrap();
    }
    let run_cells = || {
        run_ok(
            mrixai()
                .args(["run-cell", "--all", "--quiet", "--run"])
                .arg(&killed)
                .arg("--config")
                .arg(&cfg),
        )
    };
    run_cells();
    run_ok(
        mrixai()
            .args(["aggregate", "--quiet", "--run"])
            .arg(&killed)
            .arg("--config")
            .arg(&cfg),
    );
    assert_same(&want, &tables(&killed));
    for p in &planted {
        assert_eq!(std::fs::read(p).unwrap(), b"mine", "{}", p.display());
    }
    // a rerun of a finished run recomputes nothing (not even the datasets or the in-domain
    // checkpoint: their files are not rewritten) and changes no table
    let written = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .expect("file")
    };
    let kept = [
        killed.join("dataset/dataset.json"),
        killed.join("pretrain/mri/dataset/dataset.json"),
        killed.join("pretrain/mri/checkpoint/model.safetensors"),
        killed.join("pretrain/ood/checkpoint/model.safetensors"),
    ];
    let before: Vec<_> = kept.iter().map(|p| written(p)).collect();
    run_cells();
    let after: Vec<_> = kept.iter().map(|p| written(p)).collect();
    assert_eq!(
        before, after,
        "a finished run's datasets or checkpoints were made again"
    );
    assert_same(&want, &tables(&killed));

    // 2. SLURM layout: prepare, one process per cell (in reverse order), aggregate.
    let (cells_run, scripts) = (scratch("cells"), scratch("slurm"));
    run_as_slurm_would(&cfg, &cells_run, &scripts);
    assert_same(&want, &tables(&cells_run));

    for d in [single, killed, cells_run, scripts] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Emits the SLURM scripts of the config `cfg` into `scripts` (checking the job array and
/// its dependency) and runs what they would: prepare, one process per cell in reverse
/// order, aggregate, into `cells_run`.
fn run_as_slurm_would(cfg: &Path, cells_run: &Path, scripts: &Path) {
    let parsed = ExperimentConfig::from_file(cfg).expect("config");
    let n =
        slurm::emit(&parsed, cells_run, scripts, &slurm::SlurmOptions::default()).expect("emit");
    assert_eq!(n, grid::cells(&parsed).len());
    let ids = std::fs::read_to_string(scripts.join("cells.txt")).expect("cells.txt");
    assert_eq!(ids.lines().count(), n);
    let array = std::fs::read_to_string(scripts.join("cells.sbatch")).expect("array script");
    assert!(
        array.contains(&format!("#SBATCH --array=0-{}", n - 1)),
        "{array}"
    );
    assert!(
        std::fs::read_to_string(scripts.join("submit.sh"))
            .expect("submit")
            .contains("--dependency=afterok")
    );
    let emitted = scripts.join("experiment.toml");
    run_ok(
        mrixai()
            .args(["run-cell", "--prepare", "--quiet", "--run"])
            .arg(cells_run)
            .arg("--config")
            .arg(&emitted),
    );
    for i in (0..n).rev() {
        run_ok(
            mrixai()
                .args(["run-cell", "--quiet", "--index", &i.to_string(), "--run"])
                .arg(cells_run)
                .arg("--config")
                .arg(&emitted),
        );
    }
    run_ok(
        mrixai()
            .args(["aggregate", "--quiet", "--run"])
            .arg(cells_run)
            .arg("--config")
            .arg(&emitted),
    );
}

/// `mrixai explain --dataset` (default target: the prediction) gives the pipeline's maps
/// byte for byte for the same model, split, method and batch size (the pipeline explains the
/// first `max_samples` = 8 test samples in batches of 8).
fn explain_equals_the_pipeline(run: &Path) {
    let cell = std::fs::read_dir(run.join("cells"))
        .expect("cells")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("model").is_dir())
        .expect("a finished cell");
    for method in ["gradient", "deeplift", "lrp"] {
        let out = run.join(format!("cli-{method}.npy"));
        run_ok(
            mrixai()
                .args([
                    "explain",
                    "--quiet",
                    "--method",
                    method,
                    "--batch-size",
                    "8",
                ])
                .arg("--model")
                .arg(cell.join("model"))
                .arg("--dataset")
                .arg(run.join("dataset"))
                .arg("--out")
                .arg(&out),
        );
        let cli: ArrayF = npy::read(&out).expect("cli maps");
        let pipeline: ArrayF =
            npy::read(&cell.join("attributions").join(format!("{method}.npy"))).expect("maps");
        let n = pipeline.shape()[0];
        let head = cli.slice_axis(Axis(0), (0..n).into()).to_owned();
        assert_eq!(
            head, pipeline,
            "{method}: explain --dataset differs from the pipeline"
        );
        std::fs::remove_file(&out).unwrap();
    }
}

/// Runs `mrixai ARGS --run DIR --config CONFIG` and checks it fails with `needle` in stderr.
fn fails_with(args: &[&str], dir: &Path, config: &Path, needle: &str) {
    let out = mrixai()
        .args(args)
        .arg("--run")
        .arg(dir)
        .arg("--config")
        .arg(config)
        .output()
        .expect("spawn");
    assert!(!out.status.success(), "{args:?} succeeded");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "{args:?}: `{needle}` not in {err}");
}

#[test]
fn bad_requests_fail_with_a_message() {
    let dir = scratch("bad");
    let tiny = tiny_config();
    fails_with(
        &["run-cell", "--quiet", "--index", "999"],
        &dir,
        &tiny,
        "--index 999",
    );
    fails_with(&["aggregate", "--quiet"], &dir, &tiny, "not finished");
    fails_with(
        &["run-cell", "--all"],
        &dir,
        Path::new("/nonexistent.toml"),
        "nonexistent.toml",
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Every `#SBATCH` line of a job script comes before its first command (SLURM ignores the
/// ones after it), the array script refuses to run outside an array, and `submit.sh` run
/// again submits only the cells without a `done` marker (checked with a stand-in `sbatch`
/// that records its arguments).
#[test]
fn slurm_scripts_put_directives_first_and_resubmit_only_unfinished_cells() {
    let run = scratch("slurm-run");
    let scripts = scratch("slurm-scripts");
    let cfg = ExperimentConfig::from_file(&tiny_config()).expect("config");
    let opts = slurm::SlurmOptions {
        sbatch: vec!["--partition=debug".into()],
        cpus: 3,
        throttle: Some(2),
        ..Default::default()
    };
    let n = slurm::emit(&cfg, &run, &scripts, &opts).expect("emit");
    assert!(n >= 3, "tiny grid has {n} cells");
    for name in ["prepare.sbatch", "cells.sbatch", "aggregate.sbatch"] {
        let text = std::fs::read_to_string(scripts.join(name)).expect("script");
        let lines: Vec<&str> = text.lines().collect();
        let first_command = lines
            .iter()
            .position(|l| !l.is_empty() && !l.starts_with('#'))
            .expect("a command");
        let last_directive = lines
            .iter()
            .rposition(|l| l.starts_with("#SBATCH"))
            .expect("directives");
        assert!(last_directive < first_command, "{name}:\n{text}");
        assert!(text.contains("#SBATCH --partition=debug") && text.contains("--cpus-per-task=3"));
        assert!(text.contains("RAYON_NUM_THREADS"), "{name}");
    }
    let array = std::fs::read_to_string(scripts.join("cells.sbatch")).expect("array");
    assert!(
        array.contains(&format!("#SBATCH --array=0-{}%2", n - 1)),
        "{array}"
    );
    let direct = Command::new("bash")
        .arg(scripts.join("cells.sbatch"))
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .expect("bash");
    assert_eq!(direct.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&direct.stderr).contains("job array"));

    // a stand-in sbatch: logs its arguments, answers a job id
    let bin = scratch("slurm-bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let log = bin.join("sbatch.log");
    let fake = bin.join("sbatch");
    std::fs::write(
        &fake,
        format!(
            "#!/usr/bin/env bash\necho \"$*\" >> '{}'\necho 42\n",
            log.display()
        ),
    )
    .expect("fake sbatch");
    Command::new("chmod")
        .arg("+x")
        .arg(&fake)
        .status()
        .expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let submit = |expect: &str| {
        let _ = std::fs::remove_file(&log);
        let out = Command::new("bash")
            .arg(scripts.join("submit.sh"))
            .env("PATH", &path)
            .output()
            .expect("submit");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let calls = std::fs::read_to_string(&log).expect("log");
        assert!(calls.contains(expect), "want `{expect}` in:\n{calls}");
        calls
    };
    let all: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    submit(&format!("--array={}%2", all.join(",")));
    // the first cell finished: only the others are submitted again
    let ids = std::fs::read_to_string(scripts.join("cells.txt")).expect("ids");
    let first = ids.lines().next().expect("an id");
    std::fs::create_dir_all(run.join("cells").join(first)).expect("cell dir");
    std::fs::write(run.join("cells").join(first).join("done"), b"").expect("done");
    submit(&format!("--array={}%2", all[1..].join(",")));
    // all finished: no array job, the aggregate follows prepare
    for id in ids.lines() {
        std::fs::create_dir_all(run.join("cells").join(id)).expect("cell dir");
        std::fs::write(run.join("cells").join(id).join("done"), b"").expect("done");
    }
    let calls = submit("aggregate.sbatch");
    assert!(!calls.contains("cells.sbatch"), "{calls}");
    for d in [run, scripts, bin] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Runs the emitted `submit.sh` against `cluster`; returns its stdout.
fn submit(cluster: &cluster::Cluster, scripts: &Path) -> String {
    let out = Command::new("bash")
        .arg(scripts.join("submit.sh"))
        .env("SLURM_CONF", &cluster.conf)
        .output()
        .expect("submit.sh");
    assert!(
        out.status.success(),
        "submit.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The tiny profile through a real one-node SLURM (munged, slurmctld, slurmd): a cell made
/// to fail keeps the aggregation from running; after the cause is removed, `submit.sh`
/// resubmits only that cell, the run completes without recomputing the finished cells, and
/// its tables equal the single-process run byte for byte. Skipped, saying so, where the
/// daemons are not installed or cannot start.
#[test]
fn tiny_profile_through_a_real_slurm_equals_the_single_run() {
    let t0 = std::time::Instant::now();
    let cluster = match cluster::Cluster::start(&scratch("slurm-cluster")) {
        Ok(c) => c,
        Err(why) => {
            // straight to stderr: the test harness does not capture it, so CI shows it
            let _ = writeln!(std::io::stderr(), "SKIPPED: no local SLURM cluster: {why}");
            return;
        }
    };
    let want = reference(&scratch("slurm-single"));
    let run = scratch("slurm-real-run");
    let scripts = scratch("slurm-real-scripts");
    let cfg = ExperimentConfig::from_file(&tiny_config()).expect("config");
    let opts = slurm::SlurmOptions {
        binary: env!("CARGO_BIN_EXE_mrixai").to_string(),
        cpus: 1,
        time: "00:20:00".into(),
        ..Default::default()
    };
    let n = slurm::emit(&cfg, &run, &scripts, &opts).expect("emit");
    let ids: Vec<String> = std::fs::read_to_string(scripts.join("cells.txt"))
        .expect("cells.txt")
        .lines()
        .map(str::to_string)
        .collect();
    // a file where cell 1's folder must go makes that cell fail
    let blocker = run.join("cells").join(&ids[1]);
    std::fs::create_dir_all(blocker.parent().expect("cells")).expect("cells folder");
    std::fs::write(&blocker, b"in the way").expect("blocker");
    let first = submit(&cluster, &scripts);
    assert!(
        first.contains(&format!("cells: {n} of {n} to run")),
        "{first}"
    );
    let stuck = cluster.settle(Duration::from_secs(300));
    assert_eq!(stuck.len(), 1, "the aggregation waits forever: {stuck:?}");
    assert!(
        !run.join("scores.csv").exists(),
        "aggregated despite a failed cell"
    );
    let finished: Vec<(usize, std::time::SystemTime)> = (0..n)
        .filter(|&i| i != 1)
        .map(|i| {
            let done = run.join("cells").join(&ids[i]).join("done");
            (
                i,
                std::fs::metadata(&done)
                    .and_then(|m| m.modified())
                    .expect("done marker"),
            )
        })
        .collect();
    let job = stuck[0].split_whitespace().next().expect("job id");
    cluster.query("scancel", &[job]).expect("scancel");
    std::fs::remove_file(&blocker).expect("remove blocker");
    let again = submit(&cluster, &scripts);
    assert!(
        again.contains(&format!("cells: 1 of {n} to run")),
        "{again}"
    );
    assert!(cluster.settle(Duration::from_secs(300)).is_empty());
    for (i, when) in finished {
        let done = run.join("cells").join(&ids[i]).join("done");
        assert_eq!(
            std::fs::metadata(&done).and_then(|m| m.modified()).ok(),
            Some(when),
            "cell {i} recomputed"
        );
    }
    assert_same(&want, &tables(&run));
    let _ = writeln!(
        std::io::stderr(),
        "real SLURM: tiny profile, failure and resubmission included, in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    drop(cluster);
    for d in [
        run,
        scripts,
        scratch("slurm-single"),
        scratch("slurm-cluster"),
    ] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A run's dataset is made again when the synthesis config changes (and not otherwise), and
/// the in-domain checkpoint trained on the old pre-training data is marked for retraining.
#[test]
fn changed_synthesis_config_remakes_the_dataset() {
    let dir = scratch("remake");
    let mut cfg = ExperimentConfig::from_file(&tiny_config()).expect("tiny");
    cfg.grid.sources = vec![mrixai_pipeline::Source::Scratch];
    let run = Run::new(&dir, cfg.clone()).expect("run");
    mrixai_pipeline::stages::dataset(&run).expect("dataset");
    let info = dir.join("dataset/dataset.json");
    let first = std::fs::read(&info).expect("dataset.json");
    let stamp = std::fs::metadata(&info)
        .and_then(|m| m.modified())
        .expect("mtime");
    mrixai_pipeline::stages::dataset(&run).expect("again");
    assert_eq!(
        std::fs::metadata(&info).and_then(|m| m.modified()).ok(),
        Some(stamp),
        "remade although unchanged"
    );
    // another lesion contrast: a new dataset
    let text = std::fs::read_to_string(&cfg.data.synth_config).expect("synth config");
    let changed = dir.join("synth-changed.toml");
    std::fs::write(&changed, format!("{text}\n")).expect("copy");
    let mut edited: mrixai_synth::SynthConfig =
        mrixai_synth::SynthConfig::from_toml_file(&changed).expect("parse");
    edited.lesion.contrast = [0.55, 0.75];
    std::fs::write(&changed, toml::to_string(&edited).expect("toml")).expect("write");
    cfg.data.synth_config = changed;
    let run = Run::new(&dir, cfg).expect("run");
    mrixai_pipeline::stages::dataset(&run).expect("remade");
    let second = std::fs::read(&info).expect("dataset.json");
    assert_ne!(first, second);
    assert!(String::from_utf8_lossy(&second).contains("0.55"));
    let _ = std::fs::remove_dir_all(dir);
}
