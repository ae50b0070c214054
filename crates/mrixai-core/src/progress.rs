//! Progress of long library work, reported through a small trait so that a library never
//! draws on a terminal itself: the binaries render it (indicatif bars), an embedding program
//! may log it or show it its own way, and [`Silent`] ignores it.
//!
//! ```
//! use mrixai_core::progress::{Progress, Silent};
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! /// Counts the steps it is told about.
//! struct Count(AtomicU64);
//! impl Progress for Count {
//!     fn advance(&self, steps: u64, _what: &str) {
//!         self.0.fetch_add(steps, Ordering::Relaxed);
//!     }
//! }
//!
//! fn work(p: &dyn Progress) {
//!     p.start("work", 3);
//!     for i in 0..3 {
//!         p.advance(1, &format!("item {i}"));
//!     }
//!     p.finish();
//! }
//! let c = Count(AtomicU64::new(0));
//! work(&c);
//! work(&Silent);
//! assert_eq!(c.0.load(Ordering::Relaxed), 3);
//! ```

/// Receives the progress of one stage of work: `start`, any number of `advance`, `finish`.
/// Every method has an empty default; implementations must be cheap and thread-safe.
pub trait Progress: Sync {
    /// A stage called `label` of `total` steps begins.
    fn start(&self, _label: &str, _total: u64) {}
    /// `steps` more steps are done; `what` names the last one (may be empty).
    fn advance(&self, _steps: u64, _what: &str) {}
    /// A line worth keeping above the progress display (e.g. an epoch's summary).
    fn note(&self, _line: &str) {}
    /// The stage is over.
    fn finish(&self) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}
