// time/timers.hpp — the runtime's timer heap.
//
// Owns: every pending deadline of one runtime: sleeping goroutines, timed
// parks, and callback timers (after()). There is no timer thread: workers run
// expired timers in their find-work loop and fold next_deadline() into the
// timeout of their idle parking (or epoll_wait).
//
// A TimerNode belongs to its creator; while it is in the heap (index >= 0)
// the heap points to it. Protocol (the same as sync's wait lists):
//   fire:   lock; pop node (index = -1); unlock; node->fire(node)
//   cancel: lock; if index >= 0 remove; unlock   -- remove() says which won
// fire() must not touch the node after it has told the owner (a sleeper may
// return and drop its stack frame at once).
//
// Synchronisation: mu_ (a SpinLock) guards the heap and every node's index; earliest_ns_
// mirrors the top deadline for lock-free peeking by the workers.
#pragma once

#include <goro/detail/park.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace goro::rt {

struct TimerNode {
    detail::TimePoint when;
    void (*fire)(TimerNode*) = nullptr;  // runs on a worker after removal, outside the lock
    void (*drop)(TimerNode*) = nullptr;  // frees a heap-owned node still pending when the runtime ends
    std::int32_t index = -1;             // guarded by Timers::mu_
};

class Timers {
public:
    Timers() = default;
    ~Timers();
    Timers(const Timers&) = delete;
    Timers& operator=(const Timers&) = delete;

    // add() returns true when the node became the earliest deadline (the
    // caller then wakes an idle worker so it shortens its sleep).
    bool add(TimerNode* n);
    // remove() returns true when it took the node out before it fired.
    bool remove(TimerNode* n);
    // Pops and fires every node due at `now`; returns how many fired.
    int run_expired(detail::TimePoint now);
    // Earliest pending deadline, or TimePoint::max() when none.
    detail::TimePoint next_deadline() const noexcept {
        return detail::TimePoint(detail::Clock::duration(
            earliest_ns_.load(std::memory_order_acquire)));  // pairs with release in update_earliest
    }
    bool empty() const noexcept { return next_deadline() == detail::TimePoint::max(); }

private:
    struct Entry {
        detail::TimePoint when;  // a copy of node->when
        TimerNode* node;
    };
    void place(std::size_t i, Entry e);
    void sift_up(std::size_t i);
    void sift_down(std::size_t i);
    void remove_at(std::size_t i);
    void update_earliest_locked();

    // A SpinLock: held for one sift (or a batch of 64 pops); a futex-based
    // mutex put both workers to sleep in the kernel when they armed timers
    // at the same moment (100k sleepers at 2 workers).
    mutable detail::SpinLock mu_{detail::LockRank::Timers};
    std::vector<Entry> heap_;  // guarded by mu_; 4-ary min-heap on `when`
    std::atomic<std::int64_t> earliest_ns_{detail::TimePoint::max().time_since_epoch().count()};
};

}  // namespace goro::rt
