// task/task_group.cpp — TaskGroup (include/goro/task_group.hpp).
//
// Owns: TaskGroupState, shared by the group and a hook on each child task.
// A child counts in `running` from admit() (before its task exists) until
// its hook has run on the completing goroutine (TaskCore::add_hook: right
// after the task is done). The hook is the only completion signal: it
// records a failure, cancels the other children on the first one, hands a
// freed slot to a parked spawn(), and wakes wait() at zero. So when wait()
// returns, every hook of the round has run and `errors` is complete.
//
// Invariants, under mu:
//  * running == children admitted whose hook has not run;
//  * with a limit, running <= limit, and a spawn() parked in slot_waiters
//    that is signalled owns a slot (the hook counted it in);
//  * errors holds, in the order the hooks ran, each child's exception other
//    than Cancelled, since the last wait().
// Waiting follows include/goro/detail/waitlist.hpp. Locks: mu alone (never
// held while cancelling, signalling or calling into a task).
#include <goro/detail/waitlist.hpp>
#include <goro/task_group.hpp>

#include <cstdio>
#include <mutex>
#include <stdexcept>

namespace goro {

namespace {
std::string group_message(const std::vector<std::exception_ptr>& errors) {
    std::string first = "an exception not derived from std::exception";
    if (!errors.empty()) {
        try {
            std::rethrow_exception(errors.front());
        } catch (const std::exception& e) {
            first = e.what();
        } catch (...) {
        }
    }
    return "goro: " + std::to_string(errors.size()) + (errors.size() == 1 ? " task" : " tasks") +
           " of the group failed; first: " + first;
}
}  // namespace

TaskGroupError::TaskGroupError(std::vector<std::exception_ptr> errors)
    : Error(group_message(errors)), errors_(std::move(errors)) {}

namespace detail {

struct TaskGroupState {
    struct Child {
        TaskCore* core;
        std::shared_ptr<void> keep;  // the Task handle that keeps core alive
    };
    SpinLock mu;
    std::size_t limit = 0;                  // 0: none
    std::size_t running = 0;                // guarded by mu
    bool failed = false;                    // guarded by mu: a child failed this round
    std::vector<std::exception_ptr> errors; // guarded by mu
    std::vector<Child> children;            // guarded by mu: this round's
    WaitList done_waiters;                  // guarded by mu: wait()
    WaitList slot_waiters;                  // guarded by mu: spawn() at the limit

    // The hook of a child: see the file comment.
    void child_done(TaskCore* core) {
        std::vector<Child> to_cancel;
        WaitNode* wake_done = nullptr;
        WaitNode* slot = nullptr;
        {
            std::lock_guard lk(mu);
            if (core->state() == TaskState::Finished && core->error()) {
                errors.push_back(core->error());
                if (!failed) {
                    failed = true;
                    to_cancel = children;
                }
            }
            if (limit != 0 && (slot = slot_waiters.pop_front())) {
                // The slot passes to the parked spawn(): running stays.
            } else if (--running == 0) {
                wake_done = done_waiters.take_all();
            }
        }
        if (slot) signal(slot);
        signal_chain(wake_done);
        for (Child& c : to_cancel)
            if (c.core != core) c.core->cancel();
    }
};

}  // namespace detail

using detail::TaskGroupState;
using detail::WaitNode;

TaskGroup::TaskGroup() : s_(std::make_shared<TaskGroupState>()), uncaught_at_start_(std::uncaught_exceptions()) {}

TaskGroup::TaskGroup(std::size_t limit) : TaskGroup() {
    if (limit == 0) throw std::invalid_argument("goro: TaskGroup limit must be at least 1");
    s_->limit = limit;
}

TaskGroup::~TaskGroup() {
    // Left by an exception: the children are cancelled first (asyncio does
    // the same when the `async with` body raises).
    if (std::uncaught_exceptions() > uncaught_at_start_) cancel();
    wait_uncancellable();
    std::vector<std::exception_ptr> lost;
    {
        std::lock_guard lk(s_->mu);
        lost.swap(s_->errors);
    }
    if (!lost.empty()) std::fprintf(stderr, "%s (TaskGroup destroyed without wait())\n", group_message(lost).c_str());
}

void TaskGroup::admit() {
    TaskGroupState& st = *s_;
    st.mu.lock();
    if (st.failed) {
        st.mu.unlock();
        throw InvalidState("goro: TaskGroup::spawn after a child failed (its tasks are being cancelled)");
    }
    if (st.limit == 0 || st.running < st.limit) {
        ++st.running;
        st.mu.unlock();
        return;
    }
    WaitNode node;
    st.slot_waiters.push_back(&node);
    detail::block(st.mu, node, detail::WaitReason::TaskWait);  // signalled: a finishing child handed us its slot
}

void TaskGroup::unadmit() noexcept {
    TaskGroupState& st = *s_;
    WaitNode* wake_done = nullptr;
    WaitNode* slot = nullptr;
    {
        std::lock_guard lk(st.mu);
        if (st.limit != 0 && (slot = st.slot_waiters.pop_front())) {
        } else if (--st.running == 0) {
            wake_done = st.done_waiters.take_all();
        }
    }
    if (slot) detail::signal(slot);
    detail::signal_chain(wake_done);
}

void TaskGroup::add_child(detail::TaskCore* core, std::shared_ptr<void> keep) {
    {
        std::lock_guard lk(s_->mu);
        s_->children.push_back({core, std::move(keep)});
        if (s_->failed) core->cancel();  // a sibling failed while this one was being spawned
    }
    // Runs at once if the child is done already.
    core->add_hook([st = s_, core] { st->child_done(core); });
}

void TaskGroup::cancel() {
    std::vector<TaskGroupState::Child> children;
    {
        std::lock_guard lk(s_->mu);
        children = s_->children;
    }
    for (auto& c : children) c.core->cancel();
}

void TaskGroup::wait() {
    TaskGroupState& st = *s_;
    try {
        detail::entry_cancellation_point();
        st.mu.lock();
        if (st.running != 0) {
            WaitNode node;
            st.done_waiters.push_back(&node);
            detail::block(st.mu, node, detail::WaitReason::TaskWait);
        } else {
            st.mu.unlock();
        }
    } catch (const Cancelled&) {
        cancel();  // the waiter is cancelled: the children first
        wait_uncancellable();
        throw;
    }
    std::vector<std::exception_ptr> errors;
    {
        std::lock_guard lk(st.mu);
        errors.swap(st.errors);
        if (st.running == 0) {  // a new round starts (children spawned meanwhile stay)
            st.children.clear();
            st.failed = false;
        }
    }
    if (!errors.empty()) throw TaskGroupError(std::move(errors));
}

void TaskGroup::wait_uncancellable() noexcept {
    TaskGroupState& st = *s_;
    st.mu.lock();
    if (st.running == 0) {
        st.mu.unlock();
        return;
    }
    WaitNode node;
    node.waker = detail::current_waker();
    st.done_waiters.push_back(&node);
    st.mu.unlock();
    while (!node.signalled.load(std::memory_order_acquire)) detail::park(detail::WaitReason::TaskWait);  // pairs with release in signal()
}

}  // namespace goro
