// tests/internal/task_state_test.cpp: the task state word (TaskCore::word_, goro/detail/task_state.hpp,
// protocol in runtime/task/task.cpp): the state, the "watched" bit and the reference count in one atomic.
//
// No runtime runs here. Plain threads play every part: the task's goroutine (FakeTask::run_goroutine does
// what TaskEntry does at the end of a real one), waiters (wait_done, Task::get), cancellers (cancel())
// and listeners (add_hook, add_done_callback). The task's "goroutine" is a bare descriptor (G) that
// cancel() marks; nothing ever runs on it.
//
// Checked: Pending -> Finished / Cancelled, once; the unwatched completion (one compare-exchange that also
// drops the goroutine's reference) and the watched one (under the lock, waking waiters, running hooks,
// handing callbacks their reference); the state deleted exactly when the last reference goes (the result
// is a shared_ptr whose weak_ptr expires then; ASan catches a double delete); and, under TSan, the
// completion racing waiter registration, cancellation and listener registration at 2-4 threads.
#include "internal/runtime_export.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <barrier>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

using goro::Task;
using goro::TaskState;
using goro_test::rt::G;
using goro_test::rt::TaskAccess;
using goro_test::rt::TaskCore;
using goro_test::rt::TaskShared;

namespace {

using Value = std::shared_ptr<int>;

// A task state with a fake goroutine: the handle holds one reference, the "goroutine" the other.
struct FakeTask {
    G g;  // the task's goroutine as the state knows it; outlives the handle (declared first)
    Task<Value> handle;
    TaskShared<Value>* st;
    std::weak_ptr<int> result;  // expires when the state (and its result slot) is deleted

    explicit FakeTask(std::string name = "fake")
        : handle(TaskAccess::adopt(new TaskShared<Value>(std::move(name)))), st(TaskAccess::state(handle)) {
        st->owned_by_goroutine(&g);
    }
    FakeTask(const FakeTask&) = delete;
    FakeTask& operator=(const FakeTask&) = delete;
    ~FakeTask() { goro_test::rt::clear_cancel_request(&g); }  // undelivered: leave the process tally as found

    // What the task's goroutine does when its function ends (TaskEntry): Cancelled if a cancel() came
    // before its start, else Finished with the value. The state may be gone when this returns.
    void run_goroutine(int value) {
        TaskState state = TaskState::Finished;
        if (st->cancelled_before_start()) {
            st->set_error(std::make_exception_ptr(goro::Cancelled()));
            state = TaskState::Cancelled;
        } else {
            Value v = std::make_shared<int>(value);
            result = v;
            st->value_.emplace(std::move(v));
        }
        TaskShared<Value>* s = st;
        TaskCore::DoneCallbacks fired = s->finish(state);
        if (!fired.empty()) goro_test::rt::schedule_callbacks(TaskAccess::adopt(s), std::move(fired));
    }
};

}  // namespace

TEST_CASE("task state: an unwatched completion publishes the state; the last reference deletes it",
          "[internal][task_state]") {
    FakeTask t("worker");
    CHECK(t.handle.state() == TaskState::Pending);
    CHECK_FALSE(t.handle.done());
    CHECK(t.handle.name() == "worker");
    CHECK_THROWS_AS(t.handle.exception(), goro::InvalidState);

    t.run_goroutine(7);
    CHECK(t.handle.state() == TaskState::Finished);
    CHECK(t.handle.done());
    CHECK_FALSE(t.handle.cancelled());
    CHECK(t.handle.exception() == nullptr);
    CHECK(*t.handle.get() == 7);
    CHECK_FALSE(t.result.expired());  // the handle's reference keeps it

    {
        Task<Value> copy = t.handle;  // a second owner
        t.handle = Task<Value>();
        CHECK_FALSE(t.result.expired());
        CHECK(*copy.get() == 7);
    }
    CHECK(t.result.expired());  // the last handle went: state and result deleted
}

TEST_CASE("task state: when the handles are gone first, the completion deletes the state", "[internal][task_state]") {
    FakeTask t;
    t.handle = Task<Value>();  // the goroutine's reference is the only one left
    t.run_goroutine(1);
    CHECK(t.result.expired());
}

TEST_CASE("task state: cancel() before the start cancels; after the end it is refused", "[internal][task_state]") {
    const int requests_before = goro_test::rt::g_requests_pending.load();
    {
        FakeTask t;
        CHECK(t.handle.cancel());
        CHECK(t.g.cancel_requested.load());  // the request went to the task's goroutine
        CHECK(goro_test::rt::g_requests_pending.load() == requests_before + 1);
        CHECK(t.st->cancelled_before_start());
        CHECK(t.handle.cancel());  // still pending: another request, the same flag, counted once
        CHECK(goro_test::rt::g_requests_pending.load() == requests_before + 1);
        t.run_goroutine(1);
        CHECK(t.handle.state() == TaskState::Cancelled);
        CHECK(t.handle.cancelled());
        CHECK(t.handle.exception() != nullptr);
        CHECK_THROWS_AS(t.handle.get(), goro::Cancelled);
        CHECK_FALSE(t.handle.cancel());  // done
    }
    CHECK(goro_test::rt::g_requests_pending.load() == requests_before);  // ~FakeTask cleared it

    FakeTask t;
    t.run_goroutine(2);
    CHECK_FALSE(t.handle.cancel());
    CHECK_FALSE(t.g.cancel_requested.load());  // a done task's goroutine is never touched
    CHECK(t.handle.state() == TaskState::Finished);
}

TEST_CASE("task state: hooks and done callbacks run once, at completion or at once when late",
          "[internal][task_state]") {
    FakeTask t;
    int hook_runs = 0;
    int callback_runs = 0;
    bool callback_saw_done = false;
    t.st->add_hook([&] { ++hook_runs; });
    t.handle.add_done_callback([&](const Task<Value>& task) {
        ++callback_runs;
        callback_saw_done = task.done() && *task.get() == 3;
    });
    CHECK(hook_runs == 0);
    CHECK(callback_runs == 0);
    Task<Value> keep = t.handle;
    t.handle = Task<Value>();
    t.run_goroutine(3);  // watched: the hook runs, the callback gets its own handle
    CHECK(hook_runs == 1);
    CHECK(callback_runs == 1);
    CHECK(callback_saw_done);
    CHECK_FALSE(t.result.expired());  // keep still holds it

    // Late listeners run on the caller, at once.
    t.st->add_hook([&] { ++hook_runs; });
    CHECK(hook_runs == 2);
    keep.add_done_callback([&](const Task<Value>&) { ++callback_runs; });
    CHECK(callback_runs == 2);
    keep = Task<Value>();
    CHECK(t.result.expired());  // the callbacks' handles are gone too
}

TEST_CASE("task state: a timed wait on a pending task gives up and unlinks; a blocked waiter is woken",
          "[internal][task_state]") {
    FakeTask t;
    auto deadline = goro::detail::Clock::now() + std::chrono::milliseconds(20);
    CHECK_FALSE(t.st->wait_done(&deadline, true));
    CHECK_FALSE(t.st->wait_done(&deadline, false));  // already past
    CHECK(t.handle.state() == TaskState::Pending);

    std::atomic<int> woken{0};
    std::vector<std::thread> waiters;
    for (int i = 0; i < 2; ++i) {
        waiters.emplace_back([&, i, h = t.handle] {
            if (i == 0) {
                GCHECK(*h.get() == 5);  // get(): the cancellable wait
            } else {
                GCHECK(TaskAccess::core(h)->wait_done(nullptr, false));  // the uncancellable one
                GCHECK(h.state() == TaskState::Finished);
            }
            woken.fetch_add(1);
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let them link (either way is correct)
    CHECK(woken.load() == 0);
    t.run_goroutine(5);
    for (auto& w : waiters) w.join();
    goro_test::check_no_failures();
    CHECK(woken.load() == 2);
}

namespace {

// One round's outcome as the helper threads saw it.
struct RoundResult {
    std::atomic<int> hooks{0};
    std::atomic<int> callbacks{0};
    std::atomic<int> waits_done{0};
    std::atomic<int> bad{0};
    bool cancel_result = false;  // written by the canceller, read after the round's barrier
};

// race(roles, rounds): per round a fresh FakeTask; the completer (this helper's first thread) runs the
// task's goroutine while the others, at once, wait (get() and the uncancellable wait_done), cancel, or add
// a hook and a done callback. Threads persist across rounds and meet at a barrier between them.
void race(bool waiter, bool canceller, bool listener, long rounds) {
    const int helpers = 1 + (waiter ? 1 : 0) + (canceller ? 1 : 0) + (listener ? 1 : 0);
    INFO("completer" << (waiter ? " + waiter" : "") << (canceller ? " + canceller" : "")
                     << (listener ? " + listener" : "") << ": " << helpers << " threads");
    std::unique_ptr<FakeTask> task;
    Task<Value> shared;  // a copy of the handle the helpers use, made before each round starts
    RoundResult* result = nullptr;
    std::barrier sync(helpers + 1);
    long rounds_done = 0;
    long finished = 0, cancelled = 0, cancels_won = 0;

    auto helper = [&](int role, std::uint32_t seed) {
        std::minstd_rand rng(seed);
        for (long r = 0; r < rounds; ++r) {
            sync.arrive_and_wait();  // round r set up
            for (unsigned spin = rng() % 64; spin > 0; --spin) std::atomic_signal_fence(std::memory_order_seq_cst);
            RoundResult& res = *result;
            switch (role) {
                case 0: task->run_goroutine(static_cast<int>(r)); break;
                case 1: {
                    try {
                        Value v = shared.get();
                        if (!v || *v != static_cast<int>(r)) res.bad.fetch_add(1);  // the result came with the state
                    } catch (const goro::Cancelled&) {
                        if (shared.state() != TaskState::Cancelled) res.bad.fetch_add(1);
                    }
                    if (!TaskAccess::core(shared)->wait_done(nullptr, false) || !shared.done()) res.bad.fetch_add(1);
                    res.waits_done.fetch_add(1);
                    break;
                }
                case 2: res.cancel_result = shared.cancel(); break;
                case 3: {
                    TaskCore* core = TaskAccess::core(shared);
                    core->add_hook([&res] { res.hooks.fetch_add(1); });
                    shared.add_done_callback([&res](const Task<Value>& t) {
                        if (!t.done()) res.bad.fetch_add(1);
                        res.callbacks.fetch_add(1);
                    });
                    break;
                }
                default: break;
            }
            sync.arrive_and_wait();  // round r over
        }
    };

    std::vector<std::thread> threads;
    threads.emplace_back(helper, 0, 1u);
    if (waiter) threads.emplace_back(helper, 1, 2u);
    if (canceller) threads.emplace_back(helper, 2, 3u);
    if (listener) threads.emplace_back(helper, 3, 4u);

    long failures = 0;
    for (long r = 0; r < rounds; ++r) {
        task = std::make_unique<FakeTask>();
        shared = task->handle;
        RoundResult res;
        result = &res;
        sync.arrive_and_wait();  // go
        sync.arrive_and_wait();  // everyone done with this round
        const TaskState s = task->handle.state();
        const bool ok = res.bad.load() == 0 && s != TaskState::Pending && res.hooks.load() == (listener ? 1 : 0) &&
                        res.callbacks.load() == (listener ? 1 : 0) && res.waits_done.load() == (waiter ? 1 : 0) &&
                        // a cancel() that won left its request on the goroutine, one that lost did not
                        (!canceller || res.cancel_result == task->g.cancel_requested.load()) &&
                        // a Cancelled outcome needs a cancel() that won
                        (s != TaskState::Cancelled || (canceller && res.cancel_result));
        if (!ok) ++failures;
        if (s == TaskState::Finished) ++finished;
        else ++cancelled;
        if (canceller && res.cancel_result) ++cancels_won;
        // Every handle goes: the state must go with them, exactly once.
        shared = Task<Value>();
        std::weak_ptr<int> value = task->result;
        task.reset();
        if (!value.expired()) ++failures;
        ++rounds_done;
    }
    for (auto& th : threads) th.join();
    INFO(finished << " finished, " << cancelled << " cancelled, " << cancels_won << " cancels won");
    CHECK(rounds_done == rounds);
    CHECK(failures == 0);
}

}  // namespace

TEST_CASE("task state: completion races waiters, cancel() and listeners (2-4 threads)", "[internal][task_state]") {
    const long rounds = goro_test::scale(5000);
    race(true, false, false, rounds);
    race(false, true, false, rounds);
    race(true, true, false, rounds);
    race(true, true, true, rounds);
    goro_test::check_no_failures();
}
