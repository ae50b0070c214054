//! This build's `mrixai` binary for the CLI's integration tests: a command for it and runs
//! of it with path-valued flags. Each test binary uses a part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// A command running this build's `mrixai`.
pub fn mrixai() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mrixai"))
}

/// `mrixai ARGS` followed by the path-valued flags `paths` (`--flag PATH` each).
pub fn command(args: &[&str], paths: &[(&str, &Path)]) -> Command {
    let mut cmd = mrixai();
    cmd.args(args);
    for (flag, p) in paths {
        cmd.arg(flag).arg(p);
    }
    cmd
}

/// Runs `mrixai ARGS` with path flags; returns (success, stderr).
pub fn run_cmd(args: &[&str], paths: &[(&str, &Path)]) -> (bool, String) {
    outcome(command(args, paths).output().expect("spawn mrixai"))
}

/// Runs `mrixai ARGS` with path flags and `--out OUT`; returns (success, stderr).
pub fn run_out(args: &[&str], paths: &[(&str, &Path)], out: &Path) -> (bool, String) {
    let mut cmd = command(args, paths);
    outcome(cmd.arg("--out").arg(out).output().expect("spawn mrixai"))
}

/// Runs `mrixai ARGS` with path flags, failing the test (with its stderr) unless it
/// succeeded.
pub fn run_ok(args: &[&str], paths: &[(&str, &Path)]) -> Output {
    mrixai_testkit::run_ok(&mut command(args, paths))
}

fn outcome(res: Output) -> (bool, String) {
    let err = String::from_utf8_lossy(&res.stderr).into_owned();
    (res.status.success(), err)
}
