//! The mrixai experiment pipeline: profiles, the grid of model cells, resumable
//! cell execution, aggregation and scale-out. The `mrixai` binary and `cargo xtask
//! reproduce` are thin front ends over this library.

pub mod pipeline;

/// The one error line of the binaries: the error and its causes, each cause only where the
/// text so far does not already say it (an I/O error names its path and its OS reason once).
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !line.contains(&c) {
            line.push_str(": ");
            line.push_str(&c);
        }
    }
    format!("error: {line}")
}

/// Installs the SIGINT/SIGTERM handler of the binaries: it removes the temporary files and
/// folders being written (see [`mrixai_core::atomic`]), says so, and exits with status 130.
/// Finished outputs are never touched.
pub fn install_interrupt_cleanup() {
    let result = ctrlc::set_handler(|| {
        let removed = mrixai_core::atomic::remove_live_temps();
        eprintln!(
            "interrupted: removed {} temporary output(s); finished outputs are kept",
            removed.len()
        );
        std::process::exit(130);
    });
    if let Err(e) = result {
        eprintln!(
            "warning: no interrupt handler ({e}); an interrupt may leave temporary files, removed by the next run"
        );
    }
}
