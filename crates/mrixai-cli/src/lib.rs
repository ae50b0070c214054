//! The mrixai experiment pipeline: profiles, the grid of model cells, resumable
//! cell execution, aggregation and scale-out. The `mrixai` binary and `cargo xtask
//! reproduce` are thin front ends over this library.

#![forbid(unsafe_code)]

pub mod pipeline;

/// Library progress ([`mrixai_core::progress::Progress`]) drawn as an indicatif bar on
/// stderr, or hidden.
pub struct Bar(indicatif::ProgressBar);

impl Bar {
    /// A bar that draws when `show` is true (and stderr is a terminal).
    pub fn new(show: bool) -> Self {
        let bar = if show {
            indicatif::ProgressBar::new(0)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Self(bar)
    }
}

impl mrixai_core::progress::Progress for Bar {
    fn start(&self, label: &str, total: u64) {
        self.0.set_prefix(label.to_string());
        self.0.set_length(total);
        self.0.set_position(0);
    }
    fn advance(&self, steps: u64, what: &str) {
        self.0.set_message(what.to_string());
        self.0.inc(steps);
    }
    fn note(&self, line: &str) {
        self.0.println(line);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

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

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
