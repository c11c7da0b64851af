// goro/detail/spinlock.hpp — the lock inside every primitive. Internal.
#pragma once

#include <goro/detail/lock_rank.hpp>

#include <atomic>

namespace goro::detail {

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
        if (!locked_.exchange(true, std::memory_order_acquire)) [[likely]]
            return;  // pairs with release in unlock()
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
    // The contended path, out of line in the library (runtime/sync/
    // spinlock.cpp), so that what it does does not depend on the caller's
    // optimisation level and the uncontended lock() stays a few
    // instructions where it is inlined (channel operations). It looks at
    // the lock seldom (every 64 pauses), so that a holder taking it again
    // and again keeps its cache line, and gives the CPU away (sched_yield,
    // then short sleeps) once it has waited far longer than any critical
    // section takes: the holder has then been preempted, perhaps on this
    // very CPU.
    [[gnu::cold]] void lock_contended() noexcept;

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
