// debug/lock_rank.hpp — RankedMutex: a std::mutex that takes part in the
// lock-rank check (include/goro/detail/lock_rank.hpp; the order itself is in
// runtime/DESIGN.md "Lock order"). SpinLocks carry their rank themselves
// (detail::SpinLock(LockRank)). Without GORO_LOCK_RANK a RankedMutex is a
// std::mutex, so ranking a lock changes nothing in a release build.
#pragma once

#include <goro/detail/lock_rank.hpp>

#include <mutex>

namespace goro::rt {

using detail::LockRank;

#ifdef GORO_LOCK_RANK
template <LockRank R>
class RankedMutex {
public:
    void lock() {
        detail::lock_rank_acquire(R, this);
        mu_.lock();
    }
    bool try_lock() {
        if (!mu_.try_lock()) return false;
        detail::lock_rank_acquired_try(R, this);
        return true;
    }
    void unlock() {
        detail::lock_rank_release(R, this);
        mu_.unlock();
    }

private:
    std::mutex mu_;
};
#else
template <LockRank R>
using RankedMutex = std::mutex;
#endif

// No lock may be held across a context switch (DESIGN.md): checked at every
// switch in lock-rank builds, a no-op otherwise.
inline void assert_no_lock_held_at_switch() noexcept {
#ifdef GORO_LOCK_RANK
    detail::lock_rank_assert_none_held("a context switch");
#endif
}

}  // namespace goro::rt
