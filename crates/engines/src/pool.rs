//! A bounded pool of blocking threads for model inference.
//!
//! Model calls take milliseconds to hundreds of milliseconds of CPU; on an async runtime thread
//! they would stall the 20 ms media loop of every call. The pool runs them on its own threads
//! (by default one per core: these models run as fast on one thread as on two, so parallelism
//! comes from running several calls' jobs at once).
//!
//! Jobs come in three [`Priority`] lanes: a worker takes the oldest `Quick` job first (embeddings
//! of a caller's words: about 10 ms each, and the flow cannot answer without them), then the
//! oldest `Urgent` job (final transcripts, end-of-turn calls, synthesis: work a caller is waiting
//! for) and only then the oldest `Background` job (partial transcripts, which only make the final
//! faster). Shortest first: with 16 calls, an embedding queued behind other calls' decodes held
//! a fifth of the flow's answers up by 50 to 700 ms (the server now runs embeddings on the
//! one-thread pool of its VAD frames, in the quick lane, so they do not wait for a running
//! decode either). Under load, a FIFO queue made a call's final transcript wait behind every other
//! call's partial decodes; with lanes, partials are what waits, and their deadlines drop the ones
//! that went stale. Lanes order what waits, but a running job is never interrupted: work that
//! must not wait behind a long decode at all (the voice loop's VAD frames) gets a pool of its own.
//!
//! Every job may carry a deadline. A job still queued when its deadline passes is not run: its
//! [`Ticket`] resolves to [`EngineError::Late`], so the caller learns it was late and can degrade
//! (skip a partial transcript, play a filler) while other calls' jobs go on. A full queue refuses
//! new jobs at once (`Late { late_ms: 0 }`). Dropping a ticket cancels a job that has not started.
//!
//! This is shell code: it reads the monotonic clock to check deadlines, the one place in this
//! crate that does.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Instant;

use crate::EngineError;

type Job = Box<dyn FnOnce() + Send>;

struct Queued {
    deadline: Option<Instant>,
    cancelled: Arc<AtomicBool>,
    late: Box<dyn FnOnce(u64) + Send>,
    run: Job,
}

/// Which lane a job waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    /// A short job someone is waiting for (an embedding: about 10 ms): taken before any other,
    /// so it never waits behind a queue of decodes and syntheses it would barely delay.
    Quick,
    /// Someone is waiting for the result now: taken before any background job.
    #[default]
    Urgent,
    /// Speculative work (partial transcripts): runs when no urgent job waits.
    Background,
}

/// The three lanes and the shutdown flag.
#[derive(Default)]
struct Lanes {
    quick: VecDeque<Queued>,
    urgent: VecDeque<Queued>,
    background: VecDeque<Queued>,
    closed: bool,
}

impl Lanes {
    fn len(&self) -> usize {
        self.quick.len() + self.urgent.len() + self.background.len()
    }

    fn pop(&mut self) -> Option<Queued> {
        self.quick.pop_front().or_else(|| self.urgent.pop_front()).or_else(|| self.background.pop_front())
    }
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Lanes>,
    ready: Condvar,
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct PoolStats {
    /// Jobs run to completion.
    pub completed: AtomicU64,
    /// Jobs dropped because their deadline passed while queued, or refused on a full queue.
    pub late: AtomicU64,
    /// Jobs dropped because their ticket was dropped first.
    pub cancelled: AtomicU64,
}

/// The pool. Dropping it lets queued jobs finish, then joins the threads.
pub struct InferencePool {
    shared: Arc<Shared>,
    capacity: usize,
    stats: Arc<PoolStats>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl std::fmt::Debug for InferencePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InferencePool")
            .field("threads", &self.threads.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// The job's result once it is there, and who to wake when it comes.
type SlotState<T> = (Option<Result<T, EngineError>>, Option<Waker>);

struct Slot<T> {
    state: Mutex<SlotState<T>>,
    cancelled: Arc<AtomicBool>,
}

impl<T> Slot<T> {
    fn fill(&self, value: Result<T, EngineError>) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.0 = Some(value);
        if let Some(w) = st.1.take() {
            w.wake();
        }
    }
}

/// The result of a submitted job: poll it with [`Ticket::try_take`], block with [`Ticket::wait`]
/// (not on an async thread), or `.await` it.
pub struct Ticket<T> {
    slot: Arc<Slot<T>>,
}

impl<T> Ticket<T> {
    /// The result if the job has finished.
    pub fn try_take(&self) -> Option<Result<T, EngineError>> {
        self.slot.state.lock().unwrap_or_else(PoisonError::into_inner).0.take()
    }

    /// Blocks the current thread until the job has finished.
    pub fn wait(self) -> Result<T, EngineError> {
        loop {
            if let Some(r) = self.try_take() {
                return r;
            }
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let waker = Waker::from(Arc::new(ChannelWake(Mutex::new(tx))));
            {
                let mut st = self.slot.state.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(r) = st.0.take() {
                    return r;
                }
                st.1 = Some(waker);
            }
            let _ = rx.recv();
        }
    }
}

struct ChannelWake(Mutex<std::sync::mpsc::Sender<()>>);

impl std::task::Wake for ChannelWake {
    fn wake(self: Arc<Self>) {
        let _ = self.0.lock().unwrap_or_else(PoisonError::into_inner).send(());
    }
}

impl<T> Future for Ticket<T> {
    type Output = Result<T, EngineError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.slot.state.lock().unwrap_or_else(PoisonError::into_inner);
        match st.0.take() {
            Some(r) => Poll::Ready(r),
            None => {
                st.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Ticket<T> {
    fn drop(&mut self) {
        self.slot.cancelled.store(true, Ordering::Relaxed);
    }
}

impl InferencePool {
    /// A pool of `threads` workers (at least one) whose queue holds at most `capacity` jobs.
    pub fn new(threads: usize, capacity: usize) -> Self {
        let shared = Arc::new(Shared::default());
        let stats = Arc::new(PoolStats::default());
        let threads = (0..threads.max(1))
            .map(|i| {
                let (shared, stats) = (shared.clone(), stats.clone());
                thread::Builder::new()
                    .name(format!("inference-{i}"))
                    .spawn(move || one_thread_rayon(|| worker(&shared, &stats)))
                    .unwrap_or_else(|e| panic!("cannot start an inference thread: {e}"))
            })
            .collect();
        InferencePool { shared, capacity: capacity.max(1), stats, threads }
    }

    /// One worker per available core, a queue of 64 jobs per worker.
    pub fn with_default_size() -> Self {
        let n = thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(n, 64 * n)
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    /// Counters.
    pub fn stats(&self) -> &PoolStats {
        &self.stats
    }

    /// Jobs waiting for a worker.
    pub fn queued(&self) -> usize {
        self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Queues an [`Priority::Urgent`] `job`; it runs unless `deadline` passes first or the
    /// ticket is dropped.
    pub fn submit<T, F>(&self, deadline: Option<Instant>, job: F) -> Ticket<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, EngineError> + Send + 'static,
    {
        self.submit_in(Priority::Urgent, deadline, job)
    }

    /// Queues `job` in the `priority` lane; it runs unless `deadline` passes first or the
    /// ticket is dropped.
    pub fn submit_in<T, F>(&self, priority: Priority, deadline: Option<Instant>, job: F) -> Ticket<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, EngineError> + Send + 'static,
    {
        let cancelled = Arc::new(AtomicBool::new(false));
        let slot = Arc::new(Slot { state: Mutex::new((None, None)), cancelled: cancelled.clone() });
        let ticket = Ticket { slot: slot.clone() };
        let mut q = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if q.len() >= self.capacity {
            drop(q);
            self.stats.late.fetch_add(1, Ordering::Relaxed);
            slot.fill(Err(EngineError::Late { late_ms: 0 }));
            return ticket;
        }
        let late_slot = slot.clone();
        let lane = match priority {
            Priority::Quick => &mut q.quick,
            Priority::Urgent => &mut q.urgent,
            Priority::Background => &mut q.background,
        };
        lane.push_back(Queued {
            deadline,
            cancelled,
            late: Box::new(move |ms| late_slot.fill(Err(EngineError::Late { late_ms: ms }))),
            run: Box::new(move || slot.fill(job())),
        });
        drop(q);
        self.shared.ready.notify_one();
        ticket
    }
}

#[allow(clippy::disallowed_methods)] // the pool is shell code: it checks deadlines against the clock
fn now() -> Instant {
    Instant::now()
}

/// Runs `f` on this thread as the only thread of its own rayon pool.
///
/// Model code splits single operations across rayon's threads (candle's matrix products go
/// through `gemm`, which hands parts of a product to rayon). This pool already runs one job per
/// core; with rayon's global pool as well, every worker's products queued on the same few global
/// threads (and two pool workers plus two rayon threads shared two cores). Inside a one-thread
/// pool the parts run here, one after the other. Measured with 16 calls: voice-to-voice p95
/// 1285 -> 1114 ms (docs/performance.md). If the pool cannot be built, `f` runs anyway.
fn one_thread_rayon(f: impl FnOnce() + Send) {
    match rayon::ThreadPoolBuilder::new().num_threads(1).use_current_thread().build() {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}

fn worker(shared: &Shared, stats: &PoolStats) {
    loop {
        let job = {
            let mut q = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(j) = q.pop() {
                    break j;
                }
                if q.closed {
                    return;
                }
                q = shared.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
            }
        };
        if job.cancelled.load(Ordering::Relaxed) {
            stats.cancelled.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if let Some(deadline) = job.deadline {
            let t = now();
            if t > deadline {
                stats.late.fetch_add(1, Ordering::Relaxed);
                (job.late)(u64::try_from((t - deadline).as_millis()).unwrap_or(u64::MAX));
                continue;
            }
        }
        (job.run)();
        stats.completed.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for InferencePool {
    fn drop(&mut self) {
        self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
        self.shared.ready.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn runs_jobs_and_returns_results() {
        let pool = InferencePool::new(2, 16);
        let tickets: Vec<_> = (0..8u64).map(|i| pool.submit(None, move || Ok(i * i))).collect();
        let results: Vec<u64> = tickets.into_iter().map(|t| t.wait().unwrap()).collect();
        assert_eq!(results, vec![0, 1, 4, 9, 16, 25, 36, 49]);
        // A worker counts a job after handing its result over: join the workers first.
        let stats = pool.stats.clone();
        drop(pool);
        assert_eq!(stats.completed.load(Ordering::Relaxed), 8);
    }

    #[test]
    fn a_job_s_rayon_work_stays_on_its_own_worker() {
        use rayon::prelude::*;
        let pool = InferencePool::new(2, 16);
        let tickets: Vec<_> = (0..4)
            .map(|_| {
                pool.submit(None, || {
                    let me = thread::current().name().map(str::to_owned);
                    // What gemm does with a product: parts on rayon's threads.
                    let names: Vec<Option<String>> = (0..64)
                        .into_par_iter()
                        .map(|_| thread::current().name().map(str::to_owned))
                        .collect();
                    Ok((rayon::current_num_threads(), me, names))
                })
            })
            .collect();
        for t in tickets {
            let (n, me, names) = t.wait().unwrap();
            assert_eq!(n, 1, "one rayon thread per worker");
            assert!(me.as_deref().is_some_and(|m| m.starts_with("inference-")), "{me:?}");
            assert!(names.iter().all(|x| *x == me), "parts ran off the worker: {names:?}");
        }
    }

    #[test]
    fn a_job_whose_deadline_passed_in_the_queue_is_late_and_others_go_on() {
        let pool = InferencePool::new(1, 16);
        // Block the only worker until we say so, so the next job waits in the queue.
        let (release, gate) = mpsc::channel::<()>();
        let blocker = pool.submit(None, move || {
            let _ = gate.recv();
            Ok(())
        });
        let deadline = now() + Duration::from_millis(1);
        let late = pool.submit(Some(deadline), || Ok("too late"));
        let patient = pool.submit(None, || Ok("fine"));
        // Wait (on the clock, not a fixed sleep) until the deadline has certainly passed.
        while now() <= deadline {
            std::hint::spin_loop();
        }
        release.send(()).unwrap();
        blocker.wait().unwrap();
        assert!(matches!(late.wait(), Err(EngineError::Late { .. })));
        assert_eq!(patient.wait().unwrap(), "fine");
        assert_eq!(pool.stats().late.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_full_queue_refuses_at_once_and_dropped_tickets_cancel() {
        let pool = InferencePool::new(1, 1);
        let (release, gate) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let blocker = pool.submit(None, move || {
            let _ = started_tx.send(());
            let _ = gate.recv();
            Ok(())
        });
        started.recv().unwrap(); // the worker holds the blocker; the queue is empty
        let queued = pool.submit(None, || Ok(1));
        let refused = pool.submit(None, || Ok(2));
        assert!(matches!(refused.try_take(), Some(Err(EngineError::Late { late_ms: 0 }))));
        drop(queued);
        release.send(()).unwrap();
        blocker.wait().unwrap();
        drop(pool); // joins the worker after it has drained the queue
    }

    #[test]
    fn quick_jobs_go_first_and_urgent_ones_overtake_background_ones() {
        let pool = InferencePool::new(1, 16);
        let (release, gate) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let blocker = pool.submit(None, move || {
            let _ = started_tx.send(());
            let _ = gate.recv();
            Ok(())
        });
        started.recv().unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let push = |name: &'static str| {
            let order = order.clone();
            move || {
                order.lock().unwrap().push(name);
                Ok(())
            }
        };
        let b1 = pool.submit_in(Priority::Background, None, push("partial 1"));
        let b2 = pool.submit_in(Priority::Background, None, push("partial 2"));
        let u1 = pool.submit(None, push("final"));
        let u2 = pool.submit_in(Priority::Urgent, None, push("tts"));
        let q1 = pool.submit_in(Priority::Quick, None, push("embed"));
        assert_eq!(pool.queued(), 5);
        release.send(()).unwrap();
        for t in [blocker, b1, b2, u1, u2, q1] {
            t.wait().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["embed", "final", "tts", "partial 1", "partial 2"]);
    }
}
