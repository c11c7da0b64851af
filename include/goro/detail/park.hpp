// goro/detail/park.hpp — the one parking mechanism every blocking call uses,
// and cancellation. Internal: included by the public headers' templates, not
// part of the API. The clock and deadlines are in clock.hpp, the SpinLock
// in spinlock.hpp (both included here).
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

#include <goro/detail/clock.hpp>
#include <goro/detail/spinlock.hpp>

#include <atomic>
#include <cstdint>
#include <cstddef>

namespace goro::detail {

struct G;
struct ThreadParker;

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
// cancelled goroutine stops at its next blocking call (goro::Cancelled), and a
// leftover that loops over calls that never park still ends at shutdown.
inline void entry_cancellation_point() {
    if (g_cancel_requests.load(std::memory_order_relaxed) != 0) [[unlikely]]
        cancellation_point();
}

}  // namespace goro::detail
