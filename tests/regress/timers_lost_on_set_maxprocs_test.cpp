// tests/regress/timers_lost_on_set_maxprocs_test.cpp: goroutines asleep in sleep_for() when set_maxprocs()
// lowered the worker count were never woken (their timers stayed with a retired processor), so the
// WaitGroup waiting for them hung. Sleepers must all wake, however maxprocs moves meanwhile.
#include "test_util.hpp"

using namespace goro_test;

TEST_CASE("sleepers_wake_after_set_maxprocs_lowers_workers", "[regress][maxprocs]") {
    for (int trial = 0; trial < 10; ++trial) {
        INFO("trial " << trial);
        std::atomic<int> woke{0};
        run_at(4, [&] {
            const int n = 256;
            for (int i = 0; i < n; ++i) {
                goro::go([&, i] {
                    goro::yield();  // spread them over the workers (and so over their timer heaps)
                    goro::sleep_for(std::chrono::milliseconds(5 + i % 20));
                    woke.fetch_add(1);
                });
            }
            for (int k = 0; k < 6; ++k) {
                goro::sleep_for(1ms);
                goro::set_maxprocs(k % 2 ? 4 : 1);
            }
            // Bounded: with the bug they never wake; the end of run() then cancels them.
            CHECK(eventually([&] { return woke.load() == n; }, 10s));
        });
    }
}
