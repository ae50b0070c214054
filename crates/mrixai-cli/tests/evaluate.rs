//! `mrixai evaluate` end to end on the Captum fixture `vgg_small` and the maps of
//! `fixtures/gtfree`: the table it writes holds Quantus 0.6's numbers (the areas of its
//! region-perturbation curves, its sparseness and complexity); a mistyped metric or baseline
//! is one error and no output.

use mrixai_core::npy;
use mrixai_testkit::{Tolerance, assert_close, fresh_dir, workspace_dir};
use std::path::Path;
use support::run_cmd;

#[path = "support/bin.rs"]
mod support;

#[test]
fn evaluate_writes_quantus_numbers_and_refuses_typos() {
    let root = workspace_dir().join("fixtures");
    let (case, golden) = (root.join("captum/vgg_small"), root.join("gtfree/vgg_small"));
    let dir = fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "evaluate");
    let out = dir.join("gtfree.csv");
    let flags = [
        ("--model", case.as_path()),
        ("--input", &case.join("inputs.npy")),
        ("--target", &case.join("targets.npy")),
        ("--maps", &golden.join("maps.npy")),
        ("--out", &out),
    ];
    let metrics = "region_perturbation_morf,sparseness,complexity";
    let (ok, err) = run_cmd(
        &["evaluate", "--metrics", metrics, "--method", "gradient"],
        &flags,
    );
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("method,sample,metric,value"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let column = |metric: &str| -> Vec<f64> {
        (rows.iter().filter(|r| r[2] == metric))
            .map(|r| r[3].parse().unwrap())
            .collect()
    };
    // Quantus's curves, integrated as `Curves::auc` does (unit-spaced trapezoid)
    let curves = npy::read::<f64>(&golden.join("region_perturbation_morf.npy")).unwrap();
    let areas = curves
        .outer_iter()
        .map(|c| c.sum() - (c[0] + c[c.len() - 1]) / 2.0);
    let largest = Tolerance::of_largest(1e-5, 0.0);
    assert_close(
        "region_perturbation_morf",
        column("region_perturbation_morf"),
        areas,
        largest,
    );
    for m in ["sparseness", "complexity"] {
        let want = npy::read::<f64>(&golden.join(format!("{m}.npy"))).unwrap();
        assert_close(
            m,
            column(m),
            want.iter().copied(),
            Tolerance::relative(1e-6),
        );
    }
    // max-sensitivity re-explains with the method named
    let ms = dir.join("ms.csv");
    let mut f = flags.to_vec();
    f[4] = ("--out", &ms);
    let args = [
        "evaluate",
        "--metrics",
        "max_sensitivity",
        "--method",
        "gradient",
        "--noisy-copies",
        "3",
    ];
    let (ok, err) = run_cmd(&args, &f);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&ms).unwrap();
    let values: Vec<f64> = (text.lines().skip(1))
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(
        values.len() == 6 && values.iter().all(|v| v.is_finite() && *v > 0.0),
        "{text}"
    );
    let cases: [(&[&str], &str); 4] = [
        (&["evaluate", "--metrics", "roar"], "unknown metric `roar`"),
        (&["evaluate", "--baseline", "grey"], "--baseline `grey`"),
        (
            &["evaluate", "--metrics", "max_sensitivity"],
            "name the method",
        ),
        // a setting of no metric computed is refused, not ignored
        (
            &["evaluate", "--metrics", "sparseness", "--patch", "4"],
            "--patch is a setting of",
        ),
    ];
    for (args, says) in cases {
        let fresh = dir.join("typo.csv");
        let mut f = flags.to_vec();
        f[4] = ("--out", &fresh);
        let (ok, err) = run_cmd(args, &f);
        assert!(!ok && err.contains(says), "{err}");
        assert!(!fresh.exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
