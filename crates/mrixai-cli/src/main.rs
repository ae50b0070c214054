//! `mrixai`: synthesise the lesion benchmark, train models, explain them, score the
//! explanations against ground truth, analyse and report.

#![forbid(unsafe_code)]

/// mimalloc: the attribution and training passes allocate and free large activation buffers
/// at a high rate, which glibc's allocator answers with page faults (see docs/DEPENDENCIES.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Explanation benchmarking for CNNs on brain MRI.
#[derive(Debug, Parser)]
#[command(name = "mrixai", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Synthesise a lesion benchmark (or pre-training task) dataset from T1 MRI volumes.
    Synth(cmd::synth::Args),
    /// Pre-train a model on an in-domain or out-of-domain task.
    Pretrain(cmd::pretrain::Args),
    /// Train (fine-tune) a model on a dataset.
    Train(cmd::train::Args),
    /// Predict classes with a trained model.
    Predict(cmd::predict::Args),
    /// Compute attribution maps with a method.
    Explain(cmd::explain::Args),
    /// Score attribution maps against ground-truth masks.
    Score(cmd::score::Args),
    /// Score attribution maps without ground truth (needs the model).
    Evaluate(cmd::evaluate::Args),
    /// Statistics over a long-format score table.
    Stats(cmd::stats::Args),
    /// Write the HTML report of a run.
    Report(cmd::report::Args),
    /// Run one cell of an experiment grid (train, explain, score).
    RunCell(cmd::run_cell::Args),
    /// Aggregate finished cells of a run into the final tables.
    Aggregate(cmd::aggregate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    mrixai_cli::install_interrupt_cleanup();
    mrixai_cli::run_main(|| match cli.command {
        Command::Synth(a) => cmd::synth::run(a),
        Command::Pretrain(a) => cmd::pretrain::run(a),
        Command::Train(a) => cmd::train::run(a),
        Command::Predict(a) => cmd::predict::run(a),
        Command::Explain(a) => cmd::explain::run(a),
        Command::Score(a) => cmd::score::run(a),
        Command::Evaluate(a) => cmd::evaluate::run(a),
        Command::Stats(a) => cmd::stats::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::RunCell(a) => cmd::run_cell::run(a),
        Command::Aggregate(a) => cmd::aggregate::run(a),
    })
}
