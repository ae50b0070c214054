//! `cargo xtask reproduce --profile tiny` writes the bytes committed in
//! `fixtures/reproducibility/tiny.sha256` on every instruction path this CPU has (forced
//! lower with `MRIXAI_SIMD`): checkpoints, attribution maps, scores and statistics tables.

use mrixai_testkit::workspace_dir;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The files of a run folder the fixture covers, relative to it, sorted: every checkpoint,
/// attribution map and control map, `scores.csv` and `stats/*.csv`.
fn covered(run: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![run.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("run folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(run)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let take = rel.ends_with(".safetensors")
                || rel.ends_with(".npy")
                || rel == "scores.csv"
                || (rel.starts_with("stats/") && rel.ends_with(".csv"));
            if take {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// `sha256sum` lines (`<hex>  <path>`) of the covered files of `run`.
fn sha256_lines(run: &Path) -> BTreeMap<String, String> {
    covered(run)
        .into_iter()
        .map(|rel| {
            let bytes = std::fs::read(run.join(&rel)).expect("covered file");
            (rel, hex::encode(Sha256::digest(&bytes)))
        })
        .collect()
}

#[test]
fn tiny_profile_gives_the_committed_bytes_on_every_instruction_path() {
    let fixture_path = workspace_dir().join("fixtures/reproducibility/tiny.sha256");
    let fixture: BTreeMap<String, String> = std::fs::read_to_string(&fixture_path)
        .expect("tiny.sha256")
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(hash, rel)| (rel.to_string(), hash.to_string()))
        .collect();
    assert!(
        fixture.len() > 50,
        "the fixture lists {} files",
        fixture.len()
    );
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reproducibility");
    for path in mrixai_zoo::simd::Path::available() {
        let run = scratch.join(path.to_string());
        let _ = std::fs::remove_dir_all(&run);
        let res = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["reproduce", "--profile", "tiny", "--out"])
            .arg(&run)
            .env(mrixai_zoo::simd::Path::ENV, path.to_string())
            .output()
            .expect("spawn xtask");
        let err = String::from_utf8_lossy(&res.stderr);
        assert!(res.status.success(), "{path}: {err}");
        let got = sha256_lines(&run);
        let union: std::collections::BTreeSet<&String> = fixture.keys().chain(got.keys()).collect();
        let differ: Vec<&String> = (union.into_iter())
            .filter(|rel| fixture.get(*rel) != got.get(*rel))
            .collect();
        let lines: String = got.iter().map(|(rel, h)| format!("{h}  {rel}\n")).collect();
        assert!(
            differ.is_empty(),
            "instruction path {path}: {} file(s) differ from {}, first {:?}; this run's lines \
             (fixtures/reproducibility/README.md says when to renew them):\n{lines}",
            differ.len(),
            fixture_path.display(),
            &differ[..differ.len().min(5)],
        );
        eprintln!("{path}: {} files as committed", got.len());
        let _ = std::fs::remove_dir_all(&run);
    }
}
