// goro/detail/task_core.hpp — the shared state behind a goro::Task. Internal:
// included by <goro/task.hpp> (through detail/task_impl.hpp); the protocol is
// described in runtime/task/task.cpp.
//
// TaskCore is the part that does not depend on the result type: the
// reference count, the state, the task's goroutine, the waiters, the
// exception, the internal completion hooks and the done callbacks (erased
// over R). TaskShared<R> adds the result slot.
#pragma once

#include <goro/detail/waitlist.hpp>
#include <goro/task_state.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace goro {
namespace detail {

// next_task_number() is N of the next "Task-N", counting from 1 over the process.
std::uint64_t next_task_number() noexcept;

// state_alloc() / state_free() are the memory of task states: per-thread
// caches of cache-line-aligned blocks in front of ::operator new (see
// runtime/task/state_pool.cpp). state_free() takes the size given to
// state_alloc().
void* state_alloc(std::size_t bytes);
void state_free(void* p, std::size_t bytes) noexcept;

class TaskCore;
bool wait_some(TaskCore* const* cores, std::size_t n, ReturnWhen when, const TimePoint* deadline);

// TaskCore is reference counted by hand (intrusive), not by a shared_ptr: the
// owners are every Task<R> handle and the task's goroutine until it
// completes, and a spawn starts with both, so it costs no atomic increment.
// The count shares one atomic word with the state and a "watched" bit, so
// that a task nobody waits on completes, and drops its goroutine's
// reference, in a single atomic step (see complete() in task.cpp).
// TaskShared<R> (final) deletes itself by its own type when the last owner
// lets go; TaskCore's destructor is protected and not virtual.
class TaskCore {
public:
    // A done callback, erased over the result type: the template wraps the
    // user's cb(const Task<R>&) and hands it a handle to this task.
    using DoneCallback = std::function<void(TaskCore&)>;
    using DoneCallbacks = std::vector<DoneCallback>;

    TaskCore(const TaskCore&) = delete;
    TaskCore& operator=(const TaskCore&) = delete;

    TaskState state() const noexcept {
        return static_cast<TaskState>(word_.load(std::memory_order_acquire) &
                                      kStateMask);  // pairs with release in complete()
    }
    bool done() const noexcept { return state() != TaskState::Pending; }
    const std::string& name() const {
        if (!name_ready_.load(std::memory_order_acquire)) format_name();  // pairs with release in format_name
        return name_;
    }
    // The name given to spawn(name, fn), or null (an unnamed task's "Task-N"
    // is formatted lazily). Read at spawn, before anyone formats a name.
    const std::string* name_if_given() const noexcept {
        return name_ready_.load(std::memory_order_acquire) ? &name_ : nullptr;
    }
    // error() is valid once done() (written before the state is published).
    // Reading it retrieves it (asyncio's exception()): a task that failed and
    // whose exception nobody read logs "Task exception was never retrieved"
    // when its state is deleted. A relaxed flag: the last owner's acquire in
    // release() orders every reader's store before that check.
    const std::exception_ptr& error() const noexcept {
        if (error_ && !retrieved_.load(std::memory_order_relaxed)) retrieved_.store(true, std::memory_order_relaxed);
        return error_;
    }
    // failed(): whether it ended with an exception, without retrieving it
    // (wait()'s FIRST_EXCEPTION test).
    bool failed() const noexcept { return error_ != nullptr; }

    // cancel() delivers one cancellation request to the task's goroutine;
    // false once done.
    bool cancel() noexcept;

    // wait_done() waits until done(): true when done, false when `deadline`
    // passed first. cancellable: a cancellation request of the caller throws
    // Cancelled (the task is untouched); otherwise requests are ignored and
    // stay pending.
    bool wait_done(const TimePoint* deadline, bool cancellable);

    // add_hook() runs hook() on the completing goroutine right after the task
    // is done (at once, on the caller, if it already is). Internal: hooks must
    // not block (as_completed's queue push).
    void add_hook(std::function<void()> hook);
    // add_callback() stores cb for complete() to hand back, unless the task is
    // done; false: the caller runs it now.
    bool add_callback(DoneCallback& cb);
    // take_once() claims a move-only result; false if already taken.
    bool take_once() noexcept;

    // References. retain(): a new owner copied from an existing one.
    void retain() noexcept {
        // relaxed: the copier's own reference keeps the state alive meanwhile.
        word_.fetch_add(kRef, std::memory_order_relaxed);
    }
    // release() drops one reference; true when it was the last, and the
    // caller must delete the state. An owner that sees the count at 1 is the
    // only one left (nobody else holds a reference to copy), so it skips the
    // atomic decrement. acquire on that load, acq_rel on the decrement: every
    // other owner's accesses (all ending in a release decrement, or in
    // complete()'s release) happen before the deletion.
    bool release() noexcept {
        if ((word_.load(std::memory_order_acquire) >> kRefShift) == 1) return true;
        return (word_.fetch_sub(kRef, std::memory_order_acq_rel) >> kRefShift) == 1;
    }

    // The task's own side, called only by spawn_task and TaskEntry:
    //
    // owned_by_goroutine() records the task's goroutine and its reference,
    // between g_alloc() and g_start(): no other thread can see the state yet.
    void owned_by_goroutine(G* g) noexcept {
        g_ = g;
        word_.store(2 * kRef,
                    std::memory_order_relaxed);  // Pending, the handle's and the goroutine's; published by g_start
    }
    // cancelled_before_start() is read once, first thing on the task's
    // goroutine: a cancel() seen here means the function never runs.
    bool cancelled_before_start() const noexcept {
        return cancel_requested_.load(std::memory_order_acquire);  // pairs with release in cancel()
    }
    // set_error() records the exception the function ended with, before complete().
    void set_error(std::exception_ptr e) noexcept { error_ = std::move(e); }
    // complete() publishes the outcome s (the result slot and error_ are
    // written before), wakes every waiter, runs the hooks, and takes over the
    // goroutine's reference. Once. When done callbacks were registered they
    // are moved to `fired` and the reference goes with them (the caller
    // schedules them with a handle adopting it). Otherwise the reference is
    // dropped; true when it was the last: the caller deletes the state.
    bool complete(TaskState s, DoneCallbacks& fired) noexcept;

protected:
    explicit TaskCore(std::string name) : name_ready_(true), name_(std::move(name)) {}
    // An unnamed task: its name "Task-N" is formatted on first use.
    explicit TaskCore(std::uint64_t number) : number_(number) {}
    ~TaskCore() {
        if (error_ && !retrieved_.load(std::memory_order_relaxed)) report_unretrieved();
    }

private:
    friend bool wait_some(TaskCore* const* cores, std::size_t n, ReturnWhen when, const TimePoint* deadline);

    // Rarely used, so allocated on first use: one pointer in every task.
    struct Listeners {
        std::vector<std::function<void()>> hooks;
        DoneCallbacks callbacks;
    };
    Listeners& listeners_locked();
    // watch_locked() marks the task watched and returns its state then. Under
    // lock_, by everyone who must not miss the completion or must keep the
    // goroutine alive: a waiter linking its node, add_hook, add_callback,
    // cancel(). A watched task completes under lock_.
    TaskState watch_locked() noexcept {
        // acquire: a state already published comes with the result and error_.
        return static_cast<TaskState>(word_.fetch_or(kWatched, std::memory_order_acquire) & kStateMask);
    }
    void format_name() const;
    // Writes "goro: Task exception was never retrieved" with the task's name,
    // the exception's type and what() to stderr, unless the error is a
    // cancellation.
    void report_unretrieved() const noexcept;

    // word_: the TaskState in bits 0-1, kWatched, and the reference count
    // above them. The state moves once, away from Pending, in complete().
    static constexpr std::uint32_t kStateMask = 3;
    static constexpr std::uint32_t kWatched = 4;
    static constexpr unsigned kRefShift = 3;
    static constexpr std::uint32_t kRef = 1u << kRefShift;
    std::atomic<std::uint32_t> word_{kRef};
    mutable SpinLock lock_;
    bool taken_ = false;                         // guarded by lock_: the move-only result was moved out
    std::atomic<bool> cancel_requested_{false};  // set by cancel(); read at the goroutine's start
    mutable std::atomic<bool> name_ready_{false};
    mutable std::atomic<bool> retrieved_{false};  // error() was called (see there)
    G* g_ = nullptr;                        // the task's goroutine; used under lock_ while Pending
    std::exception_ptr error_;              // written once before the state leaves Pending
    WaitList waiters_;                      // guarded by lock_: get(), gather, wait, wait_for
    std::unique_ptr<Listeners> listeners_;  // guarded by lock_; null until a hook or callback is added
    mutable std::string name_;              // set once: in the constructor or by format_name()
    std::uint64_t number_ = 0;              // N of "Task-N" for an unnamed task
};

// wait_all() waits until every task is done, cancellably: when the caller is
// cancelled, every task not yet done is cancelled and awaited (ignoring
// further requests) before Cancelled is rethrown. gather's wait.
void wait_all(TaskCore* const* cores, std::size_t n);
// wait_some() waits until `when` holds over the tasks or `deadline` passes;
// cancellable; false on timeout.
bool wait_some(TaskCore* const* cores, std::size_t n, ReturnWhen when, const TimePoint* deadline);

}  // namespace detail
}  // namespace goro
