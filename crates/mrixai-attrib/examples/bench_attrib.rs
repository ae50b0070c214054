//! Per-image time of the main attribution methods on a VGG checkpoint, for comparison with
//! Captum on the same architecture (`shared/tools/peer_bench.py` style: 8 images, one warm-up
//! call, then one timed call).
//!
//! `cargo run --release -p mrixai-attrib --example bench_attrib -- CHECKPOINT_DIR [N]`

/// The same allocator as the `mrixai` binary (see docs/DEPENDENCIES.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use mrixai_core::Explainable;
use rand::Rng as _;
use std::collections::BTreeMap;
use std::time::Instant;

fn main() -> mrixai_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .map(String::as_str)
        .unwrap_or("fixtures/captum/vgg_small");
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(8);
    let model = mrixai_zoo::Vgg::load(std::path::Path::new(dir))?;
    let mut shape = vec![n];
    shape.extend(model.input_shape());
    let mut rng = mrixai_core::seed::rng(0, "bench");
    let x = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&shape), |_| rng.random::<f32>());
    let t: Vec<usize> = (0..n).map(|i| i % model.num_classes()).collect();
    let c = shape[1].to_string();
    let (win, stride) = (format!("{c},8,8"), format!("{c},4,4"));
    let runs: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("gradient", vec![]),
        (
            "integrated_gradients",
            vec![("n_steps", "50"), ("internal_batch_size", "400")],
        ),
        ("deeplift", vec![]),
        ("lrp", vec![]),
        (
            "occlusion",
            vec![
                ("sliding_window_shapes", &win),
                ("strides", &stride),
                ("internal_batch_size", "256"),
            ],
        ),
    ];
    let mut out = BTreeMap::new();
    for (m, p) in runs {
        let params = p
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let a = mrixai_attrib::method_by_name(m, &params)?;
        a.attribute(&model, x.view(), &t)?;
        let t0 = Instant::now();
        a.attribute(&model, x.view(), &t)?;
        out.insert(
            format!("{m}_s_per_img"),
            t0.elapsed().as_secs_f64() / n as f64,
        );
    }
    println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    Ok(())
}
