//! Many runs on J threads, with results in input order: nothing a caller sees depends on J.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Calls `work(index, item)` for every item on up to `threads` threads (the calling thread is one
/// of them), and hands the results to `emit` in the items' order, whatever the threads.
///
/// Items start in order. If some fail, the error returned is that of the failing item with the
/// lowest index, after every result before it was emitted; items after a known failure may be
/// skipped. An error from `emit` stops the rest the same way. With one thread, each result is
/// emitted as soon as its item is done, so a sequential caller holds at most one.
pub fn in_parallel<T, R, E>(
    items: &[T],
    threads: usize,
    work: impl Fn(usize, &T) -> Result<R, E> + Sync,
    mut emit: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Sync,
    R: Send,
    E: Send,
{
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        for (index, item) in items.iter().enumerate() {
            emit(work(index, item)?)?;
        }
        return Ok(());
    }
    let next = AtomicUsize::new(0);
    let first_failure = AtomicUsize::new(usize::MAX);
    let done: Mutex<Vec<Option<Result<R, E>>>> =
        Mutex::new(std::iter::repeat_with(|| None).take(items.len()).collect());
    let worker = || {
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            // An item after a known failure is not needed: the failure at the lowest index is
            // reported, and every item before it always runs.
            if index >= items.len() || first_failure.load(Ordering::Relaxed) < index {
                break;
            }
            let result = work(index, &items[index]);
            if result.is_err() {
                first_failure.fetch_min(index, Ordering::Relaxed);
            }
            done.lock().expect("no worker panicked")[index] = Some(result);
        }
    };
    std::thread::scope(|s| {
        for _ in 1..threads {
            // A thread that cannot start leaves its share to the others.
            let _ = std::thread::Builder::new().spawn_scoped(s, worker);
        }
        worker();
    });
    for result in done.into_inner().expect("no worker panicked") {
        // `None`: skipped, after the failure that has already been returned.
        let Some(result) = result else { break };
        emit(result?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::in_parallel;

    fn squares(items: &[u64], threads: usize) -> Result<Vec<u64>, String> {
        let mut out = Vec::new();
        in_parallel(
            items,
            threads,
            |_, &x| {
                if x == 13 {
                    Err(format!("unlucky {x}"))
                } else {
                    Ok(x * x)
                }
            },
            |y| {
                out.push(y);
                Ok(())
            },
        )?;
        Ok(out)
    }

    #[test]
    fn results_come_in_input_order_for_any_thread_count() {
        let items: Vec<u64> = (0..50).rev().filter(|&x| x != 13).collect();
        let one = squares(&items, 1).unwrap();
        assert_eq!(one, items.iter().map(|x| x * x).collect::<Vec<_>>());
        for threads in [2, 3, 8, 100] {
            assert_eq!(squares(&items, threads).unwrap(), one);
        }
        assert_eq!(squares(&[], 4).unwrap(), Vec::<u64>::new());
    }

    #[test]
    fn the_first_failure_in_input_order_is_the_error() {
        let items = [1, 2, 13, 4, 13, 6];
        for threads in [1, 2, 4] {
            assert_eq!(squares(&items, threads), Err("unlucky 13".to_string()));
        }
        let mut emitted = Vec::new();
        let r = in_parallel(
            &[1, 2, 3, 4],
            2,
            |i, _| if i >= 2 { Err(i) } else { Ok(i) },
            |i| {
                emitted.push(i);
                Ok(())
            },
        );
        assert_eq!((r, emitted), (Err(2), vec![0, 1]));
    }
}
