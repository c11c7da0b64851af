// tests/stress/sleepers_test.cpp: 100k goroutines sleeping at once (spread deadlines, one timer each): all
// complete, none early, and together they take about as long as the longest sleep, not the sum.
#include "test_util.hpp"

using namespace goro_test;

TEST_CASE("sleepers_100k_all_complete_none_early", "[stress]") {
    const long n = scale_alive(100000);
    for_each_maxprocs({1, 2, 4}, [&](int procs) {
        auto t0 = Clock::now();
        goro::sleep_for(50ms);
        auto one = Clock::now() - t0;
        std::atomic<long> early{0}, completed{0};
        goro::WaitGroup wg;
        wg.add(n);
        auto start = Clock::now();
        for (long i = 0; i < n; ++i) {
            goro::go([&, i] {
                auto d = std::chrono::microseconds(1000 + (i * 7919) % 49000);  // 1..50 ms, shuffled
                auto s = Clock::now();
                goro::sleep_for(d);
                if (Clock::now() - s < d) early.fetch_add(1);
                completed.fetch_add(1);
                wg.done();
            });
        }
        wg.wait();
        auto all = Clock::now() - start;
        INFO("maxprocs " << procs << ": " << n << " sleeps of 1-50 ms took " << ms(all) << " ms together; one "
                         << "50 ms sleep took " << ms(one) << " ms");
        CHECK(completed.load() == n);
        CHECK(early.load() == 0);
        CHECK(all < 40 * ratio_slack() * one);
    });
}

TEST_CASE("sleepers_same_deadline_all_wake", "[stress]") {
    // Many timers at one instant (a heap full of ties).
    const long n = scale_alive(50000);
    for_each_maxprocs({1, 2, 4}, [&](int) {
        auto deadline = Clock::now() + 30ms;
        std::atomic<long> early{0};
        goro::WaitGroup wg;
        wg.add(n);
        for (long i = 0; i < n; ++i) {
            goro::go([&] {
                goro::sleep_until(deadline);
                if (Clock::now() < deadline) early.fetch_add(1);
                wg.done();
            });
        }
        wg.wait();
        CHECK(early.load() == 0);
        CHECK(Clock::now() >= deadline);
    });
}

TEST_CASE("sleepers_short_sleeps_in_loops", "[stress]") {
    // Timer churn: each goroutine sleeps many times briefly.
    const long n = scale(2000);
    for_each_maxprocs({1, 2, 4}, [&](int) {
        std::atomic<long> early{0}, sleeps{0};
        goro::WaitGroup wg;
        wg.add(n);
        for (long i = 0; i < n; ++i) {
            goro::go([&, i] {
                for (int k = 0; k < 20; ++k) {
                    auto d = std::chrono::microseconds((i + k) % 500);
                    auto s = Clock::now();
                    goro::sleep_for(d);
                    if (Clock::now() - s < d) early.fetch_add(1);
                    sleeps.fetch_add(1);
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(sleeps.load() == n * 20);
        CHECK(early.load() == 0);
    });
}
