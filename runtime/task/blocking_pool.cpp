// task/blocking_pool.cpp — the thread pool behind run_blocking().
//
// Owns: the pool's threads and queue, and the in-flight counter. The
// template in <goro/task.hpp> owns the job (on the caller's stack) and its
// result; this file only runs job->run() on a pool thread and wakes the
// caller.
//
// A job's life: queued (on jobs_, counted in g_in_flight) -> running on a
// pool thread -> finished (job->finished set, caller woken, g_in_flight
// decremented, in that order). The caller parks until it sees finished; it
// ignores cancellation meanwhile (fn may reference its frame), then delivers
// a pending request by throwing Cancelled.
//
// Threads: created on demand when a job is queued and fewer threads are idle
// than jobs are queued, up to kBlockingMaxThreads (64: the order of
// Python's default executor, min(32, cpus + 4), for calls that mostly wait);
// a thread idle for kBlockingIdleSeconds (10 s) ends. Threads are detached
// and the Pool is never destroyed, so a thread still running a job while the
// process exits touches no freed memory; at exit, idle threads are told to
// stop and waited for (bounded: a job that never returns cannot hang exit).
//
// Invariants: pending == length of the queue; idle <= threads <= max;
// g_in_flight >= number of queued or running jobs (it drops only after the
// caller was woken, so a reader that sees 0 knows no pool thread will wake
// anyone). Per runtime, Runtime::external_pending counts the callers that
// wait for a job (raised before the job is queued, lowered by the caller once
// it runs again), which is what the scheduler's deadlock detection reads.
//
// Synchronisation: Pool::mu guards everything in Pool; g_in_flight is
// atomic. The caller/thread handshake is the waitlist.hpp one: copy the
// waker, store finished (release), then wake; never touch the job after.
//
// Rejected: running fn on a dedicated new thread per call (thread creation
// per call: ~20 us, and unbounded); handing the caller's worker (M) to fn
// while another thread takes its P (Go's entersyscall/handoffp) needs a
// scheduler hook that does not exist yet and gives no bound on threads.
#include "task/blocking_pool.hpp"

#include "debug/thread_name.hpp"
#include "sched/api.hpp"
#include "sched/quiet_threads.hpp"

#include <goro/detail/park.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace goro::detail {

namespace {

struct Pool {
    std::mutex mu;
    std::condition_variable work_cv;  // idle threads wait here
    std::condition_variable exit_cv;  // the exit handler waits here for threads == 0
    BlockingJob* head = nullptr;      // guarded by mu
    BlockingJob* tail = nullptr;      // guarded by mu
    int pending = 0;                  // guarded by mu
    int threads = 0;                  // guarded by mu
    int idle = 0;                     // guarded by mu
    bool stopping = false;            // guarded by mu: process exit
};

Pool& pool() {
    static Pool* p = new Pool;  // never destroyed: detached threads may outlive static destruction
    return *p;
}

std::atomic<std::int64_t> g_in_flight{0};

BlockingJob* pop_locked(Pool& p) {
    BlockingJob* j = p.head;
    p.head = j->next;
    if (!p.head) p.tail = nullptr;
    j->next = nullptr;
    --p.pending;
    return j;
}

void thread_main() {
    rt::ThreadName name("goro-blocking");  // as top -H and gdb show it (debug/thread_name.hpp)
    Pool& p = pool();
    std::unique_lock lk(p.mu);
    for (;;) {
        if (!p.head) {
            if (p.stopping) break;
            ++p.idle;
            rt::QuietScope quiet;  // an idle pool thread wakes nobody (sched/quiet_threads.hpp)
            bool woke = p.work_cv.wait_for(lk, std::chrono::seconds(kBlockingIdleSeconds),
                                           [&] { return p.head != nullptr || p.stopping; });
            --p.idle;
            if (!woke || !p.head) break;  // idle too long, or the process exits
        }
        BlockingJob* job = pop_locked(p);
        lk.unlock();
        job->run(job);
        Waker w = job->waker;  // the job may vanish once finished is set
        // Counted out before the caller can see the job finished, so a caller
        // that returned from run_blocking never still sees its job in flight.
        g_in_flight.fetch_sub(1, std::memory_order_release);   // pairs with acquire in blocking_jobs_in_flight
        job->finished.store(true, std::memory_order_release);  // pairs with acquire in run_blocking_job
        w.wake();
        lk.lock();
    }
    if (--p.threads == 0) p.exit_cv.notify_all();
}

void submit(BlockingJob* job) {
    Pool& p = pool();
    std::lock_guard lk(p.mu);
    job->next = nullptr;
    if (p.tail) p.tail->next = job;
    else p.head = job;
    p.tail = job;
    ++p.pending;
    if (p.pending > p.idle && p.threads < kBlockingMaxThreads) {
        ++p.threads;
        try {
            std::thread(thread_main).detach();
        } catch (...) {
            --p.threads;
            if (p.threads == 0) {  // nobody will run it: take it back
                --p.pending;
                p.head = p.tail = nullptr;  // it was the only job (no thread to drain any other)
                throw;
            }
        }
    }
    p.work_cv.notify_one();
}

// At exit: stop the idle threads and wait (bounded) for them to end.
struct StopAtExit {
    ~StopAtExit() {
        Pool& p = pool();
        std::unique_lock lk(p.mu);
        p.stopping = true;
        p.work_cv.notify_all();
        p.exit_cv.wait_for(lk, std::chrono::seconds(2), [&] { return p.threads == 0; });
    }
} g_stop_at_exit;

}  // namespace

BlockingPoolCounts blocking_pool_counts() noexcept {
    Pool& p = pool();
    std::lock_guard lk(p.mu);
    return BlockingPoolCounts{p.threads, p.idle, p.pending};
}

std::int64_t blocking_jobs_in_flight() noexcept {
    return g_in_flight.load(std::memory_order_acquire);  // pairs with release in thread_main
}

void run_blocking_job(BlockingJob& job) {
    cancellation_point();  // a request already pending: do not start fn at all
    job.waker = current_waker();
    // The runtime's own count (deadlock detection) is raised and lowered here,
    // on the goroutine, which keeps the runtime alive meanwhile; a pool thread
    // never touches a Runtime that may have ended. Lowered only after we run
    // again, so "all parked and nothing pending" never holds in between.
    rt::begin_external_wait();  // seq_cst: before our park, against the deadlock watch's loads
    g_in_flight.fetch_add(1, std::memory_order_relaxed);  // before the job is visible to a pool thread
    try {
        submit(&job);
    } catch (...) {
        g_in_flight.fetch_sub(1, std::memory_order_relaxed);
        rt::end_external_wait();
        throw;
    }
    // fn cannot be interrupted and may reference our frame: wait it out.
    while (!job.finished.load(std::memory_order_acquire)) park(WaitReason::RunBlocking);  // pairs with release in thread_main
    rt::end_external_wait();                                       // release: pairs with acquire in may_be_deadlocked
    cancellation_point();
}

}  // namespace goro::detail
