/// @file goro/sync.hpp
/// @brief WaitGroup, Mutex, RWMutex, CondVar, Semaphore, Event, Once.
///
/// Each parks only the goroutine when used on a goroutine, and blocks the
/// thread when used from a plain thread; the two mix freely. Every blocking
/// call is a cancellation point.
///
/// Each is a cheap handle, like Chan: copies share one state, so a lambda
/// may capture a WaitGroup (or a Mutex, ...) by copy or by reference alike.
/// Any of them may be destroyed as soon as the wait that it released returns
/// (Go's on-the-stack pattern), even when that drops the last copy.
///
/// @code
/// goro::WaitGroup wg;
/// for (int i = 0; i < 3; ++i) {
///     wg.add();
///     goro::go([wg] { work(); wg.done(); });   // [&wg] works the same
/// }
/// wg.wait();
/// @endcode
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
#include <type_traits>

namespace goro {

/// WaitGroup waits for a collection of goroutines to finish (sync.WaitGroup).
/// add() with a delta that drives the counter below zero throws
/// std::logic_error (as Go panics); one that would take it past 2^31 - 1
/// throws std::overflow_error. Either way the counter is left unchanged, and
/// any std::int64_t delta is checked before it is added. add() and done() are
/// one atomic update unless they release waiters.
class WaitGroup {
public:
    /// A new wait group, its counter at zero.
    WaitGroup();
    /// Copies share the state: a copy waits for the same counter.
    ///@{
    WaitGroup(const WaitGroup&) = default;
    WaitGroup& operator=(const WaitGroup&) = default;
    ///@}

    /// Adds delta (may be negative) to the counter (wg.Add); at zero it
    /// releases every waiter. Throws as described above, changing nothing.
    void add(std::int64_t delta = 1) const;
    /// add(-1) (wg.Done).
    void done() const { add(-1); }
    /// Parks until the counter is zero (wg.Wait); returns at once if it is.
    /// A cancellation point.
    void wait() const;
    /// The counter now (a snapshot, for diagnostics).
    std::int64_t count() const noexcept;

private:
    struct State;
    std::shared_ptr<State> s_;
};

/// Mutex parks the goroutine that cannot take it (sync.Mutex; asyncio.Lock).
/// unlock() hands the mutex directly to the longest waiter (FIFO), so no
/// waiter starves. lock() is a cancellation point. Unlocking a mutex that is
/// not locked is a fatal error, as in Go.
class Mutex {
public:
    /// A new, unlocked mutex.
    Mutex();
    /// Copies share the state: a copy is the same lock.
    ///@{
    Mutex(const Mutex&) = default;
    Mutex& operator=(const Mutex&) = default;
    ///@}

    /// Takes the mutex, parking (or blocking a plain thread) while another
    /// holds it. A cancellation point: throws Cancelled without the lock.
    void lock() const;
    /// Takes the mutex if it is free now; never parks.
    bool try_lock() const noexcept;
    /// Releases it, handing it to the longest waiter if any. Unlocking an
    /// unlocked mutex ends the process.
    void unlock() const;

private:
    friend class CondVar;
    void lock_impl(bool cancellable) const;

    struct State;
    std::shared_ptr<State> s_;
};

/// CondVar works with std::unique_lock<goro::Mutex> (sync.Cond; asyncio's
/// Condition). No spurious wake-ups: wait() returns only after a notify
/// (or throws Cancelled, with the lock held again).
class CondVar {
public:
    /// A new condition variable with no waiters.
    CondVar();
    /// Copies share the state: a copy is the same condition variable.
    ///@{
    CondVar(const CondVar&) = default;
    CondVar& operator=(const CondVar&) = default;
    ///@}

    /// Releases lock, parks until notified, and takes lock again before it
    /// returns (also when it throws Cancelled).
    void wait(std::unique_lock<Mutex>& lock) const;
    /// Waits until pred() holds: `while (!pred()) wait(lock);`.
    template <class Pred>
    void wait(std::unique_lock<Mutex>& lock, Pred pred) const {
        while (!pred()) wait(lock);
    }
    /// Wakes the longest waiter, if any.
    void notify_one() const noexcept;
    /// Wakes every waiter.
    void notify_all() const noexcept;

private:
    struct State;
    std::shared_ptr<State> s_;
};

/// Semaphore holds a count of units (asyncio.Semaphore). acquire() takes one,
/// parking while none is free; waiters are served first come, first served.
/// A negative initial count or release(n) throws std::invalid_argument; a
/// release() that would take the count past 2^63 - 1 throws
/// std::overflow_error and changes nothing.
class Semaphore {
public:
    /// A semaphore holding n units (n >= 0, else std::invalid_argument).
    explicit Semaphore(std::int64_t n);
    /// Copies share the state: a copy is the same semaphore.
    ///@{
    Semaphore(const Semaphore&) = default;
    Semaphore& operator=(const Semaphore&) = default;
    ///@}

    /// Takes one unit, parking while none is free. A cancellation point.
    void acquire() const;
    /// Takes one unit if one is free now; never parks.
    bool try_acquire() const noexcept;
    /// Gives back n units (n >= 1), waking waiters first come, first served.
    void release(std::int64_t n = 1) const;
    /// The free units now (a snapshot).
    std::int64_t available() const noexcept;

private:
    struct State;
    std::shared_ptr<State> s_;
};

/// RWMutex is a reader/writer lock (sync.RWMutex): many readers or one
/// writer. A writer that waits blocks readers that come after it, as Go's
/// does, so a stream of readers cannot starve writers; when a writer
/// unlocks, every reader that queued meanwhile is let in before the next
/// writer, so writers cannot starve readers either. lock() and rlock() are
/// cancellation points (Cancelled, without the lock). Unlocking what is not
/// held is a fatal error, as in Go. The std names (lock_shared, ...) make it
/// usable with std::shared_lock and std::unique_lock.
///
/// @code
/// goro::RWMutex mu;
/// std::map<std::string, int> table;
/// goro::go([&] { std::shared_lock rd(mu); use(table.at("k")); });   // readers in parallel
/// goro::go([&] { std::unique_lock wr(mu); table["k"] = 2; });         // one writer
/// @endcode
class RWMutex {
public:
    /// A new, unlocked reader/writer mutex.
    RWMutex();
    /// Copies share the state: a copy is the same lock.
    ///@{
    RWMutex(const RWMutex&) = default;
    RWMutex& operator=(const RWMutex&) = default;
    ///@}

    /// Takes it for writing (rw.Lock), parking while readers or a writer
    /// hold it. A cancellation point.
    void lock() const;
    /// Takes it for writing if nobody holds it and no writer waits; never parks.
    bool try_lock() const noexcept;
    /// Releases the write lock (rw.Unlock): readers that queued meanwhile go first.
    void unlock() const;
    /// Takes it for reading (rw.RLock), parking while a writer holds it or
    /// waits for it. A cancellation point.
    void rlock() const;
    /// Takes it for reading if no writer holds it or waits; never parks.
    bool try_rlock() const noexcept;
    /// Releases one read lock (rw.RUnlock); the last one lets a waiting writer in.
    void runlock() const;
    /// The std::shared_lock spellings of rlock, try_rlock and runlock.
    ///@{
    void lock_shared() const { rlock(); }
    bool try_lock_shared() const noexcept { return try_rlock(); }
    void unlock_shared() const { runlock(); }
    ///@}

private:
    struct State;
    std::shared_ptr<State> s_;
};

/// Once runs a function once (sync.Once; std::call_once). call(fn) runs fn
/// if no call has completed yet; callers that come while it runs park until
/// it ends. If fn throws, the exception reaches its caller and the Once is
/// not done: the next caller (a parked one, or a later one) runs its own fn,
/// as std::call_once does (Go's Once stays done after a panic). Parking for
/// a running call is a cancellation point; once done, call() is one
/// acquire load.
///
/// @code
/// goro::Once once;
/// Config* config = nullptr;
/// auto get = [&] { once.call([&] { config = load_config(); }); return config; };
/// @endcode
class Once {
public:
    /// A new Once, not done.
    Once();
    /// Copies share the state: a copy is the same Once.
    ///@{
    Once(const Once&) = default;
    Once& operator=(const Once&) = default;
    ///@}

    /// Runs fn() unless a call has completed; see the class comment.
    template <class Fn>
    void call(Fn&& fn) const {
        if (done()) return;
        call_slow(&fn, [](void* f) { (*static_cast<std::remove_reference_t<Fn>*>(f))(); });
    }
    /// Whether a call has completed (acquire: what it wrote is visible).
    bool done() const noexcept;

private:
    void call_slow(void* fn, void (*invoke)(void*)) const;

    struct State;
    std::shared_ptr<State> s_;
};

/// Event is a flag that goroutines can wait for (asyncio.Event).
class Event {
public:
    /// A new event, not set.
    Event();
    /// Copies share the state: a copy is the same event.
    ///@{
    Event(const Event&) = default;
    Event& operator=(const Event&) = default;
    ///@}

    /// Sets the flag and wakes every waiter; later wait()s return at once.
    void set() const;
    /// Clears the flag: later wait()s park until the next set().
    void clear() const noexcept;
    /// Whether the flag is set now.
    bool is_set() const noexcept;
    /// Parks until the flag is set (returns at once if it is). A
    /// cancellation point.
    void wait() const;

private:
    struct State;
    std::shared_ptr<State> s_;
};

}  // namespace goro
