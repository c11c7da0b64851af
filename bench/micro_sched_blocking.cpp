// sched_blocking: the cost of goro::blocking(fn) around an empty fn, on the
// main goroutine, at each maxprocs of the sweep:
//   fast     nothing waits: the marker's entry and exit only (the common case
//            of a quick call);
//   handoff  a partner goroutine that keeps yielding always waits in this
//            worker's queue, so every call hands the worker's place to
//            another thread at entry and takes it back at exit (the dearest
//            case: a hand-off per call);
// beside goro::run_blocking(fn) (a hop to the pool thread and back)
// and a plain call of fn, as baselines. bench/RESULTS.md has the figures.
#include "micro_common.hpp"

#include <goro/task.hpp>

#include <atomic>

namespace {

int empty_fn() {
    benchmark::ClobberMemory();
    return 1;
}

void blocking_loop(benchmark::State& state, bool partner) {
    std::atomic<bool> stop{false};
    goro::WaitGroup wg;
    if (partner) {
        wg.add(1);
        goro::go([&] {
            while (!stop.load(std::memory_order_relaxed)) goro::yield();
            wg.done();
        });
        goro::yield();  // the partner runs once and queues itself behind us
    }
    long sum = 0;
    for (auto _ : state) sum += goro::blocking(empty_fn);
    stop.store(true, std::memory_order_relaxed);
    wg.wait();
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
}

void run_blocking_loop(benchmark::State& state) {
    long sum = 0;
    for (auto _ : state) sum += goro::run_blocking(empty_fn);
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
}

void plain_loop(benchmark::State& state) {
    long sum = 0;
    for (auto _ : state) sum += empty_fn();
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
}

void register_cases() {
    micro::go_case("sched_blocking", {"fast"}, [](benchmark::State& s) { blocking_loop(s, false); });
    micro::go_case("sched_blocking", {"handoff"}, [](benchmark::State& s) { blocking_loop(s, true); });
    micro::go_case("sched_run_blocking", {}, [](benchmark::State& s) { run_blocking_loop(s); });
    micro::add("sched_plain_call", [](benchmark::State& s) { plain_loop(s); });
}

}  // namespace

int main(int argc, char** argv) { return micro::main(argc, argv, register_cases); }
