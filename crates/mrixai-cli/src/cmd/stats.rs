//! `mrixai stats` (not built yet).

/// Arguments of `mrixai stats`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`mrixai stats` is not built yet")
}
