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

// Why a goroutine parks, in Go's words (wait_reason_name() gives them; the
// goroutine dump, goro/debug.hpp, prints them): the blocking call records it
// in the G at each park that switches away, with a coarse timestamp. Kept in
// one byte of the descriptor (sched/g.hpp).
enum class WaitReason : std::uint8_t {
    Unknown,           // "wait": a park with no reason given
    ChanReceive,       // "chan receive"
    ChanSend,          // "chan send"
    ChanReceiveNil,    // "chan receive (nil chan)"
    ChanSendNil,       // "chan send (nil chan)"
    Select,            // "select"
    SelectNoCases,     // "select (no cases)"
    Sleep,             // "sleep"
    IOWait,            // "IO wait": sockets, pipes, signals, DNS resolution
    MutexLock,         // "sync.Mutex.Lock"
    RWMutexRLock,      // "sync.RWMutex.RLock"
    RWMutexLock,       // "sync.RWMutex.Lock"
    CondWait,          // "sync.Cond.Wait"
    Semacquire,        // "semacquire"
    WaitGroupWait,     // "sync.WaitGroup.Wait"
    OnceDo,            // "sync.Once.Do"
    EventWait,         // "event wait"
    TaskWait,          // "task wait": get, gather, wait, wait_for, as_completed, TaskGroup
    RunBlocking,       // "run_blocking"
    ContextDone,       // "context wait"
    TimerWait,         // "timer wait": stopping a timer that is firing
    ShutdownWait,      // "shutdown wait": run() waiting for its leftovers
    Forever,           // "forever": block_forever() without a more precise reason
    Count_
};
// The name of r; never null.
const char* wait_reason_name(WaitReason r) noexcept;

// park() sleeps until a permit is granted (it may already be). park_until()
// also returns at `deadline`; it returns false once the deadline has passed.
// `reason` is recorded for the goroutine dump when the goroutine switches away
// (plain threads record nothing).
void park(WaitReason reason = WaitReason::Unknown);
bool park_until(TimePoint deadline, WaitReason reason = WaitReason::Unknown);

// Cancellation. cancel_pending() tells whether the current goroutine has a
// cancellation request it may receive now (none on plain threads, none while
// an exception unwinds). take_cancel() consumes it and throws Cancelled.
bool cancel_pending() noexcept;
// The same for a caller that knows its current_g() (null on a plain thread).
bool cancel_pending(G* self) noexcept;
[[noreturn]] void throw_cancelled();
// block_forever() parks until cancelled (a nil channel's operations, a sleep
// without end); on a plain thread it never returns.
[[noreturn]] void block_forever(WaitReason reason = WaitReason::Forever);
inline void cancellation_point() {
    if (cancel_pending()) throw_cancelled();
}

// Timeout scopes (goro::timeout, task.hpp). timeout_enter() arms a timer
// that, at `deadline`, makes a cancellation request of the calling goroutine
// (at once if the deadline has passed); timeout_exit() ends the scope: it
// disarms the timer, or waits until a firing one is done with it, and takes
// the scope's request back (asyncio's uncancel()), withdrawing it if it was
// never delivered and nobody else asked. It returns true when the Cancelled
// the body ended with (cancelled == true) is the scope's own, to be turned
// into Timeout: the timer fired, no other request was made since the scope
// began, and the runtime is not shutting down. Both are called on the
// goroutine that runs the scope; timeout_enter throws InvalidState on a
// plain thread and std::bad_alloc, and exit must follow every enter.
struct TimeoutScope;
TimeoutScope* timeout_enter(TimePoint deadline);
bool timeout_exit(TimeoutScope* scope, bool cancelled) noexcept;

// How many requests wait for delivery in the process: cancellation requests,
// plus one while a runtime cancels its leftovers at shutdown, plus the
// monitor's preemption requests to goroutines that ran too long without a
// goro call (runtime/sched/monitor.cpp): zero nearly always. A hint, never
// the truth (cancel_pending() and the P's flag are): it only lets the entry
// of a goro call skip the look at its own goroutine when nobody anywhere
// has a request. Relaxed everywhere: a request that lands an instant after
// the load is seen at the call's park, or at the next call.
extern std::atomic<int> g_requests_pending;

// The slow paths of the two checks below: deliver a cancellation request
// (throws Cancelled) and then a preemption request (yields); or only the
// latter. Out of line: they run only while some request is pending.
[[gnu::cold]] void entry_requests_slow();
[[gnu::cold]] void preempt_if_requested() noexcept;

// The entry of every blocking call (channel send/recv, a select without
// default, WaitGroup::wait, Mutex::lock, Task::get, ...): a request is
// delivered there even when the call would complete without parking, so a
// cancelled goroutine stops at its next blocking call (goro::Cancelled), and a
// leftover that loops over calls that never park still ends at shutdown. A
// goroutine the monitor asked to yield (it ran for long without a goro
// call) yields there too.
inline void entry_cancellation_point() {
    if (g_requests_pending.load(std::memory_order_relaxed) != 0) [[unlikely]]
        entry_requests_slow();
}

// The entry of goro calls that never park (try_send, try_recv, go, spawn)
// and goro::preempt_point(): only a preemption request is delivered there.
inline void entry_preempt_point() noexcept {
    if (g_requests_pending.load(std::memory_order_relaxed) != 0) [[unlikely]]
        preempt_if_requested();
}

}  // namespace goro::detail
