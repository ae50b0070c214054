//! Bad input through the binary, one table: every case a user reported, with the exit code
//! it must give, the words its message must hold (naming the file, flag or field), and that
//! no partial or hidden output remains. Successful cases (lossless dtypes, missing paths
//! through the tool) are listed with what they must print.
//!
//! | case | expect |
//! |---|---|
//! | `train --out` / `pretrain --out` on a folder of the user's | refused, files kept |
//! | `explain --out`, `score --out`, `predict --out` on an existing file | refused without `--force` |
//! | `explain --target` with `--dataset` | usage error (exit 2) |
//! | unknown key / negative channels in `arch.json` | error naming the key / the value |
//! | `stats --formula` / `--primary-metric` with a typo | error naming the word |
//! | `score --threshold -1` / `1.5` | error naming `--threshold` |
//! | garbage NIfTI | one line, no debug output |
//! | NIfTI without sform/qform | warning, exit 0 |
//! | float64 inputs, float/bool targets, int32/float16 maps | converted, said in a note |
//! | `predict --input x.npy --out logits.npy`, `stats` on a `score` table | work |
//! | a duplicate TOML key, a misplaced key | error naming line and key |
//! | a missing file | the OS reason once |
//! | either/or flags missing | both named |
//! | `--device tpu`; `--device gpu` in a build without the `gpu` feature | usage error; one error naming the feature |

use mrixai_core::{ArrayF, npy};
use mrixai_testkit::{fresh_dir, hidden_entries, workspace_dir};
use support::mrixai;

#[path = "support/bin.rs"]
mod support;
use ndarray::{Array1, IxDyn};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The scratch folder with every input the cases name as `{d}/…`.
fn scratch() -> &'static Path {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let d = fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "bad-input");
        prepare(&d);
        d
    })
}

/// A `.npy` file written by hand (version 1.0) with any dtype descriptor.
fn raw_npy(path: &Path, descr: &str, shape: &[usize], data: &[u8]) {
    let bytes = mrixai_testkit::npy_bytes(descr, false, shape, data);
    std::fs::write(path, bytes).expect("npy");
}

fn copy_model(from: &Path, to: &Path, arch: impl Fn(&mut serde_json::Value)) {
    std::fs::create_dir_all(to).expect("model dir");
    std::fs::copy(from.join("model.safetensors"), to.join("model.safetensors")).expect("copy");
    let text = std::fs::read_to_string(from.join("arch.json")).expect("arch");
    let mut a: serde_json::Value = serde_json::from_str(&text).expect("json");
    arch(&mut a);
    std::fs::write(to.join("arch.json"), a.to_string()).expect("arch");
}

/// Inputs of the cases: the Captum fixture model (and two broken copies), its inputs in
/// several dtypes, maps and masks, a two-method score table, bad configs and NIfTI files, a
/// tiny dataset and a folder of the user's.
fn prepare(d: &Path) {
    let fx = workspace_dir().join("fixtures/captum/vgg_small");
    copy_model(&fx, &d.join("model"), |_| {});
    copy_model(&fx, &d.join("model-extra-key"), |a| {
        a["colour"] = serde_json::json!("red");
    });
    copy_model(&fx, &d.join("model-negative"), |a| {
        a["features"][0] = serde_json::json!(-8);
    });
    let x: ArrayF = npy::read(&fx.join("inputs.npy")).expect("inputs");
    npy::write(&d.join("x.npy"), &x).expect("x");
    npy::write(&d.join("x64.npy"), &x.mapv(f64::from)).expect("x64");
    let n = x.shape()[0];
    let t: Vec<i64> = (0..n as i64).map(|i| i % 2).collect();
    npy::write(&d.join("t.npy"), &Array1::from(t.clone()).into_dyn()).expect("t");
    let tf: Vec<u8> = t.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect();
    raw_npy(&d.join("t-float.npy"), "<f4", &[n], &tf);
    let tb: Vec<u8> = t.iter().map(|&v| v as u8).collect();
    raw_npy(&d.join("t-bool.npy"), "|b1", &[n], &tb);
    let half: Vec<u8> = t.iter().flat_map(|_| 0x3800u16.to_le_bytes()).collect(); // 0.5
    raw_npy(&d.join("t-half.npy"), "<f2", &[n], &half);
    let maps: ArrayF = npy::read(&fx.join("gradient.npy")).expect("maps");
    npy::write(&d.join("maps.npy"), &maps).expect("maps");
    let i32s: Vec<u8> = maps
        .iter()
        .flat_map(|v| ((v * 1000.0) as i32).to_le_bytes())
        .collect();
    raw_npy(&d.join("maps-i32.npy"), "<i4", maps.shape(), &i32s);
    let f16s: Vec<u8> = maps.iter().flat_map(|_| 0x3c00u16.to_le_bytes()).collect(); // 1.0
    raw_npy(&d.join("maps-f16.npy"), "<f2", maps.shape(), &f16s);
    let mut masks = ndarray::ArrayD::<u8>::zeros(IxDyn(maps.shape()));
    masks.slice_mut(ndarray::s![.., .., 20..30, 20..30]).fill(1);
    npy::write(&d.join("masks.npy"), &masks).expect("masks");
    let mut csv = String::from("method,sample,metric,value\n");
    for i in 0..8 {
        let v = f64::from(i * 37 % 11) / 11.0;
        csv.push_str(&format!(
            "a,{i},emd_score,{v}\nb,{i},emd_score,{}\n",
            v / 2.0
        ));
    }
    std::fs::write(d.join("scores.csv"), csv).expect("scores");
    std::fs::write(d.join("dup.toml"), "subjects = 20\nsubjects = 30\n").expect("toml");
    std::fs::write(d.join("misplaced.toml"), "[subject]\nsubject = 20\n").expect("toml");
    std::fs::create_dir_all(d.join("mri-garbage")).expect("mri");
    std::fs::write(d.join("mri-garbage/t1.nii.gz"), b"not a NIfTI volume").expect("nii");
    unoriented_mri(&d.join("mri-plain"));
    let user = d.join("users-folder");
    std::fs::create_dir_all(&user).expect("user folder");
    std::fs::write(user.join("notes.txt"), b"mine").expect("notes");
    for f in ["users-explain.npy", "users-scores.csv", "users-logits.npy"] {
        std::fs::write(d.join(f), b"mine").expect("user file");
    }
    let out = mrixai()
        .args(["synth", "--quiet", "--seed", "1", "--config"])
        .arg(workspace_dir().join("configs/synth-tiny.toml"))
        .arg("--out")
        .arg(d.join("data"))
        .output()
        .expect("synth");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Colin27 with its header's qform and sform codes set to 0.
fn unoriented_mri(dir: &Path) {
    use std::io::Read as _;
    let gz = std::fs::read(workspace_dir().join("fixtures/mri/ch2bet.nii.gz")).expect("ch2bet");
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .expect("gunzip");
    raw[252..256].fill(0);
    std::fs::create_dir_all(dir).expect("mri");
    std::fs::write(dir.join("colin.nii"), raw).expect("nii");
}

/// One row of the table.
struct Case {
    /// What the user did.
    what: &'static str,
    /// Arguments, `{d}` standing for the scratch folder.
    args: &'static str,
    /// Exit code.
    code: i32,
    /// Words stderr must hold.
    says: &'static str,
    /// A file or folder the command must not leave behind (failures) or must write.
    out: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        what: "predict --device with an unknown device",
        args: "predict --device tpu --model {d}/model --input {d}/x.npy --out {d}/l.npy",
        code: 2,
        says: "invalid value 'tpu' for '--device <cpu|gpu|gpu:N>'",
        out: Some("l.npy"),
    },
    Case {
        what: "train --out on a folder of the user's",
        args: "train --quiet --epochs 1 --dataset {d}/data --out {d}/users-folder --force",
        code: 1,
        says: "notes.txt",
        out: None,
    },
    Case {
        what: "pretrain --out on a folder of the user's",
        args: "pretrain --quiet --epochs 1 --task {d}/data --out {d}/users-folder",
        code: 1,
        says: "already exists",
        out: None,
    },
    Case {
        what: "explain --out on an existing file",
        args: "explain --quiet --model {d}/model --input {d}/x.npy --method gradient --out {d}/users-explain.npy",
        code: 1,
        says: "users-explain.npy: already exists (pass --force",
        out: None,
    },
    Case {
        what: "score --out on an existing file",
        args: "score --quiet --attributions {d}/maps.npy --masks {d}/masks.npy --out {d}/users-scores.csv",
        code: 1,
        says: "users-scores.csv: already exists",
        out: None,
    },
    Case {
        what: "predict --out on an existing file",
        args: "predict --model {d}/model --input {d}/x.npy --out {d}/users-logits.npy",
        code: 1,
        says: "users-logits.npy: already exists",
        out: None,
    },
    Case {
        what: "explain --out on a folder",
        args: "explain --quiet --model {d}/model --input {d}/x.npy --method gradient --out {d}/users-folder --force",
        code: 1,
        says: "is a folder",
        out: None,
    },
    Case {
        what: "explain --target together with --dataset",
        args: "explain --model {d}/model --dataset {d}/data --target {d}/t.npy --method gradient --out {d}/a.npy",
        code: 2,
        says: "'--dataset <DATASET>' cannot be used with '--target <TARGET>'",
        out: Some("a.npy"),
    },
    Case {
        what: "explain --target-class without --dataset",
        args: "explain --model {d}/model --input {d}/x.npy --target-class label --method gradient --out {d}/a.npy",
        code: 2,
        says: "'--input <INPUT>' cannot be used with '--target-class <prediction|label>'",
        out: Some("a.npy"),
    },
    Case {
        what: "explain --target-class with an unknown choice",
        args: "explain --model {d}/model --dataset {d}/data --target-class truth --method gradient --out {d}/a.npy",
        code: 1,
        says: "--target-class must be `prediction` or `label`, got `truth`",
        out: Some("a.npy"),
    },
    Case {
        what: "unknown key in arch.json",
        args: "explain --model {d}/model-extra-key --input {d}/x.npy --method gradient --out {d}/a.npy",
        code: 1,
        says: "arch.json: invalid arch.json: unknown field `colour`",
        out: Some("a.npy"),
    },
    Case {
        what: "negative channels in arch.json",
        args: "predict --model {d}/model-negative --input {d}/x.npy --out {d}/l.npy",
        code: 1,
        says: "-8 is not a convolution width",
        out: Some("l.npy"),
    },
    Case {
        what: "stats --formula with a typo",
        args: "stats --scores {d}/scores.csv --formula 'score ~ acuracy' --out {d}/st",
        code: 1,
        says: "acuracy",
        out: Some("st"),
    },
    Case {
        what: "stats --primary-metric with a typo",
        args: "stats --scores {d}/scores.csv --primary-metric emd_scor --out {d}/st",
        code: 1,
        says: "emd_scor",
        out: Some("st"),
    },
    Case {
        what: "score --threshold -1",
        args: "score --attributions {d}/maps.npy --masks {d}/masks.npy --threshold=-1 --out {d}/s.csv",
        code: 1,
        says: "--threshold must lie in (0, 1]",
        out: Some("s.csv"),
    },
    Case {
        what: "score --threshold 1.5",
        args: "score --attributions {d}/maps.npy --masks {d}/masks.npy --threshold 1.5 --out {d}/s.csv",
        code: 1,
        says: "--threshold must lie in (0, 1]",
        out: Some("s.csv"),
    },
    Case {
        what: "a garbage NIfTI",
        args: "synth --quiet --mri {d}/mri-garbage --out {d}/ds",
        code: 1,
        says: "t1.nii.gz: not a readable NIfTI-1 volume",
        out: Some("ds"),
    },
    Case {
        what: "a duplicate key in a synth config",
        args: "synth --quiet --config {d}/dup.toml --out {d}/ds",
        code: 1,
        says: "dup.toml: invalid synth config: line 2, column 1 (`subjects`): duplicate key",
        out: Some("ds"),
    },
    Case {
        what: "a key in the wrong section of a synth config",
        args: "synth --quiet --config {d}/misplaced.toml --out {d}/ds",
        code: 1,
        says: "misplaced.toml: invalid synth config: line 2, column 1 (`subject.subject`): unknown field `subject`",
        out: Some("ds"),
    },
    Case {
        what: "a missing file",
        args: "score --attributions {d}/nope.npy --masks {d}/masks.npy --out {d}/s.csv",
        code: 1,
        says: "nope.npy: No such file or directory (os error 2)",
        out: Some("s.csv"),
    },
    Case {
        what: "neither of two either/or flags (explain)",
        args: "explain --model {d}/model --method gradient --out {d}/a.npy",
        code: 2,
        says: "<--dataset <DATASET>|--input <INPUT>>",
        out: Some("a.npy"),
    },
    Case {
        what: "neither of two either/or flags (score)",
        args: "score --attributions {d}/maps.npy --out {d}/s.csv",
        code: 2,
        says: "<--masks <MASKS>|--dataset <DATASET>>",
        out: Some("s.csv"),
    },
    Case {
        what: "both of two either/or flags (predict)",
        args: "predict --model {d}/model --dataset {d}/data --input {d}/x.npy --out {d}/l.npy",
        code: 2,
        says: "cannot be used with",
        out: Some("l.npy"),
    },
    Case {
        what: "class indices that are not whole numbers",
        args: "explain --model {d}/model --input {d}/x.npy --target {d}/t-half.npy --method gradient --out {d}/a.npy",
        code: 1,
        says: "t-half.npy: target[0] = 0.5 is not a class index",
        out: Some("a.npy"),
    },
    Case {
        what: "float64 inputs with float32 targets",
        args: "explain --quiet --model {d}/model --input {d}/x64.npy --target {d}/t-float.npy --method gradient --out {d}/ok-explain.npy",
        code: 0,
        says: "read float64 as float32",
        out: Some("ok-explain.npy"),
    },
    Case {
        what: "bool targets",
        args: "explain --quiet --model {d}/model --input {d}/x.npy --target {d}/t-bool.npy --method gradient --out {d}/ok-bool.npy",
        code: 0,
        says: "read bool as class indices",
        out: Some("ok-bool.npy"),
    },
    Case {
        what: "int32 maps",
        args: "score --quiet --attributions {d}/maps-i32.npy --masks {d}/masks.npy --out {d}/ok-i32.csv",
        code: 0,
        says: "read int32 as float32",
        out: Some("ok-i32.csv"),
    },
    Case {
        what: "float16 maps",
        args: "score --quiet --attributions {d}/maps-f16.npy --masks {d}/masks.npy --out {d}/ok-f16.csv",
        code: 0,
        says: "read float16 as float32",
        out: Some("ok-f16.csv"),
    },
    Case {
        what: "predict an input batch to logits",
        args: "predict --model {d}/model --input {d}/x.npy --out {d}/ok-logits.npy",
        code: 0,
        says: "",
        out: Some("ok-logits.npy"),
    },
    Case {
        what: "stats on a table score writes",
        args: "stats --quiet --n-boot 10 --n-perm 0 --scores {d}/scores.csv --out {d}/ok-stats",
        code: 0,
        says: "",
        out: Some("ok-stats"),
    },
    Case {
        what: "a NIfTI without sform/qform",
        args: "synth --quiet --config {root}/configs/synth-tiny.toml --mri {d}/mri-plain --out {d}/ok-plain",
        code: 0,
        says: "warning: ",
        out: Some("ok-plain"),
    },
];

/// Splits `args` on spaces, keeping `'quoted parts'` whole, and fills in the folders.
fn argv(args: &str, d: &Path) -> Vec<String> {
    let filled = args
        .replace("{d}", &d.display().to_string())
        .replace("{root}", &workspace_dir().display().to_string());
    let mut out = Vec::new();
    for (i, part) in filled.split('\'').enumerate() {
        if i % 2 == 1 {
            out.push(part.to_string());
        } else {
            out.extend(part.split_whitespace().map(str::to_string));
        }
    }
    out
}

#[test]
fn every_reported_case_behaves_as_documented() {
    let d = scratch();
    let mut failures = Vec::new();
    for case in CASES {
        let res = mrixai()
            .args(argv(case.args, d))
            .output()
            .expect("spawn mrixai");
        let err = String::from_utf8_lossy(&res.stderr);
        let code = res.status.code().unwrap_or(-1);
        let mut wrong = Vec::new();
        if code != case.code {
            wrong.push(format!("exit {code}, want {}", case.code));
        }
        if !err.contains(case.says) {
            wrong.push(format!("stderr lacks `{}`", case.says));
        }
        if code == 1 {
            let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
            if lines.len() != 1 || err.lines().count() != 1 {
                wrong.push("not one error line".into());
            }
            if err.contains("Error {") || err.contains("kind:") {
                wrong.push("debug formatting".into());
            }
            if err.matches("os error").count() > 1 {
                wrong.push("OS reason repeated".into());
            }
        }
        if let Some(out) = case.out
            && d.join(out).exists() != (case.code == 0)
        {
            wrong.push(format!("{out} exists: {}", d.join(out).exists()));
        }
        if !hidden_entries(d).is_empty() {
            wrong.push(format!("hidden entries left: {:?}", hidden_entries(d)));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {} — stderr: {err}",
                case.what,
                wrong.join("; ")
            ));
        }
    }
    // the user's files are untouched
    for f in ["users-explain.npy", "users-scores.csv", "users-logits.npy"] {
        assert_eq!(std::fs::read(d.join(f)).expect("user file"), b"mine", "{f}");
    }
    assert_eq!(
        std::fs::read(d.join("users-folder/notes.txt")).unwrap(),
        b"mine"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let _ = std::fs::remove_dir_all(d);
}

/// Without the cargo feature `gpu`, asking for a GPU is one error naming the feature, before
/// any output is written.
#[cfg(not(feature = "gpu"))]
#[test]
fn a_gpu_in_a_build_without_the_gpu_feature_is_one_clear_error() {
    let case = workspace_dir().join("fixtures/captum/vgg_small");
    let out =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("no-gpu-{}.npy", std::process::id()));
    for sub in ["predict", "explain"] {
        let mut cmd = mrixai();
        cmd.args([sub, "--device", "gpu:1", "--model"])
            .arg(&case)
            .arg("--input")
            .arg(case.join("inputs.npy"))
            .arg("--out")
            .arg(&out);
        if sub == "explain" {
            cmd.args(["--method", "gradient", "--quiet"]);
        }
        let res = cmd.output().expect("spawn mrixai");
        let err = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(1), "{sub}: {err}");
        assert_eq!(err.lines().count(), 1, "{sub}: {err}");
        assert!(
            err.contains("`gpu:1`") && err.contains("cargo feature `gpu`"),
            "{err}"
        );
        assert!(!out.exists(), "{sub} wrote {}", out.display());
    }
}

/// An instruction path the CPU lacks, or an unknown one, in `MRIXAI_SIMD` is one error naming
/// the variable, before any output is written; a lower path gives the default's bytes.
#[test]
fn a_bad_instruction_path_is_one_clear_error_and_lower_paths_agree() {
    let case = workspace_dir().join("fixtures/captum/vgg_small");
    let dir = fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "simd");
    let explain = |path: Option<&str>, out: &Path| {
        let mut cmd = mrixai();
        cmd.args([
            "explain",
            "--method",
            "integrated_gradients",
            "--quiet",
            "--model",
        ])
        .arg(&case)
        .arg("--input")
        .arg(case.join("inputs.npy"))
        .arg("--out")
        .arg(out);
        match path {
            Some(p) => cmd.env("MRIXAI_SIMD", p),
            None => cmd.env_remove("MRIXAI_SIMD"),
        };
        cmd.output().expect("spawn mrixai")
    };
    let best = dir.join("best.npy");
    assert!(explain(None, &best).status.success());
    for bad in ["sse4", "avx1024"] {
        let out = dir.join(format!("{bad}.npy"));
        let res = explain(Some(bad), &out);
        let err = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(1), "{bad}: {err}");
        assert_eq!(err.lines().count(), 1, "{bad}: {err}");
        assert!(err.contains("MRIXAI_SIMD") && err.contains(bad), "{err}");
        assert!(!out.exists(), "{bad} wrote {}", out.display());
    }
    let want = std::fs::read(&best).expect("maps");
    for path in mrixai_zoo::simd::Path::available() {
        let out = dir.join(format!("{path}.npy"));
        let res = explain(Some(&path.to_string()), &out);
        assert!(
            res.status.success(),
            "{path}: {}",
            String::from_utf8_lossy(&res.stderr)
        );
        assert!(
            std::fs::read(&out).expect("maps") == want,
            "{path}: other bytes"
        );
    }
    if mrixai_zoo::simd::Path::detected() != mrixai_zoo::simd::Path::Avx512 {
        let res = explain(Some("avx512"), &dir.join("above.npy"));
        let err = String::from_utf8_lossy(&res.stderr);
        assert!(err.contains("best instruction path"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
