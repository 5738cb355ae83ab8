//! Long runs of independent work spread over the machine's cores.
//!
//! Reading, writing and checking 100,000 devices is one small job 100,000 times, each
//! independent of the others. [`runs`] cuts such a list into one contiguous run per core and
//! gives back the runs' results in list order, so a caller that concatenates them gets
//! exactly what one pass would have given: same output, same diagnostics, same order.
//!
//! Short lists (under [`MIN_RUN`] items a thread) stay on the calling thread, where a domain
//! of ordinary size pays nothing: a thread costs tens of microseconds, a device a few. A
//! thread that cannot be started (a thread limit, a seccomp filter) is not an error: its run
//! is done on the calling thread.

use std::sync::OnceLock;

/// The fewest items worth a thread of their own.
pub(crate) const MIN_RUN: usize = 2048;

/// Threads at most, whatever the core count: past this, the work left is memory-bound.
const MAX_THREADS: usize = 8;

/// How many cores this process may use (read once).
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
thread_local! {
    /// A run count forced by a test, to compare one pass with several on any input.
    pub(crate) static FORCE_RUNS: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// How many runs `len` items are cut into on this machine.
fn count(len: usize) -> usize {
    #[cfg(test)]
    if let Some(n) = FORCE_RUNS.with(|f| f.get()) {
        return n;
    }
    run_count(len, cores())
}

/// How many runs `len` items are cut into with `cores` cores.
fn run_count(len: usize, cores: usize) -> usize {
    (len / MIN_RUN).min(cores).clamp(1, MAX_THREADS)
}

/// `f(start, run)` for contiguous runs of `items` that cover them in order; `start` is the
/// index of the run's first item. The results come back in the order of the runs. The first
/// run is done on the calling thread, the others on scoped threads; a panic in any of them is
/// raised again here, as it would have been without threads.
pub(crate) fn runs<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &[T]) -> R + Sync) -> Vec<R> {
    let mut first = None;
    let rest = split(items, count(items.len()), |run| first = Some(f(0, run)), &f);
    first.into_iter().chain(rest).collect()
}

/// As [`runs`], but the first run goes to `first`, which may borrow mutably what the calling
/// thread holds (a writer appending straight to its output, say), and only the other runs'
/// results are returned, in order. `first` is called before the others are collected.
pub(crate) fn runs_after_first<T: Sync, R: Send>(
    items: &[T],
    first: impl FnOnce(&[T]),
    rest: impl Fn(usize, &[T]) -> R + Sync,
) -> Vec<R> {
    split(items, count(items.len()), first, &rest)
}

fn split<T: Sync, R: Send>(
    items: &[T],
    n: usize,
    first: impl FnOnce(&[T]),
    rest: &(impl Fn(usize, &[T]) -> R + Sync),
) -> Vec<R> {
    if n <= 1 || items.is_empty() {
        first(items);
        return Vec::new();
    }
    let size = items.len().div_ceil(n);
    std::thread::scope(|s| {
        let mut started = Vec::with_capacity(n - 1);
        for (i, run) in items.chunks(size).enumerate().skip(1) {
            let start = i * size;
            let spawned = std::thread::Builder::new()
                .name("domxml-run".into())
                .spawn_scoped(s, move || rest(start, run));
            started.push(spawned.map_err(|_| (start, run)));
        }
        first(&items[..size.min(items.len())]);
        started
            .into_iter()
            .map(|r| match r {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err((start, run)) => rest(start, run),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lists_stay_in_one_run() {
        assert_eq!(run_count(0, 8), 1);
        assert_eq!(run_count(MIN_RUN * 2 - 1, 8), 1);
        assert_eq!(run_count(MIN_RUN * 2, 8), 2);
        assert_eq!(run_count(MIN_RUN * 100, 1), 1);
        assert_eq!(run_count(MIN_RUN * 100, 2), 2);
        assert_eq!(run_count(MIN_RUN * 100, 64), MAX_THREADS);
    }

    #[test]
    fn runs_cover_the_list_in_order_whatever_the_thread_count() {
        let items: Vec<u32> = (0..10_007).collect();
        for n in [1, 2, 3, 7, 8] {
            let mut got = vec![];
            let rest = split(
                &items,
                n,
                |run| got.push(run.to_vec()),
                &|start, run: &[u32]| {
                    assert_eq!(run[0] as usize, start, "start is the run's first index");
                    run.to_vec()
                },
            );
            got.extend(rest);
            assert_eq!(got.len(), n, "{n} runs");
            assert_eq!(got.concat(), items, "{n} runs");
        }
    }

    #[test]
    fn runs_gives_every_result_in_order() {
        let items: Vec<u32> = (0..(MIN_RUN as u32 * 3)).collect();
        let sums = runs(&items, |start, run| (start, run.len()));
        let mut next = 0;
        for (start, len) in sums {
            assert_eq!(start, next);
            next += len;
        }
        assert_eq!(next, items.len());
    }

    #[test]
    fn a_panic_in_another_run_reaches_the_caller() {
        let items: Vec<u32> = (0..100).collect();
        let r = std::panic::catch_unwind(|| {
            split(&items, 4, |_| {}, &|start, _run: &[u32]| {
                if start == 50 {
                    panic!("run at {start}");
                }
            })
        });
        assert!(r.is_err());
    }
}
