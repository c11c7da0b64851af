// tests/api/timer_test.cpp: goro::Timer, goro::Ticker and goro::after_func (runtime/time/timer.cpp):
// expiry, stop()'s answer, Go 1.23's "no stale value after stop or reset" (also when the expiry was sent
// and not yet received, and when stop races with the fire), a slow receiver losing ticks instead of
// queueing them, after_func's stop, a timer kept alive by its channel alone, and misuse errors.
#include "test_util.hpp"

#include <atomic>
#include <cmath>
#include <thread>

using namespace goro_test;
using Steady = std::chrono::steady_clock;

TEST_CASE("timer_expires_once_not_early", "[api][timer]") {
    for_each_maxprocs([](int) {
        auto t0 = Steady::now();
        goro::Timer t(20ms);
        auto when = t.c().recv();
        REQUIRE(when.has_value());
        CHECK(*when - t0 >= 20ms);
        CHECK(Steady::now() - t0 >= 20ms);
        CHECK_FALSE(t.stop());  // received: too late to stop
        CHECK_FALSE(t.c().try_recv().has_value());
    });
}

TEST_CASE("timer_stop_before_expiry_prevents_it", "[api][timer]") {
    for_each_maxprocs([](int) {
        goro::Timer t(30ms);
        CHECK(t.stop());
        CHECK_FALSE(t.stop());  // already stopped
        goro::sleep_for(60ms);
        CHECK_FALSE(t.c().try_recv().has_value());
    });
}

// Go 1.23: an expiry sent but not received is taken back by stop() and reset(); stop() then says true.
TEST_CASE("timer_stop_and_reset_leave_no_stale_value", "[api][timer]") {
    for_each_maxprocs([](int) {
        goro::Timer t(1ms);
        goro::sleep_for(20ms);  // expired; its value waits in the channel
        CHECK(t.stop());        // nobody received it: stopped "before it fired"
        CHECK_FALSE(t.c().try_recv().has_value());

        goro::Timer u(1ms);
        goro::sleep_for(20ms);
        auto t0 = Steady::now();
        CHECK(u.reset(40ms));
        CHECK_FALSE(u.c().try_recv().has_value());  // the old expiry is gone
        auto when = u.c().recv();
        REQUIRE(when.has_value());
        CHECK(*when - t0 >= 40ms);  // the value received is the new expiry's
    });
}

// stop() racing the fire on another worker: whatever stop() answers, the channel never yields a value
// afterwards, and a true answer means no value had been received.
TEST_CASE("timer_stop_racing_expiry_never_leaves_a_value", "[api][timer]") {
    const int rounds = static_cast<int>(scale(1000));
    run_at(2, [&] {
        int stopped = 0, fired = 0, stale = 0;
        for (int i = 0; i < rounds; ++i) {
            goro::Timer t(std::chrono::microseconds(50 + (i % 7) * 20));
            auto until = Steady::now() + std::chrono::microseconds(40 + (i % 11) * 10);
            while (Steady::now() < until) {
            }
            if (t.stop()) ++stopped;
            else ++fired;
            goro::sleep_for(200us);  // a fire that lost the race would have delivered by now
            if (t.c().try_recv()) ++stale;
        }
        INFO("stopped " << stopped << ", already fired " << fired);
        CHECK(stale == 0);
        CHECK(fired == 0);  // nobody received any value, so every stop() must have prevented one
    });
}

TEST_CASE("timer_kept_alive_by_its_channel_alone", "[api][timer]") {
    for_each_maxprocs([](int) {
        auto ch = goro::Timer(10ms).c();  // the Timer handle is gone at once
        CHECK(ch.recv().has_value());
    });
}

TEST_CASE("timer_copies_share_one_timer_and_work_from_plain_threads", "[api][timer]") {
    run_at(2, [] {
        goro::Timer t(1h);
        goro::Timer copy = t;
        bool stopped = false;
        std::thread plain([&] { stopped = copy.stop(); });
        plain.join();
        CHECK(stopped);
        CHECK_FALSE(t.stop());
        CHECK_FALSE(t.reset(5ms));  // it was stopped (false, as Go), and it is armed again
        CHECK(copy.c().recv().has_value());
    });
}

TEST_CASE("ticker_ticks_every_period_and_drops_ticks_for_a_slow_receiver", "[api][timer]") {
    for_each_maxprocs([](int) {
        auto t0 = Steady::now();  // before the ticker: its first tick is due 5 ms after it is made
        goro::Ticker tk(5ms);
        for (int i = 0; i < 4; ++i) REQUIRE(tk.c().recv().has_value());
        CHECK(Steady::now() - t0 >= 20ms);
        goro::sleep_for(60ms);  // a dozen periods with nobody receiving
        int queued = 0;
        while (tk.c().try_recv()) ++queued;
        CHECK(queued <= 1);  // at most one tick waits: the rest were dropped
        tk.stop();
        goro::sleep_for(20ms);
        CHECK_FALSE(tk.c().try_recv().has_value());  // no tick after stop, not even a stale one
        tk.reset(3ms);
        CHECK(tk.c().recv().has_value());
        tk.stop();
    });
}

TEST_CASE("ticker_rejects_a_period_that_is_not_positive", "[api][timer]") {
    run_at(1, [] {
        CHECK_THROWS_AS(goro::Ticker(0ms), std::invalid_argument);
        CHECK_THROWS_AS(goro::Ticker(-5ms), std::invalid_argument);
        goro::Ticker tk(1h);
        CHECK_THROWS_AS(tk.reset(0ms), std::invalid_argument);
        tk.stop();
        // Periods beyond nanoseconds' range saturate, as every duration does, instead of wrapping:
        // hours::max() wrapped to a negative period (refused) and 600 years to one of about 14 years.
        CHECK_THROWS_AS(goro::Ticker(-std::chrono::hours::max()), std::invalid_argument);
        CHECK_THROWS_AS(goro::Ticker(std::chrono::duration<double>(std::nan(""))), std::invalid_argument);
        goro::Ticker never(std::chrono::hours::max());
        goro::Ticker never2(std::chrono::years(600));
        tk.reset(std::chrono::hours::max());
        goro::sleep_for(20ms);
        CHECK_FALSE(never.c().try_recv().has_value());
        CHECK_FALSE(never2.c().try_recv().has_value());
        CHECK_FALSE(tk.c().try_recv().has_value());
        never.stop();
        never2.stop();
        tk.stop();
    });
}

TEST_CASE("timer_without_a_runtime_is_an_invalid_state", "[api][timer]") {
    CHECK_THROWS_AS(goro::Timer(1ms), goro::InvalidState);
    CHECK_THROWS_AS(goro::Ticker(1ms), goro::InvalidState);
}

TEST_CASE("after_func_runs_fn_on_a_goroutine_unless_stopped", "[api][timer]") {
    for_each_maxprocs([](int) {
        goro::Chan<int> ran(2);
        auto t = goro::after_func(10ms, [ran] { ran.send(1); });
        CHECK(t.c().is_nil());
        CHECK(ran.recv() == 1);
        CHECK_FALSE(t.stop());  // fn has started

        std::atomic<int> runs{0};
        auto u = goro::after_func(30ms, [&runs] { runs.fetch_add(1); });
        CHECK(u.stop());
        goro::sleep_for(60ms);
        CHECK(runs.load() == 0);
        u.reset(1ms);  // scheduled again
        while (runs.load() == 0) goro::sleep_for(1ms);
        CHECK(runs.load() == 1);
    });
}
