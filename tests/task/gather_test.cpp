// tests/task/gather_test.cpp: <goro/task.hpp>, the combinators: gather (variadic and vector),
// gather_settled, wait (ReturnWhen, timeouts of any duration type), wait_for, as_completed and run_blocking,
// at maxprocs 1 and 2, from goroutines and plain threads.
#include "test_util.hpp"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>

using namespace goro_test;

// The run_blocking pool's in-flight count, a test hook of runtime/task/blocking_pool.hpp, declared here
// so that this test builds against the public headers alone.
namespace goro::detail {
std::int64_t blocking_jobs_in_flight() noexcept;
}

namespace {

struct MyError : std::runtime_error {
    explicit MyError(int c) : std::runtime_error("my error " + std::to_string(c)), code(c) {}
    int code;
};

const std::initializer_list<int> kProcs = {1, 2};

template <class R>
bool contains(const std::vector<goro::Task<R>>& v, const goro::Task<R>& t) {
    return std::find(v.begin(), v.end(), t) != v.end();
}

}  // namespace

TEST_CASE("gather_returns_a_tuple_in_argument_order", "[task][gather]") {
    for_each_maxprocs(kProcs, [](int) {
        goro::Task<int> a = goro::spawn([] {
            goro::sleep_for(3ms);
            return 1;
        });
        auto [x, y, z, w] = goro::gather(
            a, [] { return std::string("two"); }, [] { goro::sleep_for(1ms); },
            [] { return std::make_unique<int>(4); });
        CHECK(x == 1);
        CHECK(y == "two");
        static_assert(std::is_same_v<decltype(z), std::monostate>);
        REQUIRE(w);
        CHECK(*w == 4);
        CHECK(goro::gather() == std::tuple<>());
    });
}

TEST_CASE("gather_rethrows_the_first_exception_once_every_argument_is_done", "[task][gather]") {
    for_each_maxprocs(kProcs, [](int) {
        std::atomic<bool> slow_done{false};
        auto slow = goro::spawn([&slow_done] {
            goro::sleep_for(20ms);
            slow_done = true;
            return 0;
        });
        try {
            goro::gather(
                slow, []() -> int { throw MyError(2); },
                []() -> int {
                    goro::sleep_for(1ms);
                    throw MyError(3);
                });
            FAIL("no exception");
        } catch (const MyError& e) {
            CHECK(e.code == 2);  // argument order, not completion order
        }
        CHECK(slow_done.load());
        CHECK(slow.done());
    });
}

TEST_CASE("gather_of_a_cancelled_child_throws_cancelled", "[task][gather]") {
    for_each_maxprocs(kProcs, [](int) {
        auto child = goro::spawn([] { goro::sleep_for(1h); });
        auto other = goro::spawn([] { return 1; });
        goro::go([child] {
            goro::sleep_for(2ms);
            child.cancel();
        });
        CHECK_THROWS_AS(goro::gather(child, other), goro::Cancelled);
    });
}

TEST_CASE("gather_cancelled_cancels_and_awaits_every_argument", "[task][gather][cancel]") {
    for_each_maxprocs(kProcs, [](int) {
        LiveCount frames;
        std::atomic<int> unwound{0};
        auto body = [&] {
            Tracked t(frames);
            try {
                goro::sleep_for(1h);
            } catch (const goro::Cancelled&) {
                goro::sleep_for(2ms);  // unwinding takes a while; gather must wait for it
                unwound++;
                throw;
            }
        };
        auto done_child = goro::spawn([] { return 5; });
        auto g = goro::spawn([&] { goro::gather(body, body, done_child, body); });
        CHECK(eventually([&] { return frames.live.load() == 3; }));
        g.cancel();
        CHECK_THROWS_AS(g.get(), goro::Cancelled);
        CHECK(unwound.load() == 3);  // every child unwound before gather threw
        CHECK(frames.live.load() == 0);
        CHECK(done_child.get() == 5);
    });
}

TEST_CASE("gather_vector_and_gather_settled", "[task][gather]") {
    for_each_maxprocs(kProcs, [](int) {
        std::vector<goro::Task<long>> tasks;
        for (long i = 0; i < 1000; ++i)
            tasks.push_back(goro::spawn([i] {
                goro::sleep_for(0ms);
                return i * i;
            }));
        std::vector<long> r = goro::gather(tasks);
        REQUIRE(r.size() == 1000);
        for (long i = 0; i < 1000; ++i) CHECK(r[static_cast<std::size_t>(i)] == i * i);

        std::vector<goro::Task<void>> voids{goro::spawn([] {}), goro::spawn([] { goro::yield(); })};
        CHECK(goro::gather(voids).size() == 2);

        std::vector<goro::Task<int>> mixed{
            goro::spawn([] { return 1; }),
            goro::spawn([]() -> int { throw MyError(9); }),
            goro::spawn([] {
                goro::sleep_for(1h);
                return 3;
            }),
        };
        goro::go([c = mixed[2]] {
            goro::sleep_for(2ms);
            c.cancel();
        });
        CHECK_THROWS_AS(goro::gather(mixed), MyError);
        std::vector<goro::Outcome<int>> out = goro::gather_settled(mixed);
        REQUIRE(out.size() == 3);
        CHECK(out[0].ok());
        CHECK(out[0].value() == 1);
        CHECK_FALSE(out[1].ok());
        CHECK_THROWS_AS(std::rethrow_exception(out[1].error()), MyError);
        CHECK_THROWS_AS(out[1].value(), MyError);
        CHECK_FALSE(out[2].ok());
        CHECK_THROWS_AS(std::rethrow_exception(out[2].error()), goro::Cancelled);

        auto vs = goro::gather_settled(std::vector<goro::Task<void>>{goro::spawn([] {})});
        CHECK(vs[0].ok());
    });
}

TEST_CASE("wait_all_first_completed_first_exception", "[task][wait]") {
    for_each_maxprocs(kProcs, [](int) {
        auto fast = goro::spawn([] {
            goro::sleep_for(1ms);
            return 1;
        });
        auto slow = goro::spawn([] {
            goro::sleep_for(500ms);  // far apart: a loaded machine must not swap them
            return 2;
        });
        auto r = goro::wait(std::vector{fast, slow}, goro::ReturnWhen::FirstCompleted);
        CHECK(r.done.size() == 1);
        CHECK(contains(r.done, fast));
        CHECK(contains(r.pending, slow));

        auto all = goro::wait(std::vector{fast, slow});
        CHECK(all.done.size() == 2);
        CHECK(all.pending.empty());

        auto ok = goro::spawn([] {
            goro::sleep_for(1ms);
            return 0;
        });
        auto cancelled = goro::spawn([] {
            goro::sleep_for(1h);
            return 0;
        });
        auto bad = goro::spawn([]() -> int {
            goro::sleep_for(300ms);  // after `ok` even on a loaded machine
            throw MyError(1);
        });
        auto hang = goro::spawn([] {
            goro::sleep_for(1h);
            return 0;
        });
        cancelled.cancel();
        auto fe = goro::wait(std::vector{ok, cancelled, bad, hang}, goro::ReturnWhen::FirstException);
        CHECK(contains(fe.done, bad));  // the cancelled one did not end the wait
        CHECK(contains(fe.done, ok));
        CHECK(contains(fe.done, cancelled));
        CHECK(fe.pending == std::vector{hang});
        hang.cancel();
        // FirstException with no exception: returns when all are done.
        auto fe2 = goro::wait(std::vector{ok}, goro::ReturnWhen::FirstException);
        CHECK(fe2.done.size() == 1);
    });
}

TEST_CASE("wait_timeout_of_any_duration_cancels_nothing", "[task][wait]") {
    for_each_maxprocs(kProcs, [](int) {
        auto hang = goro::spawn([] {
            goro::sleep_for(1h);
            return 0;
        });
        std::vector<goro::Task<int>> v{hang};
        auto t0 = Clock::now();
        auto r = goro::wait(v, goro::ReturnWhen::AllCompleted, 5ms);
        CHECK(Clock::now() - t0 >= 5ms);
        CHECK(r.pending.size() == 1);
        CHECK(r.done.empty());
        CHECK_FALSE(hang.done());
        r = goro::wait(v, goro::ReturnWhen::FirstCompleted, std::chrono::microseconds(500));
        CHECK(r.pending.size() == 1);
        r = goro::wait(v, goro::ReturnWhen::FirstException, std::chrono::duration<double>(0.002));
        CHECK(r.pending.size() == 1);
        r = goro::wait(v, goro::ReturnWhen::FirstCompleted, std::optional<std::chrono::milliseconds>(2ms));
        CHECK(r.pending.size() == 1);
        r = goro::wait(v, goro::ReturnWhen::FirstCompleted, std::chrono::seconds(0));
        CHECK(r.pending.size() == 1);
        CHECK_FALSE(hang.done());
        auto fin = goro::spawn([] { return 1; });
        r = goro::wait(std::vector{fin}, goro::ReturnWhen::AllCompleted, std::nullopt);
        CHECK(r.done.size() == 1);
        r = goro::wait(std::vector{fin}, goro::ReturnWhen::AllCompleted, {});
        CHECK(r.done.size() == 1);
        hang.cancel();
        CHECK_THROWS_AS(hang.get(), goro::Cancelled);
    });
}

TEST_CASE("wait_cancelled_cancels_the_waiter_only", "[task][wait][cancel]") {
    for_each_maxprocs(kProcs, [](int) {
        auto hang = goro::spawn([] {
            goro::sleep_for(1h);
            return 0;
        });
        auto w = goro::spawn([hang] { goro::wait(std::vector{hang}, goro::ReturnWhen::FirstCompleted); });
        auto w2 = goro::spawn([hang] { goro::wait(std::vector{hang}); });
        goro::sleep_for(2ms);
        w.cancel();
        w2.cancel();
        CHECK_THROWS_AS(w.get(), goro::Cancelled);
        CHECK_THROWS_AS(w2.get(), goro::Cancelled);
        CHECK_FALSE(hang.done());
        hang.cancel();
        CHECK_THROWS_AS(hang.get(), goro::Cancelled);
    });
}

TEST_CASE("wait_for_result_timeout_and_cancellation", "[task][wait_for]") {
    for_each_maxprocs(kProcs, [](int) {
        auto quick = goro::spawn([] {
            goro::sleep_for(1ms);
            return 7;
        });
        CHECK(goro::wait_for(quick, 5s) == 7);
        CHECK(goro::wait_for([] { return 8; }, std::chrono::duration<double>(1.0)) == 8);

        std::atomic<bool> unwound{false}, started{false};
        auto slow = goro::spawn([&unwound, &started] {
            started = true;
            try {
                goro::sleep_for(1h);
            } catch (const goro::Cancelled&) {
                goro::sleep_for(5ms);  // wait_for waits for this
                unwound = true;
                throw;
            }
            return 0;
        });
        while (!started) goro::sleep_for(1ms);  // cancelled before its first run, it would have nothing to unwind
        auto t0 = Clock::now();
        CHECK_THROWS_AS(goro::wait_for(slow, 10ms), goro::Timeout);
        CHECK(Clock::now() - t0 >= 10ms);
        CHECK(unwound.load());
        CHECK(slow.cancelled());

        auto err = goro::spawn([]() -> int { throw MyError(4); });
        CHECK_THROWS_AS(goro::wait_for(err, 1s), MyError);

        // The caller of wait_for cancelled: the task is cancelled too.
        auto inner = goro::spawn([] {
            goro::sleep_for(1h);
            return 0;
        });
        auto outer = goro::spawn([inner] { return goro::wait_for(inner, 1h); });
        goro::sleep_for(2ms);
        outer.cancel();
        CHECK_THROWS_AS(outer.get(), goro::Cancelled);
        CHECK(inner.cancelled());
    });
}

TEST_CASE("as_completed_yields_in_completion_order", "[task][as_completed]") {
    for_each_maxprocs(kProcs, [](int) {
        goro::Event e0, e1, e2;
        std::vector<goro::Task<int>> tasks{
            goro::spawn([&] {
                e0.wait();
                return 0;
            }),
            goro::spawn([&] {
                e1.wait();
                return 1;
            }),
            goro::spawn([&] {
                e2.wait();
                return 2;
            }),
        };
        // Each event once the task before it has completed: the order cannot
        // depend on how soon a woken task runs (slow under TSan).
        goro::go([&] {
            goro::sleep_for(1ms);
            e2.set();
            while (!tasks[2].done()) goro::sleep_for(1ms);
            e0.set();
            while (!tasks[0].done()) goro::sleep_for(1ms);
            e1.set();
        });
        std::vector<int> order;
        for (const goro::Task<int>& t : goro::as_completed(tasks)) {
            CHECK(t.done());
            order.push_back(t.get());
        }
        CHECK(order == std::vector<int>{2, 0, 1});
        int n = 0;
        for (const auto& t : goro::as_completed(std::vector<goro::Task<int>>{})) n += t.get();
        CHECK(n == 0);
        auto range = goro::as_completed(tasks);  // all done already
        CHECK(range.size() == 3);
        for (const auto& t : range) n += t.get();
        CHECK(n == 3);
    });
}

TEST_CASE("run_blocking_parks_only_the_caller_even_at_maxprocs_1", "[task][run_blocking]") {
    for_each_maxprocs(kProcs, [](int) {
        std::atomic<int> ticks{0};
        goro::Event stop;
        goro::go([&] {
            while (!stop.is_set()) {
                ticks++;
                goro::sleep_for(1ms);
            }
        });
        auto t0 = Clock::now();
        int v = goro::run_blocking([&] {
            std::this_thread::sleep_for(50ms);
            return 11;
        });
        CHECK(v == 11);
        CHECK(Clock::now() - t0 >= 50ms);
        CHECK(ticks.load() >= 5);  // the other goroutine kept running meanwhile
        stop.set();
        CHECK(goro::detail::blocking_jobs_in_flight() == 0);

        CHECK_THROWS_AS(goro::run_blocking([]() -> int { throw MyError(5); }), MyError);
        auto up = goro::run_blocking([] { return std::make_unique<int>(3); });
        CHECK(*up == 3);
        goro::run_blocking([] {});

        // Many at once (more than the pool's bound): all complete, in parallel up to the bound.
        std::vector<goro::Task<int>> ts;
        for (int i = 0; i < 100; ++i)
            ts.push_back(goro::spawn([i] {
                return goro::run_blocking([i] {
                    std::this_thread::sleep_for(20ms);
                    return i;
                });
            }));
        t0 = Clock::now();
        auto r = goro::gather(ts);
        for (int i = 0; i < 100; ++i) CHECK(r[static_cast<std::size_t>(i)] == i);
        CHECK(Clock::now() - t0 < 1500ms);  // not 100 x 20 ms = 2 s one after another
    });
}

TEST_CASE("run_blocking_in_flight_counter_and_cancellation", "[task][run_blocking][cancel]") {
    for_each_maxprocs(kProcs, [](int) {
        std::atomic<bool> release{false};
        std::atomic<bool> fn_done{false};
        auto t = goro::spawn([&] {
            return goro::run_blocking([&] {
                while (!release.load()) std::this_thread::sleep_for(100us);
                fn_done = true;
                return 1;
            });
        });
        CHECK(eventually([] { return goro::detail::blocking_jobs_in_flight() == 1; }));
        t.cancel();
        CHECK(stays([&] { return !t.done(); }, 10ms));  // it cannot interrupt fn: it waits for it
        release = true;
        CHECK_THROWS_AS(t.get(), goro::Cancelled);
        CHECK(fn_done.load());
        CHECK(eventually([] { return goro::detail::blocking_jobs_in_flight() == 0; }));

        // A request already pending: fn never starts.
        std::atomic<bool> ran{false};
        auto u = goro::spawn([&] {
            goro::detail::g_cancel(goro::detail::current_g());
            goro::run_blocking([&] { ran = true; });
        });
        CHECK_THROWS_AS(u.get(), goro::Cancelled);
        CHECK_FALSE(ran.load());
    });
}

TEST_CASE("run_blocking_from_a_plain_thread_runs_inline", "[task][run_blocking]") {
    auto self = std::this_thread::get_id();
    CHECK(goro::run_blocking([&] { return std::this_thread::get_id() == self; }));
    run_at(1, [] {
        std::thread th([] { GCHECK(goro::run_blocking([] { return 5; }) == 5); });
        goro::run_blocking([&] { th.join(); });
    });
}
