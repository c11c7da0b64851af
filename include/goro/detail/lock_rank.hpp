// goro/detail/lock_rank.hpp — the ranks of the runtime's locks, and the
// hooks of the lock-rank check. Internal: not part of the API.
//
// runtime/DESIGN.md "Lock order" is the one list of the order, and says why
// it is checked this way. In builds with GORO_LOCK_RANK defined (meson
// -Dlock_rank=true, which defines it for the library and everything built
// against it), every ranked lock reports its acquires and releases to
// runtime/debug/lock_rank.cpp, which keeps a per-thread stack of the locks
// held and aborts with both locks named when one is taken out of order.
// Without it the hooks do not exist and a rank costs nothing.
#pragma once

#include <cstdint>

namespace goro::detail {

// In the order they may be taken (runtime/DESIGN.md "Lock order").
enum class LockRank : std::uint8_t {
    TimerChan,  // a Timer's or Ticker's own lock (runtime/time/timer.cpp): taken before its channel's
    Primitive,  // a channel's or another primitive's SpinLock (the default rank of SpinLock)
    Timers,     // TimerShard::mu, one per P's timer shard (never two held at once)
    Procs,      // Runtime::procs_mu_   (never nested with Idle)
    Idle,       // Idle::mu             (never nested with Procs)
    GPool,      // GPool::mu_: free goroutine descriptors
    StackPool,  // the stack pool's lock
    Netpoll,    // the netpoller's creation lock and its descriptor table
};

#ifdef GORO_LOCK_RANK
// Before taking `lock` (blocking): aborts if a lock already held by this
// thread must not be held while taking one of rank `r`, else records it.
void lock_rank_acquire(LockRank r, const void* lock) noexcept;
// After a try_lock() that succeeded: records it (a try cannot deadlock).
void lock_rank_acquired_try(LockRank r, const void* lock) noexcept;
// Before releasing `lock`.
void lock_rank_release(LockRank r, const void* lock) noexcept;
// Aborts if this thread holds any ranked lock (at a context switch: a lock
// held across it would be released on another thread, or never).
void lock_rank_assert_none_held(const char* where) noexcept;
#endif

}  // namespace goro::detail
