//! `mrixai predict` (not built yet).

/// Arguments of `mrixai predict`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`mrixai predict` is not built yet")
}
