//! Table IO and the full analysis on a synthetic table with designed effects.

use mrixai_stats::analysis::{self, Options};
use mrixai_stats::synthetic::{SyntheticSpec, score_rows};
use mrixai_stats::table::{self, ScoreRow, Table};
use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mrixai-stats-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
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
        table::write_long_rows(&p, &rows).unwrap();
        let recs = table::read_records(&p).unwrap();
        assert_eq!(recs.len(), rows.len());
        for (r, w) in recs.iter().zip(&rows) {
            assert_eq!(Some(&r.cell), w.cell.as_ref());
            assert_eq!(r.value, w.value, "{ext}");
            assert_eq!(Some(r.correct_all), w.correct_all);
        }
    }
    // the subset a standalone scorer knows: sample, metric, value (+ method)
    let subset: Vec<ScoreRow> = (0..3)
        .map(|i| ScoreRow {
            method: Some("saliency".into()),
            sample: i,
            metric: "emd_score".into(),
            value: if i == 1 { f64::NAN } else { 0.5 },
            ..Default::default()
        })
        .collect();
    let p = d.join("subset.csv");
    table::write_long_rows(&p, &subset).unwrap();
    let t = Table::read(&p).unwrap();
    assert_eq!(t.names(), ["method", "sample", "metric", "value"]);
    assert!(t.get(1, "value").f64().is_nan());
    let e = table::read_scores(&p).unwrap_err().to_string();
    assert!(e.contains("missing required column(s) cell, source"), "{e}");
    assert!(table::read_scores(&d.join("nope.parquet")).is_err());
    assert!(table::read_scores(&d.join("scores.txt")).is_err());
    std::fs::remove_dir_all(&d).unwrap();
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
    table::write_long_rows(&p, &rows).unwrap();
    let out = d.join("stats");
    let opts = Options {
        n_boot: 200,
        ..Default::default()
    };
    let tables = analysis::run(&p, &out, &opts).unwrap();
    for stem in analysis::TABLE_STEMS {
        assert!(out.join(format!("{stem}.csv")).is_file(), "{stem}.csv");
        assert!(
            out.join(format!("{stem}.parquet")).is_file(),
            "{stem}.parquet"
        );
    }
    // deterministic: same input and seed → byte-identical files
    let out2 = d.join("stats2");
    analysis::run(&p, &out2, &opts).unwrap();
    for stem in analysis::TABLE_STEMS {
        for ext in ["csv", "parquet"] {
            let a = std::fs::read(out.join(format!("{stem}.{ext}"))).unwrap();
            let b = std::fs::read(out2.join(format!("{stem}.{ext}"))).unwrap();
            assert!(a == b, "{stem}.{ext} differs between runs");
        }
    }
    let back = analysis::Tables::read(&out).unwrap();
    assert_eq!(back.get("findings").unwrap().len(), 4);
    let f = tables.get("findings").unwrap();
    let verdicts: Vec<String> = (0..f.len()).map(|i| f.get(i, "verdict").text()).collect();
    assert_eq!(verdicts[0], "supported", "{:?}", f.get(0, "detail"));
    assert_eq!(verdicts[1], "supported", "{:?}", f.get(1, "detail"));
    assert_eq!(verdicts[3], "supported", "{:?}", f.get(3, "detail"));
    assert!(
        f.get(3, "detail").text().contains("lrp_epsilon"),
        "{:?}",
        f.get(3, "detail")
    );
    // scratch models have k = 0: the interaction model is rank-deficient, so the fit
    // falls back and says so
    let fit = tables.get("ols_fit").unwrap();
    assert!(
        fit.get(0, "note").text().contains("rank-deficient"),
        "{:?}",
        fit.rows()[0]
    );
    assert!(fit.get(0, "formula").text().contains("+ pretrained_layers"));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn impossible_tests_become_notes() {
    // one source only and two models: nothing across models can be tested
    let rows: Vec<ScoreRow> = score_rows(&SyntheticSpec {
        seeds: 2,
        samples: 6,
        ..Default::default()
    })
    .into_iter()
    .filter(|r| r.source.as_deref() == Some("scratch"))
    .collect();
    let d = tmp("notes");
    let p = d.join("scores.csv");
    table::write_long_rows(&p, &rows).unwrap();
    let t = analysis::run(
        &p,
        &d.join("stats"),
        &Options {
            n_boot: 50,
            ..Default::default()
        },
    )
    .unwrap();
    let c = t.get("correlation").unwrap();
    assert!(
        c.get(0, "note").text().contains("at least 3"),
        "{:?}",
        c.rows()[0]
    );
    assert!(c.get(0, "r").f64().is_nan());
    let fit = t.get("ols_fit").unwrap();
    assert!(
        fit.get(0, "note").text().contains("single level"),
        "{:?}",
        fit.rows()[0]
    );
    let f = t.get("findings").unwrap();
    assert_eq!(f.get(0, "verdict").text(), "not testable");
    std::fs::remove_dir_all(&d).unwrap();
}
