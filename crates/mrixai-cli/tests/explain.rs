//! `mrixai explain` end to end: a tiny dataset and checkpoint made with the CLI's own `synth`
//! and `train`, then attribution maps on a dataset split and on `.npy` inputs, determinism
//! (byte-identical reruns, seeded stochastic methods), the checkpoint-file layout of the
//! Captum fixtures, and failing requests (message, non-zero exit, no output file).

use mrixai_core::dataset::{Split, read_split};
use mrixai_core::{ArrayF, npy};
use mrixai_testkit::{hidden_entries, run_ok, workspace_dir};
use ndarray::{Array1, Axis, Slice};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use support::{mrixai, run_cmd, run_out};

#[path = "support/bin.rs"]
mod support;

/// The shared tiny dataset and checkpoint.
struct Fixture {
    dir: PathBuf,
    data: PathBuf,
    model: PathBuf,
}

/// `synth-tiny` (100 images of 32×32, 20 in the test split) and one epoch of `vgg-small`.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        remove_stale(tmp);
        let dir = tmp.join(format!("explain-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        let (data, model) = (dir.join("data"), dir.join("model"));
        run_ok(
            mrixai()
                .args(["synth", "--seed", "1", "--config"])
                .arg(workspace_dir().join("configs/synth-tiny.toml"))
                .arg("--out")
                .arg(&data),
        );
        run_ok(
            mrixai()
                .args([
                    "train",
                    "--seed",
                    "1",
                    "--epochs",
                    "1",
                    "--quiet",
                    "--dataset",
                ])
                .arg(&data)
                .arg("--out")
                .arg(&model),
        );
        Fixture { dir, data, model }
    })
}

/// Removes scratch folders of earlier runs (older than an hour).
fn remove_stale(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 3600);
        if old && e.file_name().to_string_lossy().starts_with("explain-") {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A fresh output path in the scratch folder (removed if it exists).
fn out_path(name: &str) -> PathBuf {
    let p = fixture().dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

/// `mrixai explain --model MODEL ARGS --out OUT`, which must succeed; returns the maps.
fn explain_ok(model: &Path, args: &[&str], out: &Path) -> ArrayF {
    let mut cmd = mrixai();
    cmd.arg("explain").arg("--model").arg(model).args(args);
    run_ok(cmd.arg("--out").arg(out));
    npy::read::<f32>(out).expect("attribution file")
}

/// `mrixai explain ARGS --out OUT` must fail, mention `needle` and leave no `OUT`.
fn explain_fails(args: &[&str], paths: &[(&str, &Path)], needle: &str) {
    let out = out_path("failed.npy");
    let mut cmd = mrixai();
    cmd.arg("explain").args(args);
    for (flag, p) in paths {
        cmd.arg(flag).arg(p);
    }
    cmd.arg("--out").arg(&out);
    let res = cmd.output().expect("spawn mrixai");
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success(), "{cmd:?} succeeded");
    assert!(err.contains(needle), "{cmd:?}: `{needle}` not in: {err}");
    assert!(!out.exists(), "{cmd:?} left {}", out.display());
}

/// The first `n` test images and their labels, written as `.npy` files.
fn inputs(n: usize, tag: &str) -> (PathBuf, PathBuf, ArrayF, Vec<usize>) {
    let s = read_split(&fixture().data, Split::Test).expect("test split");
    let x = s.images.slice_axis(Axis(0), Slice::from(0..n)).to_owned();
    let t: Vec<usize> = s.label_indices()[..n].to_vec();
    let (xp, tp) = (
        fixture().dir.join(format!("{tag}-x.npy")),
        fixture().dir.join(format!("{tag}-t.npy")),
    );
    npy::write(&xp, &x).expect("write x");
    let ti = Array1::from_iter(t.iter().map(|&v| v as i64)).into_dyn();
    npy::write(&tp, &ti).expect("write t");
    (xp, tp, x, t)
}

#[test]
fn dataset_split_gives_one_finite_map_per_sample_byte_identically() {
    let f = fixture();
    let test = read_split(&f.data, Split::Test).expect("test split");
    let data = f.data.to_str().expect("utf-8 path");
    let args = [
        "--dataset",
        data,
        "--split",
        "test",
        "--method",
        "gradient",
        "--batch-size",
        "7",
    ];
    let (a, b) = (out_path("grad-a.npy"), out_path("grad-b.npy"));
    let maps = explain_ok(&f.model, &args, &a);
    assert_eq!(maps.shape(), test.images.shape());
    assert!(maps.iter().all(|v| v.is_finite()));
    assert!(maps.iter().any(|&v| v != 0.0), "all-zero gradients");
    let mut with_nifti = args.to_vec();
    with_nifti.push("--nifti");
    explain_ok(&f.model, &with_nifti, &b);
    assert_eq!(
        std::fs::read(&a).expect("a"),
        std::fs::read(&b).expect("b"),
        "two runs differ"
    );
    assert!(b.with_extension("nii.gz").is_file(), "no NIfTI written");
    // another split has its own sample count
    let val = read_split(&f.data, Split::Val).expect("val split");
    let v = explain_ok(
        &f.model,
        &["--dataset", data, "--split", "val", "--method", "input"],
        &out_path("val.npy"),
    );
    assert_eq!(v.shape(), val.images.shape());
}

#[test]
fn stochastic_method_is_byte_identical_for_a_seed() {
    let f = fixture();
    let data = f.data.to_str().expect("utf-8 path");
    let shap = |seed: &str, out: &Path| {
        let seed = format!("seed={seed}");
        explain_ok(
            &f.model,
            &[
                "--dataset",
                data,
                "--method",
                "gradient_shap",
                "--param",
                "n_samples=4",
                "--param",
                "stdevs=0.1",
                "--param",
                &seed,
            ],
            out,
        )
    };
    let (a, b, c) = (
        out_path("shap-a.npy"),
        out_path("shap-b.npy"),
        out_path("shap-c.npy"),
    );
    let ma = shap("7", &a);
    shap("7", &b);
    let mc = shap("8", &c);
    assert!(ma.iter().all(|v| v.is_finite()));
    assert_eq!(std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
    assert_ne!(ma, mc, "another seed gives the same maps");
}

#[test]
fn input_and_target_files_match_the_dataset_maps() {
    let f = fixture();
    let (xp, tp, x, _) = inputs(4, "match");
    let ig = ["--method", "integrated_gradients", "--param", "n_steps=8"];
    let from_files = explain_ok(
        &f.model,
        &[
            &ig[..],
            &[
                "--input",
                xp.to_str().expect("utf-8"),
                "--target",
                tp.to_str().expect("utf-8"),
            ],
        ]
        .concat(),
        &out_path("files.npy"),
    );
    assert_eq!(from_files.shape(), x.shape());
    let from_dataset = explain_ok(
        &f.model,
        &[
            &ig[..],
            &[
                "--dataset",
                f.data.to_str().expect("utf-8"),
                "--target-class",
                "label",
            ],
        ]
        .concat(),
        &out_path("dataset.npy"),
    );
    let head = from_dataset
        .slice_axis(Axis(0), Slice::from(0..4))
        .to_owned();
    assert_eq!(from_files, head, "--input/--target differ from --dataset");
    // without --target: the predicted class
    let predicted = explain_ok(
        &f.model,
        &[
            "--method",
            "gradient",
            "--input",
            xp.to_str().expect("utf-8"),
        ],
        &out_path("predicted.npy"),
    );
    assert_eq!(predicted.shape(), x.shape());
    assert!(predicted.iter().all(|v| v.is_finite()));
    // --dataset explains the prediction by default, as --input without --target does
    let by_default = explain_ok(
        &f.model,
        &[
            "--method",
            "gradient",
            "--dataset",
            f.data.to_str().expect("utf-8"),
        ],
        &out_path("dataset-default.npy"),
    );
    let head = by_default.slice_axis(Axis(0), Slice::from(0..4)).to_owned();
    assert_eq!(
        predicted, head,
        "--dataset does not default to the prediction"
    );
}

/// `mrixai explain --model FILE` on the Captum cases, an image model and a volumetric one
/// (`[N, C, D, H, W]` in and out).
#[test]
fn captum_fixture_checkpoint_file_reproduces_captum() {
    let cases = [
        ("vgg_small", "gradient", "gradient.npy", None),
        (
            "vgg_small",
            "integrated_gradients",
            "integrated_gradients.npy",
            Some("n_steps=50"),
        ),
        ("vgg3d", "deeplift", "deeplift.npy", None),
    ];
    for (case, method, file, extra) in cases {
        let case = workspace_dir().join("fixtures/captum").join(case);
        let model = case.join("model.safetensors");
        let mut args = vec!["--method", method];
        if let Some(p) = extra {
            args.extend(["--param", p]);
        }
        let x = case.join("inputs.npy");
        let t = case.join("targets.npy");
        args.extend([
            "--input",
            x.to_str().expect("utf-8"),
            "--target",
            t.to_str().expect("utf-8"),
        ]);
        let got = explain_ok(&model, &args, &out_path(&format!("captum-{method}-{file}")));
        let want = npy::read::<f32>(&case.join(file)).expect("fixture");
        assert_eq!(got.shape(), want.shape(), "{method}");
        let mx = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let bad = got
            .iter()
            .zip(want.iter())
            .filter(|(a, r)| a.is_nan() || (*a - *r).abs() > 1e-4 * r.abs() + 1e-5 * mx)
            .count();
        assert_eq!(bad, 0, "{method}: {bad} elements outside tolerance");
    }
}

#[test]
fn bad_requests_fail_with_a_message_and_no_output() {
    let f = fixture();
    let m: (&str, &Path) = ("--model", &f.model);
    let d: (&str, &Path) = ("--dataset", &f.data);
    explain_fails(&["--method", "nope"], &[m, d], "unknown method `nope`");
    // `--help` lists every declared method with its parameters
    let help = mrixai()
        .args(["explain", "--help"])
        .output()
        .expect("spawn mrixai");
    let help = String::from_utf8_lossy(&help.stdout);
    for spec in mrixai_attrib::METHODS {
        assert!(
            help.contains(&format!("  {:<24} {}", spec.name, spec.about)),
            "{}",
            spec.name
        );
    }
    assert!(help.contains("n_steps=50"), "{help}");
    explain_fails(
        &["--method", "gradient", "--param", "bogus=1"],
        &[m, d],
        "gradient.bogus",
    );
    explain_fails(
        &["--method", "integrated_gradients", "--param", "n_steps=0"],
        &[m, d],
        "n_steps",
    );
    explain_fails(
        &["--method", "gradient", "--param", "abs"],
        &[m, d],
        "expected KEY=VALUE",
    );
    explain_fails(
        &["--method", "gradient", "--batch-size", "0"],
        &[m, d],
        "--batch-size",
    );
    explain_fails(
        &["--method", "gradient", "--split", "holdout"],
        &[m, d],
        "--split",
    );
    let missing = f.dir.join("no-such-dataset");
    explain_fails(
        &["--method", "gradient"],
        &[m, ("--dataset", &missing)],
        "no-such-dataset",
    );
    explain_fails(
        &["--method", "gradient"],
        &[("--model", &f.dir.join("no-such-model")), d],
        "no-such-model",
    );
}

/// Targets out of range or of the wrong length, and inputs the model cannot take, fail
/// with a message naming the file and what is wrong.
#[test]
fn bad_inputs_and_targets_fail_with_a_message() {
    let f = fixture();
    let m: (&str, &Path) = ("--model", &f.model);
    let (xp, _, x, _) = inputs(3, "bad");
    let t_range = f.dir.join("t-range.npy");
    npy::write(&t_range, &Array1::from_vec(vec![0i64, 5, 1]).into_dyn()).expect("t");
    explain_fails(
        &["--method", "gradient"],
        &[m, ("--input", &xp), ("--target", &t_range)],
        "t-range.npy: target[1] = 5 is out of range",
    );
    let t_short = f.dir.join("t-short.npy");
    npy::write(&t_short, &Array1::from_vec(vec![0i64, 1]).into_dyn()).expect("t");
    explain_fails(
        &["--method", "gradient"],
        &[m, ("--input", &xp), ("--target", &t_short)],
        "2 target(s) for 3 input sample(s)",
    );
    // inputs the model cannot take: 2 channels for a 1-channel model, too small, not 4-D
    let two = ndarray::concatenate(Axis(1), &[x.view(), x.view()]).expect("2 channels");
    let two_p = f.dir.join("x-2ch.npy");
    npy::write(&two_p, &two).expect("x");
    explain_fails(
        &["--method", "gradient"],
        &[m, ("--input", &two_p)],
        "got [3, 2, 32, 32]",
    );
    let small_p = f.dir.join("x-small.npy");
    npy::write(&small_p, &ArrayF::zeros(ndarray::IxDyn(&[2, 1, 4, 4]))).expect("x");
    explain_fails(
        &["--method", "gradient"],
        &[m, ("--input", &small_p)],
        "got [2, 1, 4, 4]",
    );
    let flat_p = f.dir.join("x-flat.npy");
    npy::write(&flat_p, &ArrayF::zeros(ndarray::IxDyn(&[2, 32, 32]))).expect("x");
    explain_fails(
        &["--method", "gradient"],
        &[m, ("--input", &flat_p)],
        "got [2, 32, 32]",
    );
    let mut nan = x.clone();
    nan[[0, 0, 3, 3]] = f32::NAN;
    let nan_p = f.dir.join("x-nan.npy");
    npy::write(&nan_p, &nan).expect("x");
    explain_fails(
        &["--method", "gradient"],
        &[m, ("--input", &nan_p)],
        "x-nan.npy",
    );
    // the command line itself
    let x = f.dir.join("x.npy");
    let (ok, err) = run_out(&["explain", "--method", "gradient"], &[], &x);
    assert!(!ok, "explain without --model succeeded");
    assert!(err.contains("--model"), "{err}");
}

/// Path-valued flags of a command line.
type Flags<'a> = Vec<(&'a str, &'a Path)>;

/// A folder holding a user's own file, `notes.txt`.
fn folder_with_notes(name: &str) -> PathBuf {
    let d = fixture().dir.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("sub")).expect("folder");
    std::fs::write(d.join("notes.txt"), b"mine").expect("notes");
    std::fs::write(d.join("sub/data.bin"), b"mine too").expect("nested");
    d
}

/// train, pretrain and synth never delete or overwrite a folder they did not write: without
/// `--force` an existing folder is refused, with `--force` a folder holding anything but the
/// command's own files is refused too, untouched, and nothing hidden is left beside it.
#[test]
fn writing_commands_keep_foreign_files() {
    let f = fixture();
    let data = f.data.as_path();
    let train = ["train", "--quiet", "--epochs", "1"];
    let pretrain = ["pretrain", "--quiet", "--epochs", "1"];
    let synth = ["synth", "--seed", "1"];
    let tiny = workspace_dir().join("configs/synth-tiny.toml");
    let cases: Vec<(&str, Vec<&str>, Flags)> = vec![
        ("train", train.to_vec(), vec![("--dataset", data)]),
        ("pretrain", pretrain.to_vec(), vec![("--task", data)]),
        ("synth", synth.to_vec(), vec![("--config", tiny.as_path())]),
    ];
    for (name, args, paths) in &cases {
        let out = folder_with_notes(&format!("foreign-{name}"));
        let (ok, err) = run_out(args, paths, &out);
        assert!(!ok && err.contains("already exists"), "{name}: {err}");
        let mut forced = args.clone();
        forced.push("--force");
        let (ok, err) = run_out(&forced, paths, &out);
        assert!(!ok && err.contains("notes.txt"), "{name} --force: {err}");
        assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"mine");
        assert_eq!(
            std::fs::read(out.join("sub/data.bin")).unwrap(),
            b"mine too"
        );
        assert!(hidden_entries(&f.dir).is_empty(), "{name}: temp left");
    }
    // A checkpoint mrixai wrote is replaced with --force, and only then.
    let model = f.dir.join("model-again");
    let _ = std::fs::remove_dir_all(&model);
    let (ok, err) = run_out(&train, &[("--dataset", data)], &model);
    assert!(ok, "{err}");
    let (ok, err) = run_out(&train, &[("--dataset", data)], &model);
    assert!(!ok && err.contains("--force"), "{err}");
    let mut forced = train.to_vec();
    forced.push("--force");
    let (ok, err) = run_out(&forced, &[("--dataset", data)], &model);
    assert!(ok, "{err}");
    assert!(model.join("model.safetensors").is_file());
    assert!(hidden_entries(&f.dir).is_empty(), "temp left");
}

/// SIGTERM in the middle of a write: the command exits with status 130, removes its
/// temporary folder and leaves no output; SIGKILL leaves one, which the next run removes.
/// explain, score and predict never overwrite an existing file without `--force` (the user's
/// bytes survive and nothing hidden is left); with `--force` they replace it. `stats` refuses
/// an existing folder, and with `--force` one that holds anything but its tables.
#[test]
fn single_file_outputs_are_replaced_only_with_force() {
    let f = fixture();
    let d: (&str, &Path) = ("--dataset", &f.data);
    let maps = out_path("own-maps.npy");
    let (ok, err) = run_out(
        &["explain", "--quiet", "--method", "gradient"],
        &[("--model", &f.model), d],
        &maps,
    );
    assert!(ok, "{err}");
    let (xp, _, _, _) = inputs(3, "force");
    let cases: Vec<(&str, Vec<&str>, Flags)> = vec![
        (
            "explain.npy",
            vec!["explain", "--quiet", "--method", "gradient"],
            vec![("--model", &f.model), d],
        ),
        (
            "scores.csv",
            vec!["score", "--quiet"],
            vec![("--attributions", &maps), d],
        ),
        (
            "logits.npy",
            vec!["predict"],
            vec![("--model", &f.model), ("--input", &xp)],
        ),
    ];
    for (name, args, paths) in &cases {
        let out = f.dir.join(format!("users-{name}"));
        std::fs::write(&out, b"the user's own file").unwrap();
        let (ok, err) = run_out(args, paths, &out);
        assert!(!ok && err.contains("--force"), "{name}: {err}");
        assert_eq!(std::fs::read(&out).unwrap(), b"the user's own file");
        let mut forced = args.clone();
        forced.push("--force");
        let (ok, err) = run_out(&forced, paths, &out);
        assert!(ok, "{name} --force: {err}");
        assert_ne!(std::fs::read(&out).unwrap(), b"the user's own file");
        // a folder is never replaced by a file, with or without --force
        let (ok, err) = run_out(&forced, paths, &f.dir);
        let folder = f.dir.display().to_string();
        assert!(!ok && err.contains(&folder), "{name}: {err}");
        assert!(f.data.join("test/images.npy").is_file());
        assert!(hidden_entries(&f.dir).is_empty(), "{name}: temp left");
    }
    let scores = f.dir.join("two-method-scores.csv");
    let mut csv = String::from("method,sample,metric,value\n");
    for i in 0..8 {
        let v = (i * 37 % 11) as f64 / 11.0;
        csv.push_str(&format!(
            "a,{i},emd_score,{v}\nb,{i},emd_score,{}\n",
            v / 2.0
        ));
    }
    std::fs::write(&scores, csv).unwrap();
    let stats = folder_with_notes("foreign-stats");
    let flags: Flags = vec![("--scores", &scores)];
    let (ok, err) = run_out(
        &["stats", "--n-boot", "10", "--n-perm", "0"],
        &flags,
        &stats,
    );
    assert!(!ok && err.contains("already exists"), "stats: {err}");
    let forced = ["stats", "--n-boot", "10", "--n-perm", "0", "--force"];
    let (ok, err) = run_out(&forced, &flags, &stats);
    assert!(!ok && err.contains("notes.txt"), "stats --force: {err}");
    assert_eq!(std::fs::read(stats.join("notes.txt")).unwrap(), b"mine");
    std::fs::remove_dir_all(&stats).unwrap();
    let (ok, err) = run_out(&forced[..5], &flags, &stats);
    assert!(ok, "{err}");
    let (ok, err) = run_out(&forced, &flags, &stats);
    assert!(ok, "stats --force over its own tables: {err}");
    assert!(stats.join("method_pairs.csv").is_file());
    assert!(hidden_entries(&f.dir).is_empty(), "stats: temp left");
}

#[test]
fn interrupted_writes_leave_nothing_behind() {
    let f = fixture();
    let quick = workspace_dir().join("configs/synth-quick.toml");
    for signal in ["-TERM", "-KILL"] {
        let parent = f.dir.join(format!("interrupt{signal}"));
        let _ = std::fs::remove_dir_all(&parent);
        std::fs::create_dir_all(&parent).unwrap();
        let out = parent.join("data");
        let mut child = mrixai()
            .args(["synth", "--seed", "1", "--config"])
            .arg(&quick)
            .arg("--out")
            .arg(&out)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn mrixai");
        let t0 = std::time::Instant::now();
        while hidden_entries(&parent).is_empty() && t0.elapsed().as_secs() < 60 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(
            !hidden_entries(&parent).is_empty(),
            "no temporary folder seen"
        );
        let killed = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        assert!(killed.success());
        let status = child.wait().expect("wait");
        if signal == "-TERM" {
            assert_eq!(status.code(), Some(130), "{status:?}");
            assert!(
                hidden_entries(&parent).is_empty(),
                "{:?}",
                hidden_entries(&parent)
            );
        } else {
            assert!(
                !hidden_entries(&parent).is_empty(),
                "SIGKILL cannot clean up"
            );
            // the next write to the same path removes the dead process's leftovers
            let tiny = workspace_dir().join("configs/synth-tiny.toml");
            let (ok, err) = run_out(&["synth", "--seed", "1"], &[("--config", &tiny)], &out);
            assert!(ok, "{err}");
            assert!(err.contains("no longer runs"), "{err}");
            assert!(
                hidden_entries(&parent).is_empty(),
                "{:?}",
                hidden_entries(&parent)
            );
        }
        assert!(signal == "-KILL" || !out.exists());
        let _ = std::fs::remove_dir_all(&parent);
    }
}

/// explain → score → stats through the binary: `stats` reads what `score` writes (one
/// model: method comparisons, model-level findings not testable); a mistyped primary
/// metric or formula, an out-of-range threshold and an unknown arch.json key are errors.
#[test]
fn score_tables_feed_stats_and_mistyped_requests_are_errors() {
    let f = fixture();
    let d: (&str, &Path) = ("--dataset", &f.data);
    let scores = f.dir.join("one-model-scores.csv");
    let _ = std::fs::remove_file(&scores);
    let mut csv = String::new();
    for method in ["gradient", "input_x_gradient"] {
        let part = f.dir.join(format!("{method}-scores.csv"));
        let _ = std::fs::remove_file(&part);
        let maps = f.dir.join(format!("{method}-maps.npy"));
        let _ = std::fs::remove_file(&maps);
        let (ok, err) = run_cmd(
            &["explain", "--method", method],
            &[("--model", &f.model), d, ("--out", &maps)],
        );
        assert!(ok, "{err}");
        let (ok, err) = run_cmd(
            &[
                "score",
                "--metrics",
                "emd_score,precision",
                "--method",
                method,
            ],
            &[("--attributions", &maps), d, ("--out", &part)],
        );
        assert!(ok, "{err}");
        let text = std::fs::read_to_string(&part).unwrap();
        if csv.is_empty() {
            csv.push_str(text.lines().next().unwrap());
            csv.push('\n');
        }
        for l in text.lines().skip(1) {
            csv.push_str(l);
            csv.push('\n');
        }
    }
    std::fs::write(&scores, csv).unwrap();
    let stats_dir = f.dir.join("one-model-stats");
    let s: (&str, &Path) = ("--scores", &scores);
    let o: (&str, &Path) = ("--out", &stats_dir);
    let (ok, err) = run_cmd(&["stats", "--n-boot", "20"], &[s, o]);
    assert!(ok, "{err}");
    let pairs = std::fs::read_to_string(stats_dir.join("method_pairs.csv")).unwrap();
    assert!(pairs.contains("paired_t"), "{pairs}");
    let findings = std::fs::read_to_string(stats_dir.join("findings.csv")).unwrap();
    assert!(findings.contains("not testable"), "{findings}");
    let cases: [(&[&str], &str); 3] = [
        (&["stats", "--primary-metric", "emd_scor"], "emd_scor"),
        (&["stats", "--formula", "score ~ acuracy"], "acuracy"),
        (&["stats", "--formula", "score ~ ~"], "formula"),
    ];
    let fresh = f.dir.join("mistyped-stats");
    for (args, needle) in cases {
        let (ok, err) = run_cmd(args, &[s, ("--out", &fresh)]);
        assert!(!ok && err.contains(needle), "{args:?}: {err}");
        assert!(!fresh.exists(), "{args:?} left {}", fresh.display());
    }
    let maps = f.dir.join("gradient-maps.npy");
    for t in ["-1", "1.5", "0"] {
        let flag = format!("--threshold={t}");
        let (ok, err) = run_cmd(
            &["score", &flag],
            &[
                ("--attributions", &maps),
                d,
                ("--out", &f.dir.join("t.csv")),
            ],
        );
        assert!(!ok && err.contains("(0, 1]"), "--threshold {t}: {err}");
        assert!(!f.dir.join("t.csv").exists());
    }
    let arch = std::fs::read_to_string(f.model.join("arch.json")).unwrap();
    let bad_arch = f.dir.join("bad_arch.json");
    std::fs::write(&bad_arch, arch.replacen('{', "{\"widht\": 3,", 1)).unwrap();
    let (ok, err) = run_cmd(
        &["train", "--quiet", "--epochs", "1"],
        &[d, ("--arch", &bad_arch), ("--out", &f.dir.join("never"))],
    );
    assert!(!ok && err.contains("widht"), "{err}");
    assert!(!f.dir.join("never").exists());
}

/// What a PyTorch user saves works: float64 images and float or bool targets give the same
/// maps as float32 and int64 (with a note saying what was converted); int32 maps are scored
/// like their float32 copy; a fractional target is refused with a sentence.
#[test]
fn lossless_dtypes_are_converted_and_said() {
    let f = fixture();
    let (xp, tp, x, t) = inputs(4, "dtype");
    let (x64, tf, tb) = (
        f.dir.join("dtype-x64.npy"),
        f.dir.join("dtype-tf.npy"),
        f.dir.join("dtype-tb.npy"),
    );
    npy::write(&x64, &x.mapv(f64::from)).expect("x64");
    npy::write(
        &tf,
        &Array1::from_iter(t.iter().map(|&v| v as f32)).into_dyn(),
    )
    .expect("tf");
    npy::write(
        &tb,
        &Array1::from_iter(t.iter().map(|&v| v == 1)).into_dyn(),
    )
    .expect("tb");
    let arg = |p: &Path| p.to_str().expect("utf-8").to_string();
    let maps = |x: &Path, t: &Path, name: &str| {
        let args = [
            "--method",
            "gradient",
            "--input",
            &arg(x),
            "--target",
            &arg(t),
        ];
        explain_ok(&f.model, &args, &out_path(name))
    };
    let want = maps(&xp, &tp, "dtype-ref.npy");
    assert_eq!(maps(&x64, &tf, "dtype-64f.npy"), want);
    assert_eq!(maps(&x64, &tb, "dtype-64b.npy"), want);
    let (ok, err) = run_cmd(
        &["explain", "--method", "gradient"],
        &[
            ("--model", &f.model),
            ("--input", &x64),
            ("--target", &tf),
            ("--out", &out_path("n.npy")),
        ],
    );
    assert!(
        ok && err.contains("read float64 as float32")
            && err.contains("read float32 as class indices"),
        "{err}"
    );
    let frac = f.dir.join("dtype-frac.npy");
    npy::write(
        &frac,
        &Array1::from_vec(vec![0.0f32, 0.5, 1.0, 1.0]).into_dyn(),
    )
    .expect("frac");
    explain_fails(
        &[
            "--method",
            "gradient",
            "--input",
            &arg(&xp),
            "--target",
            &arg(&frac),
        ],
        &[("--model", &f.model)],
        "target[1] = 0.5 is not a class index",
    );
    // int32 maps score like their float32 copy
    let ints = want.mapv(|v| (v * 1000.0).round() as i32);
    let (mi, mf) = (f.dir.join("dtype-mi.npy"), f.dir.join("dtype-mf.npy"));
    npy::write(&mi, &ints).expect("mi");
    npy::write(&mf, &ints.mapv(|v| v as f32)).expect("mf");
    let masks = f.dir.join("dtype-masks.npy");
    let s = read_split(&f.data, Split::Test).expect("test split");
    npy::write(
        &masks,
        &s.masks.slice_axis(Axis(0), Slice::from(0..4)).to_owned(),
    )
    .expect("masks");
    let score = |maps: &Path, out: &str| {
        let out = out_path(out);
        let (ok, err) = run_cmd(
            &["score", "--metrics", "emd_score,precision"],
            &[
                ("--attributions", maps),
                ("--masks", &masks),
                ("--out", &out),
            ],
        );
        assert!(ok, "{err}");
        (std::fs::read_to_string(&out).expect("scores"), err)
    };
    let (from_int, note) = score(&mi, "dtype-si.csv");
    assert!(note.contains("read int32 as float32"), "{note}");
    assert_eq!(from_int, score(&mf, "dtype-sf.csv").0);
}

/// `predict` on an input batch writes the logits (`.npy`); on the dataset, a CSV whose
/// predictions are the logits' argmax.
#[test]
fn predict_takes_an_input_batch_and_writes_logits() {
    let f = fixture();
    let (xp, _, x, _) = inputs(5, "predict");
    let logits_path = out_path("logits.npy");
    let (ok, err) = run_cmd(
        &["predict"],
        &[
            ("--model", &f.model),
            ("--input", &xp),
            ("--out", &logits_path),
        ],
    );
    assert!(ok, "{err}");
    let logits = npy::read::<f32>(&logits_path).expect("logits");
    assert_eq!(logits.shape(), &[x.shape()[0], 2]);
    let csv_path = out_path("predictions.csv");
    let (ok, err) = run_cmd(
        &["predict"],
        &[
            ("--model", &f.model),
            ("--dataset", &f.data),
            ("--out", &csv_path),
        ],
    );
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&csv_path).expect("csv");
    assert!(text.starts_with("sample,label,prediction,correct,p_0,p_1"));
    for (i, line) in text.lines().skip(1).take(5).enumerate() {
        let pred: usize = line
            .split(',')
            .nth(2)
            .expect("prediction")
            .parse()
            .expect("int");
        let row = logits.index_axis(Axis(0), i);
        let argmax = usize::from(row[1] > row[0]);
        assert_eq!(pred, argmax, "sample {i}");
    }
    let (ok, err) = run_cmd(
        &["predict"],
        &[
            ("--model", &f.model),
            ("--input", &xp),
            ("--out", &out_path("p.txt")),
        ],
    );
    assert!(!ok && err.contains(".txt"), "{err}");
}

/// An error is one line, `error: <file>: <why>`, each cause said once, and the exit code 1;
/// a garbage NIfTI is described in words, not debug output.
#[test]
fn errors_are_one_line_without_repetition() {
    let f = fixture();
    let missing = f.dir.join("missing.npy");
    let (ok, err) = run_cmd(
        &["score"],
        &[
            ("--attributions", &missing),
            ("--masks", &missing),
            ("--out", &out_path("e.csv")),
        ],
    );
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("missing.npy"),
        "{err}"
    );
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
    let mri = f.dir.join("garbage-mri");
    std::fs::create_dir_all(&mri).expect("folder");
    std::fs::write(mri.join("t1.nii"), b"not a volume").expect("garbage");
    let (ok, err) = run_cmd(
        &["synth", "--quiet"],
        &[("--mri", &mri), ("--out", &f.dir.join("never-synth"))],
    );
    assert!(
        !ok && err.contains("t1.nii") && !err.contains("Error {"),
        "{err}"
    );
    assert!(!f.dir.join("never-synth").exists());
}
