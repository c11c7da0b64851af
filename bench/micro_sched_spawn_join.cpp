// sched_spawn_join: each iteration spawns n goroutines whose whole body is
// wg.done() and waits for them on one WaitGroup (the spawn_join peer workload
// in miniature; n=1 is the latency of one spawn, run and join), next to
// std::thread spawn + join of n threads as the OS-thread baseline.
// items_per_second counts goroutines (threads).
#include "micro_common.hpp"

#include <atomic>

namespace {

void spawn_join(benchmark::State& state, long n) {
    goro::WaitGroup wg;
    for (auto _ : state) {
        wg.add(n);
        for (long i = 0; i < n; ++i) goro::go([&wg] { wg.done(); });
        wg.wait();
    }
    state.SetItemsProcessed(state.iterations() * n);
}

// Also the shape of Go's BenchmarkCreateGoroutinesCapture: the spawned
// closure captures a value that its body checks, so the closure is not empty.
void spawn_join_capture(benchmark::State& state, long n) {
    goro::WaitGroup wg;
    std::atomic<long> sum{0};
    for (auto _ : state) {
        wg.add(n);
        for (long i = 0; i < n; ++i)
            goro::go([&wg, &sum, i] {
                sum.fetch_add(i, std::memory_order_relaxed);
                wg.done();
            });
        wg.wait();
    }
    benchmark::DoNotOptimize(sum.load());
    state.SetItemsProcessed(state.iterations() * n);
}

void thread_spawn_join(benchmark::State& state, long n) {
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(n));
    std::atomic<long> left{0};
    for (auto _ : state) {
        left.store(n, std::memory_order_relaxed);
        for (long i = 0; i < n; ++i) threads.emplace_back([&left] { left.fetch_sub(1, std::memory_order_relaxed); });
        for (auto& t : threads) t.join();
        threads.clear();
    }
    if (left.load() != 0) state.SkipWithError("a thread did not run");
    state.SetItemsProcessed(state.iterations() * n);
}

void register_cases() {
    for (long n : {1L, 100L, 10000L}) {
        micro::go_case("sched_spawn_join", {"n=" + std::to_string(n)}, [n](benchmark::State& s) { spawn_join(s, n); });
    }
    micro::go_case("sched_spawn_join_capture", {"n=10000"}, [](benchmark::State& s) { spawn_join_capture(s, 10000); });
    for (long n : {1L, 100L}) {
        micro::add(micro::name("sched_spawn_join_thread", {"n=" + std::to_string(n)}),
                   [n](benchmark::State& s) { thread_spawn_join(s, n); });
    }
}

}  // namespace

int main(int argc, char** argv) { return micro::main(argc, argv, register_cases); }
