//! What the `mrixai` binary and `cargo xtask reproduce` share: the rendering of library
//! progress ([`Bar`]), the one-line error format and the interrupt handler. The experiment
//! itself is the `mrixai-pipeline` crate.

#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How often a stage reports where stderr is not a terminal (CI, SLURM, `nohup`).
pub const LOG_EVERY: Duration = Duration::from_secs(30);

/// Library progress ([`mrixai_core::progress::Progress`]) drawn as indicatif bars on stderr
/// (one per stage, with elapsed time and ETA), notes printed above them; where stderr is not a
/// terminal, a plain line per stage every [`LOG_EVERY`] instead of the bar (stages shorter than
/// that print none); or nothing at all.
pub struct Bar {
    show: bool,
    bar: Mutex<Option<indicatif::ProgressBar>>,
    logged: Arc<Mutex<Option<Stage>>>,
}

/// The stage a log line reports.
struct Stage {
    label: String,
    total: u64,
    done: u64,
    what: String,
    start: Instant,
}

impl Bar {
    /// Progress that draws when `show` is true (bars only where stderr is a terminal, log
    /// lines elsewhere).
    pub fn new(show: bool) -> Self {
        let logged = Arc::new(Mutex::new(None));
        if show && !std::io::stderr().is_terminal() {
            let weak = Arc::downgrade(&logged);
            std::thread::spawn(move || log_every(weak, LOG_EVERY));
        }
        Self {
            show,
            bar: Mutex::new(None),
            logged,
        }
    }

    /// Runs `f` on the logged stage, if there is one.
    fn with_stage(&self, f: impl FnOnce(&mut Option<Stage>)) {
        f(&mut self.logged.lock().unwrap_or_else(|e| e.into_inner()));
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
        self.with_stage(|s| {
            *s = Some(Stage {
                label: label.to_string(),
                total,
                done: 0,
                what: String::new(),
                start: Instant::now(),
            })
        });
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
        self.with_stage(|s| {
            if let Some(s) = s {
                s.done += steps;
                s.what = what.to_string();
            }
        });
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
        self.with_stage(|s| *s = None);
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}

/// Prints the stage of `logged` every `every` once it has run that long, until the [`Bar`]
/// holding it is gone.
fn log_every(logged: Weak<Mutex<Option<Stage>>>, every: Duration) {
    loop {
        std::thread::sleep(every);
        let Some(logged) = logged.upgrade() else {
            return;
        };
        let guard = logged.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = guard.as_ref().filter(|s| s.start.elapsed() >= every) {
            eprintln!(
                "{}",
                log_line(&s.label, s.done, s.total, s.start.elapsed(), &s.what)
            );
        }
    }
}

/// One log line: `cells: 12/26 (46 %), 4 min 10 s elapsed, ETA 4 min 51 s (what)`.
pub fn log_line(label: &str, done: u64, total: u64, elapsed: Duration, what: &str) -> String {
    let share = (done * 100)
        .checked_div(total)
        .map(|p| format!(" ({p} %)"))
        .unwrap_or_default();
    let eta = match (done, total) {
        (d, t) if d > 0 && t >= d => {
            let left = elapsed.as_secs_f64() * (t - d) as f64 / d as f64;
            spoken(Duration::from_secs_f64(left))
        }
        _ => "unknown".into(),
    };
    let what = if what.is_empty() {
        String::new()
    } else {
        format!(" ({what})")
    };
    format!(
        "{label}: {done}/{total}{share}, {} elapsed, ETA {eta}{what}",
        spoken(elapsed)
    )
}

/// A duration as people say it: `48 s`, `4 min 10 s`, `1 h 02 min`.
fn spoken(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
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

/// Runs a binary's command after checking the environment it depends on (the instruction
/// path [`mrixai_zoo::simd::Path::ENV`] asks for), printing an error as one line.
pub fn run_main(command: impl FnOnce() -> anyhow::Result<()>) -> std::process::ExitCode {
    let result = mrixai_zoo::simd::Path::from_env()
        .map_err(anyhow::Error::from)
        .and_then(|_| command());
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", error_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_say_how_far_how_long_and_how_long_yet() {
        let l = log_line(
            "cells",
            12,
            26,
            Duration::from_secs(250),
            "ood k=2 tuned s1",
        );
        assert_eq!(
            l,
            "cells: 12/26 (46 %), 4 min 10 s elapsed, ETA 4 min 51 s (ood k=2 tuned s1)"
        );
        let l = log_line("synth", 0, 100, Duration::from_secs(31), "");
        assert_eq!(l, "synth: 0/100 (0 %), 31 s elapsed, ETA unknown");
        assert_eq!(spoken(Duration::from_secs(3725)), "1 h 02 min");
    }

    /// Where stderr is not a terminal the stage is kept for the log lines, and forgotten when
    /// it finishes.
    #[test]
    fn the_logged_stage_follows_start_advance_and_finish() {
        use mrixai_core::progress::Progress;
        let bar = Bar::new(true);
        bar.start("epoch 1/2", 10);
        bar.advance(3, "loss 0.69");
        bar.with_stage(|s| {
            let s = s.as_ref().expect("stage");
            assert_eq!((s.done, s.total, s.what.as_str()), (3, 10, "loss 0.69"));
        });
        bar.finish();
        bar.with_stage(|s| assert!(s.is_none()));
    }
}

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
