//! The mrixai experiment pipeline: profiles, the grid of model cells, resumable
//! cell execution, aggregation and scale-out. The `mrixai` binary and `cargo xtask
//! reproduce` are thin front ends over this library.

pub mod pipeline;

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
