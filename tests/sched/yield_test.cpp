// tests/sched/yield_test.cpp: yield() puts the goroutine behind the other runnable ones (runtime.Gosched).
#include "test_util.hpp"

#include <thread>

using namespace goro_test;

TEST_CASE("yield_two_goroutines_alternate_at_maxprocs_1", "[sched]") {
    run_at(1, [] {
        std::vector<int> log;  // one worker: only one goroutine touches it at a time
        std::atomic<int> ready{0};
        goro::WaitGroup wg;
        const int rounds = 50;
        for (int who = 0; who < 2; ++who) {
            wg.add();
            goro::go([&, who] {
                ready.fetch_add(1);
                while (ready.load() < 2) goro::yield();
                for (int i = 0; i < rounds; ++i) {
                    log.push_back(who);
                    goro::yield();
                }
                wg.done();
            });
        }
        wg.wait();
        REQUIRE(log.size() == 2 * rounds);
        int switches = 0;
        for (std::size_t i = 1; i < log.size(); ++i) switches += log[i] != log[i - 1];
        INFO("log starts " << log[0] << log[1] << log[2] << log[3] << log[4] << log[5]);
        CHECK(switches == 2 * rounds - 1);
    });
}

TEST_CASE("yield_three_goroutines_round_robin_at_maxprocs_1", "[sched]") {
    run_at(1, [] {
        std::vector<int> log;
        std::atomic<int> ready{0};
        goro::WaitGroup wg;
        const int rounds = 30;
        for (int who = 0; who < 3; ++who) {
            wg.add();
            goro::go([&, who] {
                ready.fetch_add(1);
                while (ready.load() < 3) goro::yield();
                for (int i = 0; i < rounds; ++i) {
                    log.push_back(who);
                    goro::yield();
                }
                wg.done();
            });
        }
        wg.wait();
        REQUIRE(log.size() == 3 * rounds);
        // Past the start-up, each window of three holds each goroutine once.
        int bad_windows = 0;
        for (std::size_t i = 3; i + 3 <= log.size(); ++i) {
            int mask = (1 << log[i]) | (1 << log[i + 1]) | (1 << log[i + 2]);
            bad_windows += mask != 7;
        }
        CHECK(bad_windows == 0);
    });
}

TEST_CASE("yield_lets_spinning_goroutine_see_progress", "[sched]") {
    // A goroutine spinning on yield() must not starve the one it waits for, at any worker count.
    for_each_maxprocs([](int) {
        std::atomic<bool> flag{false};
        std::atomic<int> finished{0};
        goro::WaitGroup wg;
        for (int i = 0; i < 8; ++i) {
            wg.add();
            goro::go([&] {
                while (!flag.load()) goro::yield();
                finished.fetch_add(1);
                wg.done();
            });
        }
        wg.add();
        goro::go([&] {
            goro::yield();
            flag = true;
            wg.done();
        });
        wg.wait();
        CHECK(finished.load() == 8);
    });
}

TEST_CASE("yield_main_goroutine_lets_spawned_run_at_maxprocs_1", "[sched]") {
    run_at(1, [] {
        std::atomic<bool> ran{false};
        goro::go([&] { ran = true; });
        for (int i = 0; i < 100 && !ran.load(); ++i) goro::yield();
        CHECK(ran.load());
    });
}

TEST_CASE("yield_from_plain_thread_returns", "[sched]") {
    goro::yield();  // no runtime: yields the thread
    run_at(2, [] {
        std::atomic<bool> done{false};
        std::thread t([&] {
            for (int i = 0; i < 100; ++i) goro::yield();
            done = true;
        });
        t.join();
        CHECK(done.load());
    });
}

// Goroutines that only yield keep the local queue from ever running dry; the periodic look at the
// global queue and the timers (every 61st schedule, skipped when neither has anything) must still
// run a goroutine spawned from a plain thread and wake a sleeper.
TEST_CASE("yielding_goroutines_do_not_starve_the_global_queue_or_timers", "[sched]") {
    for_each_maxprocs({1, 2}, [](int procs) {
        std::atomic<bool> stop{false}, from_thread{false}, from_timer{false}, in_time{false};
        goro::WaitGroup spinners;
        for (int i = 0; i < 2 * procs; ++i) {
            spinners.add();
            goro::go([&] {
                while (!stop.load()) goro::yield();
                spinners.done();
            });
        }
        goro::go([&] {
            goro::sleep_for(2ms);
            from_timer = true;
        });
        // A plain thread spawns into the global queue, then ends the spinning once both goroutines
        // have run, or after 5 s (so that a starving scheduler fails the test instead of hanging it).
        std::thread th([&] {
            goro::go([&] { from_thread = true; });
            auto until = Clock::now() + 5s;
            while (!(from_thread.load() && from_timer.load()) && Clock::now() < until) std::this_thread::sleep_for(1ms);
            in_time = from_thread.load() && from_timer.load();  // while the spinners still spin
            stop = true;
        });
        spinners.wait();
        goro::run_blocking([&] { th.join(); });
        CHECK(in_time.load());
    });
}
