//! `mrixai score` (not built yet).

/// Arguments of `mrixai score`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`mrixai score` is not built yet")
}
