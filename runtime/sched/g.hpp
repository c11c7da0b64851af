// sched/g.hpp — the goroutine descriptor (G) and its state machine.
//
// Owns: the fields of a goroutine. Who may touch which is stated per field.
//
// States (G::status), and who moves a G between them:
//   Free      in a free list, no goroutine.          -> Runnable   g_start()
//   Runnable  not parked: on exactly one run queue (a P's runnext or runq,
//             or the global queue), being handed to a worker, or executing
//             on the worker that dequeued it. Dequeuing and running write
//             nothing here.
//             -> Notified  ready(): a permit for its next park
//             -> Parked    the worker that switched away from it (after_switch)
//             -> Free      exit (the worker that switched away from it)
//   Notified  Runnable, with a wake-up permit pending: its next park()
//             returns at once (Notified -> Runnable by the G itself, or by
//             the worker it switches out to, which queues it again).
//   Parked    on no run queue; its context is suspended. -> Runnable  ready()
//
// Why queued and running share one state: every wake-up must reach the G's
// next park through a read-modify-write of status, or the waker's writes
// (the condition it set before waking) may not be visible to the G when it
// looks. A waker that found the G queued once did nothing ("it will run and
// see the condition"); but its store of the condition and the G's plain
// store of Running raced like the two halves of Dekker's algorithm, and the
// G could look, see nothing, and park for good (a select cancelled while a
// sender delivered to it: a lost wake-up, and a false deadlock). Now a
// waker that finds the G not parked leaves a permit with a CAS, the G takes
// it with a CAS, and the two synchronise; a yield or a first run costs no
// store to status at all.
//
// Invariants: a G is on at most one run queue, and only while Runnable or
// Notified; only the worker that dequeued it may resume it; a G's stack is
// used by at most one thread at a time; descriptors are never freed while
// their runtime lives (type-stable: a stale Waker may grant a spurious
// permit, never touch freed memory).
//
// Synchronisation: status is the only field written by other threads
// (ready(), cancellation) besides cancel_requested and cancels; all three
// are atomics. All
// other fields belong to the worker running the G, or to the allocator while
// the G is Free.
#pragma once

#include "fiber/context.hpp"

#include <goro/detail/park.hpp>
#include <goro/detail/spawn.hpp>

#include <atomic>
#include <cstdint>
#include <string>

namespace goro::detail {

// Held and HeldWoken: a Parked G that the goroutine dump (debug.cpp) is
// reading; its stack and fields stay still until the dump lets go. A ready()
// meanwhile moves Held -> HeldWoken (an RMW, so the waker's writes reach the
// G through the dump's release), and the dump then queues the G itself.
enum class GStatus : std::uint32_t { Free, Runnable, Notified, Parked, Held, HeldWoken };

// 192 bytes (three cache lines) in a release build, the callable's inline
// storage included: a million descriptors are 192 MB of page faults.
struct LocalTable;

struct alignas(64) G {
    rt::Context ctx;  // owner: the worker running it
    rt::Stack stack;  // bound at first run, released at exit
    std::atomic<GStatus> status{GStatus::Free};
    std::atomic<bool> cancel_requested{false};
    bool user = true;  // counted by num_goroutines()
    bool is_main = false;
    // Why it last parked (park.hpp WaitReason), written by the G itself at
    // each park that switches away; read by the goroutine dump (debug.cpp)
    // while it holds the G (status Held). The time of that park, in
    // milliseconds of CLOCK_MONOTONIC_COARSE modulo 2^32, is in
    // ctx.wait_since_ms (the Context's padding).
    detail::WaitReason wait_reason = detail::WaitReason::Unknown;
    std::uint16_t fn_align = 0;  // of a callable on the heap (fn != inline_fn); at most 32768 (spawn.hpp)
    bool owns_name = false;      // name is a heap string of go(name, fn), deleted with the G
    // Cancellation requests made of this goroutine (g_cancel) and not taken
    // back by the timeout scope that made them: asyncio's cancelling(). Only
    // timeout scopes read it (park.cpp); zeroed when the descriptor is freed.
    std::atomic<std::uint32_t> cancels{0};
    std::uint64_t id = 0;
    const EntryOps* ops = nullptr;
    void* fn = nullptr;  // the callable: inline_fn or a heap block
    const std::string* name = nullptr;
    G* next = nullptr;  // intrusive link for free lists and batches (list owner only)
    // The id of the goroutine that started it (0: a plain thread), for the
    // dump's "created by". Written at spawn, before the G is published.
    std::uint64_t parent_id = 0;
    // Its GoroutineLocal values (sched/local.cpp), created at the first
    // get() of one; owner: the G itself. Destroyed on the goroutine as it
    // ends (worker.cpp g_entry), so null again when the G is freed.
    LocalTable* locals = nullptr;
    alignas(16) unsigned char inline_fn[kInlineFnSize];

    bool fn_on_heap() const noexcept { return fn && fn != inline_fn; }
};
#if !GORO_ASAN && !GORO_TSAN
static_assert(sizeof(G) == 192, "a goroutine descriptor grew past three cache lines");
#endif

// Drops g's undelivered cancellation request, if any, and its count in
// g_requests_pending (park.hpp): on delivery, and when g ends or is reused.
// A plain load first: this runs at every goroutine's start and end, where
// there is nearly never a request, and a locked exchange there cost
// spawn_join 5%. A request that lands after the load stays counted until the
// descriptor's next start clears it.
inline void clear_cancel_request(G* g) noexcept {
    if (g->cancel_requested.load(std::memory_order_relaxed) &&
        g->cancel_requested.exchange(false, std::memory_order_relaxed))
        g_requests_pending.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace goro::detail
