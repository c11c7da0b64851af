// goro/sync.hpp — WaitGroup, Mutex, CondVar, Semaphore, Event.
//
// Each parks only the goroutine when used on a goroutine, and blocks the
// thread when used from a plain thread; the two mix freely. Every blocking
// call is a cancellation point.
//
// Each is a cheap handle, like Chan: copies share one state, so a lambda
// may capture a WaitGroup (or a Mutex, ...) by copy or by reference alike.
// Any of them may be destroyed as soon as the wait that it released returns
// (Go's on-the-stack pattern), even when that drops the last copy.
//
//   goro::WaitGroup wg;
//   for (int i = 0; i < 3; ++i) {
//       wg.add();
//       goro::go([wg] { work(); wg.done(); });   // [&wg] works the same
//   }
//   wg.wait();
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, instead of failing deep inside a header
// (the missing #include is fatal, so the compiler goes no further).
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace goro {

// WaitGroup waits for a collection of goroutines to finish (sync.WaitGroup).
// add() with a delta that drives the counter below zero throws
// std::logic_error (as Go panics); one that would take it past 2^31 - 1
// throws std::overflow_error. Either way the counter is left unchanged, and
// any std::int64_t delta is checked before it is added. add() and done() are
// one atomic update unless they release waiters.
class WaitGroup {
public:
    WaitGroup();
    WaitGroup(const WaitGroup&) = default;  // shares the state
    WaitGroup& operator=(const WaitGroup&) = default;

    void add(std::int64_t delta = 1) const;
    void done() const { add(-1); }
    void wait() const;
    std::int64_t count() const noexcept;

private:
    struct State;
    std::shared_ptr<State> s_;
};

// Mutex parks the goroutine that cannot take it (sync.Mutex; asyncio.Lock).
// unlock() hands the mutex directly to the longest waiter (FIFO), so no
// waiter starves. lock() is a cancellation point. Unlocking a mutex that is
// not locked is a fatal error, as in Go.
class Mutex {
public:
    Mutex();
    Mutex(const Mutex&) = default;  // shares the state
    Mutex& operator=(const Mutex&) = default;

    void lock() const;
    bool try_lock() const noexcept;
    void unlock() const;

private:
    friend class CondVar;
    void lock_impl(bool cancellable) const;

    struct State;
    std::shared_ptr<State> s_;
};

// CondVar works with std::unique_lock<goro::Mutex> (sync.Cond; asyncio's
// Condition). No spurious wake-ups: wait() returns only after a notify
// (or throws Cancelled, with the lock held again).
class CondVar {
public:
    CondVar();
    CondVar(const CondVar&) = default;  // shares the state
    CondVar& operator=(const CondVar&) = default;

    void wait(std::unique_lock<Mutex>& lock) const;
    template <class Pred>
    void wait(std::unique_lock<Mutex>& lock, Pred pred) const {
        while (!pred()) wait(lock);
    }
    void notify_one() const noexcept;
    void notify_all() const noexcept;

private:
    struct State;
    std::shared_ptr<State> s_;
};

// Semaphore holds a count of units (asyncio.Semaphore). acquire() takes one,
// parking while none is free; waiters are served first come, first served.
// A negative initial count or release(n) throws std::invalid_argument; a
// release() that would take the count past 2^63 - 1 throws
// std::overflow_error and changes nothing.
class Semaphore {
public:
    explicit Semaphore(std::int64_t n);
    Semaphore(const Semaphore&) = default;  // shares the state
    Semaphore& operator=(const Semaphore&) = default;

    void acquire() const;
    bool try_acquire() const noexcept;
    void release(std::int64_t n = 1) const;
    std::int64_t available() const noexcept;

private:
    struct State;
    std::shared_ptr<State> s_;
};

// Event is a flag that goroutines can wait for (asyncio.Event).
class Event {
public:
    Event();
    Event(const Event&) = default;  // shares the state
    Event& operator=(const Event&) = default;

    void set() const;
    void clear() const noexcept;
    bool is_set() const noexcept;
    void wait() const;

private:
    struct State;
    std::shared_ptr<State> s_;
};

}  // namespace goro
