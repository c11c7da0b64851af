/// @file goro/task.hpp
/// @brief the asyncio layer: Task, gather, wait, wait_for, shield,
/// as_completed and run_blocking, on the same scheduler as goroutines.
///
/// @code
/// goro::run([] {
///     goro::Task<int> a = goro::spawn([] { goro::sleep_for(10ms); return 1; });
///     goro::Task<int> b = goro::spawn("second", [] { return 2; });
///     auto [x, y] = goro::gather(a, b);                 // 1, 2
///     auto slow = goro::spawn([] { goro::sleep_for(1h); });
///     try { goro::wait_for(slow, 50ms); } catch (const goro::Timeout&) {}
///     // slow is cancelled now: slow.cancelled() == true
///     std::string s = goro::run_blocking([] { return read_file_blocking(); });
/// });
/// @endcode
///
/// A Task<R> is a copyable handle (a shared pointer) to the outcome of one
/// goroutine, asyncio's Task/Future; every member is const. Its states are
/// Pending, Cancelled (it ended with goro::Cancelled) and Finished (a value or
/// another exception). Everything here works from goroutines, where it parks
/// only the goroutine, and from plain threads, where it blocks the thread.
///
/// Cancellation is cooperative: cancel() delivers one request, and the task's
/// goroutine sees goro::Cancelled thrown from the blocking goro call it is
/// parked in (sleep, channel, select, Mutex, CondVar, Semaphore, Event,
/// WaitGroup, Task::get, gather, wait, I/O), or from its next one. A task
/// cancelled before its goroutine first ran never runs its function and ends
/// Cancelled (as in asyncio). A task that catches Cancelled and returns
/// normally is Finished. Cancelling a goroutine that waits in get() or wait()
/// cancels the waiter only; gather and wait_for, like asyncio's, then also
/// cancel the tasks they wait for and wait for them to unwind before throwing.
///
/// Results: get() returns a copy of the value, so it can be called many times
/// from many goroutines and threads. For a move-only R the value is moved out:
/// the first get() (or gather, wait_for) gets it, a later one throws
/// InvalidState.
///
/// Done callbacks (add_done_callback) run once, in registration order, on a
/// fresh goroutine started when the task is done: never inside cancel() or the
/// completing goroutine's frame. An exception escaping a callback ends the
/// process, as one escaping goro::go does.
///
/// run_blocking(fn) runs fn on a pool of plain threads (at most 64; a thread
/// idle for 10 s ends; idle threads are stopped at process exit) and parks
/// only the caller, so the workers keep running other goroutines, also with
/// maxprocs 1. Called from a plain thread it just calls fn. fn cannot be
/// interrupted: a caller cancelled meanwhile waits for fn to return, then
/// throws Cancelled (fn's result is discarded; fn may reference the caller's
/// frame, so the caller never leaves before it). A caller with a request
/// already pending throws Cancelled without running fn.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, instead of failing deep inside a header
// (the missing #include is fatal, so the compiler goes no further).
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <goro/detail/park.hpp>
#include <goro/detail/task_impl.hpp>
#include <goro/errors.hpp>
#include <goro/runtime.hpp>
#include <goro/task_state.hpp>

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace goro {

/// Task<R> is a copyable handle to one goroutine's outcome (asyncio.Task).
template <class R>
class Task {
public:
    /// R, the type get() returns.
    using result_type = R;

    /// An empty handle; every member but valid() throws InvalidState on it.
    Task() noexcept = default;

    /// get() waits for the outcome: the value (a copy; moved out once for a
    /// move-only R), or rethrows the task's exception (Cancelled if it was
    /// cancelled). Cancelling the waiter cancels the waiter only.
    R get() const {
        detail::entry_cancellation_point();
        detail::TaskCore& c = core();
        if (!c.done()) c.wait_done(nullptr, true);
        return result();
    }

    /// The task's state now: Pending, Cancelled or Finished.
    TaskState state() const { return core().state(); }
    /// Whether it is no longer Pending (asyncio's done()).
    bool done() const { return core().done(); }
    /// Whether it ended Cancelled (asyncio's cancelled()).
    bool cancelled() const { return core().state() == TaskState::Cancelled; }

    /// cancel() asks the task to stop (see the file comment); false if it was
    /// already done. Never blocks; never runs callbacks.
    bool cancel() const { return core().cancel(); }

    /// exception() is the exception the task ended with (a Cancelled for a
    /// cancelled task; null if it returned normally). On a pending task it
    /// throws InvalidState.
    std::exception_ptr exception() const {
        const detail::TaskCore& c = core();
        if (!c.done()) throw InvalidState("goro: exception() of pending task '" + c.name() + "'");
        return c.error();
    }

    /// The name given to spawn(name, fn); "Task-N" for a task spawned without
    /// one (asyncio's default; N numbers the process's tasks from 1).
    const std::string& name() const { return core().name(); }

    /// add_done_callback(cb) schedules cb(const Task<R>&) once when the task is
    /// done (at once if it already is), on a new goroutine.
    template <class F>
    requires std::invocable < std::decay_t<F>
    &, const Task<R>& > void add_done_callback(F&& cb) const {
        detail::TaskCore::DoneCallback f = [cb = std::decay_t<F>(std::forward<F>(cb))](detail::TaskCore& c) mutable {
            cb(Task(static_cast<detail::TaskShared<R>*>(&c), true));  // c is the state of a Task<R>
        };
        if (core().add_callback(f)) return;
        detail::TaskCore::DoneCallbacks one;
        one.push_back(std::move(f));
        detail::schedule_callbacks(*this, std::move(one));
    }

    /// Whether the handle names a task (false for a default-constructed or
    /// moved-from one).
    ///@{
    bool valid() const noexcept { return st_ != nullptr; }
    explicit operator bool() const noexcept { return valid(); }
    ///@}
    /// Handles are equal when they name the same task; hash_value() hashes
    /// that identity (std::hash<Task<R>> uses it).
    ///@{
    friend bool operator==(const Task& a, const Task& b) noexcept { return a.st_ == b.st_; }
    std::size_t hash_value() const noexcept { return std::hash<const void*>{}(st_); }
    ///@}

    /// Copies share the task; a moved-from handle is empty.
    ///@{
    Task(const Task& o) noexcept : st_(o.st_) {
        if (st_) st_->retain();
    }
    Task(Task&& o) noexcept : st_(std::exchange(o.st_, nullptr)) {}
    Task& operator=(const Task& o) noexcept {
        Task(o).swap(*this);
        return *this;
    }
    Task& operator=(Task&& o) noexcept {
        Task(std::move(o)).swap(*this);
        return *this;
    }
    ///@}
    ~Task() {
        if (st_) st_->unref();
    }

private:
    friend struct detail::TaskAccess;

    /// Task(st, share): a handle to st; share: a new reference, else it
    /// adopts one that the caller already counted.
    Task(detail::TaskShared<R>* st, bool share) noexcept : st_(st) {
        if (share) st_->retain();
    }
    void swap(Task& o) noexcept { std::swap(st_, o.st_); }

    detail::TaskShared<R>& core() const {
        if (!st_) throw InvalidState("goro: use of an empty Task");
        return *st_;
    }

    /// result() is the outcome of a done task.
    R result() const {
        detail::TaskShared<R>& c = *st_;
        if (c.error()) std::rethrow_exception(c.error());
        if constexpr (std::is_void_v<R>) {
            return;
        } else if constexpr (std::is_copy_constructible_v<R>) {
            return *c.value_;
        } else {
            if (!c.take_once())
                throw InvalidState("goro: the move-only result of task '" + c.name() + "' was already taken");
            return std::move(*c.value_);
        }
    }

    detail::TaskShared<R>* st_ = nullptr;  // one reference, or null
};

/// spawn(fn) starts fn as a task's goroutine now (asyncio.create_task); the
/// task is named "Task-N". spawn(name, fn) names it. Returns the
/// Task<R> of fn's result type R; callable from goroutines and plain threads
/// while a runtime runs (InvalidState when none does). Like go(), it yields
/// once the calling goroutine has started 256 goroutines without a switch
/// (goro/runtime.hpp).
///@{
template <class F>
auto spawn(std::string name, F&& fn) {
    auto task = detail::spawn_task(std::move(name), std::forward<F>(fn));
    detail::entry_preempt_point();  // a hog asked to yield does it here (runtime.hpp)
    return task;
}

template <class F>
requires std::invocable < std::decay_t<F>
& > auto spawn(F&& fn) {
    auto task = detail::spawn_task(detail::next_task_number(), std::forward<F>(fn));
    detail::entry_preempt_point();
    return task;
}
///@}

/// Outcome<R> is one settled task (gather_settled): a value or an exception.
template <class R>
class Outcome {
public:
    /// An outcome that is the exception e.
    explicit Outcome(std::exception_ptr e) noexcept : error_(std::move(e)) {}
    /// An outcome that is a value, built in place from a.
    template <class... A>
    explicit Outcome(std::in_place_t, A&&... a) : value_(std::in_place, std::forward<A>(a)...) {}

    /// Whether it is a value (no exception).
    bool ok() const noexcept { return !error_; }
    /// value() is the value, or rethrows the error.
    ///@{
    R& value() & {
        if (error_) std::rethrow_exception(error_);
        return *value_;
    }
    const R& value() const& {
        if (error_) std::rethrow_exception(error_);
        return *value_;
    }
    R&& value() && {
        if (error_) std::rethrow_exception(error_);
        return std::move(*value_);
    }
    ///@}
    /// The exception, or null for a value.
    std::exception_ptr error() const noexcept { return error_; }

private:
    std::optional<R> value_;
    std::exception_ptr error_;
};

/// Outcome<void>: a task of no value settled, normally or with an exception.
template <>
class Outcome<void> {
public:
    /// An outcome that is the exception e.
    explicit Outcome(std::exception_ptr e) noexcept : error_(std::move(e)) {}
    /// A normal return.
    explicit Outcome(std::in_place_t) noexcept {}

    /// Whether the task returned normally.
    bool ok() const noexcept { return !error_; }
    /// Returns, or rethrows the exception.
    void value() const {
        if (error_) std::rethrow_exception(error_);
    }
    /// The exception, or null.
    std::exception_ptr error() const noexcept { return error_; }

private:
    std::exception_ptr error_;
};

/// WaitResult<R> is what wait() returns: the tasks done and those still
/// pending, each in input order (asyncio.wait's `done, pending`).
template <class R>
struct WaitResult {
    std::vector<Task<R>> done;     ///< the tasks done, in input order
    std::vector<Task<R>> pending;  ///< the tasks still pending, in input order
};

/// gather(a, b, ...) waits for every argument (a Task, or a callable that is
/// spawned for you, in argument order) and returns a tuple of their results
/// (std::monostate for void). The first exception in argument order is
/// rethrown once every argument is done. If the caller is cancelled, every
/// argument not done is cancelled and awaited, then Cancelled is thrown.
template <class... A>
requires(detail::TaskOrCallable<A>&&...) auto gather(A&&... args) {
    std::tuple<decltype(detail::as_task(std::forward<A>(args)))...> tasks{detail::as_task(std::forward<A>(args))...};
    std::array<detail::TaskCore*, sizeof...(A)> cores = std::apply(
        [](const auto&... t) { return std::array<detail::TaskCore*, sizeof...(A)>{detail::TaskAccess::core(t)...}; },
        tasks);
    detail::wait_all(cores.data(), cores.size());
    detail::rethrow_first_error(cores.data(), cores.size());
    return std::apply(
        [](const auto&... t) {
            return std::tuple<detail::ResultSlot<typename std::remove_cvref_t<decltype(t)>::result_type>...>{
                detail::TaskAccess::result(t)...};
        },
        tasks);
}

/// gather(tasks) is the same for a vector: the results in input order.
template <class R>
std::vector<detail::ResultSlot<R>> gather(std::vector<Task<R>> tasks) {
    std::vector<detail::TaskCore*> cores = detail::cores_of(tasks);
    detail::wait_all(cores.data(), cores.size());
    detail::rethrow_first_error(cores.data(), cores.size());
    std::vector<detail::ResultSlot<R>> results;
    results.reserve(tasks.size());
    for (const Task<R>& t : tasks) results.push_back(detail::TaskAccess::result(t));
    return results;
}

/// gather_settled(tasks) waits for every task like gather and reports each
/// outcome, exceptions included (return_exceptions=True); a cancelled task is
/// an error holding Cancelled.
template <class R>
std::vector<Outcome<R>> gather_settled(std::vector<Task<R>> tasks) {
    std::vector<detail::TaskCore*> cores = detail::cores_of(tasks);
    detail::wait_all(cores.data(), cores.size());
    std::vector<Outcome<R>> out;
    out.reserve(tasks.size());
    for (const Task<R>& t : tasks) {
        if (auto e = detail::TaskAccess::core(t)->error()) {
            out.emplace_back(e);
        } else if constexpr (std::is_void_v<R>) {
            out.emplace_back(std::in_place);
        } else {
            out.emplace_back(std::in_place, detail::TaskAccess::result(t));
        }
    }
    return out;
}

/// wait(tasks, when, timeout) waits until `when` holds (asyncio.wait): all
/// done, the first done, or the first to end with an exception other than
/// Cancelled (or all done). A timeout only ends the wait: it cancels nothing.
/// The timeout is any std::chrono::duration, optional or not.
///@{
template <class R>
WaitResult<R> wait(std::vector<Task<R>> tasks, ReturnWhen when = ReturnWhen::AllCompleted,
                   std::optional<std::chrono::nanoseconds> timeout = std::nullopt) {
    if (!timeout) return detail::wait_until(std::move(tasks), when, nullptr);
    detail::TimePoint deadline = detail::deadline_after(*timeout);
    return detail::wait_until(std::move(tasks), when, &deadline);
}
template <class R, class Rep, class Period>
WaitResult<R> wait(std::vector<Task<R>> tasks, ReturnWhen when, std::chrono::duration<Rep, Period> timeout) {
    detail::TimePoint deadline = detail::deadline_after(timeout);
    return detail::wait_until(std::move(tasks), when, &deadline);
}
template <class R, class Rep, class Period>
WaitResult<R> wait(std::vector<Task<R>> tasks, ReturnWhen when,
                   std::optional<std::chrono::duration<Rep, Period>> timeout) {
    if (!timeout) return detail::wait_until(std::move(tasks), when, nullptr);
    return wait(std::move(tasks), when, *timeout);
}
///@}

/// wait_for(t, d) is t's result if it is done within d. Otherwise t is
/// cancelled, wait_for waits until it has finished unwinding, and throws
/// Timeout. A caller cancelled meanwhile cancels t the same way, then throws
/// Cancelled (asyncio.wait_for).
template <class R, class Rep, class Period>
R wait_for(Task<R> t, std::chrono::duration<Rep, Period> d) {
    detail::TaskCore& c = *detail::TaskAccess::core(t);
    detail::TimePoint deadline = detail::deadline_after(d);
    bool in_time;
    try {
        detail::entry_cancellation_point();  // a pending request cancels t the same way
        in_time = c.wait_done(&deadline, true);
    } catch (const Cancelled&) {
        c.cancel();
        c.wait_done(nullptr, false);
        throw;
    }
    if (!in_time && c.cancel()) {
        c.wait_done(nullptr, false);
        throw Timeout("goro: wait_for: task '" + c.name() + "' timed out");
    }
    return t.get();
}
/// wait_for(fn, d) spawns fn first.
template <class F, class Rep, class Period>
requires(std::invocable<std::decay_t<F>&> &&
         !detail::IsTask<std::remove_cvref_t<F>>::value) auto wait_for(F&& fn, std::chrono::duration<Rep, Period> d) {
    return wait_for(spawn(std::forward<F>(fn)), d);
}

/// timeout(d, fn) runs fn() here, on the calling goroutine, and returns its
/// result; if fn has not returned within d, the goroutine gets a
/// cancellation request (goro::Cancelled at its next blocking call), and
/// the Cancelled that then ends fn leaves timeout() as goro::Timeout
/// (asyncio.timeout(), Python 3.11+). Only the scope's own cancellation is
/// turned into Timeout:
///  - a cancellation from elsewhere (Task::cancel, an enclosing gather,
///    wait_for or TaskGroup), even one that arrives after the deadline,
///    stays Cancelled;
///  - of nested scopes that both expire, the outermost whose deadline
///    passed throws Timeout and the inner ones pass the Cancelled on;
///  - if fn catches the Cancelled and returns, timeout() returns its
///    result; any other exception from fn passes through unchanged;
///  - a request the deadline made that fn never received (it returned
///    first) is withdrawn: the code after the scope is not cancelled.
/// A deadline already past makes the request at once: fn runs until its
/// first blocking call. timeout_at(t, fn) takes a time point of any clock.
///
/// On a plain thread there is no goroutine to cancel: fn runs on a new
/// goroutine and the thread waits for it, as wait_for(spawn(fn), d) does
/// (fn must then return a value, not a reference).
///
///     std::string page = goro::timeout(2s, [&] { return fetch(url); });
///
/// This form takes the deadline as the runtime's steady time point.
template <class F>
requires std::invocable<std::decay_t<F>&>
std::invoke_result_t<std::decay_t<F>&> timeout_at(detail::TimePoint deadline, F&& fn) {
    using R = std::invoke_result_t<std::decay_t<F>&>;
    if (!detail::current_g()) {
        if constexpr (std::is_reference_v<R>) {
            throw InvalidState("goro: timeout() on a plain thread needs a function that returns a value");
        } else {
            auto left = deadline - detail::Clock::now();
            if (deadline == detail::TimePoint::max()) left = detail::kNoDeadline;
            return wait_for(spawn(std::forward<F>(fn)), left < left.zero() ? left.zero() : left);
        }
    }
    struct Scope {
        detail::TimeoutScope* s;
        ~Scope() {
            if (s) detail::timeout_exit(s, false);
        }
        bool exit(bool cancelled) noexcept { return detail::timeout_exit(std::exchange(s, nullptr), cancelled); }
    } scope{detail::timeout_enter(deadline)};
    try {
        if constexpr (std::is_void_v<R>) {
            fn();
            scope.exit(false);
        } else {
            R r = fn();
            scope.exit(false);
            if constexpr (std::is_reference_v<R>) return static_cast<R>(r);
            else return r;
        }
    } catch (const Cancelled&) {
        if (scope.exit(true)) throw Timeout("goro: timeout: the deadline passed");
        throw;
    }
}
/// timeout_at(t, fn): the scope of timeout(), ending at a time point of any clock.
template <class C, class D, class F>
requires std::invocable<std::decay_t<F>&>
std::invoke_result_t<std::decay_t<F>&> timeout_at(std::chrono::time_point<C, D> t, F&& fn) {
    return timeout_at(detail::deadline_at(t), std::forward<F>(fn));
}
/// timeout(d, fn): runs fn() on the calling goroutine, cancelled after d (see timeout_at above).
template <class Rep, class Period, class F>
requires std::invocable<std::decay_t<F>&>
std::invoke_result_t<std::decay_t<F>&> timeout(std::chrono::duration<Rep, Period> d, F&& fn) {
    return timeout_at(detail::deadline_after(d), std::forward<F>(fn));
}

/// shield(t) is a task that ends as t ends (its value, its exception, or
/// Cancelled if t is cancelled), except that cancelling the shield does not
/// cancel t (asyncio.shield): a wait_for, gather, TaskGroup or caller that
/// cancels what it waits for stops waiting while t runs on. The shield is a
/// goroutine that waits for t; for a move-only result, take it from the
/// shield (its get() moves t's result out). Callable wherever spawn() is;
/// InvalidState on an empty Task.
///
///     auto save = goro::spawn([&] { return db.commit(); });
///     try { goro::wait_for(goro::shield(save), 100ms); }
///     catch (const goro::Timeout&) { /* save still runs; save.get() later */ }
template <class R>
Task<R> shield(Task<R> t) {
    if (!t.valid()) throw InvalidState("goro: shield of an empty Task");
    auto wait_for_t = [t]() -> R { return t.get(); };
    if (t.name().empty()) return spawn(std::move(wait_for_t));
    return spawn("shield(" + t.name() + ")", std::move(wait_for_t));
}

/// AsCompleted<R> is as_completed()'s range: iterating it yields the tasks
/// (done) in the order they finish; each step parks until the next one does
/// (a cancellation point).
template <class R>
class AsCompleted {
    struct State {
        detail::SpinLock lock;
        std::deque<Task<R>> ready;  // guarded by lock
        detail::WaitList waiters;   // guarded by lock
    };

public:
    /// A range over tasks (as_completed() builds it).
    explicit AsCompleted(std::vector<Task<R>> tasks) : st_(std::make_shared<State>()), total_(tasks.size()) {
        for (const Task<R>& t : tasks) {
            std::weak_ptr<State> weak = st_;
            detail::TaskAccess::core(t)->add_hook([weak, t] {
                auto st = weak.lock();
                if (!st) return;  // the range is gone
                detail::WaitNode* w;
                {
                    std::lock_guard lk(st->lock);
                    st->ready.push_back(t);
                    w = st->waiters.pop_front();
                }
                if (w) detail::signal(w);
            });
        }
    }

    /// How many tasks the range yields in all.
    std::size_t size() const noexcept { return total_; }

    /// next() waits for the next task to finish and returns it.
    Task<R> next() {
        detail::entry_cancellation_point();
        for (;;) {
            st_->lock.lock();
            if (!st_->ready.empty()) {
                Task<R> t = std::move(st_->ready.front());
                st_->ready.pop_front();
                st_->lock.unlock();
                return t;
            }
            detail::WaitNode node;
            st_->waiters.push_back(&node);
            detail::block(st_->lock, node, detail::WaitReason::TaskWait);
        }
    }

    /// An input iterator over the finished tasks: * is the task, ++ waits for
    /// the next one; it equals end() after size() tasks.
    class iterator {
    public:
        /// The input iterator's member types and operations.
        ///@{
        using value_type = Task<R>;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        const Task<R>& operator*() const noexcept { return cur_; }
        const Task<R>* operator->() const noexcept { return &cur_; }
        iterator& operator++() {
            if (++pos_ < total_) cur_ = r_->next();
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return it.pos_ >= it.total_; }
        ///@}

    private:
        friend class AsCompleted;
        explicit iterator(AsCompleted* r) : r_(r), total_(r->total_) {
            if (total_ > 0) cur_ = r_->next();
        }
        AsCompleted* r_ = nullptr;
        std::size_t total_ = 0;
        std::size_t pos_ = 0;
        Task<R> cur_;
    };

    /// begin() waits for the first task to finish.
    iterator begin() { return iterator(this); }
    /// The end: reached after size() tasks.
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    std::shared_ptr<State> st_;
    std::size_t total_;
};

/// as_completed(tasks) is a range over the tasks in the order they finish:
/// @code
/// for (const goro::Task<int>& t : goro::as_completed(tasks)) use(t.get());
/// @endcode
template <class R>
AsCompleted<R> as_completed(std::vector<Task<R>> tasks) {
    return AsCompleted<R>(std::move(tasks));
}

/// run_blocking(fn) runs fn on the blocking-call pool and parks only the
/// calling goroutine until it returns (loop.run_in_executor); fn's exception
/// propagates. See the file comment for the pool and for cancellation.
template <class F>
auto run_blocking(F&& fn) -> std::remove_cvref_t<std::invoke_result_t<F&>> {
    using R = std::remove_cvref_t<std::invoke_result_t<F&>>;
    if (!detail::current_g()) return fn();  // a plain thread may block itself
    struct Job : detail::BlockingJob {
        std::remove_reference_t<F>* f = nullptr;
        std::optional<detail::ResultSlot<R>> result;
        std::exception_ptr error;
    };
    Job job;
    job.f = &fn;
    job.run = [](detail::BlockingJob* b) {
        Job* j = static_cast<Job*>(b);
        try {
            if constexpr (std::is_void_v<R>) {
                (*j->f)();
                j->result.emplace();
            } else {
                j->result.emplace((*j->f)());
            }
        } catch (...) {
            j->error = std::current_exception();
        }
    };
    detail::run_blocking_job(job);
    if (job.error) std::rethrow_exception(job.error);
    if constexpr (!std::is_void_v<R>) return std::move(*job.result);
}

}  // namespace goro

/// @cond
template <class R>
struct std::hash<goro::Task<R>> {
    std::size_t operator()(const goro::Task<R>& t) const noexcept { return t.hash_value(); }
};
/// @endcond
