/// @file goro/task_group.hpp
/// @brief TaskGroup: structured concurrency (asyncio.TaskGroup, Go's errgroup),
/// and TaskGroupError, the one exception that carries every child's failure.
///
/// @code
/// goro::run([] {
///     goro::TaskGroup group;
///     auto a = group.spawn([] { goro::sleep_for(10ms); return 1; });
///     auto b = group.spawn("fetch", [] { return 2; });
///     group.wait();  // both done: a.get() + b.get() == 3
///     try {
///         goro::TaskGroup failing(4);  // at most 4 children at once
///         for (int i = 0; i < 10; ++i)
///             failing.spawn([i] { if (i == 3) throw std::runtime_error("bad input"); goro::sleep_for(1h); });
///         failing.wait();  // the failure cancels the nine others, then is thrown
///     } catch (const goro::TaskGroupError& e) {
///         for (const std::exception_ptr& child : e.exceptions()) (void)child;  // one: "bad input"
///     }
/// });
/// @endcode
///
/// Rules (asyncio.TaskGroup's, with errgroup's limit):
///  * spawn() starts a child task now and returns its Task; with a limit, it
///    parks while `limit` children are running (errgroup's SetLimit).
///  * The first child that ends with an exception other than Cancelled
///    cancels every other child. wait() waits until all children are done,
///    then throws TaskGroupError holding every child's exception (children
///    cancelled by the group are not failures), in the order they failed.
///  * Cancelling the goroutine that waits in wait() cancels the children
///    first, waits for them to unwind, then throws Cancelled.
///  * No child outlives the group: the destructor waits for every child. It
///    never throws. If the group is destroyed by an exception's unwinding
///    (its scope left by a throw), it cancels the children first. A failure
///    that no wait() reported is written to stderr by the destructor, as
///    asyncio logs "Task exception was never retrieved".
///  * After wait() returned or threw, spawn() starts a new round: the group
///    can be used again.
/// Works from goroutines and from plain threads while a runtime runs.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, instead of failing deep inside a header
// (the missing #include is fatal, so the compiler goes no further).
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <goro/errors.hpp>
#include <goro/task.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace goro {

/// TaskGroupError: what TaskGroup::wait() throws when children failed
/// (asyncio's ExceptionGroup). what() names how many failed and the first
/// failure's message; exceptions() holds each failure, in the order they
/// happened.
class TaskGroupError : public Error {
public:
    /// Holds `errors` (not empty), in the order the children failed.
    explicit TaskGroupError(std::vector<std::exception_ptr> errors);
    /// Every child's exception, in the order the children failed.
    const std::vector<std::exception_ptr>& exceptions() const noexcept { return errors_; }
    /// Iteration over exceptions().
    ///@{
    auto begin() const noexcept { return errors_.begin(); }
    auto end() const noexcept { return errors_.end(); }
    std::size_t size() const noexcept { return errors_.size(); }
    ///@}

private:
    std::vector<std::exception_ptr> errors_;
};

namespace detail {
struct TaskGroupState;  // runtime/task/task_group.cpp
}

/// TaskGroup owns a set of child tasks; see the file comment for the rules.
class TaskGroup {
public:
    /// A group without a limit on running children.
    TaskGroup();
    /// A group that runs at most `limit` children at once (limit >= 1, else
    /// std::invalid_argument).
    explicit TaskGroup(std::size_t limit);
    /// Waits for every child (cancelling them first during an exception's
    /// unwinding); never throws; logs failures nobody retrieved.
    ~TaskGroup();
    TaskGroup(const TaskGroup&) = delete;
    TaskGroup& operator=(const TaskGroup&) = delete;

    /// Starts fn as a child task (named like spawn's tasks) and returns it.
    /// With a limit, parks while the limit is reached (a cancellation point
    /// then). Throws InvalidState if the group has already failed: its
    /// remaining children are being cancelled.
    template <class F>
    auto spawn(F&& fn) {
        admit();
        try {
            return adopt(goro::spawn(std::forward<F>(fn)));
        } catch (...) {
            unadmit();
            throw;
        }
    }
    /// The same, naming the task.
    template <class F>
    auto spawn(std::string name, F&& fn) {
        admit();
        try {
            return adopt(goro::spawn(std::move(name), std::forward<F>(fn)));
        } catch (...) {
            unadmit();
            throw;
        }
    }

    /// Waits until every child is done; throws TaskGroupError if any failed,
    /// Cancelled if the caller was cancelled (after cancelling the children
    /// and waiting for them). A cancellation point.
    void wait();
    /// Cancels every child not done (they end Cancelled; not failures).
    void cancel();

private:
    void admit();
    void unadmit() noexcept;
    void wait_uncancellable() noexcept;
    template <class R>
    Task<R> adopt(Task<R> t) {
        add_child(detail::TaskAccess::core(t), std::make_shared<Task<R>>(t));  // keeps the task's state alive
        return t;
    }
    void add_child(detail::TaskCore* core, std::shared_ptr<void> keep);

    std::shared_ptr<detail::TaskGroupState> s_;
    int uncaught_at_start_;
};

}  // namespace goro
