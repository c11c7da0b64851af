// goro/detail/task_impl.hpp — the machinery behind <goro/task.hpp>. Internal:
// the templates a Task<R> needs inline, kept out of the public header.
//
//  * TaskShared<R>: TaskCore (detail/task_core.hpp) plus the result slot;
//    the state a Task<R> handle points to.
//  * TaskAccess: the one friend of Task<R>, for the code below.
//  * TaskEntry / spawn_task(): a task's goroutine, built in place in its G.
//  * schedule_callbacks(): done callbacks on a fresh goroutine.
//  * as_task, cores_of, rethrow_first_error, wait_until: gather's and wait's
//    helpers.
//  * BlockingJob / run_blocking_job(): run_blocking's job on the pool
//    (runtime/task/blocking_pool.cpp).
// The protocol of the state word and the waiters is in runtime/task/task.cpp.
#pragma once

#include <goro/detail/park.hpp>
#include <goro/detail/spawn.hpp>
#include <goro/detail/task_core.hpp>
#include <goro/errors.hpp>
#include <goro/runtime.hpp>
#include <goro/task_state.hpp>

#include <atomic>
#include <concepts>
#include <cstddef>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace goro {

template <class R>
class Task;
template <class R>
struct WaitResult;

namespace detail {

template <class R>
using ResultSlot = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

template <class T>
struct IsTask : std::false_type {};
template <class R>
struct IsTask<Task<R>> : std::true_type {};

// TaskShared<R> is the state a Task<R> points to: TaskCore plus the result.
template <class R>
class TaskShared final : public TaskCore {
public:
    explicit TaskShared(std::string name) : TaskCore(std::move(name)) {}
    explicit TaskShared(std::uint64_t number) : TaskCore(number) {}

    // A spawn's one heap allocation comes from the task-state pool.
    static void* operator new(std::size_t bytes) { return state_alloc(bytes); }
    static void operator delete(void* p, std::size_t bytes) noexcept { state_free(p, bytes); }

    // unref() drops one reference, deleting the state after the last one.
    void unref() noexcept {
        if (release()) delete this;
    }
    // finish() is complete() on the task's goroutine, deleting the state if
    // the goroutine's reference was the last. Non-empty callbacks hold that
    // reference now.
    DoneCallbacks finish(TaskState s) noexcept {
        DoneCallbacks fired;
        if (complete(s, fired)) delete this;
        return fired;
    }

    std::optional<ResultSlot<R>> value_;  // written by the task's goroutine before complete()

private:
    ~TaskShared() = default;  // only by unref()
};

struct TaskAccess;

// schedule_callbacks() runs cbs on a new goroutine named "<task's name>
// (done callback)", each with the task; with no runtime running (a task done before run() ended), on the caller.
template <class R>
void schedule_callbacks(Task<R> t, TaskCore::DoneCallbacks cbs);

struct TaskAccess {
    template <class R>
    static TaskCore* core(const Task<R>& t) {
        return &t.core();
    }
    template <class R>
    static ResultSlot<R> result(const Task<R>& t) {
        if constexpr (std::is_void_v<R>) {
            t.result();
            return {};
        } else {
            return t.result();
        }
    }
    // adopt() makes the handle that owns st's first reference.
    template <class R>
    static Task<R> adopt(TaskShared<R>* st) noexcept {
        return Task<R>(st, false);
    }
    template <class R>
    static TaskShared<R>* state(const Task<R>& t) noexcept {
        return t.st_;
    }
};

template <class R>
void schedule_callbacks(Task<R> t, TaskCore::DoneCallbacks cbs) {
    // The goroutine is named after the task, so that a panic in a callback
    // (or a dump meanwhile) says whose callback it is.
    std::string name = maxprocs() > 0 ? TaskAccess::core(t)->name() + " (done callback)" : std::string();
    auto body = [t = std::move(t), cbs = std::move(cbs)]() mutable {
        for (auto& cb : cbs) cb(*TaskAccess::core(t));
    };
    if (maxprocs() > 0) {
        try {
            spawn_named_goroutine(std::move(name), std::move(body));
            return;
        } catch (const InvalidState&) {
            // the runtime ended meanwhile: run here
        }
    }
    body();
}

// TaskEntry is the body of a task's goroutine, built in place in its G: run
// fn (unless the task was cancelled before it started), destroy fn, publish
// the outcome, then start the done callbacks. It owns the goroutine's
// reference to the state until it hands it to finish().
template <class R, class Fn>
struct TaskEntry {
    TaskShared<R>* st;  // null once finish() has the reference
    std::optional<Fn> fn;

    template <class F>
    TaskEntry(TaskShared<R>* s, F&& f) : st(s), fn(std::in_place, std::forward<F>(f)) {}
    TaskEntry(const TaskEntry&) = delete;
    TaskEntry& operator=(const TaskEntry&) = delete;
    ~TaskEntry() {
        if (st) st->unref();  // never ran
    }

    void operator()() {
        TaskState state = TaskState::Cancelled;
        try {
            // asyncio: a task cancelled before it starts never runs its
            // function. throw_cancelled() also consumes the request cancel()
            // left on this goroutine (visible here: it was made before the
            // flag was set), so nothing below sees it again.
            if (st->cancelled_before_start()) throw_cancelled();
            if constexpr (std::is_void_v<R>) {
                (*fn)();
                st->value_.emplace();
            } else {
                st->value_.emplace((*fn)());
            }
            state = TaskState::Finished;
        } catch (const Cancelled&) {
            st->set_error(std::current_exception());
        } catch (...) {
            state = TaskState::Finished;
            st->set_error(std::current_exception());
        }
        // The callable (and what it captured) is gone before anyone sees the
        // task done: gather's "no child outlives the caller's frame".
        fn.reset();
        TaskShared<R>* s = std::exchange(st, nullptr);
        TaskCore::DoneCallbacks fired = s->finish(state);  // s may be gone now, unless fired holds it
        if (!fired.empty()) schedule_callbacks(TaskAccess::adopt(s), std::move(fired));
    }
};

// spawn_task() starts a task's goroutine. The state starts with the handle's
// reference; the goroutine's is counted and its G recorded between g_alloc()
// and g_start(), before the goroutine can run and before any other thread
// can see the state, so neither needs an atomic read-modify-write or a lock.
template <class F, class Name>
auto spawn_task(Name&& name, F&& fn) {
    using Fn = std::decay_t<F>;
    static_assert(std::is_invocable_v<Fn&>, "goro::spawn: fn must be callable with no arguments");
    using R = std::remove_cvref_t<std::invoke_result_t<Fn&>>;
    using Entry = TaskEntry<R, Fn>;
    Task<R> task = TaskAccess::adopt(new TaskShared<R>(std::forward<Name>(name)));
    TaskShared<R>* st = TaskAccess::state(task);
    void* storage = nullptr;
    G* g = g_alloc(sizeof(Entry), alignof(Entry), &storage);
    try {
        ::new (storage) Entry(st, std::forward<F>(fn));
    } catch (...) {
        g_abandon(g);
        throw;
    }
    st->owned_by_goroutine(g);
    // A named task's goroutine shows the name in the goroutine dump (the
    // state, which holds it, lives as long as the goroutine).
    g_start(g, &entry_ops_for<Entry>, st->name_if_given(), true);
    return task;
}

template <class A>
auto as_task(A&& a) {
    if constexpr (IsTask<std::remove_cvref_t<A>>::value) {
        return std::remove_cvref_t<A>(a);
    } else {
        return spawn_task(next_task_number(), std::forward<A>(a));  // spawn(a)
    }
}

template <class A>
concept TaskOrCallable = IsTask<std::remove_cvref_t<A>>::value || std::invocable < std::decay_t<A>
& > ;

template <class R>
std::vector<TaskCore*> cores_of(const std::vector<Task<R>>& tasks) {
    std::vector<TaskCore*> cores;
    cores.reserve(tasks.size());
    for (const Task<R>& t : tasks) cores.push_back(TaskAccess::core(t));
    return cores;
}

// Every error is retrieved, as asyncio's gather retrieves each child's.
inline void rethrow_first_error(TaskCore* const* cores, std::size_t n) {
    std::exception_ptr first;
    for (std::size_t i = 0; i < n; ++i)
        if (const std::exception_ptr& e = cores[i]->error(); e && !first) first = e;
    if (first) std::rethrow_exception(first);
}

template <class R>
WaitResult<R> wait_until(std::vector<Task<R>> tasks, ReturnWhen when, const TimePoint* deadline) {
    std::vector<TaskCore*> cores = cores_of(tasks);
    wait_some(cores.data(), cores.size(), when, deadline);
    WaitResult<R> r;
    for (Task<R>& t : tasks) (t.done() ? r.done : r.pending).push_back(std::move(t));
    return r;
}

// run_blocking's job: run() is called on a pool thread; then finished is set
// (release) and the waiter woken.
struct BlockingJob {
    void (*run)(BlockingJob*) = nullptr;
    BlockingJob* next = nullptr;  // guarded by the pool's mutex
    Waker waker;
    std::atomic<bool> finished{false};
};
// run_blocking_job() runs `job` on the pool and parks the calling goroutine
// until it has finished (ignoring cancellation meanwhile); a cancellation
// request that arrived meanwhile is then delivered (throws Cancelled).
void run_blocking_job(BlockingJob& job);

}  // namespace detail
}  // namespace goro
