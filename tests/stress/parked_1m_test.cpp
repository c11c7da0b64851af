// tests/stress/parked_1m_test.cpp: a million goroutines parked at once on one Event / one WaitGroup, then
// released: all finish. Prints the resident memory each parked goroutine costs (VmRSS before and after).
// Tagged [1m]: its own meson test (a million goroutines need the machine to themselves).
#include "test_util.hpp"

#include <cstdio>

using namespace goro_test;

namespace {

const long kParked = scale_alive(1000000);

// Report prints the per-goroutine resident memory and returns it (bytes).
double report(const char* what, long long rss_before, long long rss_parked, long n, Clock::duration spawn) {
    double per = static_cast<double>(rss_parked - rss_before) / static_cast<double>(n);
    std::printf("%s: %ld goroutines parked; VmRSS %.1f MiB -> %.1f MiB: %.0f bytes per goroutine; spawned in %.0f ms\n",
                what, n, rss_before / 1048576.0, rss_parked / 1048576.0, per, ms(spawn));
    std::fflush(stdout);
    return per;
}

}  // namespace

TEST_CASE("parked_1m_on_event_all_finish", "[stress][1m]") {
    const long n = kParked;
    long long rss0 = rss_bytes();
    run_at(0, [&] {
        goro::Event release;
        goro::WaitGroup finished;
        std::atomic<long> parked{0}, done_after_release{0};
        std::atomic<bool> released{false};
        finished.add(n);
        auto t0 = Clock::now();
        for (long i = 0; i < n; ++i) {
            goro::go([&] {
                parked.fetch_add(1, std::memory_order_relaxed);
                release.wait();
                if (released.load(std::memory_order_relaxed))
                    done_after_release.fetch_add(1, std::memory_order_relaxed);
                finished.done();
            });
        }
        auto spawn = Clock::now() - t0;
        CHECK(eventually([&] { return parked.load() == n; }, 300s));
        goro::sleep_for(10ms);
        CHECK(goro::num_goroutines() >= static_cast<std::size_t>(n));
        CHECK(goro::num_goroutines() == static_cast<std::size_t>(n + 1));
        long long rss1 = rss_bytes();
        double per = report("Event", rss0, rss1, n, spawn);
        WARN("Event: " << n << " parked goroutines, " << static_cast<long>(per) << " bytes of RSS each");
        if (!kSanitized) CHECK(per < 32 * 1024);  // stacks are touched lazily, not committed whole
        released = true;
        release.set();
        finished.wait();
        CHECK(done_after_release.load() == n);
        CHECK(eventually([] { return goro::num_goroutines() == 1; }, 120s));
    });
}

TEST_CASE("parked_1m_on_waitgroup_all_finish", "[stress][1m]") {
    const long n = kParked;
    long long rss0 = rss_bytes();
    run_at(0, [&] {
        goro::WaitGroup gate;
        gate.add(1);
        goro::WaitGroup finished;
        std::atomic<long> parked{0}, woke{0};
        finished.add(n);
        auto t0 = Clock::now();
        for (long i = 0; i < n; ++i) {
            goro::go([&] {
                parked.fetch_add(1, std::memory_order_relaxed);
                gate.wait();
                woke.fetch_add(1, std::memory_order_relaxed);
                finished.done();
            });
        }
        auto spawn = Clock::now() - t0;
        CHECK(eventually([&] { return parked.load() == n; }, 300s));
        goro::sleep_for(10ms);
        CHECK(woke.load() == 0);
        CHECK(goro::num_goroutines() >= static_cast<std::size_t>(n));
        long long rss1 = rss_bytes();
        double per = report("WaitGroup", rss0, rss1, n, spawn);
        WARN("WaitGroup: " << n << " parked goroutines, " << static_cast<long>(per) << " bytes of RSS each");
        gate.done();
        finished.wait();
        CHECK(woke.load() == n);
        CHECK(eventually([] { return goro::num_goroutines() == 1; }, 120s));
    });
}
