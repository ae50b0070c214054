//! Table IO and the full analysis on a synthetic table with designed effects.

use mrixai_core::progress::Silent;
use mrixai_stats::analysis::{self, Options};
use mrixai_stats::synthetic::{SyntheticSpec, score_rows};
use mrixai_stats::table::{self, MapScore, Record, Table};
use mrixai_testkit::Scratch;

fn tmp(name: &str) -> Scratch {
    Scratch::new(&format!("stats-{name}"))
}

#[test]
fn long_rows_round_trip_parquet_and_csv() {
    let d = tmp("io");
    let rows = score_rows(&SyntheticSpec {
        seeds: 1,
        samples: 4,
        ..Default::default()
    });
    for ext in ["parquet", "csv"] {
        let p = d.join(format!("scores.{ext}"));
        table::write_records(&p, &rows).unwrap();
        let recs = table::read_records(&p).unwrap();
        assert_eq!(recs.len(), rows.len());
        for (r, w) in recs.iter().zip(&rows) {
            assert_eq!(r, w, "{ext}");
        }
    }
    // the subset a standalone scorer knows: sample, metric, value (+ method)
    let subset: Vec<MapScore> = (0..3)
        .map(|i| MapScore {
            method: Some("saliency".into()),
            sample: i,
            metric: "emd_score".into(),
            value: if i == 1 { f64::NAN } else { 0.5 },
        })
        .collect();
    let p = d.join("subset.csv");
    table::write_map_scores(&p, &subset).unwrap();
    let t = Table::read(&p).unwrap();
    assert_eq!(t.names(), ["method", "sample", "metric", "value"]);
    assert!(t.get(1, "value").f64().is_nan());
    let e = table::read_scores(&p).unwrap_err().to_string();
    assert!(e.contains("missing required column(s) cell, source"), "{e}");
    assert!(table::read_scores(&d.join("nope.parquet")).is_err());
    assert!(table::read_scores(&d.join("scores.txt")).is_err());
}

#[test]
fn analysis_finds_the_designed_effects() {
    let rows = score_rows(&SyntheticSpec {
        seeds: 3,
        samples: 30,
        ..Default::default()
    });
    let d = tmp("analysis");
    let p = d.join("scores.parquet");
    table::write_records(&p, &rows).unwrap();
    let out = d.join("stats");
    let opts = Options {
        n_boot: 200,
        ..Default::default()
    };
    let tables = analysis::run(&p, &out, &opts, &Silent).unwrap();
    for stem in analysis::TABLE_STEMS {
        assert!(out.join(format!("{stem}.csv")).is_file(), "{stem}.csv");
        assert!(
            out.join(format!("{stem}.parquet")).is_file(),
            "{stem}.parquet"
        );
    }
    // deterministic: same input and seed → byte-identical files
    let out2 = d.join("stats2");
    analysis::run(&p, &out2, &opts, &Silent).unwrap();
    for stem in analysis::TABLE_STEMS {
        for ext in ["csv", "parquet"] {
            let a = std::fs::read(out.join(format!("{stem}.{ext}"))).unwrap();
            let b = std::fs::read(out2.join(format!("{stem}.{ext}"))).unwrap();
            assert!(a == b, "{stem}.{ext} differs between runs");
        }
    }
    let back = analysis::Tables::read(&out).unwrap();
    // the typed rows read back write the same bytes
    let out3 = d.join("stats3");
    back.write(&out3).unwrap();
    for stem in analysis::TABLE_STEMS {
        for ext in ["csv", "parquet"] {
            let a = std::fs::read(out.join(format!("{stem}.{ext}"))).unwrap();
            let b = std::fs::read(out3.join(format!("{stem}.{ext}"))).unwrap();
            assert!(a == b, "{stem}.{ext} differs after a read and a write");
        }
    }
    // findings 1, 3, 4 once each; finding 2 once per source contrast (mri and ood against
    // scratch, mri against ood)
    assert_eq!(back.table("findings").unwrap().len(), 6);
    let f = tables.table("findings").unwrap();
    let row = |finding: i64, effect: &str| {
        (0..f.len())
            .find(|&i| {
                f.get(i, "finding").i64() == Some(finding)
                    && f.get(i, "effect").text().contains(effect)
            })
            .unwrap_or_else(|| panic!("finding {finding} {effect}: {:?}", f.rows()))
    };
    for (k, effect) in [(1, "r("), (2, "mri"), (3, "layer"), (4, "")] {
        let i = row(k, effect);
        assert_eq!(f.get(i, "verdict").text(), "supported", "{:?}", f.rows()[i]);
    }
    // the planted effects lie inside their CIs: mri +0.05, +0.01 per layer
    let inside = |i: usize, v: f64| f.get(i, "ci_low").f64() < v && v < f.get(i, "ci_high").f64();
    assert!(inside(row(2, "mri"), 0.05), "{:?}", f.rows()[row(2, "mri")]);
    assert!(
        inside(row(3, "layer"), 0.01),
        "{:?}",
        f.rows()[row(3, "layer")]
    );
    for i in 0..f.len() {
        assert!(
            f.get(i, "n_models").i64().unwrap_or(0) > 0,
            "{:?}",
            f.rows()[i]
        );
    }
    assert!(
        f.get(row(4, ""), "detail").text().contains("lrp_epsilon"),
        "{:?}",
        f.get(row(4, ""), "detail")
    );
    // scratch models have k = 0: the interaction model is rank-deficient, so the fit
    // falls back and says so
    let fit = tables.table("ols_fit").unwrap();
    assert!(
        fit.get(0, "note").text().contains("rank-deficient"),
        "{:?}",
        fit.rows()[0]
    );
    assert!(fit.get(0, "formula").text().contains("+ pretrained_layers"));
}

#[test]
fn impossible_tests_become_notes() {
    // one source only and two models: nothing across models can be tested
    let rows: Vec<Record> = score_rows(&SyntheticSpec {
        seeds: 2,
        samples: 6,
        ..Default::default()
    })
    .into_iter()
    .filter(|r| r.source == mrixai_core::Source::Scratch)
    .collect();
    let d = tmp("notes");
    let p = d.join("scores.csv");
    table::write_records(&p, &rows).unwrap();
    let t = analysis::run(
        &p,
        &d.join("stats"),
        &Options {
            n_boot: 50,
            ..Default::default()
        },
        &Silent,
    )
    .unwrap();
    let c = t.table("correlation").unwrap();
    assert!(
        c.get(0, "note").text().contains("at least 3"),
        "{:?}",
        c.rows()[0]
    );
    assert!(c.get(0, "r").f64().is_nan());
    let fit = t.table("ols_fit").unwrap();
    assert!(
        fit.get(0, "note").text().contains("single level"),
        "{:?}",
        fit.rows()[0]
    );
    let f = t.table("findings").unwrap();
    assert_eq!(f.get(0, "verdict").text(), "not testable");
}

/// Writes `rows` to a scratch CSV and analyses them with `n_boot` resamples; returns the
/// scratch folder and the tables.
fn analyse(tag: &str, rows: &[Record], opts: Options) -> (Scratch, analysis::Tables) {
    let d = tmp(tag);
    let p = d.join("scores.csv");
    table::write_records(&p, rows).unwrap();
    let t = analysis::run(&p, &d.join("stats"), &opts, &Silent).unwrap();
    (d, t)
}

/// Adds the model-independent controls: `random` (a value per sample, the same for every
/// model) and `oracle` (1 everywhere), as the pipeline's controls behave.
fn with_controls(rows: Vec<Record>) -> Vec<Record> {
    let mut out = rows.clone();
    for r in rows.iter().filter(|r| r.method == "gradient") {
        let noise = ((r.sample * 37 % 11) as f64) / 50.0;
        for (method, value) in [("random", 0.25 + noise), ("oracle", 1.0)] {
            out.push(Record {
                method: method.to_string(),
                value,
                ..r.clone()
            });
        }
    }
    out
}

/// With 7 models, the sample-level comparisons separate `random` from every real method and
/// `oracle` from every method; controls stay out of the across-model tables (no impossible
/// statistics) and form their own family.
#[test]
fn few_models_separate_the_controls_and_no_statistic_is_impossible() {
    // 10 models (5 configurations × 2 seeds), 3 of them dropped: 7 models
    let dropped = ["ood-k2-s1", "ood-k4-s1", "mri-k4-s1"];
    let rows: Vec<Record> = with_controls(score_rows(&SyntheticSpec {
        seeds: 2,
        samples: 32,
        ..Default::default()
    }))
    .into_iter()
    .filter(|r| !dropped.contains(&r.cell.as_str()))
    .collect();
    let opts = Options {
        n_boot: 20,
        ..Default::default()
    };
    let (_scratch, t) = analyse("controls", &rows, opts);
    assert_eq!(t.table("models").unwrap().len(), 7);
    let mp = t.table("method_pairs").unwrap();
    let real = ["gradient", "integrated_gradients", "lrp_epsilon"];
    for i in 0..mp.len() {
        if mp.get(i, "metric").text() != "emd_score" {
            continue;
        }
        let (a, b) = (mp.get(i, "method_a").text(), mp.get(i, "method_b").text());
        let ctl = ["random", "oracle"].contains(&a.as_str())
            || ["random", "oracle"].contains(&b.as_str());
        assert_eq!(
            mp.get(i, "family").text(),
            if ctl { "controls" } else { "methods" }
        );
        if a == "oracle"
            || b == "oracle"
            || ((a == "random") != (b == "random")
                && (real.contains(&a.as_str()) || real.contains(&b.as_str())))
        {
            let ph = mp.get(i, "p_holm").f64();
            assert!(ph < 0.05, "{a} vs {b} not separated: {:?}", mp.rows()[i]);
        }
    }
    // no control in an across-model table; no impossible value anywhere
    for stem in [
        "correlation",
        "anova",
        "ols_fit",
        "residual_tests",
        "partial_correlation",
    ] {
        let tb = t.table(stem).unwrap();
        for i in 0..tb.len() {
            let m = tb.get(i, "method").text();
            assert!(m != "random" && m != "oracle", "{stem} tests control {m}");
        }
    }
    for stem in analysis::TABLE_STEMS {
        let tb = t.table(stem).unwrap();
        for (name, kind) in tb.names().iter().zip(tb.kinds()) {
            if *kind != mrixai_stats::table::Kind::F64 {
                continue;
            }
            for i in 0..tb.len() {
                let v = tb.get(i, name).f64();
                assert!(!v.is_infinite(), "{stem}.{name} = {v}");
                if ["F", "sum_sq", "fvalue", "se", "df"].contains(&name.as_str()) {
                    assert!(v.is_nan() || v >= 0.0, "{stem}.{name} = {v}");
                }
                if ["r", "rsquared"].contains(&name.as_str()) {
                    assert!(v.is_nan() || v.abs() <= 1.0, "{stem}.{name} = {v}");
                }
                if name.starts_with("p") && !v.is_nan() && name != "pretrained_layers" {
                    assert!((0.0..=1.0).contains(&v), "{stem}.{name} = {v}");
                }
            }
        }
    }
}

/// What `mrixai score` writes (one model's maps, `method,sample,metric,value`) is read as
/// one model: methods are compared by paired t-tests over the images, and the model-level
/// findings are "not testable" with the reason.
#[test]
fn one_models_score_table_gives_method_comparisons() {
    let d = tmp("score-table");
    std::fs::create_dir_all(&d).unwrap();
    let mut csv = String::from("method,sample,metric,value\n");
    for s in 0..24 {
        let noise = ((s * 29 % 13) as f64) / 100.0;
        for (m, base, k) in [
            ("gradient", 0.5, 7),
            ("integrated_gradients", 0.6, 3),
            ("random", 0.3, 11),
        ] {
            let wobble = ((s * k % 5) as f64) / 200.0;
            csv.push_str(&format!("{m},{s},emd_score,{}\n", base + noise + wobble));
        }
    }
    let p = d.join("scores.csv");
    std::fs::write(&p, csv).unwrap();
    let t = analysis::run(
        &p,
        &d.join("stats"),
        &Options {
            n_boot: 20,
            ..Default::default()
        },
        &Silent,
    )
    .unwrap();
    let mp = t.table("method_pairs").unwrap();
    assert_eq!(mp.len(), 3);
    for i in 0..mp.len() {
        assert_eq!(mp.get(i, "test").text(), "paired_t", "{:?}", mp.rows()[i]);
        assert_eq!(mp.get(i, "df").f64(), 23.0);
        assert!(mp.get(i, "p").f64() < 1e-6, "{:?}", mp.rows()[i]);
    }
    let f = t.table("findings").unwrap();
    for i in 0..f.len() {
        let finding = f.get(i, "finding").i64().unwrap();
        let v = f.get(i, "verdict").text();
        if finding < 4 {
            assert_eq!(v, "not testable", "{:?}", f.rows()[i]);
            assert!(!f.get(i, "detail").text().is_empty());
        } else {
            assert_eq!(v, "supported", "{:?}", f.rows()[i]);
        }
    }
}

/// A model at chance is left out of every analysis, by the stated rule, and named in the
/// notes; so is a subset that leaves a model few samples.
#[test]
fn models_at_chance_are_left_out_and_small_subsets_flagged() {
    let rows: Vec<Record> = score_rows(&SyntheticSpec::default())
        .into_iter()
        .map(|mut r| {
            if r.cell == "ood-k2-s0" {
                r.model_accuracy = 0.52;
            }
            r
        })
        .collect();
    let opts = Options {
        n_boot: 20,
        subset: analysis::Subset::CorrectAll,
        ..Default::default()
    };
    let (_scratch, t) = analyse("chance", &rows, opts);
    let models = t.table("models").unwrap();
    assert!((0..models.len()).all(|i| models.get(i, "cell").text() != "ood-k2-s0"));
    let notes = t.table("notes").unwrap();
    let text: Vec<String> = (0..notes.len())
        .map(|i| notes.get(i, "note").text())
        .collect();
    assert!(
        text.iter().any(|n| n.contains("ood-k2-s0 (0.520)")),
        "{text:?}"
    );
}

/// A method whose every score is NaN and a metric with a single value leave "not testable"
/// rows with the reason; nothing crashes; finding 4 carries its MDE.
#[test]
fn all_nan_method_is_not_testable() {
    let rows: Vec<Record> = score_rows(&SyntheticSpec::default())
        .into_iter()
        .map(|mut r| {
            if r.method == "gradient" {
                r.value = f64::NAN;
            }
            r
        })
        .collect();
    let (_scratch, t) = analyse(
        "all-nan",
        &rows,
        Options {
            n_boot: 20,
            ..Default::default()
        },
    );
    let mp = t.table("method_pairs").unwrap();
    for i in 0..mp.len() {
        let a = mp.get(i, "method_a").text();
        let b = mp.get(i, "method_b").text();
        if a == "gradient" || b == "gradient" {
            assert!(
                mp.get(i, "test").text().starts_with("not testable"),
                "{:?}",
                mp.rows()[i]
            );
            assert!(mp.get(i, "p").f64().is_nan());
        }
    }
    let f = t.table("findings").unwrap();
    let four = (0..f.len())
        .find(|&i| f.get(i, "finding").i64() == Some(4))
        .unwrap();
    assert!(f.get(four, "mde").f64() > 0.0, "{:?}", f.rows()[four]);
}
