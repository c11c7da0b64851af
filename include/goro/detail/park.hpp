// goro/detail/park.hpp — the one parking mechanism every blocking call uses.
// Internal: included by the public headers' templates, not part of the API.
//
// A "waiter" is either a goroutine (G) or a plain OS thread. Both park the same
// way: with a permit, like a futex word. wake() grants the permit; park()
// consumes it or sleeps until it is granted. A park may return without its
// condition being true (a late permit from an earlier wait), so every caller
// loops on its own condition. That is what lets a waker set a waiter's
// condition and then wake it without holding any lock.
//
// Goroutine descriptors (G) and thread parkers are type-stable: their memory
// is never returned to the system while a runtime (or the process, for thread
// parkers) lives, so a Waker copied under a lock may be used after the lock is
// released, even if the waiter has moved on; the worst a stale wake does is a
// spurious permit.
#pragma once

#include <goro/detail/lock_rank.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstddef>
#include <type_traits>

namespace goro::detail {

struct G;
struct ThreadParker;

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// deadline_after(d) is now + d rounded up to the clock's tick, for any
// duration type: d <= 0 is now, and d beyond ~30 years is no deadline at all
// (TimePoint::max()), so that nanoseconds::max() or hours::max() wait
// forever instead of overflowing into the past. Sleeps never end early.
template <class Rep, class Period>
TimePoint deadline_after(const std::chrono::duration<Rep, Period>& d) {
    auto now = Clock::now();
    if (!(d > d.zero())) return now;  // also a NaN floating-point duration
    if (std::chrono::duration<double>(d).count() > 1e9) return TimePoint::max();
    return now + std::chrono::ceil<Clock::duration>(d);
}

// deadline_at(t) is t on the steady clock, for a time point of any clock and
// precision; saturating like deadline_after().
template <class C, class D>
TimePoint deadline_at(const std::chrono::time_point<C, D>& t) {
    if constexpr (std::is_same_v<C, Clock>) {
        using Ticks = std::chrono::duration<double, Clock::period>;
        Ticks ticks = std::chrono::duration_cast<Ticks>(t.time_since_epoch());
        if (ticks.count() >= static_cast<double>(TimePoint::max().time_since_epoch().count())) return TimePoint::max();
        if (ticks.count() <= static_cast<double>(TimePoint::min().time_since_epoch().count())) return TimePoint::min();
        return TimePoint(std::chrono::ceil<Clock::duration>(t.time_since_epoch()));
    } else {
        // Another clock: how long until t on it, from now on ours.
        auto now = C::now();
        if (t <= now) return Clock::now();
        return deadline_after(t - now);
    }
}

// Waker names one parked (or about to park) goroutine or thread.
struct Waker {
    // Where a woken goroutine queues on the waker's worker: Next (runnext:
    // it runs as soon as the waker stops, Go's hand-off for channels and
    // locks), or Later (the tail of the queue, after what is already
    // runnable: asyncio's order, used when a task completes, so that a
    // goroutine collecting results in order finds the others done).
    enum class Order : bool { Next, Later };
    G* g = nullptr;
    ThreadParker* thread = nullptr;
    void wake(Order order = Order::Next) const noexcept;
    explicit operator bool() const noexcept { return g != nullptr || thread != nullptr; }
};

// The goroutine running on this thread, or nullptr on a plain thread.
G* current_g() noexcept;
Waker current_waker() noexcept;
// The waker of `self`, the caller's current_g() (null: this plain thread).
Waker waker_of(G* self) noexcept;

// park() sleeps until a permit is granted (it may already be). park_until()
// also returns at `deadline`; it returns false once the deadline has passed.
void park();
bool park_until(TimePoint deadline);

// Cancellation. cancel_pending() tells whether the current goroutine has a
// cancellation request it may receive now (none on plain threads, none while
// an exception unwinds). take_cancel() consumes it and throws Cancelled.
bool cancel_pending() noexcept;
// The same for a caller that knows its current_g() (null on a plain thread).
bool cancel_pending(G* self) noexcept;
[[noreturn]] void throw_cancelled();
// block_forever() parks until cancelled (a nil channel's operations, a sleep
// without end); on a plain thread it never returns.
[[noreturn]] void block_forever();
inline void cancellation_point() {
    if (cancel_pending()) throw_cancelled();
}

// How many cancellation requests wait for delivery in the process, plus one
// while a runtime cancels its leftovers at shutdown: zero nearly always.
// A hint, never the truth (cancel_pending() is): it only lets the entry of a
// blocking call skip the look at its own goroutine when nobody anywhere has
// a request. Relaxed everywhere: a request that lands an instant after the
// load is seen at the call's park, or at the next call.
extern std::atomic<int> g_cancel_requests;

// The entry of every blocking call (channel send/recv, a select without
// default, WaitGroup::wait, Mutex::lock, Task::get, ...): a request is
// delivered there even when the call would complete without parking, so a
// cancelled goroutine stops at its next blocking call (API.md), and a
// leftover that loops over calls that never park still ends at shutdown.
inline void entry_cancellation_point() {
    if (g_cancel_requests.load(std::memory_order_relaxed) != 0) [[unlikely]]
        cancellation_point();
}

// A small spin lock for the short critical sections inside primitives. It
// blocks the thread (never the goroutine): hold it only for a few loads and
// stores, and never across a park.
// Its rank (lock_rank.hpp) is Primitive unless a runtime lock names its own.
class SpinLock {
public:
    SpinLock() noexcept = default;
    explicit SpinLock([[maybe_unused]] LockRank rank) noexcept
#ifdef GORO_LOCK_RANK
        : rank_(rank)
#endif
    {
    }
    void lock() noexcept {
#ifdef GORO_LOCK_RANK
        lock_rank_acquire(rank_, this);
#endif
        if (!locked_.exchange(true, std::memory_order_acquire)) [[likely]] return;  // pairs with release in unlock()
        lock_contended();
    }
    bool try_lock() noexcept {
        bool ok = !locked_.load(std::memory_order_relaxed) &&
                  !locked_.exchange(true, std::memory_order_acquire);  // pairs with release in unlock()
#ifdef GORO_LOCK_RANK
        if (ok) lock_rank_acquired_try(rank_, this);
#endif
        return ok;
    }
    void unlock() noexcept {
#ifdef GORO_LOCK_RANK
        lock_rank_release(rank_, this);
#endif
        locked_.store(false, std::memory_order_release);  // pairs with acquire in lock()
    }

private:
    // Under contention the waiter backs off exponentially (up to kMaxBackoff
    // pauses between looks): a thread that keeps looking at the lock's line
    // steals it from the holder, and when two workers hammer one channel,
    // letting the holder run a few critical sections in a row moves far more
    // items than handing the line back and forth on every one. Out of line,
    // so that the uncontended lock() stays a few instructions where it is
    // inlined (channel operations).
    static constexpr unsigned kMaxBackoff = 64;
    [[gnu::noinline, gnu::cold]] void lock_contended() noexcept {
        unsigned backoff = 1;
        for (;;) {
            do {
                for (unsigned i = 0; i < backoff; ++i) pause();
                if (backoff < kMaxBackoff) backoff <<= 1;
            } while (locked_.load(std::memory_order_relaxed));
            if (!locked_.exchange(true, std::memory_order_acquire)) return;  // pairs with release in unlock()
        }
    }

public:
    // One spin-wait hint to the CPU (x86 `pause`); the scheduler's spin
    // loops use it too.
    static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }

private:
    std::atomic<bool> locked_{false};
#ifdef GORO_LOCK_RANK
    LockRank rank_ = LockRank::Primitive;
#endif
};

}  // namespace goro::detail
