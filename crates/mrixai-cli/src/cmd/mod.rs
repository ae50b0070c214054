//! One module per subcommand: each has clap `Args` and a `run` function.

pub mod aggregate;
pub mod explain;
pub mod predict;
pub mod pretrain;
pub mod report;
pub mod run_cell;
pub mod score;
pub mod stats;
pub mod synth;
pub mod train;
