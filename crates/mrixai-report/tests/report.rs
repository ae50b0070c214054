//! Builds a report from a synthetic run folder and checks figures, references and, when
//! Chromium is installed, that the page renders offline without console errors.

use mrixai_core::{Source, SourceName};
use mrixai_report::{ReportOptions, build_report};
use mrixai_stats::analysis::Options;
use mrixai_stats::synthetic::{SyntheticSpec, score_rows};
use mrixai_testkit::Scratch;
use ndarray::{ArrayD, IxDyn};
use std::path::Path;
use std::process::Command;

fn run_dir(name: &str) -> Scratch {
    Scratch::new(&format!("report-{name}"))
}

/// A run folder: scores, a tiny test split and attribution maps for every cell; with
/// `none_correct_for_all`, no sample counts as classified correctly by every model.
fn synthetic_run(d: &Path, samples: usize, none_correct_for_all: bool) -> Vec<String> {
    let mut spec = SyntheticSpec {
        seeds: 2,
        samples,
        ..Default::default()
    };
    spec.metrics.push("pointing_game".into());
    // a binary metric: 1 where the synthetic score is high, else 0
    let mut rows = score_rows(&spec);
    for r in rows.iter_mut().filter(|r| r.metric == "pointing_game") {
        r.value = f64::from(u8::from(r.value > 0.55));
    }
    if none_correct_for_all {
        rows.iter_mut().for_each(|r| r.correct_all = false);
    }
    mrixai_stats::table::write_records(&d.join("scores.parquet"), &rows).unwrap();
    let (h, w) = (24usize, 20usize);
    let mut img = ArrayD::<f32>::zeros(IxDyn(&[samples, 1, h, w]));
    let mut mask = ArrayD::<u8>::zeros(IxDyn(&[samples, 1, h, w]));
    for n in 0..samples {
        for y in 0..h {
            for x in 0..w {
                let r =
                    ((y as f32 - 12.0).powi(2) / 100.0 + (x as f32 - 10.0).powi(2) / 64.0).sqrt();
                img[[n, 0, y, x]] = (1.0 - r).max(0.0) * 0.8;
                if (y as i64 - 8 - (n % 5) as i64).abs() < 3 && (x as i64 - 7).abs() < 3 {
                    mask[[n, 0, y, x]] = 1;
                    img[[n, 0, y, x]] = 1.0;
                }
            }
        }
    }
    let test = d.join("dataset").join("test");
    mrixai_core::npy::write(&test.join("images.npy"), &img).unwrap();
    mrixai_core::npy::write(&test.join("masks.npy"), &mask).unwrap();
    let cells: std::collections::BTreeSet<String> = rows.iter().map(|r| r.cell.clone()).collect();
    for cell in &cells {
        for (mi, (method, _)) in spec.methods.iter().enumerate() {
            let a = img.mapv(|v| v * (1.0 + mi as f32)) + mask.mapv(|m| f32::from(m) * 2.0);
            mrixai_core::npy::write(
                &d.join("cells")
                    .join(cell)
                    .join("attributions")
                    .join(format!("{method}.npy")),
                &a,
            )
            .unwrap();
        }
    }
    std::fs::write(
        d.join("run.json"),
        r#"{"profile":"tiny","seeds":{"master":7},"versions":{"mrixai":"0.1.0"},"machine":"test","timings":{"total_s":1.5}}"#,
    )
    .unwrap();
    spec.metrics
}

/// The statistics tables of the run folder `d` (what `mrixai aggregate` writes).
fn write_stats(d: &Path, opts: &ReportOptions) {
    let scores = mrixai_report::scores_path(d).unwrap();
    mrixai_stats::analysis::run(
        &scores,
        &d.join("stats"),
        &opts.stats,
        &mrixai_core::progress::Silent,
    )
    .unwrap();
}

#[test]
fn report_has_every_figure_and_renders_offline() {
    let d = run_dir("full");
    let metrics = synthetic_run(&d, 12, false);
    let opts = ReportOptions {
        stats: Options {
            n_boot: 100,
            ..Default::default()
        },
        ..Default::default()
    };
    let e = build_report(&d, &opts).unwrap_err().to_string();
    assert!(
        e.contains("no statistics tables") && e.contains("stats"),
        "{e}"
    );
    assert!(
        !d.join("stats").exists(),
        "the report computes no statistics"
    );
    write_stats(&d, &opts);
    let summary = build_report(&d, &opts).unwrap();
    let html = std::fs::read_to_string(&summary.index).unwrap();
    let mut expected = vec!["accuracy.svg".to_string()];
    for m in &metrics {
        let spread = if m == "pointing_game" {
            "proportion"
        } else {
            "box"
        };
        for p in [spread, "scatter", "residuals"] {
            expected.push(format!("{p}_{m}.svg"));
        }
    }
    assert_eq!(
        summary.figures.len(),
        expected.len(),
        "{:?}",
        summary.figures
    );
    assert_eq!(html.matches("How to read this:").count(), expected.len());
    // every column the page names exists in its statistics table
    assert!(
        !html.contains("missing-column"),
        "the page names a column a table lacks"
    );
    assert!(html.contains("Wilson interval") && html.contains("hollow: frozen"));
    // the contrast between the two pre-training sources is shown with its CI
    assert!(
        html.contains("mri − ood"),
        "pairwise source contrast missing"
    );
    for f in &expected {
        let path = d.join("report").join("figures").join(f);
        assert!(path.is_file(), "{f} missing");
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{f} is not SVG"
        );
        assert!(
            html.contains(&format!("href=\"figures/{f}\"")),
            "{f} not referenced"
        );
        assert!(summary.figures.contains(f));
    }
    for claim in ["(1)", "(2)", "(3)", "(4)"] {
        assert!(html.contains(claim), "finding {claim} missing");
    }
    assert!(html.contains("supported by this run (p = "));
    assert!(
        html.contains("data:image/png;base64,"),
        "gallery missing: {:?}",
        summary.notes
    );
    assert!(html.contains("tiny"), "run.json not shown");
    // offline: nothing is loaded from elsewhere
    for bad in [
        "src=\"http",
        "href=\"http",
        "url(http",
        "@import",
        "<script",
        "<link",
    ] {
        assert!(!html.contains(bad), "page contains {bad}");
    }
    // same run → byte-identical page
    let first = html.clone();
    build_report(&d, &opts).unwrap();
    assert_eq!(std::fs::read_to_string(&summary.index).unwrap(), first);
    render_in_chromium(&summary.index, &d);
}

fn render_in_chromium(index: &Path, d: &Path) {
    let Some(bin) = chromium() else {
        println!("SKIPPED: chromium is not installed; the page was not rendered");
        return;
    };
    let profile = d.join("chromium-profile");
    let shot = d.join("report.png");
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", index.display()))
        .output()
        .expect("run chromium");
    let log = String::from_utf8_lossy(&out.stderr);
    for line in log.lines() {
        assert!(!line.contains(":CONSOLE("), "console message: {line}");
        assert!(!line.contains("net::ERR_"), "network error: {line}");
    }
    assert!(shot.is_file(), "no screenshot; chromium said: {log}");
    if let Ok(keep) = std::env::var("MRIXAI_REPORT_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
    let dom = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", index.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("Findings") && dom.contains("<svg"),
        "DOM not rendered"
    );
}

/// The path of Chromium (or Chrome) when it is installed.
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new("sh")
                .args(["-c", &format!("command -v {b}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// The pairs of texts of `svg` whose boxes overlap once Chromium has laid the figure out
/// with its real fonts (`None` without Chromium).
fn overlapping_texts(svg: &str, d: &Path, name: &str) -> Option<Vec<String>> {
    let bin = chromium()?;
    let page = d.join(format!("{name}.html"));
    let script = "const t=[...document.querySelectorAll('text')].filter(e=>e.textContent.trim());\
        const r=t.map(e=>e.getBoundingClientRect());const bad=[];\
        for(let i=0;i<t.length;i++)for(let j=i+1;j<t.length;j++){\
        const w=Math.min(r[i].right,r[j].right)-Math.max(r[i].left,r[j].left);\
        const h=Math.min(r[i].bottom,r[j].bottom)-Math.max(r[i].top,r[j].top);\
        if(w>0.5&&h>0.5)bad.push(t[i].textContent+' | '+t[j].textContent);}\
        document.body.setAttribute('data-checked',t.length);\
        document.body.setAttribute('data-overlaps',bad.join(' ;; '));";
    let html =
        format!("<html><body style=\"margin:0\">{svg}<script>{script}</script></body></html>");
    std::fs::write(&page, html).unwrap();
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!(
            "--user-data-dir={}",
            d.join("chromium-profile").display()
        ))
        .args(["--window-size=1600,1200", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    let attr = |key: &str| {
        let start = dom.find(&format!("{key}=\"")).map(|i| i + key.len() + 2)?;
        Some(dom[start..].split('"').next()?.to_string())
    };
    let checked: usize = attr("data-checked")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(checked > 13, "{name}: the figure's texts were not laid out");
    let found = attr("data-overlaps").unwrap_or_default();
    Some(
        found
            .split(" ;; ")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// Every text of the per-method and accuracy figures (tick labels, legend, axis
/// descriptions) is readable at the default width: with the fifteen methods and thirteen
/// configurations of the quick profile, no two texts overlap when Chromium renders them.
#[test]
fn figure_texts_never_overlap_when_rendered() {
    use mrixai_report::figures::{ConfigPoints, accuracy_figure};
    use mrixai_report::method_figures::{
        BoxSeries, PropSeries, Proportion, SeriesStyle, box_figure, box_stats, proportion_figure,
    };
    let d = run_dir("overlap");
    let methods: Vec<String> = [
        "deconvolution",
        "deeplift",
        "grad_cam",
        "gradient",
        "gradient_shap",
        "guided_backprop",
        "guided_grad_cam",
        "input",
        "input_x_gradient",
        "integrated_gradients",
        "lrp",
        "occlusion",
        "oracle",
        "random",
        "sobel",
    ]
    .map(String::from)
    .to_vec();
    let mut configs = vec![("scratch".to_string(), SourceName::from(Source::Scratch))];
    for src in [Source::Ood, Source::Mri] {
        for (k, frozen) in [
            (1, false),
            (1, true),
            (2, false),
            (2, true),
            (3, false),
            (4, false),
        ] {
            let mode = if frozen { " (frozen)" } else { "" };
            configs.push((format!("{src} k={k}{mode}"), src.into()));
        }
    }
    let sources = Source::ALL.map(SourceName::from).to_vec();
    let style = |label: &str, src: &SourceName| SeriesStyle {
        label: label.to_string(),
        color: mrixai_report::figures::source_color(src, &sources),
        hollow: label.contains("frozen"),
    };
    let values: Vec<f64> = (0..40).map(|i| f64::from(i % 7) / 7.0).collect();
    let boxes: Vec<BoxSeries> = configs
        .iter()
        .map(|(l, s)| BoxSeries {
            style: style(l, s),
            boxes: methods.iter().map(|_| box_stats(&values)).collect(),
        })
        .collect();
    let ones: Vec<f64> = (0..40).map(|i| f64::from(u8::from(i % 3 == 0))).collect();
    let props: Vec<PropSeries> = configs
        .iter()
        .map(|(l, s)| PropSeries {
            style: style(l, s),
            props: methods.iter().map(|_| Proportion::of(&ones)).collect(),
        })
        .collect();
    let points: Vec<ConfigPoints> = configs
        .iter()
        .map(|(l, s)| ConfigPoints {
            label: l.clone(),
            source: s.clone(),
            values: vec![0.7, 0.8],
        })
        .collect();
    let figures = [
        ("box", box_figure("emd_score", &methods, &boxes).unwrap()),
        (
            "proportion",
            proportion_figure("pointing_game", &methods, &props).unwrap(),
        ),
        ("accuracy", accuracy_figure(&points, &sources).unwrap()),
    ];
    for (name, svg) in &figures {
        match overlapping_texts(svg, &d, name) {
            Some(found) => assert!(found.is_empty(), "{name}: overlapping texts {found:?}"),
            None => println!("SKIPPED: chromium is not installed; {name} was not rendered"),
        }
    }
}

/// Where no sample is classified correctly by every model (chance-level models in the run),
/// the gallery shows samples its model classified correctly, and says so.
#[test]
fn the_gallery_falls_back_to_the_samples_its_model_got_right() {
    let d = run_dir("gallery");
    synthetic_run(&d, 12, true);
    let opts = ReportOptions {
        stats: Options {
            n_boot: 20,
            n_perm: 0,
            ..Default::default()
        },
        ..Default::default()
    };
    write_stats(&d, &opts);
    let summary = build_report(&d, &opts).unwrap();
    let html = std::fs::read_to_string(&summary.index).unwrap();
    assert!(
        html.contains("data:image/png;base64,"),
        "{:?}",
        summary.notes
    );
    assert!(html.contains("this model (no sample is classified correctly by every model)"));
}

#[test]
fn missing_inputs_are_clear_errors_or_notes() {
    let d = run_dir("bad");
    let e = build_report(&d, &ReportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("scores.parquet"), "{e}");
    // scores only: no gallery, no run.json → notes, not failures
    let rows = score_rows(&SyntheticSpec {
        seeds: 1,
        samples: 6,
        ..Default::default()
    });
    mrixai_stats::table::write_records(&d.join("scores.csv"), &rows).unwrap();
    let opts = ReportOptions {
        stats: Options {
            n_boot: 20,
            ..Default::default()
        },
        ..Default::default()
    };
    write_stats(&d, &opts);
    let s = build_report(&d, &opts).unwrap();
    assert!(
        s.notes.iter().any(|n| n.contains("Gallery skipped")),
        "{:?}",
        s.notes
    );
    let html = std::fs::read_to_string(&s.index).unwrap();
    assert!(html.contains("run.json</code> is absent"));
    // a report folder the user names: an existing one only with force, and never when it
    // holds anything but a report
    let mine = d.join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("index.html"), b"my page").unwrap();
    let to = |force: bool| ReportOptions {
        out: Some(mine.clone()),
        force,
        ..opts.clone()
    };
    let e = build_report(&d, &to(false)).unwrap_err().to_string();
    assert!(e.contains("already exists"), "{e}");
    assert_eq!(std::fs::read(mine.join("index.html")).unwrap(), b"my page");
    std::fs::write(mine.join("notes.txt"), b"mine").unwrap();
    let e = build_report(&d, &to(true)).unwrap_err().to_string();
    assert!(e.contains("notes.txt"), "{e}");
    assert_eq!(std::fs::read(mine.join("index.html")).unwrap(), b"my page");
    std::fs::remove_file(mine.join("notes.txt")).unwrap();
    let s = build_report(&d, &to(true)).unwrap();
    assert_eq!(s.index, mine.join("index.html"));
}
