//! Work items on parallel workers, each with a rayon pool of its share of the cores: the
//! cells of a run, and the pre-trainings. Results never depend on the number of workers.

use mrixai_core::{Error, Result};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Runs `f` on every item of `items`, in order, on `jobs` workers (0: one per core; never
/// more than items), each with a rayon pool of `cores / jobs` threads. The first failure
/// stops the workers from starting further items and is returned; `what` names a worker
/// in the errors.
pub(crate) fn on_workers<T: Sync>(
    items: &[T],
    jobs: usize,
    what: &str,
    f: impl Fn(&T) -> Result<()> + Sync,
) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = match jobs {
        0 => cores,
        j => j,
    }
    .clamp(1, items.len().max(1));
    let threads = (cores / jobs).max(1);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let worker = || -> Result<()> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::invalid(format!("cannot start a {what}: {e}")))?;
        while !failed.load(Ordering::Relaxed) {
            let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            if let Err(e) = pool.install(|| f(item)) {
                failed.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
        Ok(())
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..jobs).map(|_| s.spawn(worker)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::invalid(format!("a {what} panicked"))))
            })
            .collect::<Result<Vec<()>>>()
    })?;
    Ok(())
}
