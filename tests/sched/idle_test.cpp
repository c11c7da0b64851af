// tests/sched/idle_test.cpp: idle workers park their threads: a runtime whose goroutines are all asleep or
// parked burns (almost) no CPU.
#include "test_util.hpp"

using namespace goro_test;

namespace {

// The budget for 300 ms of idling: 10% of one CPU, doubled under ASan/UBSan and more under TSan (their
// own background threads tick: TSan's flushes its shadow memory every 100 ms, tens of ms of CPU each).
const auto kIdleBudget = kThreadSanitizer ? 150ms : kSanitized ? 60ms : 30ms;

// idle_cpu() is the process CPU time spent while the main goroutine sleeps `d`.
std::chrono::microseconds idle_cpu(std::chrono::milliseconds d) {
    auto c0 = process_cpu_time();
    goro::sleep_for(d);
    return process_cpu_time() - c0;
}

}  // namespace

TEST_CASE("idle_runtime_burns_no_cpu", "[sched][idle]") {
    for_each_maxprocs([](int procs) {
        goro::sleep_for(50ms);  // let the workers finish starting and go idle
        auto stat0 = cpu_time_from_stat();
        auto used = idle_cpu(300ms);
        auto stat_used = cpu_time_from_stat() - stat0;
        INFO("maxprocs " << procs << ": " << used.count() << " us CPU (clock), " << stat_used.count()
                         << " us (/proc/self/stat) during a 300 ms sleep");
        CHECK(used < kIdleBudget);
        CHECK(stat_used < kIdleBudget + 10ms);  // /proc/self/stat counts in 10 ms ticks
    });
}

TEST_CASE("idle_after_burst_burns_no_cpu", "[sched][idle]") {
    // After a burst of work, spinning workers must stand down.
    for_each_maxprocs([](int procs) {
        goro::WaitGroup wg;
        std::atomic<long> sum{0};
        for (int i = 0; i < 2000; ++i) {
            wg.add();
            goro::go([&, i] {
                goro::yield();
                sum.fetch_add(i);
                wg.done();
            });
        }
        wg.wait();
        CHECK(sum.load() == 1999L * 2000 / 2);
        goro::sleep_for(50ms);
        auto used = idle_cpu(300ms);
        INFO("maxprocs " << procs << ": " << used.count() << " us CPU during a 300 ms sleep after a burst");
        CHECK(used < kIdleBudget);
    });
}

TEST_CASE("idle_with_parked_goroutines_burns_no_cpu", "[sched][idle]") {
    // Goroutines parked on a WaitGroup and an Event, plus far-off timers: still nothing to do.
    for_each_maxprocs([](int procs) {
        goro::WaitGroup gate;
        gate.add(1);
        goro::Event ev;
        goro::WaitGroup finished;
        for (int i = 0; i < 200; ++i) {
            finished.add();
            goro::go([&, i] {
                if (i % 3 == 0) gate.wait();
                else if (i % 3 == 1) ev.wait();
                else goro::sleep_for(std::chrono::milliseconds(500 + i));
                finished.done();
            });
        }
        goro::sleep_for(50ms);
        auto used = idle_cpu(300ms);
        INFO("maxprocs " << procs << ": " << used.count() << " us CPU during a 300 ms sleep, 200 parked");
        CHECK(used < kIdleBudget);
        gate.done();
        ev.set();
        finished.wait();
    });
}
