// debug/lock_rank.cpp — the lock-rank check (builds with GORO_LOCK_RANK).
//
// Go's runtime/lockrank.go, smaller: each ranked lock reports to the hooks
// of include/goro/detail/lock_rank.hpp, which keep the locks this thread
// holds on a small thread_local stack. Taking a lock is allowed when every
// lock held has a lower level (kLevel below); two ranks of one level are
// never nested. The one exception is Primitive after Primitive, allowed when
// the new lock's address is above the last one's: select locks several
// channels, always in address order (chan/select.cpp), and the check holds
// it to that order. Anything else aborts, naming both locks, before the
// acquire could deadlock.
//
// Goroutines move between threads, but only at a context switch, and no lock
// is held across one (worker.cpp checks that at every switch), so the stack
// of a thread is the stack of the goroutine or g0 running on it.
#include <goro/detail/lock_rank.hpp>

#ifdef GORO_LOCK_RANK

#include "debug/assert.hpp"

#include <cstddef>
#include <cstdint>

namespace goro::detail {

namespace {

struct RankInfo {
    const char* name;
    int level;
};

// Indexed by LockRank; the order of runtime/DESIGN.md "Lock order".
constexpr RankInfo kRanks[] = {
    {"a Timer's or Ticker's lock", 0},
    {"Primitive (a channel's or primitive's SpinLock)", 1},
    {"Timers::mu_", 2},
    {"Runtime::procs_mu_", 3},
    {"Idle::mu", 3},
    {"GPool::mu_", 4},
    {"the stack pool's lock", 4},
    {"a netpoll lock", 4},
};
static_assert(sizeof kRanks / sizeof kRanks[0] == static_cast<std::size_t>(LockRank::Netpoll) + 1);
static_assert(static_cast<int>(LockRank::TimerChan) == 0 && static_cast<int>(LockRank::Primitive) == 1);

const RankInfo& info(LockRank r) noexcept { return kRanks[static_cast<std::size_t>(r)]; }

struct Held {
    LockRank rank;
    const void* lock;
};

// Deeper than any real nesting: select holds one lock per distinct channel
// of its cases, everything else at most a few.
constexpr int kMaxHeld = 256;
thread_local Held t_held[kMaxHeld];
thread_local int t_depth = 0;

void push(LockRank r, const void* lock) noexcept {
    if (t_depth == kMaxHeld) rt::fatal("lock rank: more than %d locks held by one thread", kMaxHeld);
    t_held[t_depth++] = Held{r, lock};
}

}  // namespace

void lock_rank_acquire(LockRank r, const void* lock) noexcept {
    for (int i = t_depth - 1; i >= 0; --i) {
        const Held& h = t_held[i];
        bool ok = info(h.rank).level < info(r).level;
        // select: several channels, in address order.
        if (!ok && r == LockRank::Primitive && h.rank == LockRank::Primitive)
            ok = reinterpret_cast<std::uintptr_t>(h.lock) < reinterpret_cast<std::uintptr_t>(lock);
        if (!ok)
            rt::fatal(
                "lock order violation: acquiring %s (%p, level %d) while holding %s (%p, level %d); "
                "the order is in runtime/DESIGN.md \"Lock order\"",
                info(r).name, lock, info(r).level, info(h.rank).name, h.lock, info(h.rank).level);
        if (h.rank == LockRank::Primitive && r == LockRank::Primitive)
            break;  // the others were checked when this one was taken
    }
    push(r, lock);
}

void lock_rank_acquired_try(LockRank r, const void* lock) noexcept { push(r, lock); }

void lock_rank_release(LockRank r, const void* lock) noexcept {
    // Usually the last one taken; select releases in any order.
    for (int i = t_depth - 1; i >= 0; --i) {
        if (t_held[i].lock != lock) continue;
        if (t_held[i].rank != r)
            rt::fatal("lock rank: %p released as %s, taken as %s", lock, info(r).name, info(t_held[i].rank).name);
        for (int j = i; j + 1 < t_depth; ++j) t_held[j] = t_held[j + 1];
        --t_depth;
        return;
    }
    rt::fatal("lock rank: releasing %s (%p), which this thread does not hold", info(r).name, lock);
}

void lock_rank_assert_none_held(const char* where) noexcept {
    if (t_depth == 0) return;
    const Held& h = t_held[t_depth - 1];
    rt::fatal("lock rank: %s while holding %d lock(s), the last %s (%p): no lock may be held across a switch", where,
              t_depth, info(h.rank).name, h.lock);
}

}  // namespace goro::detail

#endif  // GORO_LOCK_RANK
