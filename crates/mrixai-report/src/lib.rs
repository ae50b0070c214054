//! # mrixai-report
//!
//! One self-contained HTML page for a run folder: `report/index.html` with inline SVG
//! figures (also saved as `report/figures/*.svg`), statistics tables, a gallery of
//! attribution maps (PNG data URIs), the four findings of the seed study with the test
//! behind each verdict, and the run's configuration. The page needs no JavaScript and makes
//! no network requests.
//!
//! Inputs read from the run folder (the report reads, it computes no statistics):
//! `scores.parquet` (or `scores.csv`) in the long format; the `stats/` tables that
//! `mrixai_stats::analysis::run` (`mrixai stats`, `mrixai aggregate`) wrote; optionally
//! `dataset/test/{images,masks}.npy` and `cells/<cell>/attributions/<method>.npy` for the
//! gallery, and `run.json`.

#![forbid(unsafe_code)]

mod evidence;
pub mod figures;
pub mod gallery;
mod html;
pub mod method_figures;

use mrixai_core::layout::RunLayout;
use mrixai_core::{Error, Result, SourceName, atomic::OutDir};
use mrixai_stats::analysis::{self, Tables};
use mrixai_stats::table::{Record, read_records};
use mrixai_stats::tables::Correlation;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Report settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// Settings the statistics were computed with: the page states them, and the box plots
    /// show the same subset of samples.
    pub stats: analysis::Options,
    /// Number of test samples in the gallery.
    pub gallery_samples: usize,
    /// Report folder (default: `RUN/report`, which the run owns and which is replaced).
    pub out: Option<std::path::PathBuf>,
    /// Replace an existing `out` folder that holds only a report.
    pub force: bool,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            stats: analysis::Options::default(),
            gallery_samples: 4,
            out: None,
            force: false,
        }
    }
}

/// What [`build_report`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSummary {
    /// Path of `index.html`.
    pub index: PathBuf,
    /// File names under `report/figures/`.
    pub figures: Vec<String>,
    /// Notes about parts that were skipped.
    pub notes: Vec<String>,
}

/// Locates the score table of a run folder.
pub fn scores_path(run: &Path) -> Result<PathBuf> {
    let layout = RunLayout::new(run);
    for p in [layout.scores_parquet(), layout.scores_csv()] {
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(Error::invalid(format!(
        "{}: no scores.parquet or scores.csv (the long-format score table) in the run folder",
        run.display()
    )))
}

/// Reads the statistics tables of the run folder (`stats/`).
fn read_stats(run: &Path) -> Result<Tables> {
    let dir = RunLayout::new(run).stats();
    if !dir.is_dir() {
        return Err(Error::invalid(format!(
            "{}: no statistics tables; compute them first (`mrixai stats --scores {} --out {}`, \
             or `mrixai report`, which does so when they are absent)",
            dir.display(),
            scores_path(run)?.display(),
            dir.display()
        )));
    }
    Tables::read(&dir)
}

/// Sanitised file-name fragment.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Sources in display order: the pipeline's ([`Source::ALL`]: scratch, ood, mri), then any
/// other a user's table names, alphabetically.
pub fn source_order(sources: &BTreeSet<SourceName>) -> Vec<SourceName> {
    let mut v: Vec<SourceName> = sources.iter().cloned().collect();
    v.sort_by(|a, b| a.display_order().cmp(&b.display_order()));
    v
}

/// A figure: file name, caption, SVG text.
pub(crate) struct Figure {
    /// File name under `report/figures/`.
    pub file: String,
    /// Caption shown under the figure.
    pub caption: String,
    /// A few sentences beside the figure on how to read it.
    pub how_to_read: String,
    /// The SVG document.
    pub svg: String,
}

/// Builds `run/report/` (atomically replacing an old one) from the run folder and its
/// `stats/` tables, and returns what was written.
pub fn build_report(run: &Path, opts: &ReportOptions) -> Result<ReportSummary> {
    build(run, None, None, opts)
}

/// [`build_report`] with the statistics tables the caller already holds (those in `run/stats`,
/// e.g. as [`analysis::run`] returned them), so they are not read again.
pub fn build_report_with(
    run: &Path,
    tables: &Tables,
    opts: &ReportOptions,
) -> Result<ReportSummary> {
    build(run, None, Some(tables), opts)
}

/// [`build_report`] from the score records and statistics tables the caller holds (what
/// `run`'s score table and `stats/` hold, e.g. as the pipeline's aggregation made them),
/// so that neither is read again.
pub fn build_report_from(
    run: &Path,
    records: &[Record],
    tables: &Tables,
    opts: &ReportOptions,
) -> Result<ReportSummary> {
    build(run, Some(records), Some(tables), opts)
}

/// The report of `run`, with `records` and `tables` or those read from the run folder.
fn build(
    run: &Path,
    records: Option<&[Record]>,
    tables: Option<&Tables>,
    opts: &ReportOptions,
) -> Result<ReportSummary> {
    if !run.is_dir() {
        return Err(Error::invalid(format!(
            "{}: run folder does not exist",
            run.display()
        )));
    }
    let scores = scores_path(run)?;
    let read_scores;
    let records = match records {
        Some(r) => r,
        None => {
            read_scores = read_records(&scores)?;
            &read_scores
        }
    };
    if records.is_empty() {
        return Err(Error::format(&scores, "score table has no rows"));
    }
    let mut notes = Vec::new();
    let read;
    let tables = match tables {
        Some(t) => t,
        None => {
            read = read_stats(run)?;
            &read
        }
    };
    let models = analysis::models(records)?;
    let sources = source_order(&models.values().map(|m| m.source.clone()).collect());
    let methods = distinct(records.iter().map(|r| &r.method));
    let metrics = distinct(records.iter().map(|r| &r.metric));
    let primary = analysis::primary_metric(&metrics, opts.stats.primary_metric.as_deref())
        .unwrap_or_default();

    let input = FigureInput {
        records,
        tables,
        models: &models,
        sources: &sources,
        methods: &methods,
        metrics: &metrics,
        opts,
    };
    let mut figs = vec![accuracy_figure(&input)?];
    box_figures(&input, &mut figs)?;
    scatter_figures(&input, &mut figs)?;

    // gallery
    let gallery = build_gallery(run, records, &models, &methods, opts.gallery_samples);
    let gallery = match gallery {
        Ok(g) => Some(g),
        Err(e) => {
            notes.push(format!("Gallery skipped: {e}"));
            None
        }
    };
    let run_json = read_manifest(run, &mut notes);
    let page = html::page(&html::PageInput {
        run,
        scores: &scores,
        tables,
        figures: &figs,
        gallery: gallery.as_ref(),
        run_json: run_json.as_ref(),
        methods: &methods,
        metrics: &metrics,
        primary: &primary,
        n_models: models.len(),
        n_rows: records.len(),
        notes: &notes,
        opts,
    });
    let index = write_report(run, opts, &figs, &page)?;
    Ok(ReportSummary {
        index,
        figures: figs.iter().map(|f| f.file.clone()).collect(),
        notes,
    })
}

/// The distinct values, sorted.
fn distinct<'a>(values: impl Iterator<Item = &'a String>) -> Vec<String> {
    let set: BTreeSet<&String> = values.collect();
    set.into_iter().cloned().collect()
}

/// The run's manifest, if it has one; one that is not JSON is a note.
fn read_manifest(run: &Path, notes: &mut Vec<String>) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(RunLayout::new(run).manifest()).ok()?;
    serde_json::from_str(&text)
        .map_err(|e| notes.push(format!("run.json is not valid JSON: {e}")))
        .ok()
}

/// Writes the page and its figures into the report folder (the run's own is replaced; a
/// folder the user named only with force) and returns the page's path.
fn write_report(run: &Path, opts: &ReportOptions, figs: &[Figure], page: &str) -> Result<PathBuf> {
    let out = match &opts.out {
        Some(p) => OutDir {
            path: p.clone(),
            replace: opts.force,
        },
        None => OutDir::replacing(RunLayout::new(run).report()),
    };
    let target = out.path.clone();
    let dir = out.begin(REPORT_FILES)?;
    let fig_dir = dir.path().join("figures");
    std::fs::create_dir_all(&fig_dir).map_err(|e| Error::io(&fig_dir, e))?;
    for f in figs {
        mrixai_core::atomic::write_bytes(&fig_dir.join(&f.file), f.svg.as_bytes())?;
    }
    mrixai_core::atomic::write_bytes(&dir.path().join("index.html"), page.as_bytes())?;
    dir.commit()?;
    Ok(target.join("index.html"))
}

/// What a report's figures are drawn from.
struct FigureInput<'a> {
    records: &'a [Record],
    tables: &'a Tables,
    models: &'a BTreeMap<String, mrixai_stats::tables::ModelRow>,
    sources: &'a [SourceName],
    methods: &'a [String],
    metrics: &'a [String],
    opts: &'a ReportOptions,
}

/// Test accuracy of every model per pre-training configuration.
fn accuracy_figure(input: &FigureInput) -> Result<Figure> {
    let FigureInput {
        models,
        sources,
        opts,
        ..
    } = *input;
    let mut configs: BTreeMap<(usize, SourceName, i64, bool), Vec<f64>> = BTreeMap::new();
    for m in models.values() {
        let si = sources.iter().position(|s| *s == m.source).unwrap_or(0);
        configs
            .entry((si, m.source.clone(), m.pretrained_layers, m.frozen))
            .or_default()
            .push(m.accuracy);
    }
    let cfg_points: Vec<figures::ConfigPoints> = configs
        .iter()
        .map(|((_, src, k, fz), v)| figures::ConfigPoints {
            label: config_label(src, *k, *fz, &opts.stats.reference),
            source: src.clone(),
            values: v.clone(),
        })
        .collect();
    Ok(Figure {
        file: "accuracy.svg".into(),
        caption: "Test accuracy of every model (dots: seeds; bar: mean) per pre-training \
                  configuration (source, pre-trained layers k, frozen)."
            .into(),
        how_to_read: "Explanation performance is compared across configurations only after \
                      correcting for accuracy, because better classifiers tend to give better \
                      explanations: configurations far apart here need that correction most. \
                      Models below the analysis's accuracy floor are left out of the statistics."
            .into(),
        svg: figures::accuracy_figure(&cfg_points, sources)?,
    })
}

/// Scores per configuration (source index, k, frozen) and method.
type ConfigScores<'a> = BTreeMap<(usize, i64, bool), BTreeMap<&'a str, Vec<f64>>>;

/// The samples' scores of `metric` (finite, in the analysed subset) per configuration and
/// method.
fn config_scores<'a>(input: &FigureInput<'a>, metric: &str) -> ConfigScores<'a> {
    let subset = input.opts.stats.subset;
    let mut groups: ConfigScores = BTreeMap::new();
    for r in input.records.iter().filter(|r| r.metric == metric) {
        if subset.keeps(r.correct, r.correct_all) && r.value.is_finite() {
            let si = input
                .sources
                .iter()
                .position(|s| *s == r.source)
                .unwrap_or(0);
            groups
                .entry((si, r.pretrained_layers, r.frozen))
                .or_default()
                .entry(&r.method)
                .or_default()
                .push(r.value);
        }
    }
    groups
}

/// The legend entry of each configuration: its label, its source's colour (lighter for
/// fewer pre-trained layers) and hollow marks when frozen.
fn config_styles(input: &FigureInput, groups: &ConfigScores) -> Vec<method_figures::SeriesStyle> {
    let (sources, reference) = (input.sources, &input.opts.stats.reference);
    groups
        .keys()
        .map(|&(si, k, frozen)| {
            let ks: BTreeSet<i64> = groups
                .keys()
                .filter(|(s2, _, _)| *s2 == si)
                .map(|(_, k, _)| *k)
                .collect();
            let j = ks.iter().position(|x| *x == k).unwrap_or(0);
            let t = if ks.len() > 1 {
                0.5 * (1.0 - j as f64 / (ks.len() - 1) as f64)
            } else {
                0.0
            };
            let src = &sources[si];
            method_figures::SeriesStyle {
                label: config_label(src, k, frozen, reference),
                color: figures::lighten(figures::source_color(src, sources), t),
                hollow: frozen,
            }
        })
        .collect()
}

/// One figure per metric of the samples' scores per method and configuration: box plots,
/// or for a binary metric (0/1 per sample) the proportions of ones with Wilson intervals.
fn box_figures(input: &FigureInput, figs: &mut Vec<Figure>) -> Result<()> {
    let (methods, subset) = (input.methods, input.opts.stats.subset);
    for metric in input.metrics {
        let groups = config_scores(input, metric);
        let styles = config_styles(input, &groups);
        let per_method = |by_method: &BTreeMap<&str, Vec<f64>>, m: &String| {
            by_method.get(m.as_str()).cloned().unwrap_or_default()
        };
        let figure = if mrixai_core::is_binary_metric(metric) {
            let series: Vec<method_figures::PropSeries> = (groups.values().zip(&styles))
                .map(|(g, style)| method_figures::PropSeries {
                    style: style.clone(),
                    props: (methods.iter())
                        .map(|m| method_figures::Proportion::of(&per_method(g, m)))
                        .collect(),
                })
                .collect();
            Figure {
                file: format!("proportion_{}.svg", slug(metric)),
                caption: format!(
                    "{metric}: share of test samples ({}) scoring 1, per method and pre-training \
                     configuration (dot), with its 95 % Wilson interval (bar).",
                    subset_words(subset)
                ),
                how_to_read: format!(
                    "{metric} is 1 or 0 per sample, so its distribution is one number, the share \
                     of ones. Each configuration's samples are pooled over its models; the bar \
                     shows how precisely that share is known from these samples. Bars that do \
                     not overlap point to a difference; the tests of the findings use model \
                     means, not these pooled samples."
                ),
                svg: method_figures::proportion_figure(metric, methods, &series)?,
            }
        } else {
            let series: Vec<method_figures::BoxSeries> = (groups.values().zip(&styles))
                .map(|(g, style)| method_figures::BoxSeries {
                    style: style.clone(),
                    boxes: (methods.iter())
                        .map(|m| method_figures::box_stats(&per_method(g, m)))
                        .collect(),
                })
                .collect();
            Figure {
                file: format!("box_{}.svg", slug(metric)),
                caption: format!(
                    "{metric}: distribution over test samples ({}) per method and pre-training \
                     configuration (box: quartiles; line: median; whiskers: 1.5 IQR; hollow: \
                     frozen layers).",
                    subset_words(subset)
                ),
                how_to_read: format!(
                    "One box per configuration within each method, pooled over its models' \
                     samples; {} {metric} is better. Compare methods by where their boxes \
                     sit, and configurations within a method by colour (source), shade (more \
                     pre-trained layers: darker) and fill (hollow: frozen). Wide boxes that \
                     overlap say little; the tests of the findings use model means.",
                    if analysis::higher_is_better(metric) {
                        "higher"
                    } else {
                        "lower"
                    }
                ),
                svg: method_figures::box_figure(metric, methods, &series)?,
            }
        };
        figs.push(figure);
    }
    Ok(())
}

/// Per metric, the model-level scores against accuracy and the residuals after removing
/// accuracy against k, one panel per method.
fn scatter_figures(input: &FigureInput, figs: &mut Vec<Figure>) -> Result<()> {
    let FigureInput {
        tables,
        sources,
        methods,
        metrics,
        opts,
        ..
    } = *input;
    let subset = opts.stats.subset;
    for metric in metrics {
        let mut panels = Vec::new();
        let mut rpanels = Vec::new();
        for method in methods {
            let pts = tables
                .model_scores
                .iter()
                .filter(|r| r.key.metric == *metric && r.key.method == *method)
                .filter(|r| r.score.is_finite())
                .map(|r| figures::Point {
                    x: r.key.model.accuracy,
                    y: r.score,
                    source: r.key.model.source.clone(),
                })
                .collect();
            let mut title = method.clone();
            if let Some(c) = tables.correlation.iter().find(|c| {
                c.metric == *metric && c.method == *method && c.test == Correlation::Pearson
            }) && c.r.is_finite()
            {
                title = format!("{method}  (r = {:.2}, p = {})", c.r, html::fmt_p(c.p));
            }
            panels.push(figures::Panel { title, points: pts });
            let rp = tables
                .residuals
                .iter()
                .filter(|r| r.metric == *metric && r.method == *method)
                .map(|r| figures::Point {
                    x: r.pretrained_layers as f64,
                    y: r.residual,
                    source: r.source.clone(),
                })
                .collect();
            rpanels.push(figures::Panel {
                title: method.clone(),
                points: rp,
            });
        }
        figs.push(Figure {
            file: format!("scatter_{}.svg", slug(metric)),
            caption: format!(
                "{metric} (model mean over {}) against test accuracy, one dot per model, with \
                 per-source least-squares lines; r and p: Pearson across all models.",
                subset_words(subset)
            ),
            how_to_read: format!(
                "A slope means {metric} follows classification performance (finding 1). \
                 Sources whose dots sit on one line differ only through accuracy; a source \
                 whose line lies above or below the others at the same accuracy is what \
                 finding 2 tests."
            ),
            svg: figures::panels_figure(&panels, sources, "accuracy", metric, true, false, 0.0)?,
        });
        figs.push(Figure {
            file: format!("residuals_{}.svg", slug(metric)),
            caption: format!(
                "Residual {metric} after removing accuracy (score ~ accuracy) against the \
                 number of pre-trained layers, one dot per model."
            ),
            how_to_read: format!(
                "What is left of {metric} once accuracy is accounted for. A trend with the \
                 number of pre-trained layers is what finding 3 tests; dots spread evenly \
                 around 0 at every k mean no layer effect beyond accuracy."
            ),
            svg: figures::panels_figure(
                &rpanels,
                sources,
                "pre-trained layers",
                "residual",
                false,
                true,
                0.3,
            )?,
        });
    }
    Ok(())
}

/// What a report folder holds (patterns); a report folder holding anything else is never
/// replaced.
pub const REPORT_FILES: &[&str] = &["index.html", "figures", "figures/*.svg"];

fn subset_words(s: analysis::Subset) -> &'static str {
    match s {
        analysis::Subset::Correct => "samples the model classified correctly",
        analysis::Subset::CorrectAll => "samples every model classified correctly",
    }
}

fn config_label(source: &SourceName, k: i64, frozen: bool, reference: &SourceName) -> String {
    if source == reference && k == 0 {
        source.to_string()
    } else {
        format!("{source} k={k}{}", if frozen { " (frozen)" } else { "" })
    }
}

fn build_gallery(
    run: &Path,
    records: &[Record],
    models: &BTreeMap<String, mrixai_stats::tables::ModelRow>,
    methods: &[String],
    n: usize,
) -> Result<gallery::Gallery> {
    let layout = RunLayout::new(run);
    // the most accurate model that has attribution maps
    let mut cells: Vec<&mrixai_stats::tables::ModelRow> = models.values().collect();
    cells.sort_by(|a, b| b.accuracy.total_cmp(&a.accuracy).then(a.cell.cmp(&b.cell)));
    let cell = cells
        .iter()
        .find(|m| {
            methods
                .iter()
                .any(|method| layout.cell(&m.cell).attributions(method).is_file())
        })
        .ok_or_else(|| Error::invalid("no cells/<cell>/attributions/ folder"))?;
    // samples every model got right (or, when no sample is, as with chance-level models in
    // the run, those this model got right), lowest indices first, one per label in turn so
    // that several classes are shown
    let own = records.iter().filter(|r| r.cell == cell.cell);
    let every_model = own.clone().any(|r| r.correct_all);
    let mut by_label: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for r in own.filter(|r| {
        if every_model {
            r.correct_all
        } else {
            r.correct
        }
    }) {
        by_label.entry(r.label).or_default().insert(r.sample);
    }
    let mut chosen = Vec::new();
    let mut iters: Vec<(i64, Vec<i64>)> = by_label
        .into_iter()
        .rev()
        .map(|(l, s)| (l, s.into_iter().collect()))
        .collect();
    let mut depth = 0;
    while chosen.len() < n && iters.iter().any(|(_, s)| s.len() > depth) {
        for (l, s) in &iters {
            if chosen.len() < n
                && let Some(&x) = s.get(depth)
            {
                chosen.push((x as usize, *l));
            }
        }
        depth += 1;
    }
    iters.clear();
    let (rows, volumes) = gallery::build(run, &cell.cell, methods, &chosen)?;
    if rows.is_empty() {
        return Err(Error::invalid("no test sample could be shown"));
    }
    Ok(gallery::Gallery {
        cell: cell.cell.clone(),
        accuracy: cell.accuracy,
        every_model,
        volumes,
        rows,
    })
}

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
