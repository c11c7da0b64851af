// bench/sleep_latency: sleep_many (N goroutines each sleeping 10 ms, bench/peers)
// seen from inside: how late each sleeper starts after its spawn, how much longer
// than 10 ms it sleeps, and the most stacks bound at once (goro::runtime_stats(),
// read every 0.5 ms by a plain thread). RESULTS.md, "Timer bursts and the global
// queue". Run with GORO_MAXPROCS=1 or 2.
//
//   bench/sleep_latency [N=100000]
#include <goro/goro.hpp>
#include <goro/metrics.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

float ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<float, std::milli>(b - a).count();
}

void print_percentiles(const char* what, std::vector<float> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    std::printf("%-18s p10 %7.2f  p50 %7.2f  p90 %7.2f  p99 %7.2f  max %7.2f ms\n", what, v[n / 10], v[n / 2],
                v[n * 9 / 10], v[n * 99 / 100], v.back());
}

}  // namespace

int main(int argc, char** argv) {
    const long n = argc > 1 ? std::atol(argv[1]) : 100000;
    if (n < 100) {
        std::fprintf(stderr, "sleep_latency: N must be at least 100\n");
        return 2;
    }
    const auto sleep = std::chrono::milliseconds(10);
    std::vector<Clock::time_point> spawned(static_cast<std::size_t>(n));
    std::vector<float> start_delay(static_cast<std::size_t>(n)), oversleep(static_cast<std::size_t>(n));

    std::atomic<bool> stop{false};
    std::uint64_t max_stacks = 0;
    std::thread sampler([&] {
        while (!stop.load(std::memory_order_relaxed)) {
            const goro::RuntimeStats s = goro::runtime_stats();
            if (s.running && s.stack_size > 0) max_stacks = std::max(max_stacks, s.stack_bytes_in_use / s.stack_size);
            std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
    });
    double spawn_ms = 0, total_ms = 0;
    goro::run([&] {
        goro::WaitGroup wg;
        const auto t0 = Clock::now();
        wg.add(n);
        for (long i = 0; i < n; ++i) {
            const auto k = static_cast<std::size_t>(i);
            spawned[k] = Clock::now();
            goro::go([&, k] {
                const auto started = Clock::now();
                start_delay[k] = ms_between(spawned[k], started);
                goro::sleep_for(sleep);
                oversleep[k] = ms_between(started, Clock::now()) - static_cast<float>(sleep.count());
                wg.done();
            });
        }
        const auto t1 = Clock::now();
        wg.wait();
        spawn_ms = ms_between(t0, t1);
        total_ms = ms_between(t0, Clock::now());
    });
    stop.store(true, std::memory_order_relaxed);
    sampler.join();
    std::printf("%ld sleepers: spawn loop %.1f ms, all done %.1f ms, at most %llu stacks bound\n", n, spawn_ms,
                total_ms, static_cast<unsigned long long>(max_stacks));
    print_percentiles("spawn -> start", start_delay);
    print_percentiles("oversleep", oversleep);
}
