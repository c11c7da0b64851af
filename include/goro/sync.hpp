// goro/sync.hpp — WaitGroup, Mutex, CondVar, Semaphore, Event.
//
// Each parks only the goroutine when used on a goroutine, and blocks the
// thread when used from a plain thread; the two mix freely. Every blocking
// call is a cancellation point. Any of them may be destroyed as soon as the
// wait that it released returns (Go's on-the-stack pattern).
//
//   goro::WaitGroup wg;
//   for (int i = 0; i < 3; ++i) {
//       wg.add();
//       goro::go([&wg] { work(); wg.done(); });
//   }
//   wg.wait();
#pragma once

#include <goro/detail/waitlist.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace goro {

// WaitGroup waits for a collection of goroutines to finish (sync.WaitGroup).
// add() with a delta that drives the counter below zero throws
// std::logic_error and leaves the counter unchanged; so does one that would
// take it past 2^31 - 1. add() and done() are one atomic update unless they
// release waiters.
class WaitGroup {
public:
    WaitGroup() = default;
    WaitGroup(const WaitGroup&) = delete;
    WaitGroup& operator=(const WaitGroup&) = delete;

    void add(std::int64_t delta = 1);
    void done() { add(-1); }
    void wait();
    std::int64_t count() const noexcept;

private:
    // state_: the counter in the high 32 bits, the number of linked waiters
    // in the low 32 (Go's layout): one atomic operation both changes the
    // counter and tells whether anyone must be woken.
    std::atomic<std::uint64_t> state_{0};
    detail::SpinLock lock_;     // guards waiters_, and every change of the waiter half of state_
    detail::WaitList waiters_;  // guarded by lock_
};

// Mutex parks the goroutine that cannot take it (sync.Mutex; asyncio.Lock).
// unlock() hands the mutex directly to the longest waiter (FIFO), so no
// waiter starves. lock() is a cancellation point. Unlocking a mutex that is
// not locked is a fatal error, as in Go.
class Mutex {
public:
    Mutex() = default;
    Mutex(const Mutex&) = delete;
    Mutex& operator=(const Mutex&) = delete;

    void lock();
    bool try_lock() noexcept;
    void unlock();

private:
    friend class CondVar;
    void lock_impl(bool cancellable);

    detail::SpinLock lock_;
    bool locked_ = false;       // guarded by lock_
    detail::WaitList waiters_;  // guarded by lock_
};

// CondVar works with std::unique_lock<goro::Mutex> (sync.Cond; asyncio's
// Condition). No spurious wake-ups: wait() returns only after a notify
// (or throws Cancelled, with the lock held again).
class CondVar {
public:
    CondVar() = default;
    CondVar(const CondVar&) = delete;
    CondVar& operator=(const CondVar&) = delete;

    void wait(std::unique_lock<Mutex>& lock);
    template <class Pred>
    void wait(std::unique_lock<Mutex>& lock, Pred pred) {
        while (!pred()) wait(lock);
    }
    void notify_one() noexcept;
    void notify_all() noexcept;

private:
    detail::SpinLock lock_;
    detail::WaitList waiters_;  // guarded by lock_
};

// Semaphore holds a count of units (asyncio.Semaphore). acquire() takes one,
// parking while none is free; waiters are served first come, first served.
class Semaphore {
public:
    explicit Semaphore(std::int64_t n);
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    void acquire();
    bool try_acquire() noexcept;
    void release(std::int64_t n = 1);
    std::int64_t available() const noexcept;

private:
    mutable detail::SpinLock lock_;
    std::int64_t count_;        // guarded by lock_
    detail::WaitList waiters_;  // guarded by lock_
};

// Event is a flag that goroutines can wait for (asyncio.Event).
class Event {
public:
    Event() = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    void set();
    void clear() noexcept;
    bool is_set() const noexcept;
    void wait();

private:
    mutable detail::SpinLock lock_;
    bool set_ = false;          // guarded by lock_
    detail::WaitList waiters_;  // guarded by lock_
};

}  // namespace goro
