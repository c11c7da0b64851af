// tests/task/task_group_test.cpp: goro::TaskGroup (runtime/task/task_group.cpp): wait for all; the first
// failure cancels the rest and every failure is reported in one TaskGroupError; the limit on running
// children; cancelling the waiter cancels the children first; no child outlives the group (the destructor
// waits, and cancels when the scope is left by an exception); reuse after wait; plain threads.
#include "test_util.hpp"

#include <atomic>
#include <stdexcept>
#include <thread>

using namespace goro_test;

TEST_CASE("task_group_waits_for_every_child", "[task][task_group]") {
    for_each_maxprocs([](int) {
        goro::TaskGroup group;
        std::atomic<int> done{0};
        std::vector<goro::Task<int>> tasks;
        for (int i = 0; i < 50; ++i)
            tasks.push_back(group.spawn([i, &done] {
                goro::sleep_for(std::chrono::milliseconds(i % 5));
                done.fetch_add(1);
                return i;
            }));
        auto named = group.spawn("named-child", [] {});
        group.wait();
        CHECK(done.load() == 50);
        for (int i = 0; i < 50; ++i) CHECK(tasks[static_cast<std::size_t>(i)].get() == i);
        CHECK(named.name() == "named-child");
    });
}

TEST_CASE("task_group_first_failure_cancels_the_rest_and_all_failures_are_reported", "[task][task_group]") {
    for_each_maxprocs([](int) {
        goro::TaskGroup group;
        std::atomic<int> cancelled{0}, finished{0}, started{0};
        for (int i = 0; i < 10; ++i)
            group.spawn([&] {
                started.fetch_add(1);
                try {
                    goro::sleep_for(1h);
                    finished.fetch_add(1);
                } catch (const goro::Cancelled&) {
                    cancelled.fetch_add(1);
                    throw;
                }
            });
        group.spawn([&] {
            // Once every other child runs (a child cancelled before its first
            // run never enters its body: slow under TSan, 2 ms was not enough).
            while (started.load() < 11) goro::sleep_for(1ms);
            throw std::runtime_error("first");
        });
        // A child that fails while it is being cancelled: a second failure.
        group.spawn([&] {
            started.fetch_add(1);
            try {
                goro::sleep_for(1h);
            } catch (const goro::Cancelled&) {
                throw std::logic_error("second, while cancelled");
            }
        });
        auto t0 = std::chrono::steady_clock::now();
        try {
            group.wait();
            FAIL("wait() did not throw");
        } catch (const goro::TaskGroupError& e) {
            REQUIRE(e.size() == 2);
            CHECK_THROWS_AS(std::rethrow_exception(e.exceptions()[0]), std::runtime_error);
            CHECK_THROWS_AS(std::rethrow_exception(e.exceptions()[1]), std::logic_error);
            CHECK(std::string(e.what()).find("2 tasks of the group failed; first: first") != std::string::npos);
        }
        CHECK(std::chrono::steady_clock::now() - t0 < 30s);  // not the hour: the others were cancelled
        CHECK(cancelled.load() == 10);
        CHECK(finished.load() == 0);
    });
}

TEST_CASE("task_group_limit_bounds_running_children", "[task][task_group]") {
    for_each_maxprocs([](int) {
        goro::TaskGroup group(3);
        std::atomic<int> now{0}, peak{0}, done{0};
        for (int i = 0; i < 30; ++i)
            group.spawn([&] {
                int n = now.fetch_add(1) + 1;
                int p = peak.load();
                while (n > p && !peak.compare_exchange_weak(p, n)) {
                }
                goro::sleep_for(1ms);
                now.fetch_sub(1);
                done.fetch_add(1);
            });
        group.wait();
        CHECK(done.load() == 30);
        CHECK(peak.load() <= 3);
        CHECK(peak.load() >= 2);
        CHECK_THROWS_AS(goro::TaskGroup(0), std::invalid_argument);
    });
}

TEST_CASE("task_group_cancelled_waiter_cancels_children_first", "[task][task_group][cancel]") {
    for_each_maxprocs([](int) {
        std::atomic<int> children_cancelled{0}, children_started{0};
        std::atomic<bool> all_unwound_before_waiter{false};
        auto waiter = goro::spawn([&] {
            goro::TaskGroup group;
            for (int i = 0; i < 5; ++i)
                group.spawn([&] {
                    children_started.fetch_add(1);
                    try {
                        goro::sleep_for(1h);
                    } catch (const goro::Cancelled&) {
                        goro::sleep_for(1ms);  // unwinding takes a while: wait() must wait for it
                        children_cancelled.fetch_add(1);
                        throw;
                    }
                });
            try {
                group.wait();
            } catch (const goro::Cancelled&) {
                all_unwound_before_waiter = children_cancelled.load() == 5;
                throw;
            }
        });
        // Once every child runs: one cancelled before its first run never
        // enters its body, so it has nothing to unwind (slow under TSan).
        while (children_started.load() < 5) goro::sleep_for(1ms);
        goro::sleep_for(10ms);
        waiter.cancel();
        CHECK_THROWS_AS(waiter.get(), goro::Cancelled);
        CHECK(all_unwound_before_waiter.load());
    });
}

TEST_CASE("task_group_no_child_outlives_the_group", "[task][task_group]") {
    for_each_maxprocs([](int) {
        std::atomic<int> alive{0};
        {
            goro::TaskGroup group;  // never waited: the destructor waits
            for (int i = 0; i < 8; ++i)
                group.spawn([&] {
                    alive.fetch_add(1);
                    goro::sleep_for(5ms);
                    alive.fetch_sub(1);
                });
        }
        CHECK(alive.load() == 0);
        // Left by an exception: the children are cancelled, then awaited.
        std::atomic<int> cancelled{0}, started{0};
        auto t0 = std::chrono::steady_clock::now();
        try {
            goro::TaskGroup group;
            for (int i = 0; i < 4; ++i)
                group.spawn([&] {
                    started.fetch_add(1);
                    try {
                        goro::sleep_for(1h);
                    } catch (const goro::Cancelled&) {
                        cancelled.fetch_add(1);
                        throw;
                    }
                });
            while (started.load() < 4) goro::sleep_for(1ms);  // a child cancelled before it runs has no body to unwind
            throw std::runtime_error("scope left");
        } catch (const std::runtime_error&) {
        }
        CHECK(cancelled.load() == 4);
        CHECK(std::chrono::steady_clock::now() - t0 < 30s);
    });
}

TEST_CASE("task_group_can_be_reused_after_wait", "[task][task_group]") {
    run_at(2, [] {
        goro::TaskGroup group;
        group.spawn([] { throw std::runtime_error("round one"); });
        CHECK_THROWS_AS(group.wait(), goro::TaskGroupError);
        auto t = group.spawn([] { return 5; });
        group.wait();  // round two: no failure left over
        CHECK(t.get() == 5);
    });
}

TEST_CASE("task_group_from_a_plain_thread", "[task][task_group]") {
    run_at(2, [] {
        std::atomic<int> sum{0};
        std::thread plain([&] {
            goro::TaskGroup group;
            for (int i = 1; i <= 10; ++i) group.spawn([i, &sum] { sum.fetch_add(i); });
            group.wait();
        });
        plain.join();
        CHECK(sum.load() == 55);
    });
}
