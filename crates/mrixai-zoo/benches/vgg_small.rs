//! Throughput of vgg-small on the CPU (B = 32, 1×64×64, 2 classes), the peer of
//! `vgg_small_torch.py`: `cargo bench -p mrixai-zoo --bench vgg_small -- train|infer [steps]`;
//! with a third argument `3d`, vgg-small-3d on B = 8 volumes of 1×24×24×24 (the quick3d
//! profile's shapes). Prints one JSON line; run the binary under `/usr/bin/time -v` for peak
//! memory.

/// The same allocator as the `mrixai` binary (see docs/DEPENDENCIES.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use mrixai_core::Explainable;
use mrixai_core::dataset::SplitArrays;
use mrixai_core::progress::Silent;
use mrixai_zoo::{Arch, TrainConfig, Vgg, train};
use ndarray::{ArrayD, IxDyn};
use rand::Rng;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mode = args
        .first()
        .map(String::as_str)
        .unwrap_or("train")
        .to_string();
    let steps: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(50);
    let volumes = args.get(2).is_some_and(|a| a == "3d");
    let (b, preset, size) = if volumes {
        (8, "vgg-small-3d", vec![24, 24, 24])
    } else {
        (32, "vgg-small", vec![64, 64])
    };
    let arch = Arch::preset(preset, 2, &size).expect("preset");
    let mut rng = mrixai_core::seed::rng(0, "bench");
    let make = |n: usize, rng: &mut mrixai_core::seed::Rng| {
        let shape: Vec<usize> = [n, 1].into_iter().chain(size.iter().copied()).collect();
        let images = ArrayD::from_shape_fn(IxDyn(&shape), |_| rng.random::<f32>());
        let masks = ArrayD::<u8>::zeros(IxDyn(&shape));
        let labels = ArrayD::from_shape_fn(IxDyn(&[n]), |i| (i[0] % 2) as i64);
        SplitArrays {
            weights: masks.mapv(f32::from),
            images,
            masks,
            labels,
        }
    };
    let images_per_s = if mode == "train" {
        // one epoch of `steps` batches; the validation pass is a single batch
        let tr = make(b * (steps + 5), &mut rng);
        let va = make(b, &mut rng);
        let cfg = TrainConfig {
            epochs: 1,
            batch_size: b,
            // the peer has no precise-BatchNorm pass
            bn_recalibration: 0,
            ..TrainConfig::default()
        };
        let t = std::time::Instant::now();
        train(&cfg, &arch, &tr, &va, None, 0, &Silent).expect("train");
        (b * (steps + 5)) as f64 / t.elapsed().as_secs_f64()
    } else {
        let model = Vgg::init(&arch, 0).expect("init");
        let x = make(b, &mut rng).images;
        for _ in 0..5 {
            model.forward(x.view()).expect("forward");
        }
        let t = std::time::Instant::now();
        for _ in 0..steps {
            model.forward(x.view()).expect("forward");
        }
        (b * steps) as f64 / t.elapsed().as_secs_f64()
    };
    println!("{{\"mode\":\"{mode}\",\"images_per_s\":{images_per_s:.1}}}");
}
