//! Checks the numerics against scipy 1.17 / statsmodels 0.15 reference values
//! (fixtures/stats/*.json).

use mrixai_stats::linalg::Matrix;
use mrixai_stats::{corr, formula::Frame, lmm, multitest, nonparam, ols};
use serde_json::Value;
use std::path::PathBuf;

fn load(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/stats")
        .join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn vec_f(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

#[track_caller]
fn close(what: &str, got: f64, want: f64) {
    if want.is_nan() {
        assert!(got.is_nan(), "{what}: got {got}, want NaN");
        return;
    }
    let err = (got - want).abs();
    assert!(
        err <= 1e-8 * want.abs() || err <= 1e-12,
        "{what}: got {got:.17e}, want {want:.17e} (rel {:.2e})",
        err / want.abs()
    );
}

fn close_all(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        close(&format!("{what}[{i}]"), *g, *w);
    }
}

#[test]
fn correlation_matches_scipy() {
    let g = load("correlation.json");
    for case in g["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (x, y) = (vec_f(&case["inputs"]["x"]), vec_f(&case["inputs"]["y"]));
        let e = &case["expected"];
        let p = corr::pearson(&x, &y).unwrap();
        let s = corr::spearman(&x, &y).unwrap();
        close(
            &format!("{name} pearson r"),
            p.r,
            e["pearson_r"].as_f64().unwrap(),
        );
        close(
            &format!("{name} pearson p"),
            p.p,
            e["pearson_p"].as_f64().unwrap(),
        );
        close(
            &format!("{name} spearman rho"),
            s.r,
            e["spearman_rho"].as_f64().unwrap(),
        );
        close(
            &format!("{name} spearman p"),
            s.p,
            e["spearman_p"].as_f64().unwrap(),
        );
        let ci = vec_f(&e["pearson_fisher_ci95"]);
        close_all(&format!("{name} fisher ci"), &[p.ci_low, p.ci_high], &ci);
        assert_eq!(p.n, e["n"].as_u64().unwrap() as usize);
    }
}

#[test]
fn partial_correlation_matches_reference() {
    let g = load("partial_correlation.json");
    let case = &g["cases"][0];
    let i = &case["inputs"];
    let e = &case["expected"];
    let r = corr::partial_correlation(&vec_f(&i["x"]), &vec_f(&i["y"]), &vec_f(&i["z"])).unwrap();
    assert_eq!(r.df as u64, e["df"].as_u64().unwrap());
    close("partial r", r.r, e["r"].as_f64().unwrap());
    close("partial t", r.t, e["t"].as_f64().unwrap());
    close("partial p", r.p, e["pvalue"].as_f64().unwrap());
}

#[test]
fn ols_and_anova_match_statsmodels() {
    let g = load("ols.json");
    let case = &g["cases"][0];
    let t = &case["inputs"]["table"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let frame = Frame::new()
        .with_numeric("score", vec_f(&t["score"]))
        .with_numeric("accuracy", vec_f(&t["accuracy"]))
        .with_categorical("pretrain", strings(&t["pretrain"]))
        .with_numeric("frozen_layers", vec_f(&t["frozen_layers"]));
    let e = &case["expected"];
    let ff = ols::ols(case["inputs"]["formula"].as_str().unwrap(), &frame).unwrap();
    assert_eq!(ff.fit.names, strings(&e["exog_names"]));
    let dm: Vec<Vec<f64>> = e["design_matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(vec_f)
        .collect();
    for (i, row) in dm.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            assert_eq!(ff.design.x.get(i, j), *v, "design[{i}][{j}]");
        }
    }
    let f = &ff.fit;
    close_all("params", &f.params, &vec_f(&e["params"]));
    close_all("bse", &f.bse, &vec_f(&e["bse"]));
    close_all("tvalues", &f.tvalues, &vec_f(&e["tvalues"]));
    close_all("pvalues", &f.pvalues, &vec_f(&e["pvalues"]));
    for (k, v) in [
        ("rsquared", f.rsquared),
        ("rsquared_adj", f.rsquared_adj),
        ("df_resid", f.df_resid),
        ("df_model", f.df_model),
        ("nobs", f.nobs as f64),
        ("ssr", f.ssr),
        ("scale", f.scale),
        ("fvalue", f.fvalue),
        ("f_pvalue", f.f_pvalue),
    ] {
        close(k, v, e[k].as_f64().unwrap());
    }
    let a = ols::anova_type2(&ff).unwrap();
    let av = &e["anova_typ2"];
    let rows: Vec<String> = strings(&av["rows"]);
    assert_eq!(a.iter().map(|r| r.term.clone()).collect::<Vec<_>>(), rows);
    let vals = &av["values"];
    close_all(
        "anova sum_sq",
        &a.iter().map(|r| r.sum_sq).collect::<Vec<_>>(),
        &vec_f(&vals["sum_sq"]),
    );
    close_all(
        "anova df",
        &a.iter().map(|r| r.df).collect::<Vec<_>>(),
        &vec_f(&vals["df"]),
    );
    close_all(
        "anova F",
        &a.iter().map(|r| r.f).collect::<Vec<_>>(),
        &vec_f(&vals["F"]),
    );
    close_all(
        "anova p",
        &a.iter().map(|r| r.p).collect::<Vec<_>>(),
        &vec_f(&vals["PR(>F)"]),
    );

    let red = ols::ols(case["inputs"]["reduced_formula"].as_str().unwrap(), &frame).unwrap();
    let er = &e["reduced"];
    assert_eq!(red.fit.names, strings(&er["exog_names"]));
    close_all("reduced params", &red.fit.params, &vec_f(&er["params"]));
    close(
        "reduced rsquared",
        red.fit.rsquared,
        er["rsquared"].as_f64().unwrap(),
    );
    close(
        "reduced df_resid",
        red.fit.df_resid,
        er["df_resid"].as_f64().unwrap(),
    );
    close_all(
        "reduced residuals",
        &red.fit.residuals,
        &vec_f(&er["residuals"]),
    );
}

#[test]
fn wilcoxon_matches_scipy() {
    let g = load("wilcoxon.json");
    for case in g["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (x, y) = (vec_f(&case["inputs"]["x"]), vec_f(&case["inputs"]["y"]));
        let e = &case["expected"];
        let d = nonparam::wilcoxon(&x, &y, nonparam::WilcoxonMethod::Auto).unwrap();
        let a = nonparam::wilcoxon(&x, &y, nonparam::WilcoxonMethod::Approx).unwrap();
        assert_eq!(
            d.n_zero as u64,
            e["n_zero_differences"].as_u64().unwrap(),
            "{name}"
        );
        close(
            &format!("{name} r_plus"),
            d.r_plus,
            e["r_plus"].as_f64().unwrap(),
        );
        close(
            &format!("{name} r_minus"),
            d.r_minus,
            e["r_minus"].as_f64().unwrap(),
        );
        let want_method = match e["default"]["method_resolved"].as_str().unwrap() {
            "asymptotic" => "approx",
            m => m,
        };
        assert_eq!(d.method, want_method, "{name}");
        close(
            &format!("{name} default stat"),
            d.statistic,
            e["default"]["statistic"].as_f64().unwrap(),
        );
        close(
            &format!("{name} default p"),
            d.pvalue,
            e["default"]["pvalue"].as_f64().unwrap(),
        );
        close(
            &format!("{name} approx stat"),
            a.statistic,
            e["approx"]["statistic"].as_f64().unwrap(),
        );
        close(
            &format!("{name} approx p"),
            a.pvalue,
            e["approx"]["pvalue"].as_f64().unwrap(),
        );
        close(
            &format!("{name} approx z"),
            a.z,
            e["approx"]["zstatistic"].as_f64().unwrap(),
        );
        close(
            &format!("{name} rank-biserial"),
            d.rank_biserial,
            e["rank_biserial"].as_f64().unwrap(),
        );
    }
}

#[test]
fn friedman_matches_scipy() {
    let g = load("friedman.json");
    for case in g["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let groups: Vec<Vec<f64>> = case["inputs"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(vec_f)
            .collect();
        let f = nonparam::friedman(&groups).unwrap();
        let e = &case["expected"];
        close(
            &format!("{name} statistic"),
            f.statistic,
            e["statistic"].as_f64().unwrap(),
        );
        close(
            &format!("{name} p"),
            f.pvalue,
            e["pvalue"].as_f64().unwrap(),
        );
    }
}

#[test]
fn wilson_intervals_match_statsmodels() {
    let g = load("wilson.json");
    for case in g["cases"].as_array().unwrap() {
        let field = |k: &str| case[k].as_f64().unwrap();
        let (x, n) = (field("successes") as usize, field("n") as usize);
        let (lo, hi) = mrixai_stats::describe::wilson_interval(x, n, field("level")).unwrap();
        close_all(
            &format!("wilson {x}/{n}"),
            &[lo, hi],
            &[field("low"), field("high")],
        );
    }
    assert_eq!(mrixai_stats::describe::wilson_interval(1, 0, 0.95), None);
    assert_eq!(mrixai_stats::describe::wilson_interval(3, 2, 0.95), None);
}

#[test]
fn holm_and_bh_match_statsmodels() {
    let g = load("holm.json");
    for case in g["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let p = vec_f(&case["inputs"]["pvalues"]);
        let alpha = case["inputs"]["alpha"].as_f64().unwrap();
        for (key, adj) in [
            ("holm", multitest::holm(&p, alpha).unwrap()),
            ("fdr_bh", multitest::benjamini_hochberg(&p, alpha).unwrap()),
        ] {
            let e = &case["expected"][key];
            close_all(
                &format!("{name} {key}"),
                &adj.p_adjusted,
                &vec_f(&e["pvals_corrected"]),
            );
            let rej: Vec<bool> = e["reject"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_bool().unwrap())
                .collect();
            assert_eq!(adj.reject, rej, "{name} {key} reject");
        }
    }
}

/// The data of fixtures/stats/lmm (generated by its make.R) as columns.
struct LmmData {
    cols: std::collections::BTreeMap<String, Vec<String>>,
}

impl LmmData {
    fn load() -> Self {
        let p = mrixai_testkit::workspace_dir().join("fixtures/stats/lmm/data.csv");
        let text = std::fs::read_to_string(&p).unwrap();
        let mut lines = text.lines();
        let head: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
        let mut cols: std::collections::BTreeMap<String, Vec<String>> =
            head.iter().map(|h| (h.clone(), Vec::new())).collect();
        for l in lines.filter(|l| !l.is_empty()) {
            for (h, v) in head.iter().zip(l.split(',')) {
                cols.get_mut(h).unwrap().push(v.to_string());
            }
        }
        Self { cols }
    }
    fn num(&self, c: &str) -> Vec<f64> {
        self.cols[c].iter().map(|v| v.parse().unwrap()).collect()
    }
    fn group(&self, c: &str) -> lmm::Grouping {
        lmm::Grouping::from_labels(c, &self.cols[c])
    }
}

#[track_caller]
fn near(what: &str, got: f64, want: f64, rel: f64, abs: f64) {
    let err = (got - want).abs();
    assert!(
        err <= rel * want.abs() || err <= abs,
        "{what}: got {got:.10e}, want {want:.10e} (rel {:.2e})",
        err / want.abs()
    );
}

/// Checks a fit's variance components and every coefficient's estimate, SE, Satterthwaite
/// df, t and p against lme4/lmerTest.
fn check_lmm(tag: &str, f: &lmm::LmmFit, want: &Value) {
    near(
        &format!("{tag} REML"),
        f.reml,
        want["reml"].as_f64().unwrap(),
        1e-7,
        1e-9,
    );
    near(
        &format!("{tag} sigma"),
        f.sigma,
        want["sigma"].as_f64().unwrap(),
        1e-5,
        1e-9,
    );
    for (g, v) in f.variances() {
        near(
            &format!("{tag} var {g}"),
            v,
            want["variances"][&g].as_f64().unwrap(),
            1e-3,
            1e-8,
        );
    }
    for c in want["coefficients"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let got = f.coefficient(name).unwrap();
        let w = |k: &str| c[k].as_f64().unwrap();
        near(
            &format!("{tag} {name} estimate"),
            got.estimate,
            w("estimate"),
            1e-5,
            1e-9,
        );
        near(&format!("{tag} {name} se"), got.se, w("se"), 1e-4, 1e-10);
        near(&format!("{tag} {name} df"), got.df, w("df"), 2e-3, 1e-6);
        near(&format!("{tag} {name} t"), got.t, w("t"), 1e-4, 1e-8);
        near(&format!("{tag} {name} p"), got.p, w("p"), 2e-3, 1e-9);
    }
}

#[test]
fn mixed_models_match_lme4_and_lmertest() {
    let want = load("lmm/reference.json");
    let d = LmmData::load();
    let n = d.cols["score"].len();
    let src = &d.cols["source"];
    let ind = |level: &str| {
        src.iter()
            .map(|s| f64::from(u8::from(s == level)))
            .collect::<Vec<_>>()
    };
    let x = Matrix::from_columns(&[
        vec![1.0; n],
        d.num("accuracy"),
        ind("mri"),
        ind("ood"),
        d.num("layers"),
    ])
    .unwrap();
    let names: Vec<String> = [
        "(Intercept)",
        "accuracy",
        "sourcemri",
        "sourceood",
        "layers",
    ]
    .map(String::from)
    .to_vec();
    let both = [d.group("model"), d.group("image")];
    let full = lmm::fit(&x, &d.num("score"), &names, &both).unwrap();
    check_lmm("full", &full, &want["full"]);
    let f = full
        .f_test(&[vec![0.0, 0.0, 1.0, 0.0, 0.0], vec![0.0, 0.0, 0.0, 1.0, 0.0]])
        .unwrap();
    let wf = &want["full"]["source_F"];
    near("source F", f.f, wf["F"].as_f64().unwrap(), 1e-4, 0.0);
    assert_eq!(f.num_df, wf["num_df"].as_f64().unwrap());
    near(
        "source den df",
        f.den_df,
        wf["den_df"].as_f64().unwrap(),
        2e-3,
        0.0,
    );
    near("source p", f.p, wf["p"].as_f64().unwrap(), 2e-3, 1e-9);
    let c = full.contrast(&[0.0, 1.0, 0.0, 0.0, 1.0]).unwrap();
    let wc = &want["full"]["accuracy_plus_layers"];
    near(
        "contrast estimate",
        c.estimate,
        wc["estimate"].as_f64().unwrap(),
        1e-5,
        0.0,
    );
    near("contrast se", c.se, wc["se"].as_f64().unwrap(), 1e-4, 0.0);
    near("contrast df", c.df, wc["df"].as_f64().unwrap(), 2e-3, 0.0);
    near("contrast p", c.p, wc["p"].as_f64().unwrap(), 2e-3, 1e-9);

    let one = Matrix::from_columns(&[vec![1.0; n]]).unwrap();
    let diff = lmm::fit(&one, &d.num("diff"), &["(Intercept)".to_string()], &both).unwrap();
    check_lmm(
        "diff (image variance on the boundary)",
        &diff,
        &want["diff"],
    );

    let xa = Matrix::from_columns(&[vec![1.0; n], d.num("accuracy")]).unwrap();
    let single = lmm::fit(
        &xa,
        &d.num("score"),
        &["(Intercept)".to_string(), "accuracy".to_string()],
        &[d.group("image")],
    )
    .unwrap();
    check_lmm("one grouping", &single, &want["one_grouping"]);
}
