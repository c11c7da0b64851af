// task/task.cpp — the non-template part of Task: naming, cancellation,
// completion, and the waits behind get(), gather, wait and wait_for.
//
// Owns: TaskCore (include/goro/detail/task_state.hpp). The templates in
// <goro/task.hpp> own the result slot, the callables and the callbacks;
// the run_blocking pool is in blocking_pool.cpp.
//
// States (TaskCore::state_), moved only by the task's own goroutine:
//   Pending   -> Finished   its function returned, or threw anything but Cancelled
//   Pending   -> Cancelled  its function threw Cancelled
// Both moves happen once, in complete(), under lock_.
//
// Invariants:
//  * g_ != nullptr only between attach() and complete(), i.e. only while the
//    task's goroutine is alive and not done. A G descriptor is recycled for
//    another goroutine once its goroutine exits, so cancel() may call
//    g_cancel(g_) only under lock_ with g_ set: complete() clears g_ under
//    the same lock before the goroutine can exit.
//  * cancel_early_ is only set while g_ == nullptr and Pending; attach()
//    turns it into a request on the goroutine itself.
//  * error_ is non-null in state Cancelled; it and the result slot are
//    written before state_ is stored (release), so whoever loads done()
//    (acquire) may read them without the lock.
//  * waiters_ and hooks_ are empty once done (taken by complete()).
//
// Synchronisation: lock_ (a SpinLock, never held across a park) guards g_,
// cancel_early_, waiters_, hooks_, taken_ and the template's callback list.
// Waiting is the waitlist.hpp protocol: link a WaitNode under lock_ unless
// done, block(); complete() takes the whole list under lock_ and signals
// after unlocking. wait_some() links one node per task, all naming the same
// waker, and before returning unlinks each node still linked, or waits for
// the signal of one already taken (its completer still owns it).
//
// Rejected designs:
//  * Setting g_ from spawn() after spawn_goroutine returns: the goroutine may
//    already have run, ended and its G been reused. The goroutine registers
//    itself instead (attach()).
//  * Running done callbacks in complete(): asyncio never runs them in the
//    completer's frame, and a callback that blocks would delay every waiter.
//    The template starts one goroutine per completion for them.
//  * wait() for FirstCompleted by polling each task in turn: a single waker
//    linked into every task's list wakes on the first completion.
//
// Cancellation: gather (wait_all) and wait_for, when their caller is
// cancelled, cancel the tasks and wait for them with an uncancellable wait
// (a cancellation request arriving then, e.g. from run()'s shutdown, stays
// pending), so that no child outlives the frame it may reference.
#include <goro/detail/task_state.hpp>
#include <goro/detail/spawn.hpp>
#include <goro/errors.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace goro::detail {

namespace {
std::atomic<std::uint64_t> g_task_seq{0};
}  // namespace

std::uint64_t next_task_number() noexcept {
    // relaxed: only uniqueness matters, not order with anything else.
    return g_task_seq.fetch_add(1, std::memory_order_relaxed) + 1;
}

// An unnamed task formats "Task-N" when first asked (most never are): the
// string costs as much as the rest of a spawn.
void TaskCore::format_name() const {
    std::lock_guard lk(lock_);
    if (name_ready_.load(std::memory_order_relaxed)) return;  // written under lock_
    name_ = "Task-" + std::to_string(number_);
    name_ready_.store(true, std::memory_order_release);  // pairs with acquire in name()
}

bool TaskCore::cancel() noexcept {
    std::lock_guard lk(lock_);
    if (state_.load(std::memory_order_relaxed) != TaskState::Pending) return false;  // written under lock_
    if (g_) g_cancel(g_);  // g_ is alive: complete() clears it under lock_ before its goroutine exits
    else cancel_early_ = true;
    return true;
}

void TaskCore::attach(G* g) noexcept {
    std::lock_guard lk(lock_);
    g_ = g;
    if (cancel_early_) {
        cancel_early_ = false;
        g_cancel(g);  // on ourselves: the flag, and a spare permit that park loops absorb
    }
}

void TaskCore::complete(TaskState s, std::exception_ptr error) noexcept {
    WaitNode* chain;
    std::vector<std::function<void()>> hooks;
    {
        std::lock_guard lk(lock_);
        error_ = std::move(error);
        g_ = nullptr;
        state_.store(s, std::memory_order_release);  // pairs with acquire in state()
        chain = waiters_.take_all();
        hooks.swap(hooks_);
        take_callbacks_locked();
    }
    signal_chain(chain);
    for (auto& h : hooks) h();
}

bool TaskCore::wait_done(const TimePoint* deadline, bool cancellable) {
    if (done()) return true;
    lock_.lock();
    if (done()) {
        lock_.unlock();
        return true;
    }
    WaitNode node;
    waiters_.push_back(&node);
    if (cancellable) return block(lock_, node, deadline);
    // The same loop as block(), minus cancellation.
    node.waker = current_waker();
    lock_.unlock();
    for (;;) {
        if (node.signalled.load(std::memory_order_acquire)) return true;  // pairs with release in signal()
        if (deadline && Clock::now() >= *deadline) {
            lock_.lock();
            if (node.list) {
                waiters_.remove(&node);
                lock_.unlock();
                return false;
            }
            lock_.unlock();
            deadline = nullptr;  // a completer owns the node: its signal is imminent
        }
        if (deadline) park_until(*deadline); else park();
    }
}

void TaskCore::add_hook(std::function<void()> hook) {
    {
        std::lock_guard lk(lock_);
        if (!done()) {
            hooks_.push_back(std::move(hook));
            return;
        }
    }
    hook();
}

void wait_all(TaskCore* const* cores, std::size_t n) {
    try {
        for (std::size_t i = 0; i < n; ++i) cores[i]->wait_done(nullptr, true);
    } catch (const Cancelled&) {
        for (std::size_t i = 0; i < n; ++i) cores[i]->cancel();
        for (std::size_t i = 0; i < n; ++i) cores[i]->wait_done(nullptr, false);
        throw;
    }
}

namespace {

bool satisfied(TaskCore* const* cores, std::size_t n, ReturnWhen when) {
    std::size_t ndone = 0;
    for (std::size_t i = 0; i < n; ++i) {
        TaskState s = cores[i]->state();
        if (s == TaskState::Pending) continue;
        ++ndone;
        if (when == ReturnWhen::FirstCompleted) return true;
        // asyncio: FIRST_EXCEPTION ignores cancelled tasks.
        if (when == ReturnWhen::FirstException && s == TaskState::Finished && cores[i]->error()) return true;
    }
    return ndone == n;
}

}  // namespace

bool wait_some(TaskCore* const* cores, std::size_t n, ReturnWhen when, const TimePoint* deadline) {
    if (satisfied(cores, n, when)) return true;
    if (when == ReturnWhen::AllCompleted) {
        for (std::size_t i = 0; i < n; ++i)
            if (!cores[i]->wait_done(deadline, true)) return false;
        return true;
    }
    // One node per task, all naming this waiter; amount = 1 marks a linked one.
    std::unique_ptr<WaitNode[]> nodes(new WaitNode[n]);
    Waker self = current_waker();
    for (std::size_t i = 0; i < n; ++i) {
        nodes[i].waker = self;
        std::lock_guard lk(cores[i]->lock_);
        if (cores[i]->done()) continue;
        cores[i]->waiters_.push_back(&nodes[i]);
        nodes[i].amount = 1;
    }
    bool result = false;
    bool cancelled = false;
    for (;;) {
        if (satisfied(cores, n, when)) {
            result = true;
            break;
        }
        if (cancel_pending()) {
            cancelled = true;
            break;
        }
        if (deadline && Clock::now() >= *deadline) break;
        if (deadline) park_until(*deadline); else park();
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (nodes[i].amount != 1) continue;
        cores[i]->lock_.lock();
        if (nodes[i].list) {
            cores[i]->waiters_.remove(&nodes[i]);
            cores[i]->lock_.unlock();
            continue;
        }
        cores[i]->lock_.unlock();
        // Taken by the completer, which signals it after its unlock.
        while (!nodes[i].signalled.load(std::memory_order_acquire)) park();  // pairs with release in signal()
    }
    if (cancelled) throw_cancelled();
    return result;
}

}  // namespace goro::detail
