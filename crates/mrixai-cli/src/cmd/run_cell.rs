//! `mrixai run-cell` (not built yet).

/// Arguments of `mrixai run-cell`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`mrixai run-cell` is not built yet")
}
