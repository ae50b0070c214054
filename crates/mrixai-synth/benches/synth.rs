//! Times the synthesis of 10,000 64×64 lesion slices from the committed MRI fixtures.
//!
//! `cargo bench -p mrixai-synth --bench synth` (set `RAYON_NUM_THREADS` to pin the cores).

use mrixai_synth::{
    SynthConfig, SynthOptions, default_mri_dir, generate, load_sources, prepare_bases,
    synthesize_from,
};
use std::time::Instant;

fn main() {
    let mut cfg = SynthConfig::quick();
    cfg.subjects = 1000;
    cfg.samples_per_subject = 10;
    let t0 = Instant::now();
    let sources = load_sources(&default_mri_dir()).expect("load fixtures");
    let load = t0.elapsed().as_secs_f64();
    let out = std::env::temp_dir().join(format!("mrixai-synth-bench-{}", std::process::id()));
    let t1 = Instant::now();
    let s = synthesize_from(
        &cfg,
        1,
        &sources,
        &out,
        &SynthOptions {
            force: true,
            ..Default::default()
        },
    )
    .expect("synthesize");
    let synth = t1.elapsed().as_secs_f64();
    let n: usize = s.counts.iter().sum();
    println!(
        "synth bench: {n} images {:?} on {} thread(s): load {load:.2} s, synthesise+write {synth:.2} s, total {:.2} s ({:.0} images/s)",
        s.sample_shape,
        rayon::current_num_threads(),
        load + synth,
        n as f64 / synth
    );
    let _ = std::fs::remove_dir_all(&out);
    // Phases on their own.
    let t = Instant::now();
    let bases = prepare_bases(&cfg, &sources);
    let prep = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let g = generate(&cfg, 1, &bases, &|| ()).expect("generate");
    let gen_s = t.elapsed().as_secs_f64();
    println!(
        "phases: prepare bases {prep:.2} s, generate {} images {gen_s:.2} s ({:.0} images/s)",
        g.iter().map(|s| s.meta.len()).sum::<usize>(),
        n as f64 / gen_s
    );
}
