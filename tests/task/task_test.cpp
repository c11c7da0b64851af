// tests/task/task_test.cpp: <goro/task.hpp>, the Task handle: spawn, get, names, states, exception(),
// cancel() (before the start, while parked in every kind of goro wait, while running) and done callbacks,
// at maxprocs 1 and 2, from goroutines and plain threads.
#include "test_util.hpp"

#include <goro/chan.hpp>
#include <goro/select.hpp>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>

using namespace goro_test;

namespace {

struct MyError : std::runtime_error {
    explicit MyError(int c) : std::runtime_error("my error " + std::to_string(c)), code(c) {}
    int code;
};

// A user type thrown as is (not derived from std::exception).
struct Plain {
    int v;
};

const std::initializer_list<int> kProcs = {1, 2};

// until_done() waits (bounded) until t is done.
template <class R>
bool until_done(const goro::Task<R>& t) {
    return eventually([&] { return t.done(); }, 10s);
}

}  // namespace

TEST_CASE("task_get_returns_value_void_and_move_only", "[task]") {
    for_each_maxprocs(kProcs, [](int) {
        goro::Task<int> a = goro::spawn([] { return 42; });
        CHECK(a.get() == 42);
        CHECK(a.get() == 42);  // many times
        CHECK(a.state() == goro::TaskState::Finished);
        CHECK(a.done());
        CHECK_FALSE(a.cancelled());
        CHECK(a.exception() == nullptr);

        int side = 0;
        goro::Task<void> v = goro::spawn([&side] {
            goro::sleep_for(1ms);
            side = 7;
        });
        v.get();
        CHECK(side == 7);

        goro::Task<std::unique_ptr<int>> u = goro::spawn([] { return std::make_unique<int>(5); });
        std::unique_ptr<int> p = u.get();
        REQUIRE(p);
        CHECK(*p == 5);
        CHECK_THROWS_AS(u.get(), goro::InvalidState);  // moved out once

        goro::Task<std::string> s = goro::spawn([] {
            goro::yield();
            return std::string(100, 'x');
        });
        const goro::Task<std::string> copy = s;  // copies share the outcome; members are const
        CHECK(copy.get().size() == 100);
        CHECK(copy == s);
        CHECK(s.get() == copy.get());
    });
}

TEST_CASE("task_names_default_to_task_n", "[task]") {
    for_each_maxprocs(kProcs, [](int) {
        auto a = goro::spawn([] {});
        auto b = goro::spawn([] {});
        auto c = goro::spawn("foo", [] { return 1; });
        REQUIRE(a.name().rfind("Task-", 0) == 0);
        REQUIRE(b.name().rfind("Task-", 0) == 0);
        long na = std::stol(a.name().substr(5));
        long nb = std::stol(b.name().substr(5));
        CHECK(na >= 1);
        CHECK(nb == na + 1);
        CHECK(c.name() == "foo");
        goro::gather(a, b, c);
    });
}

TEST_CASE("task_get_from_many_goroutines_and_plain_threads", "[task]") {
    for_each_maxprocs(kProcs, [](int) {
        goro::Event go_on;
        goro::Task<int> t = goro::spawn([&go_on] {
            go_on.wait();
            return 99;
        });
        std::atomic<int> got{0};
        goro::WaitGroup wg;
        for (int i = 0; i < 20; ++i) {
            wg.add();
            goro::go([&, t] {
                GCHECK(t.get() == 99);
                got.fetch_add(1);
                wg.done();
            });
        }
        std::vector<std::thread> threads;
        for (int i = 0; i < 4; ++i)
            threads.emplace_back([&, t] {
                GCHECK(t.get() == 99);
                got.fetch_add(1);
            });
        goro::sleep_for(5ms);
        CHECK(got.load() == 0);
        CHECK(t.state() == goro::TaskState::Pending);
        CHECK_THROWS_AS(t.exception(), goro::InvalidState);
        go_on.set();
        wg.wait();
        goro::run_blocking([&] {
            for (auto& th : threads) th.join();
        });  // join() would block the worker
        CHECK(got.load() == 24);
    });
}

TEST_CASE("task_spawn_and_get_from_a_plain_thread", "[task]") {
    for_each_maxprocs(kProcs, [](int) {
        std::thread th([] {
            goro::Task<int> t = goro::spawn([] {
                goro::sleep_for(2ms);
                return 3;
            });
            GCHECK(t.get() == 3);
            GCHECK(t.done());
            auto [x, y] = goro::gather(t, [] { return 4; });
            GCHECK(x == 3);
            GCHECK(y == 4);
        });
        goro::run_blocking([&] { th.join(); });  // at maxprocs 1 a plain join would starve the task it waits for
    });
}

TEST_CASE("task_exceptions_of_user_types_cross_get", "[task]") {
    for_each_maxprocs(kProcs, [](int) {
        goro::Task<int> t = goro::spawn([]() -> int {
            goro::sleep_for(1ms);
            throw MyError(17);
        });
        try {
            t.get();
            FAIL("no exception");
        } catch (const MyError& e) {
            CHECK(e.code == 17);
        }
        CHECK(t.state() == goro::TaskState::Finished);  // an exception is Finished, not Cancelled
        CHECK_FALSE(t.cancelled());
        CHECK(t.exception() != nullptr);
        CHECK_THROWS_AS(t.get(), MyError);  // again

        goro::Task<void> p = goro::spawn([] { throw Plain{3}; });
        try {
            p.get();
            FAIL("no exception");
        } catch (const Plain& e) {
            CHECK(e.v == 3);
        }
    });
}

TEST_CASE("task_cancel_states_and_results", "[task][cancel]") {
    for_each_maxprocs(kProcs, [](int) {
        goro::Task<int> t = goro::spawn([] {
            goro::sleep_for(1h);
            return 1;
        });
        goro::sleep_for(1ms);
        CHECK(t.cancel());
        CHECK(t.cancel());  // still pending: true again (one request)
        CHECK_THROWS_AS(t.get(), goro::Cancelled);
        CHECK(t.state() == goro::TaskState::Cancelled);
        CHECK(t.cancelled());
        CHECK(t.done());
        REQUIRE(t.exception() != nullptr);
        CHECK_THROWS_AS(std::rethrow_exception(t.exception()), goro::Cancelled);
        CHECK_FALSE(t.cancel());  // already done

        goro::Task<int> done = goro::spawn([] { return 2; });
        done.get();
        CHECK_FALSE(done.cancel());
        CHECK(done.get() == 2);
    });
}

TEST_CASE("task_that_catches_cancelled_and_returns_is_finished", "[task][cancel]") {
    for_each_maxprocs(kProcs, [](int) {
        std::atomic<bool> started{false};
        goro::Task<int> t = goro::spawn([&started] {
            started = true;
            try {
                goro::sleep_for(1h);
            } catch (const goro::Cancelled&) {
                goro::sleep_for(1ms);  // may block again normally
                return 5;
            }
            return 0;
        });
        while (!started) goro::sleep_for(1ms);  // cancelled before its first run, it would never catch
        CHECK(t.cancel());
        CHECK(t.get() == 5);
        CHECK(t.state() == goro::TaskState::Finished);
        CHECK_FALSE(t.cancelled());
    });
}

TEST_CASE("task_cancelled_before_it_started_never_runs_and_is_cancelled", "[task][cancel]") {
    run_at(1, [] {
        // maxprocs 1: the spawner keeps running, so the tasks have not started when cancelled.
        std::atomic<bool> ran{false};
        LiveCount captures;
        // Set by the destructor of the captures on the task's goroutine: whether it still saw a
        // cancellation request (-1: it never ran there).
        auto saw_request = std::make_shared<std::atomic<int>>(-1);
        struct ProbeOnDestroy {
            std::shared_ptr<std::atomic<int>> out;
            goro::detail::G* spawner = goro::detail::current_g();
            ~ProbeOnDestroy() {
                goro::detail::G* g = goro::detail::current_g();
                if (g && g != spawner) out->store(goro::detail::cancel_pending() ? 1 : 0);
            }
        };
        goro::Task<int> blocks = goro::spawn([&ran, t = Tracked(captures), p = ProbeOnDestroy{saw_request}] {
            ran = true;
            goro::sleep_for(1h);
            return 1;
        });
        goro::Task<int> never_blocks = goro::spawn([&ran] {
            ran = true;
            return 2;
        });
        goro::Task<void> twice = goro::spawn([&ran] { ran = true; });
        std::atomic<int> callbacks{0};
        never_blocks.add_done_callback([&](const goro::Task<int>& t) {
            GCHECK(t.cancelled());
            callbacks++;
        });
        CHECK(blocks.cancel());
        CHECK(never_blocks.cancel());
        CHECK(twice.cancel());
        CHECK(twice.cancel());  // still pending: one request
        CHECK_FALSE(blocks.done());
        CHECK_THROWS_AS(blocks.get(), goro::Cancelled);
        CHECK_THROWS_AS(never_blocks.get(), goro::Cancelled);
        CHECK_THROWS_AS(twice.get(), goro::Cancelled);
        CHECK_FALSE(ran.load());  // asyncio: a task cancelled before it starts never runs
        for (auto* t : {&blocks, &never_blocks}) {
            CHECK(t->state() == goro::TaskState::Cancelled);
            REQUIRE(t->exception() != nullptr);
            CHECK_THROWS_AS(std::rethrow_exception(t->exception()), goro::Cancelled);
        }
        CHECK(twice.cancelled());
        CHECK_FALSE(blocks.cancel());  // done
        // The function was destroyed before the task was done, and the request was consumed
        // before that: the destructor of its captures saw none.
        CHECK(captures.live.load() == 0);
        CHECK(saw_request->load() == 0);
        CHECK(eventually([&] { return callbacks.load() == 1; }));
        // The goroutine that ran the cancelled task left nothing behind for the next one.
        CHECK(goro::spawn([] {
                  goro::sleep_for(1ms);
                  return 3;
              }).get() == 3);
    });
    run_at(2, [] {
        for (int i = 0; i < 200; ++i) {  // racing the start: either way it ends Cancelled
            goro::Task<void> t = goro::spawn([] { goro::sleep_for(1h); });
            t.cancel();
            CHECK_THROWS_AS(t.get(), goro::Cancelled);
            CHECK(t.cancelled());
        }
    });
}

TEST_CASE("task_cancel_of_a_running_task_lands_at_its_next_blocking_call", "[task][cancel]") {
    for_each_maxprocs(kProcs, [](int procs) {
        std::atomic<bool> started{false};
        std::atomic<bool> stop{false};
        std::atomic<int> where{0};
        goro::Task<void> t = goro::spawn([&] {
            started = true;
            while (!stop.load()) {
                if (procs == 1) std::this_thread::yield();  // a busy loop: no goro call
                else std::this_thread::sleep_for(100us);
            }
            where = 1;
            goro::Event e;
            e.wait();  // the next blocking call
            where = 2;
        });
        if (procs == 1) {
            // It spins without yielding the only worker: cancel and stop it from a plain thread.
            std::thread th([&] {
                while (!started.load()) std::this_thread::sleep_for(100us);
                std::this_thread::sleep_for(2ms);
                t.cancel();
                stop = true;
            });
            CHECK_THROWS_AS(t.get(), goro::Cancelled);
            goro::run_blocking([&] { th.join(); });
        } else {
            CHECK(eventually([&] { return started.load(); }));
            t.cancel();
            stop = true;
            CHECK_THROWS_AS(t.get(), goro::Cancelled);
        }
        CHECK(where.load() == 1);
    });
}

// Every kind of goro wait: the parked task sees Cancelled promptly, and the primitive stays usable.
TEST_CASE("task_cancel_while_parked_in_every_kind_of_wait", "[task][cancel]") {
    for_each_maxprocs(kProcs, [](int) {
        goro::WaitGroup wg;
        wg.add(1);
        goro::Mutex mu;
        goro::Mutex cv_mu;
        goro::CondVar cv;
        goro::Semaphore sem(0);
        goro::Event ev;
        goro::Chan<int> ch;
        goro::Chan<int> full(1);
        full.send(0);
        goro::Task<int> never = goro::spawn([] {
            goro::sleep_for(1h);
            return 0;
        });
        goro::Task<void> gchild = goro::spawn([] { goro::sleep_for(1h); });
        std::atomic<int> cv_lock_bad{0};
        mu.lock();

        std::vector<std::pair<const char*, std::function<void()>>> parks = {
            {"sleep", [] { goro::sleep_for(1h); }},
            {"waitgroup", [&] { wg.wait(); }},
            {"mutex", [&] { std::lock_guard<goro::Mutex> g(mu); }},
            {"condvar",
             [&] {
                 std::unique_lock<goro::Mutex> lk(cv_mu);
                 try {
                     cv.wait(lk);
                 } catch (const goro::Cancelled&) {
                     if (!lk.owns_lock()) cv_lock_bad++;
                     throw;
                 }
             }},
            {"semaphore", [&] { sem.acquire(); }},
            {"event", [&] { ev.wait(); }},
            {"task_get", [&] { never.get(); }},
            {"gather", [&] { goro::gather(gchild, [] { goro::sleep_for(1h); }); }},
            {"chan_recv", [&] { ch.recv(); }},
            {"chan_send", [&] { full.send(1); }},
            {"select",
             [&] {
                 goro::select(goro::case_recv(ch, [](std::optional<int>) {}),
                              goro::case_recv(goro::after(1h), [](auto) {}));
             }},
        };
        for (auto& [what, park] : parks) {
            INFO("parked in " << what);
            std::atomic<bool> entered{false};
            goro::Task<void> t = goro::spawn([&entered, park = park] {
                entered = true;
                park();
            });
            CHECK(eventually([&] { return entered.load(); }));
            goro::sleep_for(2ms);  // parked by now
            CHECK_FALSE(t.done());
            auto t0 = Clock::now();
            CHECK(t.cancel());
            CHECK_THROWS_AS(t.get(), goro::Cancelled);
            CHECK(t.cancelled());
            CHECK(Clock::now() - t0 < 2s);  // prompt
        }
        CHECK(cv_lock_bad.load() == 0);
        // Waiting on a task cancels the waiter only; a cancelled gather cancels its children.
        CHECK_FALSE(never.done());
        CHECK(gchild.cancelled());
        // The primitives are consistent: a cancelled waiter took nothing.
        mu.unlock();
        CHECK(mu.try_lock());
        mu.unlock();
        CHECK(cv_mu.try_lock());
        cv_mu.unlock();
        sem.release();
        CHECK(sem.try_acquire());
        wg.done();
        wg.wait();
        ev.set();
        ev.wait();
        CHECK(full.try_recv() == std::optional<int>(0));
        CHECK(full.try_send(2));
        never.cancel();
        CHECK_THROWS_AS(never.get(), goro::Cancelled);
    });
}

TEST_CASE("task_cancelling_a_get_waiter_leaves_the_task_running", "[task][cancel]") {
    for_each_maxprocs(kProcs, [](int) {
        goro::Event release;
        goro::Task<int> inner = goro::spawn([&release] {
            release.wait();
            return 8;
        });
        goro::Task<int> waiter = goro::spawn([inner] { return inner.get(); });
        goro::sleep_for(2ms);
        waiter.cancel();
        CHECK_THROWS_AS(waiter.get(), goro::Cancelled);
        CHECK_FALSE(inner.done());
        release.set();
        CHECK(inner.get() == 8);
    });
}

TEST_CASE("task_done_callbacks_run_once_async_on_the_runtime", "[task][callback]") {
    run_at(1, [] {
        std::atomic<int> calls{0};
        std::atomic<bool> in_cancel{false};
        std::atomic<bool> cb_saw_in_cancel{false};
        std::atomic<goro::detail::G*> task_g{nullptr};
        std::atomic<bool> cb_on_task_g{false};
        std::string seen_name;
        goro::Task<int> t = goro::spawn("cb", [&] {
            task_g = goro::detail::current_g();
            goro::sleep_for(1h);
            return 0;
        });
        t.add_done_callback([&](const goro::Task<int>& done) {
            calls++;
            cb_saw_in_cancel = in_cancel.load();
            cb_on_task_g = goro::detail::current_g() == task_g.load();
            seen_name = done.name();
            GCHECK(done.done());
            GCHECK(done.cancelled());
        });
        goro::sleep_for(1ms);
        CHECK(calls.load() == 0);
        in_cancel = true;
        t.cancel();
        in_cancel = false;
        CHECK_THROWS_AS(t.get(), goro::Cancelled);
        CHECK(eventually([&] { return calls.load() == 1; }));
        CHECK_FALSE(cb_saw_in_cancel.load());
        CHECK_FALSE(cb_on_task_g.load());
        CHECK(seen_name == "cb");
        CHECK(stays([&] { return calls.load() == 1; }));

        // Registered after done: scheduled at once, still not inside add_done_callback.
        std::atomic<int> late{0};
        bool in_add = true;
        std::atomic<bool> late_in_add{false};
        t.add_done_callback([&](const goro::Task<int>&) {
            late_in_add = in_add;
            late++;
        });
        in_add = false;
        CHECK(eventually([&] { return late.load() == 1; }));
        CHECK_FALSE(late_in_add.load());

        // Several callbacks: each once, in registration order.
        std::vector<int> order;
        goro::Mutex order_mu;
        goro::Task<void> u = goro::spawn([] { goro::sleep_for(1ms); });
        for (int i = 0; i < 3; ++i)
            u.add_done_callback([&, i](const goro::Task<void>&) {
                std::lock_guard<goro::Mutex> g(order_mu);
                order.push_back(i);
            });
        u.get();
        CHECK(eventually([&] {
            std::lock_guard<goro::Mutex> g(order_mu);
            return order.size() == 3;
        }));
        CHECK(order == std::vector<int>{0, 1, 2});
    });
    run_at(2, [] {
        std::atomic<int> calls{0};
        std::vector<goro::Task<int>> ts;
        for (int i = 0; i < 100; ++i) {
            ts.push_back(goro::spawn([i] { return i; }));
            ts.back().add_done_callback([&calls](const goro::Task<int>&) { calls++; });
        }
        goro::gather(ts);
        CHECK(eventually([&] { return calls.load() == 100; }));
        CHECK(stays([&] { return calls.load() == 100; }));
    });
}

TEST_CASE("task_empty_handle_throws_invalid_state", "[task]") {
    goro::Task<int> t;
    CHECK_FALSE(t.valid());
    CHECK_THROWS_AS(t.get(), goro::InvalidState);
    CHECK_THROWS_AS(t.done(), goro::InvalidState);
}

TEST_CASE("task_spawn_without_runtime_throws_invalid_state", "[task]") {
    CHECK_THROWS_AS(goro::spawn([] { return 1; }), goro::InvalidState);
}

// Task states come from per-thread caches that hand full magazines to a shared depot
// (runtime/task/state_pool.cpp). A block reused while its state is still alive would show up
// here as a wrong result: states of several size classes (and one too big to be pooled) are
// created on goroutines and plain threads, handed over a channel, read and dropped on other
// goroutines, while thousands stay alive, and plain threads that created some have exited
// (their caches handed in) before their results are read.
TEST_CASE("task_states_are_recycled_across_threads_without_mixing_results", "[task][stress]") {
    using Big = std::array<long, 40>;  // 320 bytes of result: not pooled
    const long per_producer = scale(20000);
    const int producers = 4;
    for_each_maxprocs({1, 2, 4}, [&](int) {
        goro::Chan<std::tuple<long, goro::Task<long>, goro::Task<std::string>, goro::Task<Big>>> handoff(64);
        std::atomic<long> checked{0};
        goro::WaitGroup consumers;
        for (int c = 0; c < 3; ++c) {
            consumers.add();
            goro::go([&] {
                for (auto item : handoff) {
                    auto& [k, a, s, b] = item;
                    GCHECK(a.get() == k);
                    GCHECK(s.get() == "task state " + std::to_string(k));
                    GCHECK(b.get()[39] == k && b.get()[0] == -k);
                    checked.fetch_add(1, std::memory_order_relaxed);
                }
                consumers.done();
            });
        }
        goro::WaitGroup made;
        std::vector<goro::Task<long>> kept(static_cast<std::size_t>(producers * per_producer));
        auto produce = [&](long base) {
            for (long i = 0; i < per_producer; ++i) {
                long k = base + i;
                kept[static_cast<std::size_t>(k)] = goro::spawn([k] { return 3 * k; });
                goro::Task<Big> b = goro::spawn([k] {
                    Big v{};
                    v[0] = -k;
                    v[39] = k;
                    return v;
                });
                handoff.send({k, goro::spawn([k] { return k; }),
                              goro::spawn([k] { return "task state " + std::to_string(k); }), std::move(b)});
            }
        };
        for (int p = 0; p < producers / 2; ++p) {
            made.add();
            goro::go([&, p] {
                produce(p * per_producer);
                made.done();
            });
        }
        std::vector<std::thread> threads;
        for (int p = producers / 2; p < producers; ++p) threads.emplace_back([&, p] { produce(p * per_producer); });
        made.wait();
        goro::run_blocking([&] {
            for (auto& th : threads) th.join();
        });
        handoff.close();
        consumers.wait();
        CHECK(checked.load() == producers * per_producer);
        long wrong = 0;
        for (long k = 0; k < producers * per_producer; ++k)
            if (kept[static_cast<std::size_t>(k)].get() != 3 * k) ++wrong;
        CHECK(wrong == 0);
    });
}

// shield(t): cancelling the shield (directly, or by wait_for's timeout) leaves t running; t's value,
// exception or cancellation reaches the shield; from a plain thread too.
TEST_CASE("shield_protects_the_task_from_the_waiters_cancellation", "[task][shield]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Chan<int> release;
        auto inner = goro::spawn("save", [release] { return *release.recv() * 2; });
        auto guarded = goro::shield(inner);
        CHECK(guarded.name() == "shield(save)");
        CHECK_THROWS_AS(goro::wait_for(guarded, 10ms), goro::Timeout);  // cancels the shield only
        CHECK(guarded.cancelled());
        CHECK_FALSE(inner.done());
        release.send(21);
        CHECK(inner.get() == 42);  // it ran on

        // Cancelling a shield directly, and a shield of a task that finishes.
        goro::Chan<int> later;
        auto slow = goro::spawn([later] { return *later.recv(); });
        auto s1 = goro::shield(slow), s2 = goro::shield(slow);
        CHECK(s1.cancel());
        CHECK_THROWS_AS(s1.get(), goro::Cancelled);
        later.send(7);
        CHECK(s2.get() == 7);
        CHECK(slow.get() == 7);

        // What t ends with, the shield ends with.
        auto failing = goro::spawn([]() -> int { throw MyError(3); });
        CHECK_THROWS_AS(goro::shield(failing).get(), MyError);
        goro::Chan<int> never;
        auto doomed = goro::spawn([never] { return *never.recv(); });
        auto s3 = goro::shield(doomed);
        doomed.cancel();
        CHECK_THROWS_AS(s3.get(), goro::Cancelled);
        CHECK(goro::shield(goro::spawn([] { return 5; })).get() == 5);  // already done or not: the same
        CHECK_THROWS_AS(goro::shield(goro::Task<int>{}), goro::InvalidState);

        // From a plain thread, and with a move-only result taken through the shield.
        std::unique_ptr<int> got;
        std::thread plain([&] {
            auto owner = goro::spawn([] { return std::make_unique<int>(9); });
            got = goro::shield(owner).get();
        });
        goro::run_blocking([&] { plain.join(); });  // join() would block the worker
        REQUIRE(got);
        CHECK(*got == 9);
    });
}
