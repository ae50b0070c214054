//! `mrixai pretrain` (not built yet).

/// Arguments of `mrixai pretrain`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`mrixai pretrain` is not built yet")
}
