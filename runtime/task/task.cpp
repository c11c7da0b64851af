// task/task.cpp — the non-template part of Task: naming, cancellation,
// completion, and the waits behind get(), gather, wait and wait_for.
//
// Owns: TaskCore (include/goro/detail/task_core.hpp). The templates in
// <goro/task.hpp> own the result slot, the callables, the goroutine's entry
// (TaskEntry) and the scheduling of done callbacks; the run_blocking pool is
// in blocking_pool.cpp.
//
// States (the low bits of TaskCore::word_), moved only by the task's own
// goroutine, once, in complete():
//   Pending   -> Finished   its function returned, or threw anything but Cancelled
//   Pending   -> Cancelled  its function threw Cancelled, or a cancel() came
//                           before the goroutine started (the function never runs)
//
// word_ also holds the reference count and kWatched. Whoever must see the
// completion under lock_ sets kWatched under lock_ (watch_locked(), an atomic
// fetch_or that also reads the state): waiters before linking their node,
// add_hook, add_callback and cancel(). complete() publishes the state:
//  * not watched: one compare-exchange stores the state and drops the
//    goroutine's reference together; nothing can be linked, and nobody can
//    be in cancel() (it would have set kWatched first), so there is nothing
//    to lock. If a watcher sets the bit meanwhile, the exchange fails and
//    complete() takes the watched path;
//  * watched: under lock_, which every watcher held from setting the bit to
//    linking, it publishes the state (fetch_or), takes the waiters and
//    listeners, and only after unlocking drops its reference (or hands it to
//    the done callbacks).
// A watcher that sees a state other than Pending links nothing.
//
// Invariants:
//  * g_ is set by spawn_task between g_alloc() and g_start() and names the
//    task's goroutine, which every runtime runs to its end (run() waits for
//    every goroutine). A G descriptor is recycled once its goroutine exits,
//    so cancel() calls g_cancel(g_) only under lock_ after watch_locked()
//    saw Pending: the task is watched then, so complete() publishes under
//    the same lock, and the goroutine cannot exit before cancel() unlocks.
//    A G cancelled before it first ran keeps the request (g_cancel on a
//    Runnable G only sets its flag).
//  * cancel_requested_ is stored (release) after that g_cancel(), so the
//    entry that reads it (acquire) at its start also sees the G's flag, and
//    consumes it with throw_cancelled() instead of running the function.
//  * error_ is non-null in state Cancelled; it and the result slot are
//    written before the state is stored (release), so whoever loads done()
//    (acquire) may read them without the lock.
//  * listeners_ (hooks and done callbacks) is null once done, taken by
//    complete(); waiters_ is empty once done. Both are non-empty only on a
//    watched task.
//  * The count counts the Task<R> handles, plus the goroutine until
//    complete() (or, with done callbacks, the goroutine that runs them);
//    see TaskCore::release() for the orderings.
//
// Synchronisation: lock_ (a SpinLock, never held across a park) guards g_
// (after the start), waiters_, listeners_ and taken_, and orders the watched
// completion after every watcher.
// Waiting is the waitlist.hpp protocol: link a WaitNode under lock_ unless
// done, block(); complete() takes the whole list under lock_ and signals
// after unlocking. wait_some() links one node per task, all naming the same
// waker, and before returning unlinks each node still linked, or waits for
// the signal of one already taken (its completer still owns it).
//
// Rejected designs:
//  * Setting g_ from spawn() after spawn_goroutine returns: the goroutine may
//    already have run, ended and its G been reused. Nor does the goroutine
//    register itself (an attach() under lock_ on its first run, with a flag
//    for a cancel() that came before): that costs a lock on every task, and
//    the G is known before g_start() anyway.
//  * A std::shared_ptr for the state: the goroutine's copy costs an atomic
//    increment at spawn and a separate control block; the intrusive count
//    starts at two.
//  * complete() always under lock_, the count in a word of its own: two
//    atomic read-modify-writes (the lock, the goroutine's decrement) where
//    an unwatched task needs one.
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
#include <goro/detail/task_core.hpp>
#include <goro/detail/spawn.hpp>
#include <goro/errors.hpp>

#include <cxxabi.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <typeinfo>

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

// asyncio logs the same words when a failed task is garbage-collected with
// its exception unread; here the last handle's release is that moment.
void TaskCore::report_unretrieved() const noexcept {
    std::string what;
    const char* type = nullptr;
    try {
        std::rethrow_exception(error_);
    } catch (const Cancelled&) {
        return;  // a cancellation is an outcome, not an error
    } catch (const std::exception& e) {
        what = e.what();
        type = typeid(e).name();
    } catch (...) {
        what = "an exception not derived from std::exception";
        if (const std::type_info* t = abi::__cxa_current_exception_type()) type = t->name();
    }
    int status = -1;
    char* demangled = type ? abi::__cxa_demangle(type, nullptr, nullptr, &status) : nullptr;
    try {
        std::fprintf(stderr, "goro: Task exception was never retrieved: task '%s': %s: %s\n", name().c_str(),
                     status == 0 && demangled ? demangled : (type ? type : "?"), what.c_str());
    } catch (...) {
        // name() could not allocate: the report is lost, nothing else
    }
    std::free(demangled);
}

static_assert(static_cast<std::uint32_t>(TaskState::Pending) == 0 &&
                  static_cast<std::uint32_t>(TaskState::Cancelled) <= 3 &&
                  static_cast<std::uint32_t>(TaskState::Finished) <= 3,
              "the state must fit TaskCore::kStateMask, Pending as 0");

bool TaskCore::cancel() noexcept {
    std::lock_guard lk(lock_);
    if (watch_locked() != TaskState::Pending) return false;
    g_cancel(g_);  // g_ is alive: a watched task completes under lock_, so its goroutine cannot exit before we unlock
    cancel_requested_.store(true, std::memory_order_release);  // pairs with acquire in cancelled_before_start()
    return true;
}

TaskCore::Listeners& TaskCore::listeners_locked() {
    if (!listeners_) listeners_ = std::make_unique<Listeners>();
    return *listeners_;
}

bool TaskCore::complete(TaskState s, DoneCallbacks& fired) noexcept {
    const auto bits = static_cast<std::uint32_t>(s);
    std::uint32_t w = word_.load(std::memory_order_relaxed);
    while (!(w & kWatched)) {
        // Unwatched: publish s and drop our reference in one step. release:
        // the result slot and error_ before the state (pairs with acquire in
        // state()); acquire: if ours was the last reference, every other
        // owner's accesses before the caller's deletion.
        if (word_.compare_exchange_weak(w, (w - kRef) | bits, std::memory_order_acq_rel, std::memory_order_relaxed))
            return (w >> kRefShift) == 1;
    }
    WaitNode* chain;
    std::unique_ptr<Listeners> listeners;
    {
        std::lock_guard lk(lock_);
        g_ = nullptr;
        word_.fetch_or(bits, std::memory_order_release);  // pairs with acquire in state() and watch_locked()
        chain = waiters_.take_all();
        listeners.swap(listeners_);
    }
    // Our reference keeps the state (and lock_) alive until here.
    signal_chain(chain, Waker::Order::Later);  // behind what is runnable already (Waker::Order)
    if (listeners) {
        for (auto& h : listeners->hooks) h();
        if (!listeners->callbacks.empty()) {
            fired = std::move(listeners->callbacks);
            return false;  // the reference goes with them
        }
    }
    return release();
}

bool TaskCore::add_callback(DoneCallback& cb) {
    std::lock_guard lk(lock_);
    if (watch_locked() != TaskState::Pending) return false;
    listeners_locked().callbacks.push_back(std::move(cb));
    return true;
}

bool TaskCore::take_once() noexcept {
    std::lock_guard lk(lock_);
    if (taken_) return false;
    taken_ = true;
    return true;
}

bool TaskCore::wait_done(const TimePoint* deadline, bool cancellable) {
    if (done()) return true;
    lock_.lock();
    if (watch_locked() != TaskState::Pending) {
        lock_.unlock();
        return true;
    }
    WaitNode node;
    waiters_.push_back(&node);
    if (cancellable) return block(lock_, node, WaitReason::TaskWait, deadline);
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
        if (deadline) park_until(*deadline, WaitReason::TaskWait);
        else park(WaitReason::TaskWait);
    }
}

void TaskCore::add_hook(std::function<void()> hook) {
    {
        std::lock_guard lk(lock_);
        if (watch_locked() == TaskState::Pending) {
            listeners_locked().hooks.push_back(std::move(hook));
            return;
        }
    }
    hook();
}

void wait_all(TaskCore* const* cores, std::size_t n) {
    try {
        entry_cancellation_point();  // a pending request cancels the arguments too
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
        if (when == ReturnWhen::FirstException && s == TaskState::Finished && cores[i]->failed()) return true;
    }
    return ndone == n;
}

}  // namespace

bool wait_some(TaskCore* const* cores, std::size_t n, ReturnWhen when, const TimePoint* deadline) {
    entry_cancellation_point();
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
        if (cores[i]->watch_locked() != TaskState::Pending) continue;
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
        if (deadline) park_until(*deadline, WaitReason::TaskWait);
        else park(WaitReason::TaskWait);
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
        while (!nodes[i].signalled.load(std::memory_order_acquire)) park(WaitReason::TaskWait);  // pairs with release in signal()
    }
    if (cancelled) throw_cancelled();
    return result;
}

}  // namespace goro::detail
