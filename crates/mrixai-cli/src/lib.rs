//! What the `mrixai` binary and `cargo xtask reproduce` share: the rendering of library
//! progress ([`Bar`]), the one-line error format and the interrupt handler. The experiment
//! itself is the `mrixai-pipeline` crate.

#![forbid(unsafe_code)]

use std::sync::Mutex;

/// Library progress ([`mrixai_core::progress::Progress`]) drawn as indicatif bars on stderr
/// (one per stage, with elapsed time and ETA), notes printed above them; or nothing at all.
pub struct Bar {
    show: bool,
    bar: Mutex<Option<indicatif::ProgressBar>>,
}

impl Bar {
    /// Progress that draws when `show` is true (bars only where stderr is a terminal).
    pub fn new(show: bool) -> Self {
        Self {
            show,
            bar: Mutex::new(None),
        }
    }

    /// Runs `f` on the current stage's bar, if one is drawn.
    fn with(&self, f: impl FnOnce(&indicatif::ProgressBar)) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            f(bar);
        }
    }
}

impl mrixai_core::progress::Progress for Bar {
    fn start(&self, label: &str, total: u64) {
        if !self.show {
            return;
        }
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix} {bar:30} {pos}/{len} [{elapsed_precise} < {eta_precise}] {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_prefix(label.to_string());
        let old = self
            .bar
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(bar);
        if let Some(old) = old {
            old.finish_and_clear();
        }
    }
    fn advance(&self, steps: u64, what: &str) {
        self.with(|bar| {
            bar.set_message(what.to_string());
            bar.inc(steps);
        });
    }
    fn note(&self, line: &str) {
        if !self.show {
            return;
        }
        let guard = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(bar) if !bar.is_finished() && !bar.is_hidden() => bar.println(line),
            _ => eprintln!("{line}"),
        }
    }
    fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
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
