// sched/idle.cpp — idle workers: going to sleep, and being woken.
//
// Owns: Idle (idle.hpp) and the protocol on it: wakep(), the wake-ups for
// timers and the netpoller, idle_sleep(), and deadlock detection by the
// last worker to go idle. Go's protocol (proc.go, "Worker thread
// parking/unparking"):
//  * A worker with no local work becomes "spinning" (Idle::nspinning counts
//    them, at most half the busy workers; worker.cpp) and tries to steal.
//  * Whoever makes work visible calls wakep(), which wakes one idle worker
//    only if none is spinning: a spinner is already looking. The woken one
//    is counted as a spinner on its behalf (Idle::claim_spinner).
//  * A spinner that finds work stops spinning and, if it was the last one,
//    calls wakep(): there may be more work than one worker can take.
//  * A worker going idle first publishes itself (Idle::list, nidle), then
//    stops spinning, then looks at every queue once more
//    (any_work_visible). seq_cst on both sides (the pusher's push + fence +
//    load of nidle/nspinning, the idler's store + loads of the queues)
//    means one of them sees the other: no work is left behind with every
//    worker asleep.
//  * One idle worker at a time (timer_m) sleeps with the earliest timer of
//    all Ps (Timers::next_deadline, time/timers.hpp) as its timeout; the
//    others sleep without one. Whoever lowers that deadline (an add, or a
//    re-computation that undid its own raise) calls wake_for_timer(). While goroutines wait for
//    I/O, one idle worker (poll_m) sleeps in epoll_wait instead of its
//    futex; wake_m() interrupts the poll of that one.
//  * Waking for a job any idle worker can do (a moved timer, I/O to watch)
//    takes one off the list the same way (fence, nidle, pop: Idle::pop_any).
//  * The last worker to go idle, with nothing in the runtime that could
//    ever wake a goroutine (no timer, I/O wait, blocking job or queued
//    work), waits kDeadlockGrace and then declares a deadlock if every
//    thread outside the runtime is quiet too (sched/quiet_threads.hpp);
//    while one is not, it looks again after a pause that doubles up to
//    kDeadlockRecheckMax.
//
// Locks: Idle::mu (rank Idle) is taken alone, for a few list operations;
// futexes are woken and the netpoller interrupted after it is released.
#include "sched/idle.hpp"

#include "sched/futex.hpp"
#include "sched/quiet_threads.hpp"
#include "sched/scheduler.hpp"
#include "debug/dump.hpp"

#include <goro/detail/park.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <mutex>

namespace goro::rt {

// ---------------------------------------------------------------- Idle

// Takes an idle worker off the list, never `self`: a worker that readies
// goroutines from inside its idle sleep (the netpoller) is awake already.
M* Idle::pop_locked(M* self) {
    for (auto it = list.rbegin(); it != list.rend(); ++it) {
        if (*it == self) continue;
        M* m = *it;
        list.erase(std::next(it).base());
        nidle.fetch_sub(1, std::memory_order_relaxed);
        return m;
    }
    return nullptr;
}

M* Idle::claim_spinner(M* self) {
    // seq_cst: the caller's push must be visible before we read whether
    // anyone is idle or spinning (see the file comment).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (nidle.load(std::memory_order_relaxed) == 0) return nullptr;
    if (nspinning.load(std::memory_order_relaxed) != 0) return nullptr;
    int zero = 0;
    if (!nspinning.compare_exchange_strong(zero, 1, std::memory_order_seq_cst)) return nullptr;
    M* m = nullptr;
    {
        std::lock_guard lk(mu);
        m = pop_locked(self);
        if (m) m->spinning = true;  // it wakes up as the spinner we just counted
    }
    if (!m) nspinning.fetch_sub(1, std::memory_order_seq_cst);
    return m;
}

M* Idle::pop_any(M* self) {
    std::atomic_thread_fence(std::memory_order_seq_cst);  // as in claim_spinner
    if (nidle.load(std::memory_order_relaxed) == 0) return nullptr;
    std::lock_guard lk(mu);
    return pop_locked(self);
}

// ---------------------------------------------------------------- waking

void Runtime::wakep_from(M* self) {
    // A worker of a one-worker runtime has no one to wake (plain threads,
    // which may push while it sleeps, still go on).
    if (nallocated_.load(std::memory_order_relaxed) == 1 && self != nullptr) return;
    if (M* m = idle_.claim_spinner(self)) wake_m(m);
}

void Runtime::wake_poller_if_needed() {
    // A goroutine just began waiting for I/O. If no idle worker polls, wake
    // one to take the poller role; if none is idle, the first worker to run
    // out of work will poll.
    if (idle_.poll_m.load(std::memory_order_acquire) != nullptr) return;
    if (M* m = idle_.pop_any(this_m())) wake_m(m);
}

void Runtime::wake_for_timer() {
    // The earliest deadline moved earlier: the worker sleeping on the timer
    // must re-time its sleep; if none sleeps on it, any idle one will do.
    // seq_cst: the caller lowered the earliest deadline (seq_cst, in
    // time/timers.hpp); the sleeper publishes timer_m and then reads that
    // deadline (both seq_cst, idle_sleep). One of us sees the other.
    M* m = idle_.timer_m.load(std::memory_order_seq_cst);
    if (!m) m = idle_.pop_any(this_m());
    if (m) {
        wake_m(m);
    } else {
        notify_monitor_timer();  // every worker busy: one may be stuck past the deadline (monitor.cpp)
    }
}

void Runtime::wake_m(M* m) {
    // seq_cst store and load: against the poller's seq_cst CAS of poll_m and
    // load of m->wake in idle_sleep, so either it sees the flag or we see it
    // in the poller role and interrupt the poll.
    m->wake.store(1, std::memory_order_seq_cst);
    futex_wake(&m->wake);
    if (idle_.poll_m.load(std::memory_order_seq_cst) == m) netpoll_.load(std::memory_order_acquire)->interrupt();
}

// ---------------------------------------------------------------- sleeping

bool Runtime::any_work_visible() const {
    if (global_.size(std::memory_order_seq_cst) > 0) return true;
    int np = nallocated_.load(std::memory_order_acquire);
    for (int i = 0; i < np; ++i) {
        P* p = allp_[i].load(std::memory_order_acquire);
        // A P nobody may steal from yet is its owner's business (see share_queue).
        if (!p->stealable.load(std::memory_order_seq_cst)) continue;
        if (!p->runq.empty() || p->runnext.load(std::memory_order_seq_cst) != nullptr) return true;
    }
    return timers.next_deadline() <= detail::Clock::now();
}

void Runtime::idle_sleep(M* m) {
    bool was_spinning;
    {
        std::lock_guard lk(idle_.mu);
        if (global_.size(std::memory_order_relaxed) > 0) return;
        // Under the lock: once we are on the list, wakep() may pop us and set
        // m->spinning (under the lock) for the spinner it counts for us.
        was_spinning = m->spinning;
        m->spinning = false;
        idle_.list.push_back(m);
        idle_.nidle.fetch_add(1, std::memory_order_seq_cst);
        m->wake.store(0, std::memory_order_relaxed);
    }
    if (was_spinning) idle_.nspinning.fetch_sub(1, std::memory_order_seq_cst);
    auto leave_idle_list = [&] {
        std::lock_guard lk(idle_.mu);
        auto it = std::find(idle_.list.begin(), idle_.list.end(), m);
        if (it != idle_.list.end()) {
            idle_.list.erase(it);
            idle_.nidle.fetch_sub(1, std::memory_order_relaxed);
        }
        // else: wakep() took us off the list and set m->spinning.
        notify_monitor_busy();  // a parked monitor looks again (monitor.cpp)
    };
    // Look once more now that we are published as idle (see file comment).
    if (any_work_visible() || stopping.load(std::memory_order_seq_cst)) {
        leave_idle_list();
        return;
    }
    // The last worker to go idle watches for a deadlock: it declares one
    // when the runtime has looked asleep for the grace period and every
    // thread of the process is quiet (sched/quiet_threads.hpp). While a
    // thread that could call in exists, it looks again after a growing
    // pause (at most kDeadlockRecheckMax), so a deadlock is still reported
    // once that thread has ended, and an idle runtime wakes rarely.
    if (last_idle_worker() && may_be_deadlocked()) {
        auto pause = std::chrono::duration_cast<detail::Clock::duration>(kDeadlockGrace);
        for (;;) {
            detail::TimePoint until = detail::Clock::now() + pause;
            while (m->wake.load(std::memory_order_acquire) == 0 && detail::Clock::now() < until &&
                   !stopping.load(std::memory_order_acquire))
                futex_wait(&m->wake, 0, &until);
            if (m->wake.load(std::memory_order_acquire) != 0 || !may_be_deadlocked() || !last_idle_worker()) break;
            if (quiet_threads_only()) {
                // Once more after the thread count: a thread that readied a
                // goroutine just before it went quiet has made work visible.
                if (may_be_deadlocked() && last_idle_worker()) declare_deadlock();
                break;
            }
            pause = std::min<detail::Clock::duration>(pause * 2, kDeadlockRecheckMax);
        }
        leave_idle_list();
        return;
    }
    // One idle worker sleeps on the earliest timer; the rest without timeout.
    // While goroutines wait for I/O, that worker sleeps in the netpoller.
    M* expected = nullptr;
    bool timer_sleeper = idle_.timer_m.compare_exchange_strong(expected, m, std::memory_order_seq_cst);  // see wake_for_timer
    Netpoller* np = netpoll_.load(std::memory_order_acquire);
    bool poller = false;
    if (np && np->waiters.load(std::memory_order_acquire) > 0) {
        expected = nullptr;
        poller = idle_.poll_m.compare_exchange_strong(expected, m, std::memory_order_seq_cst);
    }
    // The timer sleeper also wakes when the stack pool's surplus may go back
    // to the kernel (fiber/stack.hpp trim_due: once, after a spike).
    detail::TimePoint deadline =
        timer_sleeper ? std::min(timers.next_deadline(), stacks.trim_due()) : detail::TimePoint::max();
    if (poller) {
        // Re-check after publishing poll_m: a wake_m() that missed it used the futex.
        if (m->wake.load(std::memory_order_seq_cst) == 0 && !stopping.load(std::memory_order_seq_cst))
            if (const int n = np->poll(deadline); n > 0) {
                trace_event(m, TraceKind::Netpoll, 0, static_cast<std::uint64_t>(n));
                bump(m->p->io_wakeups, static_cast<std::uint64_t>(n));
            }
        last_io_poll_ns_.store(steady_ns(detail::Clock::now()), std::memory_order_relaxed);
        idle_.poll_m.store(nullptr, std::memory_order_release);
    } else {
        while (m->wake.load(std::memory_order_acquire) == 0 &&
               !stopping.load(std::memory_order_acquire)) {  // pairs with release in wake_m
            if (timer_sleeper && detail::Clock::now() >= deadline) break;
            futex_wait(&m->wake, 0, timer_sleeper ? &deadline : nullptr);
            if (timer_sleeper) {
                // The earliest deadline may have moved while we slept.
                detail::TimePoint d = timers.next_deadline();
                if (d < deadline) break;
            }
        }
    }
    if (timer_sleeper) {
        // seq_cst, as the sleeper's claim above: against an add that lowers
        // the earliest deadline and then reads timer_m (wake_for_timer).
        // Either it reads nullptr and wakes another idle worker, or our read
        // of the deadline below sees its add and we hand the watch on. With a
        // release store our read could pass the store (x86 lets a load pass
        // an earlier store), and both could miss: the add waking us, already
        // awake, and we seeing no earlier deadline to hand on.
        idle_.timer_m.store(nullptr, std::memory_order_seq_cst);
        stacks.trim_if_settled(detail::Clock::now());
        // Woken for other work before the deadline: hand the timer watch to
        // another idle worker, or the pending timers would wait for us.
        if (!timers.empty() && detail::Clock::now() < timers.next_deadline()) wake_for_timer();
    }
    leave_idle_list();
}

// ---------------------------------------------------------------- deadlock

// Every goroutine is parked and nothing inside the runtime could wake one:
// no timer, no I/O wait, no run_blocking job, no queued work. (Threads
// outside the runtime are the watch's second question: quiet_threads_only.)
bool Runtime::may_be_deadlocked() const {
    if (stopping.load(std::memory_order_acquire)) return false;
    if (!timers.empty() || external_pending.load(std::memory_order_acquire) > 0) return false;
    if (Netpoller* np = netpoll_.load(std::memory_order_acquire))
        if (np->waiters.load(std::memory_order_acquire) > 0) return false;
    if (live_goroutines() <= 0 || any_work_visible()) return false;
    // A goroutine still running is not asleep, even on a P beyond nprocs_
    // (retired by set_maxprocs or by a hand-off's take-back, monitor.cpp):
    // it leaves that P only at its next switch, and the workers counted by
    // last_idle_worker() do not include its thread. schedseq is odd while a
    // goroutine runs (worker.cpp); relaxed, like the watch's other looks:
    // the grace period and the second look before declaring make it stable.
    const int np = nallocated_.load(std::memory_order_acquire);
    for (int i = 0; i < np; ++i)
        if ((allp_[i].load(std::memory_order_acquire)->schedseq.load(std::memory_order_relaxed) & 1) != 0)
            return false;
    return true;
}

bool Runtime::last_idle_worker() const {
    return idle_.nidle.load(std::memory_order_seq_cst) >= nprocs_.load(std::memory_order_acquire);
}

// Go prints "all goroutines are asleep - deadlock!" and exits; goro cancels
// the main goroutine so that run() can unwind everything and throw Deadlock.
void Runtime::declare_deadlock() {
    // Go's report: the message, then every goroutine (all parked: nothing
    // moves while the dump holds each in turn). Deadlock::what() repeats
    // the count and the wait reasons (run_runtime throws it).
    std::fflush(stdout);
    std::fputs("fatal error: all goroutines are asleep - deadlock!\n\n", stderr);
    DumpSummary sum;
    dump_runtime(this, stderr, &sum);
    std::string what = "goro: all goroutines are asleep - deadlock! (" + std::to_string(sum.goroutines) +
                       (sum.goroutines == 1 ? " goroutine" : " goroutines");
    const char* sep = ": ";
    for (const auto& [reason, n] : sum.reasons) {
        what += sep + std::to_string(n) + " " + reason;
        sep = ", ";
    }
    what += ")";
    deadlock_what = std::move(what);
    deadlocked.store(true, std::memory_order_release);  // pairs with acquire in run_runtime
    if (!shutting_down.load(std::memory_order_acquire) && main_g) detail::g_cancel(main_g);
}

}  // namespace goro::rt
