//! `mrixai report` (not built yet).

/// Arguments of `mrixai report`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`mrixai report` is not built yet")
}
