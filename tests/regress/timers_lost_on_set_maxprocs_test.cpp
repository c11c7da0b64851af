// tests/regress/timers_lost_on_set_maxprocs_test.cpp: goroutines asleep in sleep_for() when set_maxprocs()
// lowered the worker count were never woken (their timers stayed with a retired processor), so the
// WaitGroup waiting for them hung. Sleepers must all wake, however maxprocs moves meanwhile.
#include "test_util.hpp"

#include <thread>

using namespace goro_test;

TEST_CASE("sleepers_wake_after_set_maxprocs_lowers_workers", "[regress][maxprocs]") {
    for (int trial = 0; trial < 10; ++trial) {
        INFO("trial " << trial);
        std::atomic<int> woke{0};
        std::atomic<bool> watchdog_fired{false};
        run_at(4, [&] {
            const int n = 256;
            goro::Event all_woke;
            for (int i = 0; i < n; ++i) {
                goro::go([&, i] {
                    goro::yield();  // spread them over the workers (and so over their timer heaps)
                    goro::sleep_for(std::chrono::milliseconds(5 + i % 20));
                    if (woke.fetch_add(1) + 1 == n) all_woke.set();
                });
            }
            for (int k = 0; k < 6; ++k) {
                goro::sleep_for(1ms);
                goro::set_maxprocs(k % 2 ? 4 : 1);
            }
            // The main goroutine waits without a timer of its own (its timers would run the lost ones):
            // a plain-thread watchdog bounds the wait instead. With the bug the sleepers never wake; the
            // end of run() then cancels them.
            std::atomic<bool> stop{false};
            std::thread watchdog([&] {
                for (int ms = 0; ms < 10000 && !stop.load(); ++ms) std::this_thread::sleep_for(1ms);
                if (!stop.load()) {
                    watchdog_fired = true;
                    all_woke.set();
                }
            });
            all_woke.wait();
            stop = true;
            watchdog.join();
            CHECK(woke.load() == n);
        });
        CHECK_FALSE(watchdog_fired.load());
    }
}
