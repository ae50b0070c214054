//! `mrixai train` (not built yet).

/// Arguments of `mrixai train`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`mrixai train` is not built yet")
}
