//! `mrixai synth` (not built yet).

/// Arguments of `mrixai synth`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`mrixai synth` is not built yet")
}
