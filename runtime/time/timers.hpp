// time/timers.hpp — the runtime's timers: one heap per P (Go 1.14's design).
//
// Owns: every pending deadline of one runtime: sleeping goroutines, timed
// parks, and callback timers (after()). There is no timer thread: workers run
// expired timers in their find-work loop and fold next_deadline() into the
// timeout of their idle parking (or epoll_wait).
//
// Shards. Timers is a facade over shards, one per P (shard i belongs to P i;
// Runtime::add_proc_locked creates it with the P, add_shard). A timer goes
// into the shard of the P whose goroutine arms it; a plain thread (no P)
// arms into shard 0. Arming therefore takes only the arming P's lock, and
// touches no shared line unless the new timer is the earliest of its shard.
// Any worker runs any shard's due timers (run_expired: its own shard first,
// then every other, Go's timer "stealing"), so the timers of a P whose worker
// hogs, blocks in plain code, was handed off (sched/monitor.cpp) or retired
// by set_maxprocs (sched/worker.cpp check_retire) still fire. Shards are
// never freed before the Timers, so nothing ever migrates between them.
//
// A TimerNode belongs to its creator; while it is in a shard (index >= 0)
// the shard points to it, and node->shard names that shard. Protocol (the
// same as sync's wait lists), whichever workers the two sides run on:
//   fire:   lock shard; pop node (index = -1); unlock; node->fire(node)
//   cancel: s = node->shard; lock s; if index >= 0 remove; unlock
//           -- remove() says which won
// fire() must not touch the node after it has told the owner (a sleeper may
// return and drop its stack frame at once).
//
// Synchronisation:
//  * TimerShard::mu (a SpinLock, rank Timers) guards its heap and the index
//    of every node in it. No thread holds two shard locks at once.
//  * TimerShard::earliest_ns mirrors that shard's top deadline; written under
//    mu, seq_cst (see the hint), read lock-free by the scans.
//  * TimerNode::shard is written by add() and read by remove(): both are the
//    owner's calls, ordered by the owner (a node is never added and removed
//    at once); a firing worker never reads it.
//  * hint_ (the global earliest) keeps empty() and next_deadline() one load:
//    a lower bound of every shard's earliest_ns, exact whenever no add,
//    remove or run_expired is in flight. The one rule that keeps it a lower
//    bound, and keeps sleepers timed right:
//      - lowering: an add that makes its node the earliest of its shard
//        stores the shard's mirror, then lowers hint_ (lower_hint: a CAS
//        loop, nothing written when hint_ is already lower or equal).
//      - raising: only refresh_hint (after run_expired, and after a remove of
//        a shard's top that may have been the global earliest) raises it: it
//        scans the mirrors, CASes the old value to the minimum, and scans
//        again until a scan agrees with hint_: it lowers hint_ to an add it
//        missed, and raises it again past a remove it missed.
//      - whoever writes a lower value into hint_ re-times the timer sleeper
//        (add() returns true; refresh_hint reports it through `lowered`, and
//        the Runtime calls wake_for_timer()).
//    All of these are seq_cst, so they lie in one total order S. An add's
//    mirror store precedes its load of hint_ in S. If that load came before a
//    refresh's CAS in S, the refresh's second scan (after its CAS) sees the
//    mirror; if after, the add read the raised value (or a later one) and
//    lowers it itself. So every raise is followed, within the raiser's own
//    call, by the lowering it may have undone, and the raiser then wakes the
//    sleeper: a sleeper that read the briefly raised value is woken.
//    Between those two steps the hint may be too late by one deadline for a
//    moment (a reader then re-checks on its next pass); otherwise it can
//    only be early, which costs a spurious look at the shards, never a
//    missed deadline. A remove of a shard's top whose deadline is later than
//    hint_ leaves the re-computation to whoever removes the earlier top; if
//    that remover's scan read the mirror before the remove, its next scan
//    (after its CAS) reads the later one, so the raiser goes on raising: the
//    hint is not left early until a deadline that nobody has any more.
#pragma once

#include <goro/detail/park.hpp>

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

namespace goro::rt {

struct TimerShard;

struct TimerNode {
    detail::TimePoint when;
    void (*fire)(TimerNode*) = nullptr;  // runs on a worker after removal, outside the lock
    void (*drop)(TimerNode*) = nullptr;  // frees a heap-owned node still pending when the runtime ends
    std::int32_t index = -1;             // guarded by the mu of the shard holding it
    TimerShard* shard = nullptr;         // the shard of the last add(); the owner's (see the file comment)
};

// One P's timers: a 4-ary min-heap. Internal to Timers (timers.cpp); in the
// header only because nodes point at it.
struct alignas(64) TimerShard {
    struct Entry {
        detail::TimePoint when;  // a copy of node->when
        TimerNode* node;
    };
    // A SpinLock: held for one sift (or a batch of 64 pops). Mostly touched
    // by its own P's worker; other workers take it to run its due timers.
    detail::SpinLock mu{detail::LockRank::Timers};
    std::vector<Entry> heap;  // guarded by mu; 4-ary min-heap on `when`
    // The top's deadline (TimePoint::max()'s count: empty), on a line of its own: the scans
    // of every worker read it, the owner's adds mostly leave it alone.
    alignas(64) std::atomic<std::int64_t> earliest_ns{detail::TimePoint::max().time_since_epoch().count()};

    std::int64_t earliest() const noexcept {
        return earliest_ns.load(std::memory_order_seq_cst);  // in S: see the hint protocol
    }
    void place(std::size_t i, Entry e);
    void sift_up(std::size_t i);
    void sift_down(std::size_t i);
    void remove_at(std::size_t i);
    void update_earliest_locked();
};

class Timers {
public:
    // max_shards: the most shards add_shard may ever make (the runtime's
    // kMaxProcsLimit). Shard 0 exists from the start.
    explicit Timers(int max_shards = 1);
    ~Timers();
    Timers(const Timers&) = delete;
    Timers& operator=(const Timers&) = delete;

    // Makes shards [0, i] exist. Callers serialise it (Runtime::procs_mu_);
    // an add to shard i must happen after it (the P is made after its shard).
    void add_shard(int i);
    int shards() const noexcept { return nshards_.load(std::memory_order_acquire); }

    // add() puts n into shard `shard` and returns true when it lowered the
    // global earliest deadline (the caller then wakes an idle worker so it
    // shortens its sleep).
    bool add(TimerNode* n, int shard = 0);
    // remove() returns true when it took the node out before it fired.
    // *lowered (if given) is set when its re-computation of the earliest
    // deadline had to lower it (a race with an add: wake the timer sleeper).
    bool remove(TimerNode* n, bool* lowered = nullptr);
    // Pops and fires the nodes due at `now`, in every shard (shard `own`
    // first), up to `limit` of them; returns how many fired. Those left over
    // stay due: the next call fires them. *lowered: as for remove().
    int run_expired(detail::TimePoint now, int own = 0, bool* lowered = nullptr,
                    int limit = std::numeric_limits<int>::max());
    // The earliest pending deadline, or TimePoint::max() when none: one load
    // (hint_). Exact while nothing changes the timers; never later than the
    // true earliest but for the moment described in the file comment.
    detail::TimePoint next_deadline() const noexcept {
        return detail::TimePoint(detail::Clock::duration(hint_.load(std::memory_order_seq_cst)));
    }
    bool empty() const noexcept { return next_deadline() == detail::TimePoint::max(); }
    // Timers pending in shard i, or in every shard when i < 0 (each shard's
    // lock taken in turn: for metrics, not for hot paths).
    std::int64_t pending(int i = -1) const noexcept;

private:
    static constexpr std::int64_t kNone = detail::TimePoint::max().time_since_epoch().count();  // no deadline
    std::int64_t scan_min() const noexcept;
    bool lower_hint(std::int64_t t) noexcept;  // true when it wrote
    bool refresh_hint() noexcept;              // true when it had to lower (see the file comment)

    const int max_shards_;
    std::unique_ptr<std::atomic<TimerShard*>[]> shards_;  // [0, nshards_) set; never freed before ~Timers
    std::atomic<int> nshards_{0};
    // The global earliest (see the file comment), on its own line: read by
    // every worker's periodic checks, written rarely.
    alignas(64) std::atomic<std::int64_t> hint_{kNone};
};

}  // namespace goro::rt
