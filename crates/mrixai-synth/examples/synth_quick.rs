//! Synthesises the quick benchmark profile with a preview montage:
//! `cargo run -p mrixai-synth --release --example synth_quick -- OUT_DIR [SEED] [TASK]`.

use mrixai_synth::{SynthConfig, SynthOptions, synthesize};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: synth_quick OUT_DIR [SEED] [TASK]")?;
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(0);
    let mut cfg = SynthConfig::quick();
    if let Some(t) = args.next() {
        cfg.task = t.parse()?;
    }
    let opts = SynthOptions {
        force: true,
        preview: 36,
        nifti: false,
        ..SynthOptions::default()
    };
    let s = synthesize(&cfg, seed, None, out.as_ref(), &opts)?;
    println!("{}", serde_json::to_string_pretty(&s)?);
    Ok(())
}
