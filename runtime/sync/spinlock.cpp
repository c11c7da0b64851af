// sync/spinlock.cpp — the contended path of detail::SpinLock
// (include/goro/detail/spinlock.hpp), the lock of the primitives' short
// critical sections.
//
// A waiter backs off exponentially, up to kMaxBackoff pauses between looks:
// a thread that keeps reading the lock's line takes it away from the holder,
// and when two workers hammer one channel, letting the holder run a few
// critical sections in a row moves far more items than passing the line
// back and forth on every one.
//
// A critical section is a few loads and stores (at most a batch of timer
// pops), so a waiter that has not seen the lock free for kSpinsBeforeYield
// pauses (tens to hundreds of microseconds, by the CPU's pause latency) is
// waiting for a holder that is not running: preempted by the kernel, maybe
// on this waiter's own CPU (more workers than CPUs, a busy machine). Spinning
// on would burn the rest of the waiter's time slice and keep the holder off
// that CPU; so from then on the waiter yields its CPU between looks. Go's
// runtime lock does the same in spirit (a few spins, then osyield, then a
// futex sleep); a SpinLock never sleeps, since its holders never block.
#include <goro/detail/spinlock.hpp>

#include <sched.h>

namespace goro::detail {

namespace {
constexpr unsigned kMaxBackoff = 64;
constexpr unsigned kSpinsBeforeYield = 4096;
}  // namespace

void SpinLock::lock_contended() noexcept {
    unsigned backoff = 1;
    unsigned spins = 0;
    for (;;) {
        do {
            if (spins < kSpinsBeforeYield) {
                for (unsigned i = 0; i < backoff; ++i) pause();
                spins += backoff;
                if (backoff < kMaxBackoff) backoff <<= 1;
            } else {
                ::sched_yield();
            }
        } while (locked_.load(std::memory_order_relaxed));
        if (!locked_.exchange(true, std::memory_order_acquire)) return;  // pairs with release in unlock()
        // Lost the race for a lock that was free: its holders are running,
        // so the count of a wait for a preempted one starts again.
        spins = 0;
    }
}

}  // namespace goro::detail
