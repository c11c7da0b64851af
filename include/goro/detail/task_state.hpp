// goro/detail/task_state.hpp — the shared state behind a goro::Task. Internal:
// included by <goro/task.hpp>; the protocol is described in runtime/task/task.cpp.
//
// TaskCore is the part that does not depend on the result type: the state,
// the task's goroutine (while it runs), the waiters, the exception and the
// internal completion hooks. TaskShared<R> adds the result slot and the
// user's done callbacks, which need the Task<R> type.
#pragma once

#include <goro/detail/waitlist.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace goro {

// TaskState is a task's lifecycle, as asyncio's: Pending until its function
// ends; then Cancelled (it ended with goro::Cancelled) or Finished (a value,
// or any other exception).
enum class TaskState : std::uint8_t { Pending, Cancelled, Finished };

// ReturnWhen: when goro::wait returns (asyncio.FIRST_COMPLETED, ...).
enum class ReturnWhen : std::uint8_t { AllCompleted, FirstCompleted, FirstException };

namespace detail {

// next_task_number() is N of the next "Task-N", counting from 1 over the process.
std::uint64_t next_task_number() noexcept;

class TaskCore;
bool wait_some(TaskCore* const* cores, std::size_t n, ReturnWhen when, const TimePoint* deadline);

class TaskCore {
public:
    explicit TaskCore(std::string name) : name_(std::move(name)), name_ready_(true) {}
    // An unnamed task: its name "Task-N" is formatted on first use.
    explicit TaskCore(std::uint64_t number) : number_(number) {}
    virtual ~TaskCore() = default;
    TaskCore(const TaskCore&) = delete;
    TaskCore& operator=(const TaskCore&) = delete;

    TaskState state() const noexcept { return state_.load(std::memory_order_acquire); }  // pairs with release in complete()
    bool done() const noexcept { return state() != TaskState::Pending; }
    const std::string& name() const {
        if (!name_ready_.load(std::memory_order_acquire)) format_name();  // pairs with release in format_name
        return name_;
    }
    // error() is valid once done() (written before state_ is published).
    const std::exception_ptr& error() const noexcept { return error_; }

    // cancel() delivers one cancellation request to the task's goroutine (or
    // records it for the goroutine's start); false once done.
    bool cancel() noexcept;
    // attach() is called first thing on the task's own goroutine.
    void attach(G* g) noexcept;

    // wait_done() waits until done(): true when done, false when `deadline`
    // passed first. cancellable: a cancellation request of the caller throws
    // Cancelled (the task is untouched); otherwise requests are ignored and
    // stay pending.
    bool wait_done(const TimePoint* deadline, bool cancellable);

    // add_hook() runs hook() on the completing goroutine right after the task
    // is done (at once, on the caller, if it already is). Internal: hooks must
    // not block (as_completed's queue push).
    void add_hook(std::function<void()> hook);

protected:
    // complete() publishes the outcome, wakes every waiter and runs the
    // hooks. On the task's goroutine, once; the result slot is written before.
    void complete(TaskState s, std::exception_ptr error) noexcept;
    // take_callbacks_locked() is called by complete() under lock_, in the same
    // critical section that publishes the state, so that a callback added
    // concurrently is either taken here or sees done() and runs at once.
    virtual void take_callbacks_locked() noexcept {}

    mutable SpinLock lock_;
    bool taken_ = false;  // guarded by lock_: the move-only result was moved out

private:
    friend bool wait_some(TaskCore* const* cores, std::size_t n, ReturnWhen when, const TimePoint* deadline);

    std::atomic<TaskState> state_{TaskState::Pending};
    G* g_ = nullptr;              // guarded by lock_: the task's goroutine, from attach() until done
    bool cancel_early_ = false;   // guarded by lock_: cancel() came before attach()
    std::exception_ptr error_;    // written once before state_ leaves Pending
    WaitList waiters_;            // guarded by lock_: get(), gather, wait, wait_for
    std::vector<std::function<void()>> hooks_;  // guarded by lock_
    void format_name() const;
    mutable std::string name_;                  // set once: in the constructor or by format_name()
    mutable std::atomic<bool> name_ready_{false};
    std::uint64_t number_ = 0;                  // N of "Task-N" for an unnamed task
};

// wait_all() waits until every task is done, cancellably: when the caller is
// cancelled, every task not yet done is cancelled and awaited (ignoring
// further requests) before Cancelled is rethrown. gather's wait.
void wait_all(TaskCore* const* cores, std::size_t n);
// wait_some() waits until `when` holds over the tasks or `deadline` passes;
// cancellable; false on timeout.
bool wait_some(TaskCore* const* cores, std::size_t n, ReturnWhen when, const TimePoint* deadline);

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

// blocking_jobs_in_flight() counts run_blocking calls whose function has not
// returned yet (queued or running): a deadlock detector must treat each as a
// future wake-up.
std::int64_t blocking_jobs_in_flight() noexcept;

// Limits of the run_blocking pool (documented in <goro/task.hpp>).
inline constexpr int kBlockingMaxThreads = 64;
inline constexpr int kBlockingIdleSeconds = 10;

}  // namespace detail
}  // namespace goro
