// sched/idle.hpp — the idle workers and the spinning count: the state of the
// wake-up protocol (Go's sched.pidle/nmspinning, Tokio's idle.rs). The
// protocol itself, and the functions that run it, are in idle.cpp.
//
// Synchronisation: `mu` (a RankedMutex, rank Idle) guards `list` and each
// listed M's `spinning` flag while it is listed. nidle mirrors the list's
// length for lock-free peeking; nspinning counts the spinning workers. Both
// are written seq_cst where the protocol needs it (idle.cpp) and read
// relaxed after a seq_cst fence. timer_m and poll_m name the idle worker
// sleeping on the earliest timer and the one blocked in the netpoller.
#pragma once

#include "debug/lock_rank.hpp"

#include <atomic>
#include <vector>

namespace goro::rt {

struct M;

struct Idle {
    RankedMutex<LockRank::Idle> mu;
    std::vector<M*> list;       // guarded by mu: a stack of parked Ms
    std::atomic<int> nidle{0};  // list.size(), readable without mu
    std::atomic<int> nspinning{0};
    std::atomic<M*> timer_m{nullptr};  // the idle worker sleeping on the earliest timer
    std::atomic<M*> poll_m{nullptr};   // the idle worker blocked in the netpoller

    // The wakep() decision: if someone is idle and nobody spins, count one
    // more spinner and take an idle worker (not `self`) off the list,
    // marked spinning; it is the caller's to wake. Null: nobody to wake.
    M* claim_spinner(M* self);
    // Any idle worker but `self`, taken off the list (after a seq_cst fence
    // against its publication), or null.
    M* pop_any(M* self);
    // A worker without work: counts itself as a spinner if fewer than half
    // of the busy workers spin already.
    bool try_begin_spinning(int nprocs) noexcept {
        int busy = nprocs - nidle.load(std::memory_order_relaxed);
        if (2 * nspinning.load(std::memory_order_relaxed) >= busy) return false;
        nspinning.fetch_add(1, std::memory_order_seq_cst);
        return true;
    }
    // A spinner found work or gave up; true when it was the last one (it
    // must then wakep(): there may be more work than it can take).
    bool end_spinning() noexcept { return nspinning.fetch_sub(1, std::memory_order_seq_cst) == 1; }

private:
    M* pop_locked(M* self);  // REQUIRES(mu)
};

}  // namespace goro::rt
