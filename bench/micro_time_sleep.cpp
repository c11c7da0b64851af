// time_sleep: one goroutine calls goro::sleep_for(d) per iteration, for d = 0
// (the fast path) and short sleeps of 10us, 100us and 1ms, alone (the worker
// goes idle and its park timeout must fire) or next to a goroutine that keeps
// yielding (busy=1: the timer must fire from the scheduling loop); baseline:
// std::this_thread::sleep_for. overshoot_us is the mean time past d.
#include "micro_common.hpp"

#include <atomic>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

template <class SleepFn>
void sleep_loop(benchmark::State& state, std::chrono::nanoseconds d, SleepFn sleep) {
    std::chrono::nanoseconds total{0};
    long early = 0;
    for (auto _ : state) {
        auto t0 = Clock::now();
        sleep(d);
        auto took = Clock::now() - t0;
        if (took < d) ++early;
        total += took;
    }
    if (early != 0) state.SkipWithError(("sleeps ended early: " + std::to_string(early)).c_str());
    double mean_us = std::chrono::duration<double, std::micro>(total).count() / static_cast<double>(state.iterations());
    state.counters["overshoot_us"] = benchmark::Counter(mean_us - std::chrono::duration<double, std::micro>(d).count());
}

void goro_sleep(benchmark::State& state, std::chrono::nanoseconds d, bool busy) {
    std::atomic<bool> stop{false};
    goro::WaitGroup wg;
    if (busy) {
        wg.add(1);
        goro::go([&] {
            while (!stop.load(std::memory_order_relaxed)) goro::yield();
            wg.done();
        });
    }
    sleep_loop(state, d, [](std::chrono::nanoseconds x) { goro::sleep_for(x); });
    stop.store(true);
    wg.wait();
}

std::string label(std::chrono::nanoseconds d) {
    if (d == 0ns) return "d=0";
    if (d % 1ms == 0ns) return "d=" + std::to_string(d / 1ms) + "ms";
    return "d=" + std::to_string(d / 1us) + "us";
}

void register_cases() {
    const std::chrono::nanoseconds ds[] = {0ns, 10us, 100us, 1ms};
    for (auto d : ds) {
        micro::go_case("time_sleep", {label(d)}, [d](benchmark::State& s) { goro_sleep(s, d, false); });
    }
    micro::go_case("time_sleep", {label(100us), "busy=1"}, [](benchmark::State& s) { goro_sleep(s, 100us, true); });
    for (auto d : ds) {
        micro::add(micro::name("time_sleep_thread", {label(d)}), [d](benchmark::State& s) {
            sleep_loop(s, d, [](std::chrono::nanoseconds x) { std::this_thread::sleep_for(x); });
        });
    }
}

}  // namespace

int main(int argc, char** argv) { return micro::main(argc, argv, register_cases); }
