// sync/spinlock.cpp — the contended path of detail::SpinLock
// (include/goro/detail/spinlock.hpp), the lock of the primitives' short
// critical sections.
//
// A waiter looks at the lock every kMaxBackoff pauses, after a first wait of
// kFirstBackoff: each look pulls the lock's line away from the thread that
// holds it, and when two workers hammer one channel, letting the holder run
// a long string of critical sections moves far more items than passing the
// line back and forth. A waiter that has lost a race (seen the lock free,
// then failed to take it) is facing such a thread and goes straight to the
// longest wait. chan_throughput at two workers moved 14-17 Mmsg/s when the
// first look came after one pause and the wait doubled from there, 36 with
// these two (bench/RESULTS.md, "Internal locks"); a holder that is done
// within a few hundred nanoseconds is not kept waiting long by either.
//
// A critical section is a few loads and stores (at most a batch of timer
// pops), so a waiter that has not seen the lock free for kSpinsBeforeYield
// pauses (tens to hundreds of microseconds, by the CPU's pause latency) is
// waiting for a holder that is not running: preempted by the kernel, maybe
// on this waiter's own CPU (more workers than CPUs, a busy machine). Spinning
// on would burn the rest of the waiter's time slice and keep the holder off
// that CPU; so from then on the waiter yields its CPU between looks. What
// sched_yield does differs between kernels' schedulers (some pick the
// yielder again while the other thread is far ahead in its share), so after
// kYieldsBeforeSleep yields without the lock the waiter sleeps kSleepNs
// between looks: a holder left waiting for this CPU then surely gets it.
// Only a holder that has stopped running keeps a waiter that long, and a
// 20 us sleep is small beside the time slice it is waiting out. Go's
// runtime lock does the same in spirit (a few spins, then osyield, then a
// futex sleep); a futex would cost every unlock() a check for sleepers.
#include <goro/detail/spinlock.hpp>

#include <sched.h>
#include <time.h>

namespace goro::detail {

namespace {
constexpr unsigned kFirstBackoff = 32;
constexpr unsigned kMaxBackoff = 64;
constexpr unsigned kSpinsBeforeYield = 4096;
constexpr unsigned kYieldsBeforeSleep = 16;
constexpr long kSleepNs = 20'000;

// One look's worth of giving the CPU away, once spinning has gone on too long.
void give_cpu_away(unsigned& yields) noexcept {
    if (yields < kYieldsBeforeSleep) {
        ++yields;
        ::sched_yield();
    } else {
        const timespec pause_for{0, kSleepNs};
        ::nanosleep(&pause_for, nullptr);
    }
}
}  // namespace

void SpinLock::lock_contended() noexcept {
    unsigned backoff = kFirstBackoff;
    unsigned spins = 0;
    unsigned yields = 0;
    for (;;) {
        do {
            if (spins < kSpinsBeforeYield) {
                for (unsigned i = 0; i < backoff; ++i) pause();
                spins += backoff;
                if (backoff < kMaxBackoff) backoff <<= 1;
            } else {
                give_cpu_away(yields);
            }
        } while (locked_.load(std::memory_order_relaxed));
        if (!locked_.exchange(true, std::memory_order_acquire)) return;  // pairs with release in unlock()
        // Lost the race for a lock that was free: another thread is taking
        // it again and again (two workers on one channel). Look at it
        // seldom from now on, so that it keeps the line for a long run of
        // critical sections instead of losing it to every look of ours.
        // And its holders are running, so the count of a wait for a
        // preempted one starts again.
        backoff = kMaxBackoff;
        spins = 0;
        yields = 0;
    }
}

}  // namespace goro::detail
