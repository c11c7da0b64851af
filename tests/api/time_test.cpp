// tests/api/time_test.cpp: <goro/time.hpp> — sleep_for / sleep_until park only the goroutine, overlap, never
// end early, and block the thread when called from a plain thread.
#include "test_util.hpp"

#include <thread>

using namespace goro_test;

TEST_CASE("sleep_for_never_ends_early", "[api][time]") {
    const std::chrono::nanoseconds durations[] = {0ns, 1ns, 1us, 50us, 1ms, 3ms, 10ms, 25ms};
    for_each_maxprocs([&](int) {
        // In the main goroutine, one after another.
        for (auto d : durations) {
            auto t0 = Clock::now();
            goro::sleep_for(d);
            auto took = Clock::now() - t0;
            INFO("requested " << d.count() << " ns, took " << std::chrono::nanoseconds(took).count() << " ns");
            CHECK(took >= d);
        }
        // In many goroutines at once, with other units.
        goro::WaitGroup wg;
        for (int i = 0; i < 400; ++i) {
            wg.add();
            goro::go([&, i] {
                auto d = std::chrono::microseconds((i * 37) % 20000);
                auto t0 = Clock::now();
                goro::sleep_for(d);
                GCHECK(Clock::now() - t0 >= d);
                auto t1 = Clock::now();
                goro::sleep_for(std::chrono::duration<double, std::milli>(1.5));
                GCHECK(Clock::now() - t1 >= std::chrono::microseconds(1500));
                wg.done();
            });
        }
        wg.wait();
    });
}

TEST_CASE("sleep_until_never_ends_early", "[api][time]") {
    for_each_maxprocs({1, 2, 4}, [](int) {
        goro::WaitGroup wg;
        for (int i = 0; i < 200; ++i) {
            wg.add();
            goro::go([&, i] {
                auto t = Clock::now() + std::chrono::microseconds((i * 53) % 15000);
                goro::sleep_until(t);
                GCHECK(Clock::now() >= t);
                // Another clock is converted without ending early either.
                auto s = std::chrono::system_clock::now() + std::chrono::milliseconds(i % 7);
                goro::sleep_until(s);
                GCHECK(std::chrono::system_clock::now() >= s);
                wg.done();
            });
        }
        wg.wait();
        auto past = Clock::now() - 1h;
        auto t0 = Clock::now();
        goro::sleep_until(past);  // a deadline in the past returns at once
        CHECK(Clock::now() - t0 < 1s);
    });
}

TEST_CASE("sleep_for_negative_returns_promptly", "[api][time]") {
    run_at(2, [] {
        auto t0 = Clock::now();
        goro::sleep_for(-5ms);
        goro::sleep_for(std::chrono::seconds(-1));
        CHECK(Clock::now() - t0 < 1s);
    });
}

TEST_CASE("sleeps_overlap_10k", "[api][time]") {
    const auto d = 50ms;
    const long n = scale_alive(10000);
    for_each_maxprocs({1, 2, 4}, [&](int) {
        // One sleep alone, measured in the same runtime, is the unit.
        auto t0 = Clock::now();
        goro::sleep_for(d);
        auto one = Clock::now() - t0;
        goro::WaitGroup wg;
        std::atomic<long> early{0};
        auto start = Clock::now();
        for (long i = 0; i < n; ++i) {
            wg.add();
            goro::go([&] {
                auto s = Clock::now();
                goro::sleep_for(d);
                if (Clock::now() - s < d) early.fetch_add(1);
                wg.done();
            });
        }
        wg.wait();
        auto all = Clock::now() - start;
        INFO(n << " sleeps of 50 ms took " << ms(all) << " ms together; one alone took " << ms(one) << " ms");
        CHECK(early.load() == 0);
        CHECK(all >= d);
        CHECK(all < 20 * ratio_slack() * one);
    });
}

TEST_CASE("sleeping_goroutine_does_not_block_worker", "[api][time]") {
    // At one worker, a goroutine keeps running while the main goroutine sleeps.
    run_at(1, [] {
        std::atomic<bool> stop{false};
        std::atomic<long> spins{0};
        goro::WaitGroup wg;
        wg.add();
        goro::go([&] {
            while (!stop.load()) {
                spins.fetch_add(1);
                goro::yield();
            }
            wg.done();
        });
        goro::sleep_for(30ms);
        long seen = spins.load();
        stop = true;
        wg.wait();
        CHECK(seen > 0);
    });
}

TEST_CASE("sleep_for_from_plain_thread", "[api][time]") {
    // No runtime at all.
    auto t0 = Clock::now();
    goro::sleep_for(20ms);
    CHECK(Clock::now() - t0 >= 20ms);
    auto t = Clock::now() + 15ms;
    goro::sleep_until(t);
    CHECK(Clock::now() >= t);
    // A plain thread beside a running runtime blocks only itself.
    run_at(2, [] {
        std::atomic<bool> ok{false}, done{false};
        std::thread th([&] {
            auto s = Clock::now();
            goro::sleep_for(25ms);
            ok = Clock::now() - s >= 25ms;
            done = true;
        });
        goro::sleep_for(1ms);
        CHECK(goro::num_goroutines() == 1);
        CHECK(eventually([&] { return done.load(); }));
        th.join();
        CHECK(ok.load());
    });
}

// Durations too long for the clock (nanoseconds::max(), hours::max(), a double of 1e30 s) and time points
// at the end of time mean "never", not an overflow into the past: the sleep lasts until cancelled and
// after() stays empty. (They used to wrap around and return at once.)
TEST_CASE("sleeps_and_after_beyond_the_clocks_range_last_until_cancelled", "[api][time]") {
    using namespace std::chrono;
    for_each_maxprocs([](int) {
        std::vector<std::function<void()>> forever = {
            [] { goro::sleep_for(nanoseconds::max()); },
            [] { goro::sleep_for(seconds::max()); },
            [] { goro::sleep_for(hours::max()); },
            [] { goro::sleep_for(duration<double>(1e30)); },
            [] { goro::sleep_for(hours(24 * 365 * 300)); },
            [] { goro::sleep_until(steady_clock::time_point::max()); },
            [] { goro::sleep_until(time_point<steady_clock, hours>::max()); },
            [] { goro::sleep_until(system_clock::time_point::max()); },
            // Another clock's time point whose precision is coarser than nanoseconds: compared with that
            // clock's now() in nanoseconds, seconds::max() wrapped into the past (it returned at once).
            [] { goro::sleep_until(sys_seconds::max()); },
            [] { goro::sleep_until(time_point<system_clock, hours>::max()); },
            [] { goro::sleep_until(sys_days(year(2400) / 1 / 1)); },  // beyond 2262, the end of 64-bit ns
        };
        std::vector<goro::Task<void>> tasks;
        for (auto& f : forever) tasks.push_back(goro::spawn(f));
        auto never1 = goro::after(nanoseconds::max());
        auto never2 = goro::after(hours::max());
        goro::sleep_for(50ms);
        for (std::size_t i = 0; i < tasks.size(); ++i) {
            INFO("sleep #" << i);
            CHECK_FALSE(tasks[i].done());
            CHECK(tasks[i].cancel());
        }
        for (auto& t : tasks) CHECK_THROWS_AS(t.get(), goro::Cancelled);
        CHECK_FALSE(never1.try_recv().has_value());
        CHECK_FALSE(never2.try_recv().has_value());
        CHECK_FALSE(never1.closed());  // and never closes
    });
    // With no runtime, after() would time on a thread: for "never" it starts none.
    auto never = goro::after(hours::max());
    std::this_thread::sleep_for(10ms);
    CHECK_FALSE(never.try_recv().has_value());
    // A plain thread's sleep_until of a time point in the past, on a coarse clock, returns at once.
    auto t0 = steady_clock::now();
    goro::sleep_until(time_point<steady_clock, hours>::min());
    CHECK(steady_clock::now() - t0 < 1s);
}
