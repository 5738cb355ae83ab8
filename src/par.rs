//! Long lists of independent work spread over the machine's cores.
//!
//! Reading, writing and checking 100,000 devices is one small job 100,000 times, each
//! independent of the others. [`runs`] cuts such a list into contiguous runs, has the calling
//! thread and up to one helper per other core take the next run until none is left, and gives
//! back the runs' results in list order, so a caller that joins them gets exactly what one
//! pass would have given: same output, same diagnostics, same order. Runs are handed out one
//! at a time rather than split evenly up front: a core the hypervisor lends to someone else,
//! or a helper that starts cold, then does less of the work instead of holding up the end.
//!
//! Short lists (under [`MIN_RUN`] items a thread) stay on the calling thread, where a domain
//! of ordinary size pays nothing: a thread costs tens of microseconds, a device a few. A
//! helper that cannot be started (a thread limit, a seccomp filter) is not an error: the
//! threads that did start do its share.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The fewest items worth a thread of their own.
pub(crate) const MIN_RUN: usize = 2048;

/// Items in one run handed out: enough that taking a run costs nothing against doing it,
/// few enough that the threads finish together.
const RUN: usize = 512;

/// Threads at most, whatever the core count: past this, the work left is memory-bound.
const MAX_THREADS: usize = 8;

/// How many cores this process may use (read once).
pub(crate) fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
thread_local! {
    /// A run count forced by a test, to compare one pass with several on any input.
    static FORCE_RUNS: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// `f()` with every list cut into `runs` runs (tests: one pass against several, on any
/// input), the usual choice restored afterwards.
#[cfg(test)]
pub(crate) fn with_runs<T>(runs: usize, f: impl FnOnce() -> T) -> T {
    FORCE_RUNS.with(|r| r.set(Some(runs)));
    let out = f();
    FORCE_RUNS.with(|r| r.set(None));
    out
}

/// How many threads work on `len` items with `cores` cores.
fn thread_count(len: usize, cores: usize) -> usize {
    (len / MIN_RUN).min(cores).clamp(1, MAX_THREADS)
}

/// Whether [`runs`] would do `len` items in one run on the calling thread: a caller may then
/// write straight into its output instead.
pub(crate) fn one_run(len: usize) -> bool {
    #[cfg(test)]
    if let Some(n) = FORCE_RUNS.with(|f| f.get()) {
        return n <= 1;
    }
    thread_count(len, cores()) <= 1 || len <= RUN
}

/// `f(start, run)` for contiguous runs of `items` that cover them in order; `start` is the
/// index of the run's first item. The results come back in the order of the runs. A panic in
/// any run is raised again here, as it would have been without threads.
pub(crate) fn runs<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &[T]) -> R + Sync) -> Vec<R> {
    runs_with(items, MIN_RUN, RUN, f)
}

/// `first()` on the calling thread while helpers (up to one per other core) do `f(item)` for
/// each of `items`, one at a time; once `first` is done the calling thread takes items too.
/// The items' results come back in their order. A helper that cannot be started leaves its
/// share to the others.
pub(crate) fn beside<T: Sync, R: Send, M>(
    first: impl FnOnce() -> M,
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
) -> (M, Vec<R>) {
    let helpers = items.len().min(cores() - 1).min(MAX_THREADS - 1);
    let next = AtomicUsize::new(0);
    // Take items until none is left; each result is kept with its item's number.
    let take = || {
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            match items.get(k) {
                Some(item) => done.push((k, f(item))),
                None => return done,
            }
        }
    };
    with_helpers(helpers, first, take)
}

/// [`runs`] for items that each cost far more than a device (system calls): from `min`
/// items a thread rather than [`MIN_RUN`], in runs of `run`.
pub(crate) fn runs_with<T: Sync, R: Send>(
    items: &[T],
    min: usize,
    run: usize,
    f: impl Fn(usize, &[T]) -> R + Sync,
) -> Vec<R> {
    #[cfg(test)]
    if let Some(n) = FORCE_RUNS.with(|f| f.get()) {
        return split(
            items,
            n.clamp(1, 4),
            items.len().div_ceil(n.max(1)).max(1),
            &f,
        );
    }
    let threads = (items.len() / min.max(1))
        .min(cores())
        .clamp(1, MAX_THREADS);
    split(items, threads, run.max(1), &f)
}

/// `items` in runs of `size`, done by the calling thread and `threads - 1` helpers.
fn split<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    size: usize,
    f: &(impl Fn(usize, &[T]) -> R + Sync),
) -> Vec<R> {
    if threads <= 1 || items.len() <= size {
        return vec![f(0, items)];
    }
    let next = AtomicUsize::new(0);
    // Take runs until none is left; each result is kept with its run's number.
    let take = || {
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let start = k.saturating_mul(size);
            if start >= items.len() {
                return done;
            }
            let end = items.len().min(start + size);
            done.push((k, f(start, &items[start..end])));
        }
    };
    with_helpers(threads - 1, || (), take).1
}

/// `first()` then `take()` on the calling thread, and `take()` on up to `helpers` scoped
/// helper threads; the numbered results of every `take` in the order of their numbers. A
/// helper that cannot be started is left out; a panic in any is raised again here.
fn with_helpers<M, R: Send>(
    helpers: usize,
    first: impl FnOnce() -> M,
    take: impl Fn() -> Vec<(usize, R)> + Sync,
) -> (M, Vec<R>) {
    let (m, mut all) = std::thread::scope(|s| {
        let helpers: Vec<_> = (0..helpers)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("domxml-run".into())
                    .spawn_scoped(s, &take)
                    .ok()
            })
            .collect();
        let m = first();
        let mut all = take();
        for h in helpers {
            all.extend(
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        (m, all)
    });
    all.sort_unstable_by_key(|&(k, _)| k);
    (m, all.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lists_stay_on_one_thread() {
        assert_eq!(thread_count(0, 8), 1);
        assert_eq!(thread_count(MIN_RUN * 2 - 1, 8), 1);
        assert_eq!(thread_count(MIN_RUN * 2, 8), 2);
        assert_eq!(thread_count(MIN_RUN * 100, 1), 1);
        assert_eq!(thread_count(MIN_RUN * 100, 2), 2);
        assert_eq!(thread_count(MIN_RUN * 100, 64), MAX_THREADS);
    }

    #[test]
    fn runs_cover_the_list_in_order_whatever_the_threads_and_run_size() {
        let items: Vec<u32> = (0..10_007).collect();
        for threads in [1, 2, 3, 8] {
            for size in [1, 7, 512, 10_007, 20_000] {
                let got = split(&items, threads, size, &|start, run: &[u32]| {
                    assert_eq!(run[0] as usize, start, "start is the run's first index");
                    run.to_vec()
                });
                let want_runs = if threads == 1 {
                    1
                } else {
                    items.len().div_ceil(size)
                };
                assert_eq!(got.len(), want_runs, "{threads} threads, runs of {size}");
                assert_eq!(got.concat(), items, "{threads} threads, runs of {size}");
            }
        }
        assert_eq!(
            split(&[] as &[u32], 4, 8, &|_, run: &[u32]| run.len()),
            vec![0]
        );
    }

    #[test]
    fn every_thread_takes_runs_until_none_is_left() {
        // A slow run on one thread does not stop the other from taking the rest.
        let items: Vec<u32> = (0..64).collect();
        let got = split(&items, 2, 1, &|start, _run: &[u32]| {
            if start == 0 {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            std::thread::current().id()
        });
        let slow = got[0];
        let others = got.iter().filter(|&&t| t != slow).count();
        assert!(
            others > 32,
            "the other thread did {others} of 64 runs while run 0 was slow"
        );
    }

    #[test]
    fn beside_gives_the_first_result_and_every_item_in_order() {
        let items: Vec<u32> = (0..37).collect();
        let caller = std::thread::current().id();
        let (first, got) = beside(
            || std::thread::current().id(),
            &items,
            |&i| {
                // Slow items, so that the helpers (if any) take some.
                std::thread::sleep(std::time::Duration::from_millis(1));
                i * 2
            },
        );
        assert_eq!(first, caller, "the first job runs on the calling thread");
        assert_eq!(got, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        let (none, empty) = beside(|| 7, &[] as &[u32], |&i| i);
        assert_eq!((none, empty), (7, vec![]));
    }

    #[test]
    fn a_panic_beside_the_first_job_reaches_the_caller() {
        let items: Vec<u32> = (0..8).collect();
        let r = std::panic::catch_unwind(|| {
            beside(
                || (),
                &items,
                |&i| {
                    if i == 5 {
                        panic!("item {i}");
                    }
                },
            )
        });
        assert!(r.is_err());
    }

    #[test]
    fn a_panic_in_any_run_reaches_the_caller() {
        let items: Vec<u32> = (0..100).collect();
        let r = std::panic::catch_unwind(|| {
            split(&items, 4, 10, &|start, _run: &[u32]| {
                if start == 50 {
                    panic!("run at {start}");
                }
            })
        });
        assert!(r.is_err());
    }
}
