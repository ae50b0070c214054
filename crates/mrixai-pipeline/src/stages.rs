//! The work of each stage, calling the mrixai crates.

use crate::Source;
use crate::cell_files::{self, CellScore, Prediction};
use crate::config::{MethodJob, OodSource, TrainSettings};
use crate::{Cell, Run};
use mrixai_core::atomic;
use mrixai_core::dataset::{Split, read_split};
use mrixai_core::layout::{CellLayout, DONE, is_done, mark_done};
use mrixai_core::progress::Progress;
use mrixai_core::{Error, Result, seed};
use mrixai_metrics::{MetricSet, Pooling};
use mrixai_stats::analysis::{self, Tables};
use mrixai_stats::table::{Record, write_records};
use mrixai_synth::{SynthConfig, SynthOptions, Task};
use mrixai_zoo::{Compute, InitSpec, Vgg};
use mrixai_zoo::{OodTask, TrainConfig};

use std::path::Path;
use std::time::Instant;

/// Whether the dataset at `out` was made from `cfg` with `seed` (its `dataset.json` says so).
fn dataset_matches(out: &Path, cfg: &SynthConfig, seed: u64) -> bool {
    let Ok(text) = std::fs::read_to_string(out.join("dataset.json")) else {
        return false;
    };
    let Ok(info) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    // compared as typed values: the JSON of an f32 field holds its f64 widening
    // (0.029999999329447746 for 0.03), which does not read back to the same f64 bits
    let made_from = serde_json::from_value::<SynthConfig>(info["config"].clone());
    made_from.is_ok_and(|c| c == *cfg) && info["seed"] == seed
}

/// Synthesises `task` from the synthesis config at `config` into `out`, unless a dataset
/// made from the same config and seed is there; one made from another config is replaced.
/// Returns whether it was made now.
fn synth_once(run: &Run, config: &Path, task: Task, stream: &str, out: &Path) -> Result<bool> {
    let mut cfg = SynthConfig::from_toml_file(config)?;
    cfg.task = task;
    let seed = seed::derive(run.cfg.seed, stream);
    if dataset_matches(out, &cfg, seed) {
        return Ok(false);
    }
    if out.join("dataset.json").is_file() {
        run.progress.note(&format!(
            "synth: {} was made from another synthesis config or seed; making it again",
            out.display()
        ));
    }
    let opts = SynthOptions {
        force: true,
        preview: if task == Task::Lesion { 16 } else { 0 },
        nifti: false,
        progress: run.progress.as_ref(),
    };
    let summary = mrixai_synth::synthesize(&cfg, seed, run.cfg.data.mri.as_deref(), out, &opts)?;
    run.progress.note(&format!(
        "synth: {} dataset {:?} train/val/test images in {:.1} s -> {}",
        task.name(),
        summary.counts,
        summary.elapsed_s,
        out.display()
    ));
    Ok(true)
}

/// Synthesises the benchmark dataset (and the in-domain pre-training dataset).
pub fn dataset(run: &Run) -> Result<()> {
    synth_once(
        run,
        &run.cfg.data.synth_config,
        Task::Lesion,
        "dataset",
        &run.layout().dataset(),
    )?;
    if run.cfg.grid.sources.contains(&Source::Mri) {
        // a lesion task here is rejected when the config is read
        let remade = synth_once(
            run,
            &run.cfg.data.pretrain_synth_config,
            run.cfg.data.pretrain_task,
            "pretrain-dataset",
            &run.layout().pretrain_dataset(Source::Mri),
        )?;
        if remade {
            // the in-domain checkpoint was trained on the old data: train it again
            let done = run.layout().pretrain(Source::Mri).join(DONE);
            if done.is_file() {
                std::fs::remove_file(&done).map_err(|e| Error::io(&done, e))?;
            }
        }
    }
    Ok(())
}

/// The zoo's training configuration for `t`, on `device`.
pub(crate) fn train_config(t: &TrainSettings, device: Compute) -> TrainConfig {
    TrainConfig {
        epochs: t.epochs,
        batch_size: t.batch_size,
        optimizer: t.optimizer,
        lr: t.learning_rate,
        weight_decay: t.weight_decay,
        patience: t.patience,
        device,
        ..TrainConfig::default()
    }
}

/// Spatial shape of the benchmark dataset's samples: square images `[H, H]` or cubic
/// volumes `[S, S, S]` (the shapes the out-of-domain tasks are drawn in).
fn sample_shape(run: &Run) -> Result<Vec<usize>> {
    let dataset = run.layout().dataset();
    let info = mrixai_core::dataset::read_info(&dataset)?;
    let arrays = read_split(&dataset, Split::Val)?;
    let shape = arrays.images.shape();
    let spatial = shape.get(2..).unwrap_or_default();
    if !(4..=5).contains(&shape.len()) || spatial.iter().any(|&n| n != spatial[0]) {
        return Err(Error::format(
            mrixai_core::dataset::split_dir(&dataset, Split::Val).join("images.npy"),
            format!(
                "the pipeline's VGG cells need square slices [N, 1, H, H] or cubic volumes [N, 1, S, S, S], got {shape:?} (task {})",
                info["task"]
            ),
        ));
    }
    Ok(spatial.to_vec())
}

/// Pre-trains the checkpoints of the `ood` and `mri` sources that are not done, at the same
/// time, each on its share of the cores (a checkpoint does not depend on the thread count).
pub fn pretrain(run: &Run) -> Result<()> {
    let pending: Vec<Source> = (run.cfg.grid.sources.iter().copied())
        .filter(|&s| s.is_pretrained() && !is_done(&run.layout().pretrain(s)))
        .collect();
    // all at once: each worker a pre-training
    crate::workers::on_workers(&pending, pending.len(), "pre-training worker", |&source| {
        pretrain_source(run, source)
    })
}

/// Progress of one of the pre-trainings that run at the same time: its notes (epoch
/// summaries), named by source, go to the run; bars would overwrite each other, so none.
struct NotesOf<'a> {
    run: &'a dyn Progress,
    source: &'static str,
}

impl Progress for NotesOf<'_> {
    fn note(&self, line: &str) {
        self.run.note(&format!("pretrain {}: {line}", self.source));
    }
}

/// Pre-trains the checkpoint of `source` (not `scratch`).
fn pretrain_source(run: &Run, source: Source) -> Result<()> {
    let cfg = &run.cfg;
    let tc = train_config(&cfg.pretrain.train, cfg.device);
    let bar = &NotesOf {
        run: run.progress.as_ref(),
        source: source.name(),
    };
    let dir = run.layout().pretrain(source);
    // The run owns its folders: a checkpoint an interrupted run left is replaced.
    let ckpt_out = atomic::OutDir::replacing(run.layout().checkpoint(source));
    let seed = seed::derive(cfg.seed, &format!("pretrain-{}", source.name()));
    let info = match (source, &cfg.pretrain.ood) {
        (Source::Ood, OodSource::Procedural) => {
            let per_class = cfg
                .pretrain
                .ood_images
                .div_ceil(mrixai_zoo::pretrain::OOD_CLASSES.len());
            let shape = sample_shape(run)?;
            let task = OodTask {
                train_per_class: per_class,
                val_per_class: (per_class / 5).max(4),
                test_per_class: (per_class / 5).max(4),
                size: shape[0],
                dims: shape.len(),
            };
            let data_seed = seed::derive(cfg.seed, "pretrain-ood-data");
            mrixai_zoo::pretrain_ood(&task, &cfg.model.arch, &tc, seed, data_seed, &ckpt_out, bar)?
        }
        (Source::Ood, OodSource::Imagenet(weights)) => {
            let &[h, w] = sample_shape(run)?.as_slice() else {
                return Err(Error::config("pretrain.ood", crate::config::IMAGENET_IS_2D));
            };
            mrixai_zoo::import_imagenet(weights, &cfg.model.arch, [h, w], &ckpt_out)?
        }
        _ => mrixai_zoo::train_on_dataset(
            &run.layout().pretrain_dataset(source),
            &cfg.model.arch,
            &tc,
            None,
            seed,
            &ckpt_out,
            bar,
        )?,
    };
    let accuracy = |a: Option<f64>| a.map_or_else(|| "n/a".to_string(), |a| format!("{a:.3}"));
    run.progress.note(&format!(
        "pretrain {}: task {}, val accuracy {}, test accuracy {}",
        source.name(),
        info.task,
        accuracy(info.val_accuracy),
        accuracy(info.test_accuracy)
    ));
    mark_done(&dir)
}

/// What a finished cell records in `cell.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CellRecord {
    /// The cell's id.
    pub id: String,
    /// The cell.
    pub cell: Cell,
    /// Test accuracy of the trained model (whole test split).
    pub test_accuracy: f64,
    /// Validation accuracy of the kept weights.
    pub val_accuracy: Option<f64>,
    /// Epochs trained.
    pub epochs: usize,
    /// Test samples explained (the first ones of the split).
    pub explained: usize,
    /// Seconds spent training.
    pub train_seconds: f64,
    /// Seconds spent per attribution method: its maps and their scores.
    pub method_seconds: std::collections::BTreeMap<String, f64>,
}

/// Trains, explains and scores one cell into its folder `at`.
pub fn cell(run: &Run, cell: &Cell, at: &CellLayout) -> Result<()> {
    let cfg = &run.cfg;
    let dataset = run.layout().dataset();
    std::fs::create_dir_all(at.dir()).map_err(|e| Error::io(at.dir(), e))?;
    // 1. the model
    let model_dir = at.model();
    let t0 = Instant::now();
    let (info, model) = if model_dir.join("model.json").is_file() {
        let model = Vgg::load_on(&model_dir, cfg.device)?;
        (mrixai_zoo::ModelInfo::read(&model_dir)?, model)
    } else {
        let init = cell.source.is_pretrained().then(|| InitSpec {
            checkpoint: run.layout().checkpoint(cell.source),
            pretrained_layers: cell.pretrained_layers,
            frozen: cell.frozen,
            source: Some(cell.source),
        });
        let tc = train_config(&cfg.train, cfg.device);
        mrixai_zoo::train_model_on_dataset(
            &dataset,
            &cfg.model.arch,
            &tc,
            init.as_ref(),
            cell.seed,
            &atomic::OutDir::replacing(&model_dir),
            &mrixai_core::progress::Silent,
        )?
    };
    let train_seconds = t0.elapsed().as_secs_f64();
    // 2. predictions on the explained test samples
    let test = read_split(&dataset, Split::Test)?;
    let n = cfg.explain.max_samples.min(test.len());
    let test = test.select(&(0..n).collect::<Vec<_>>());
    let x = model.prepare(test.images.view())?;
    let logits = model.logits_batched(x.view())?;
    let pred = mrixai_zoo::argmax_rows(&logits);
    let predictions: Vec<Prediction> = (test.label_indices().into_iter())
        .zip(&pred)
        .map(|(label, &prediction)| Prediction { label, prediction })
        .collect();
    cell_files::write_predictions(&at.predictions(), &predictions)?;
    // 3. attributions and scores
    let job = Scoring {
        run,
        model: &model,
        x: x.view(),
        pred: &pred,
        masks: &test.masks,
        metrics: &cfg.score.metrics,
        pooling: cfg.score.pool,
    };
    let mut scores = Vec::new();
    let mut method_seconds = std::collections::BTreeMap::new();
    for method in &cfg.explain.jobs {
        let path = at.attributions(&method.name);
        let t = Instant::now();
        let rows = if method.model_free {
            job.shared_control(method, &path)?
        } else {
            job.explain_and_score(method, &path)?
        };
        method_seconds.insert(method.name.clone(), t.elapsed().as_secs_f64());
        scores.extend(rows);
    }
    cell_files::write_scores(&at.scores(), &scores)?;
    let record = CellRecord {
        id: cfg.cell_id(cell),
        cell: *cell,
        test_accuracy: info.test_accuracy.unwrap_or(f64::NAN),
        val_accuracy: info.val_accuracy,
        epochs: info.epochs,
        explained: n,
        train_seconds,
        method_seconds,
    };
    atomic::write_json(&at.record(), &record)
}

/// What a cell explains and scores with: its model, the explained test samples with their
/// predicted classes and masks, and the run's metrics.
struct Scoring<'a> {
    run: &'a Run,
    model: &'a Vgg,
    x: ndarray::ArrayViewD<'a, f32>,
    pred: &'a [usize],
    masks: &'a ndarray::ArrayD<u8>,
    metrics: &'a MetricSet,
    pooling: Pooling,
}

/// Serialises the computation of the model-free controls shared by a process's cells.
static SHARED_CONTROLS: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Scoring<'_> {
    /// The maps of `method` (read from `path` if there, else computed and written there) and
    /// their scores.
    fn explain_and_score(&self, method: &MethodJob, path: &Path) -> Result<Vec<CellScore>> {
        let name = method.name.as_str();
        let attr = if path.is_file() {
            mrixai_core::npy::read::<f32>(path)?
        } else {
            let job = method.explanation(self.run.cfg.explain.batch_size);
            let attr = mrixai_attrib::explain(
                self.model,
                &job,
                self.x.view(),
                self.pred,
                Some(self.masks.view()),
                &mut |_| {},
            )?;
            mrixai_core::npy::write(path, &attr)?;
            attr
        };
        let (a, m) =
            mrixai_metrics::align(attr, self.masks.clone(), Some(self.pooling), name, "masks")?;
        let table = self
            .metrics
            .score_batch(a.view(), m.view(), &mrixai_core::progress::Silent)?;
        let names = self.metrics.names();
        let mut rows = Vec::with_capacity(table.len());
        for (sample, row) in table.outer_iter().enumerate() {
            for (metric, &value) in names.iter().zip(row.iter()) {
                rows.push(CellScore {
                    method: name.to_string(),
                    sample,
                    metric: metric.clone(),
                    value,
                });
            }
        }
        Ok(rows)
    }

    /// A model-free control ([`MethodJob::model_free`]): its maps and score rows are the same
    /// for every model of the run, so the first cell that needs them computes them into the
    /// run's shared folder and every cell copies them from there.
    fn shared_control(&self, method: &MethodJob, path: &Path) -> Result<Vec<CellScore>> {
        let name = method.name.as_str();
        let dir = self.run.controls_dir();
        let (npy, csv) = (
            dir.join(format!("{name}.npy")),
            dir.join(format!("{name}.csv")),
        );
        if !csv.is_file() {
            let _one_at_a_time = SHARED_CONTROLS.lock().unwrap_or_else(|e| e.into_inner());
            if !csv.is_file() {
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                let rows = self.explain_and_score(method, &npy)?;
                cell_files::write_scores(&csv, &rows)?;
            }
        }
        let maps = std::fs::read(&npy).map_err(|e| Error::io(&npy, e))?;
        atomic::write_bytes(path, &maps)?;
        cell_files::read_scores(&csv)
    }
}

/// The statistics settings of a run.
fn stats_options(run: &Run) -> mrixai_stats::analysis::Options {
    mrixai_stats::analysis::Options {
        seed: seed::derive(run.cfg.seed, "stats"),
        min_accuracy: run.cfg.stats.min_accuracy,
        ..Default::default()
    }
}

/// The score records of the finished cells `cells`: each score of a cell with its model's
/// attributes and its sample's prediction.
fn records(run: &Run, cells: &[Cell]) -> Result<Vec<Record>> {
    let mut done = Vec::new();
    for c in cells {
        let at = run.cell_layout(c);
        let path = at.record();
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let rec: CellRecord =
            serde_json::from_str(&text).map_err(|e| Error::format(&path, e.to_string()))?;
        if !rec.test_accuracy.is_finite() {
            return Err(Error::format(
                &path,
                "test_accuracy is missing or not finite",
            ));
        }
        let predictions = cell_files::read_predictions(&at.predictions())?;
        done.push((at, rec, predictions));
    }
    let n = done.iter().map(|r| r.2.len()).min().unwrap_or(0);
    let correct_all: Vec<bool> = (0..n)
        .map(|i| done.iter().all(|r| r.2[i].label == r.2[i].prediction))
        .collect();
    let mut out = Vec::new();
    for (at, rec, preds) in &done {
        let path = at.scores();
        for s in cell_files::read_scores(&path)? {
            let p = *preds.get(s.sample).ok_or_else(|| {
                Error::format(&path, format!("sample {} has no prediction", s.sample))
            })?;
            if s.value.is_infinite() {
                let what = format!("{} of {} on sample {}", s.metric, s.method, s.sample);
                return Err(Error::format(&path, format!("{what} is infinite")));
            }
            out.push(Record {
                cell: rec.id.clone(),
                source: rec.cell.source.into(),
                pretrained_layers: rec.cell.pretrained_layers as i64,
                frozen: rec.cell.frozen,
                seed: rec.cell.seed as i64,
                model_accuracy: rec.test_accuracy,
                method: s.method,
                sample: s.sample as i64,
                label: p.label as i64,
                prediction: p.prediction as i64,
                correct: p.label == p.prediction,
                correct_all: correct_all.get(s.sample).copied().unwrap_or(false),
                metric: s.metric,
                value: s.value,
            });
        }
    }
    Ok(out)
}

/// Builds the long-format table (`scores.parquet`, `scores.csv`) and the statistics
/// tables (`stats/`) from all cells, and returns both for the report.
pub fn aggregate(run: &Run, cells: &[Cell]) -> Result<(Vec<Record>, Tables)> {
    let records = records(run, cells)?;
    let layout = run.layout();
    write_records(&layout.scores_parquet(), &records)?;
    write_records(&layout.scores_csv(), &records)?;
    let tables = analysis::analyze_with(&records, &stats_options(run), run.progress.as_ref())?;
    tables.write(&layout.stats())?;
    Ok((records, tables))
}

/// Writes the HTML report from the run's score records and statistics tables.
pub fn report(run: &Run, records: &[Record], tables: &Tables) -> Result<()> {
    let opts = mrixai_report::ReportOptions {
        stats: stats_options(run),
        ..Default::default()
    };
    let summary = mrixai_report::build_report_from(&run.dir, records, tables, &opts)?;
    for note in &summary.notes {
        run.progress.note(&format!("report: {note}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dataset made from the quick synthesis config is recognised as made from it, although
    /// some of its floats do not read back from JSON to the same f64 (0.03 as f32 does not),
    /// so a resumed run does not synthesise it (and pre-train on it) again.
    #[test]
    fn a_dataset_is_recognised_by_the_config_it_was_made_from() {
        let path = crate::config::configs_dir().join("synth-quick.toml");
        let cfg = SynthConfig::from_toml_file(&path).unwrap();
        let dir = mrixai_testkit::Scratch::new("dataset-match");
        let info = serde_json::json!({ "config": cfg, "seed": 5 });
        std::fs::write(dir.join("dataset.json"), info.to_string()).unwrap();
        assert!(dataset_matches(&dir, &cfg, 5));
        assert!(!dataset_matches(&dir, &cfg, 6));
        let mut other = cfg.clone();
        other.lesion.area_fraction[0] = 0.04;
        assert!(!dataset_matches(&dir, &other, 5));
    }
}
