//! `mrixai aggregate` (not built yet).

/// Arguments of `mrixai aggregate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`mrixai aggregate` is not built yet")
}
