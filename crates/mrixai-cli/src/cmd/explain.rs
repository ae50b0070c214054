//! `mrixai explain` (not built yet).

/// Arguments of `mrixai explain`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`mrixai explain` is not built yet")
}
