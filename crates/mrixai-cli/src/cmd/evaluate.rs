//! `mrixai evaluate`: scores attribution maps without ground truth, with the model that made
//! them (region perturbation, pixel flipping, ROAD, faithfulness correlation, max-sensitivity
//! with `--method`, sparseness, complexity; docs/METRICS.md), into a long-format table `[method,] sample, metric, value`
//! that `mrixai stats` reads.
//!
//! ```text
//! mrixai evaluate --model ckpt/ --input x.npy --target t.npy --maps ig.npy --method ig --out gtfree.csv
//! mrixai evaluate --model ckpt/ --dataset data/ --maps ig.npy --metrics sparseness,pixel_flipping
//! ```

use anyhow::bail;
use mrixai_gtfree::{Baseline, Batch, Settings, parse_names, score};
use mrixai_metrics::read_attributions;
use mrixai_stats::table::{MapScore, write_map_scores};
use std::path::PathBuf;

/// Arguments of `mrixai evaluate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The checkpoint, the images the maps explain and their classes.
    #[command(flatten)]
    pub batch: super::ExplainedBatch,
    /// Attribution maps `.npy`: the inputs' shape, or one channel `[N, 1, …spatial]`.
    #[arg(long)]
    pub maps: PathBuf,
    /// Metric names, comma-separated (default: all of region_perturbation_morf,
    /// region_perturbation_lerf, pixel_flipping, road, faithfulness_correlation, sparseness,
    /// complexity; max_sensitivity with `--method`). ROAD runs with Quantus's settings (1, 3,
    /// …, 99 %, noise 0.01, seeded by `--seed`).
    #[arg(long, value_delimiter = ',')]
    pub metrics: Vec<String>,
    /// Region perturbation: side of a patch, in pixels (voxels) [default: 8].
    #[arg(long)]
    pub patch: Option<usize>,
    /// Region perturbation: most patches replaced [default: 100].
    #[arg(long)]
    pub regions: Option<usize>,
    /// Pixel flipping: features replaced per step [default: 1].
    #[arg(long)]
    pub features_in_step: Option<usize>,
    /// Faithfulness correlation: random subsets per sample [default: 100].
    #[arg(long)]
    pub runs: Option<usize>,
    /// Faithfulness correlation: features per subset [default: 224].
    #[arg(long)]
    pub subset: Option<usize>,
    /// Seed of the faithfulness-correlation subsets and of ROAD's and max-sensitivity's noise
    /// [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// What a removed feature becomes: `black` (the sample's smallest value) or a number
    /// [default: black].
    #[arg(long)]
    pub baseline: Option<String>,
    /// The attribution method that made the maps, written as a `method` column; with it,
    /// `max_sensitivity` re-explains noisy inputs with this method.
    #[arg(long)]
    pub method: Option<String>,
    /// Parameter `key=value` of `--method` for max-sensitivity's explanations; repeatable.
    #[arg(long = "param", value_name = "KEY=VALUE", requires = "method")]
    pub params: Vec<String>,
    /// Max-sensitivity: noisy copies per sample [default: 200].
    #[arg(long)]
    pub noisy_copies: Option<usize>,
    /// Max-sensitivity: half-width of the uniform input noise [default: 0.2].
    #[arg(long)]
    pub radius: Option<f32>,
    /// Output table, `.csv` or `.parquet`.
    #[arg(long, default_value = "gtfree.csv")]
    pub out: PathBuf,
    /// Replace an existing output file (never a folder, never without this flag).
    #[arg(long)]
    pub force: bool,
    /// Hide the progress bar (results still go to stdout, notes and errors to stderr).
    #[arg(long)]
    pub quiet: bool,
}

impl Args {
    /// The metrics' settings from the flags (the library's defaults where none is given).
    fn settings(&self) -> anyhow::Result<Settings> {
        let d = Settings::default();
        let baseline = match self.baseline.as_deref() {
            None => d.region.baseline,
            Some("black") => Baseline::Black,
            Some(v) => match v.parse::<f32>() {
                Ok(x) if x.is_finite() => Baseline::Value(x),
                _ => bail!("--baseline `{v}`: expected `black` or a number"),
            },
        };
        let mut s = Settings::seeded(self.seed.unwrap_or(d.faithfulness.seed), baseline);
        s.region.patch = self.patch.unwrap_or(d.region.patch);
        s.region.regions = self.regions.unwrap_or(d.region.regions);
        s.flipping.features_in_step = self.features_in_step.unwrap_or(d.flipping.features_in_step);
        s.faithfulness.runs = self.runs.unwrap_or(d.faithfulness.runs);
        s.faithfulness.subset = self.subset.unwrap_or(d.faithfulness.subset);
        s.sensitivity.samples = self.noisy_copies.unwrap_or(d.sensitivity.samples);
        s.sensitivity.radius = self.radius.unwrap_or(d.sensitivity.radius);
        Ok(s)
    }

    /// Fails, naming the flag, where a setting is given for none of the metrics computed.
    fn check_used(&self, names: &[&str]) -> anyhow::Result<()> {
        const REGION: &[&str] = &["region_perturbation_morf", "region_perturbation_lerf"];
        let uses: [(&str, bool, &[&str]); 10] = [
            ("--patch", self.patch.is_some(), REGION),
            ("--regions", self.regions.is_some(), REGION),
            (
                "--features-in-step",
                self.features_in_step.is_some(),
                &["pixel_flipping"],
            ),
            ("--runs", self.runs.is_some(), &["faithfulness_correlation"]),
            (
                "--subset",
                self.subset.is_some(),
                &["faithfulness_correlation"],
            ),
            (
                "--seed",
                self.seed.is_some(),
                &["faithfulness_correlation", "road", "max_sensitivity"],
            ),
            (
                "--baseline",
                self.baseline.is_some(),
                &[
                    REGION[0],
                    REGION[1],
                    "pixel_flipping",
                    "faithfulness_correlation",
                ],
            ),
            (
                "--noisy-copies",
                self.noisy_copies.is_some(),
                &["max_sensitivity"],
            ),
            ("--radius", self.radius.is_some(), &["max_sensitivity"]),
            ("--param", !self.params.is_empty(), &["max_sensitivity"]),
        ];
        for (flag, given, metrics) in uses {
            if given && !metrics.iter().any(|m| names.contains(m)) {
                bail!(
                    "{flag} is a setting of {}, none of which is computed",
                    metrics.join(", ")
                );
            }
        }
        Ok(())
    }
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    super::check_table_path(&args.out, "evaluate")?;
    let names = parse_names(&args.metrics, args.method.is_some())?;
    args.check_used(&names)?;
    let settings = args.settings()?;
    mrixai_core::atomic::check_out_file(&args.out, args.force)?;
    let (maps, converted) = read_attributions(&args.maps)?;
    if let Some(note) = converted {
        eprintln!("note: {note}");
    }
    let loaded = super::explain::load_batch(&args.batch)?;
    let (model, x, targets) = (loaded.model, loaded.x, loaded.targets);
    let params = super::explain::parse_params(&args.params)?;
    // the method is run only for max-sensitivity; elsewhere `--method` is a label
    let method = match (names.contains(&"max_sensitivity"), args.method.as_deref()) {
        (true, Some(m)) => Some(mrixai_attrib::method_by_name(m, &params)?),
        _ => None,
    };
    let batch = Batch {
        model: &model,
        x: x.view(),
        maps: maps.view(),
        targets: &targets,
        method: method.as_deref(),
    };
    let bar = mrixai_cli::Bar::new(!args.quiet);
    let values = score(&batch, &names, &settings, &bar)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.maps.display()))?;
    let mut rows = Vec::with_capacity(names.len() * targets.len());
    for i in 0..targets.len() {
        for (name, v) in names.iter().zip(&values) {
            rows.push(MapScore {
                method: args.method.clone(),
                sample: i as i64,
                metric: name.to_string(),
                value: v[i],
            });
        }
    }
    write_map_scores(&args.out, &rows)?;
    println!(
        "evaluated {} map(s) on {} metric(s) → {}",
        targets.len(),
        names.len(),
        args.out.display()
    );
    Ok(())
}
