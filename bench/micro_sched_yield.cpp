// sched_yield: the main goroutine calls goro::yield() once per iteration,
// alone (goroutines=1) or while a partner goroutine yields in a loop
// (goroutines=2: at maxprocs=1 one iteration is two switches, main's and the
// partner's, the yield peer workload's shape), next to std::this_thread::yield
// on one or two threads as the baseline.
#include "micro_common.hpp"

#include <atomic>

namespace {

void yield_loop(benchmark::State& state, int partners) {
    std::atomic<bool> stop{false};
    std::atomic<long> partner_yields{0};
    goro::WaitGroup wg;
    wg.add(partners);
    for (int p = 0; p < partners; ++p)
        goro::go([&] {
            long k = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                goro::yield();
                ++k;
            }
            partner_yields.fetch_add(k, std::memory_order_relaxed);
            wg.done();
        });
    for (auto _ : state) goro::yield();
    stop.store(true, std::memory_order_relaxed);
    wg.wait();
    state.SetItemsProcessed(state.iterations());
    state.counters["partner_yields_per_iter"] =
        benchmark::Counter(static_cast<double>(partner_yields.load()) / static_cast<double>(state.iterations()));
}

void thread_yield_loop(benchmark::State& state, int partners) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int p = 0; p < partners; ++p)
        threads.emplace_back([&] {
            while (!stop.load(std::memory_order_relaxed)) std::this_thread::yield();
        });
    for (auto _ : state) std::this_thread::yield();
    stop.store(true);
    for (auto& t : threads) t.join();
    state.SetItemsProcessed(state.iterations());
}

void register_cases() {
    for (int g : {1, 2}) {
        micro::go_case("sched_yield", {"goroutines=" + std::to_string(g)},
                       [g](benchmark::State& s) { yield_loop(s, g - 1); });
        micro::add(micro::name("sched_yield_thread", {"threads=" + std::to_string(g)}),
                   [g](benchmark::State& s) { thread_yield_loop(s, g - 1); });
    }
}

}  // namespace

int main(int argc, char** argv) { return micro::main(argc, argv, register_cases); }
