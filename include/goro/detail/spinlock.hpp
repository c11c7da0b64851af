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
    // Under contention the waiter backs off exponentially (up to kMaxBackoff
    // pauses between looks): a thread that keeps looking at the lock's line
    // steals it from the holder, and when two workers hammer one channel,
    // letting the holder run a few critical sections in a row moves far more
    // items than handing the line back and forth on every one. Out of line,
    // so that the uncontended lock() stays a few instructions where it is
    // inlined (channel operations).
    static constexpr unsigned kMaxBackoff = 64;
    [[gnu::noinline, gnu::cold]] void lock_contended() noexcept {
        unsigned backoff = 1;
        for (;;) {
            do {
                for (unsigned i = 0; i < backoff; ++i) pause();
                if (backoff < kMaxBackoff) backoff <<= 1;
            } while (locked_.load(std::memory_order_relaxed));
            if (!locked_.exchange(true, std::memory_order_acquire)) return;  // pairs with release in unlock()
        }
    }

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
