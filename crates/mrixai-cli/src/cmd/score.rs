//! `mrixai score`: scores attribution maps against ground-truth masks and writes a
//! long-format table `sample,metric,value` (plus `method` when given).
//!
//! ```text
//! mrixai score --attributions attr.npy --masks masks.npy --out scores.csv
//! mrixai score --attributions attr.npy --masks masks.npy --out scores.parquet
//! mrixai score --attributions attr.npy --dataset data/ --split test --metrics emd_score,precision
//! ```

use anyhow::{Context, bail};
use mrixai_core::dataset;
use mrixai_metrics::{
    MetricSet, NanPolicy, Pooling, align, binarize, check_finite, check_threshold,
    read_attributions, read_mask,
};
use mrixai_stats::table::{MapScore, write_map_scores};
use std::path::PathBuf;

/// Arguments of `mrixai score`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["masks", "dataset"])))]
pub struct Args {
    /// Attribution maps `.npy` (float32/float64): `[N, …spatial]` or `[N, C, …spatial]`.
    #[arg(long)]
    pub attributions: PathBuf,
    /// Ground-truth masks `.npy`: `[N, …spatial]` or `[N, 1, …spatial]`, binary (0/1) unless
    /// `--threshold` is given.
    #[arg(long)]
    pub masks: Option<PathBuf>,
    /// Dataset folder to take the masks from (with `--split`).
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Split of `--dataset` whose masks are used.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Metric names, comma-separated or repeated (default: all of emd, emd_score, precision,
    /// rank_accuracy, mass_accuracy, positive_mass, pointing_game, auroc,
    /// average_precision). Also: top_k_intersection@K, threshold_{precision,recall,f1}@T.
    #[arg(long, value_delimiter = ',')]
    pub metrics: Vec<String>,
    /// Channel pooling for `[N, C, …]` maps: sum_abs, sum_pos, max_norm, l1, l2, l2_sq.
    /// Without it a single channel is squeezed (signs kept) and several use sum_abs.
    #[arg(long)]
    pub pool: Option<String>,
    /// Binarise a continuous ground truth at this level (GT = value ≥ level). With
    /// `--dataset`, the continuous lesion weights are thresholded instead of the masks.
    #[arg(long)]
    pub threshold: Option<f32>,
    /// What to do with NaN/Inf attributions: `error` (default) or `nan` (NaN scores).
    #[arg(long, default_value = "error")]
    pub nan_policy: String,
    /// The attribution method that made the maps, written as a `method` column (the
    /// name `explain --method` takes).
    #[arg(long)]
    pub method: Option<String>,
    /// Output table, `.csv` or `.parquet` (long format `sample,metric,value`, NaN as NaN).
    #[arg(long, default_value = "scores.csv")]
    pub out: PathBuf,
    /// Replace an existing output file (never a folder, never without this flag).
    #[arg(long)]
    pub force: bool,
    /// Hide the progress bar (results still go to stdout, notes and errors to stderr).
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    super::check_table_path(&args.out, "score")?;
    let set = MetricSet::parse(&args.metrics)?;
    let policy: NanPolicy = args.nan_policy.parse()?;
    mrixai_core::atomic::check_out_file(&args.out, args.force)?;
    let pooling = args
        .pool
        .as_deref()
        .map(str::parse::<Pooling>)
        .transpose()?;
    if let Some(t) = args.threshold {
        check_threshold(t).map_err(|e| anyhow::anyhow!("--{e}"))?;
    }

    let attr_name = args.attributions.display().to_string();
    let (attr, converted) = read_attributions(&args.attributions)?;
    if let Some(note) = converted {
        eprintln!("note: {note}");
    }
    check_finite(attr.view(), policy, &attr_name)?;
    let (mask, mask_name) = match (&args.masks, &args.dataset) {
        (Some(m), _) => (read_mask(m, args.threshold)?, m.display().to_string()),
        (None, Some(d)) => {
            let split: dataset::Split = args.split.parse()?;
            let arrays = dataset::read_split(d, split)?;
            let dir = dataset::split_dir(d, split);
            match args.threshold {
                Some(t) => (
                    binarize(arrays.weights.view(), t),
                    dir.join("weights.npy").display().to_string(),
                ),
                None => (arrays.masks, dir.join("masks.npy").display().to_string()),
            }
        }
        (None, None) => bail!("pass --masks FILE or --dataset DIR"),
    };
    let (attr, mask) = align(attr, mask, pooling, &attr_name, &mask_name)?;
    let n = attr.shape()[0];

    let bar = mrixai_cli::Bar::new(!args.quiet);
    let scores = set.score_batch(attr.view(), mask.view(), &bar)?;

    let names = set.names();
    let mut rows: Vec<MapScore> = Vec::with_capacity(scores.len());
    for (i, row) in scores.outer_iter().enumerate() {
        for (name, &value) in names.iter().zip(row.iter()) {
            rows.push(MapScore {
                method: args.method.clone(),
                sample: i as i64,
                metric: name.to_string(),
                value,
            });
        }
    }
    write_map_scores(&args.out, &rows)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let nan = scores.iter().filter(|v| v.is_nan()).count();
    println!(
        "scored {n} sample(s) on {} metric(s) → {} ({nan} NaN value(s))",
        names.len(),
        args.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mrixai_core::npy;
    use ndarray::{ArrayD, IxDyn};

    fn args(dir: &std::path::Path, out: &str) -> Args {
        Args {
            attributions: dir.join("a.npy"),
            masks: Some(dir.join("m.npy")),
            dataset: None,
            split: "test".into(),
            metrics: vec!["mass_accuracy".into(), "emd".into()],
            pool: None,
            threshold: None,
            nan_policy: "error".into(),
            method: None,
            out: dir.join(out),
            force: true,
            quiet: true,
        }
    }

    #[test]
    fn scores_csv_and_errors() {
        let dir = mrixai_testkit::Scratch::new("score");
        // two samples, [N, C=2, 2, 2] attributions and [N, 1, 2, 2] masks
        let a = ArrayD::from_shape_vec(IxDyn(&[2, 2, 2, 2]), (0..16).map(|v| v as f32).collect())
            .unwrap();
        let mut m = ArrayD::<u8>::zeros(IxDyn(&[2, 1, 2, 2]));
        m[[0, 0, 0, 0]] = 1;
        npy::write(&dir.join("a.npy"), &a).unwrap();
        npy::write(&dir.join("m.npy"), &m).unwrap();
        run(args(&dir, "s.csv")).unwrap();
        let text = std::fs::read_to_string(dir.join("s.csv")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "sample,metric,value");
        assert_eq!(lines.len(), 1 + 2 * 2);
        // sample 0 pooled sum_abs = [4, 6, 8, 10] → mass 4/28
        let v: f64 = lines[1].split(',').nth(2).unwrap().parse().unwrap();
        assert!((v - 4.0 / 28.0).abs() < 1e-12, "{v}");
        assert_eq!(lines[3], "1,mass_accuracy,NaN");
        // the same table as Parquet
        run(args(&dir, "s.parquet")).unwrap();
        let t = mrixai_stats::table::Table::read(&dir.join("s.parquet")).unwrap();
        assert_eq!(t.names(), ["sample", "metric", "value"]);
        assert_eq!(t.len(), 4);
        assert!(
            run(args(&dir, "s.txt"))
                .unwrap_err()
                .to_string()
                .contains("s.txt")
        );
        let mut bad = args(&dir, "s.csv");
        bad.metrics = vec!["nope".into()];
        assert!(run(bad).unwrap_err().to_string().contains("unknown metric"));
        // NaN attributions: error by default, NaN scores on request
        let mut an = a.clone();
        an[[1, 0, 0, 0]] = f32::NAN;
        npy::write(&dir.join("a.npy"), &an).unwrap();
        assert!(
            run(args(&dir, "s.csv"))
                .unwrap_err()
                .to_string()
                .contains("non-finite")
        );
        let mut ok = args(&dir, "n.csv");
        ok.nan_policy = "nan".into();
        run(ok).unwrap();
        // shape mismatch
        npy::write(&dir.join("a.npy"), &ArrayD::<f32>::zeros(IxDyn(&[2, 3, 3]))).unwrap();
        assert!(
            run(args(&dir, "s.csv"))
                .unwrap_err()
                .to_string()
                .contains("a.npy")
        );
    }
}
