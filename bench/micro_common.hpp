// Shared by the Google Benchmark micro-benchmarks (bench/micro_*.cpp): case
// names that carry their parameters, the maxprocs sweep, and running a case's
// timed loop inside a goro runtime.
//
// How a case is measured. Each call of a case's function starts its own
// runtime with Config{maxprocs = P} and runs the whole `for (auto _ : state)`
// loop on the main goroutine; Google Benchmark calls the function several
// times while it sizes the iteration count, and each call gets a fresh
// runtime. The timer runs only inside the loop, so runtime start-up (creating
// the workers) and shutdown never count; a runtime per iteration would
// measure thread creation instead, and one runtime for the whole process
// could not vary maxprocs per case without set_maxprocs, whose own transition
// would then leak into the next case. A goroutine may resume on another
// worker thread after any park, so the per-thread CPU clock is meaningless
// across the loop: every case reports real time (UseRealTime) and process CPU
// time (MeasureProcessCPUTime).
#pragma once

#include <benchmark/benchmark.h>
#include <goro/goro.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace micro {

// maxprocs_sweep() is 1, 2, 4, ... up to the CPUs this process may use, and
// always at least {1, 2} (marl's args(): powers of two up to the core count).
inline std::vector<int> maxprocs_sweep() {
    int cpus = static_cast<int>(std::thread::hardware_concurrency());
    std::vector<int> out{1, 2};
    for (int p = 4; p <= cpus; p *= 2) out.push_back(p);
    return out;
}

// name("sched_spawn_join", {"n=100", "maxprocs=2"}) is
// "sched_spawn_join/n=100/maxprocs=2": the workload, then each parameter as key=value.
inline std::string name(const std::string& base, std::initializer_list<std::string> params) {
    std::string s = base;
    for (const auto& p : params) s += "/" + p;
    return s;
}

// add() registers one case measured in real time and process CPU time.
inline benchmark::internal::Benchmark* add(const std::string& case_name, std::function<void(benchmark::State&)> fn) {
    return benchmark::RegisterBenchmark(case_name.c_str(), std::move(fn))->UseRealTime()->MeasureProcessCPUTime();
}

// in_runtime() runs body(state) as the main goroutine of a fresh runtime with
// `maxprocs` workers; an exception becomes the case's error.
template <class Body>
void in_runtime(benchmark::State& state, int maxprocs, Body&& body) {
    try {
        goro::Config cfg;
        cfg.maxprocs = maxprocs;
        goro::run(cfg, [&] { body(state); });
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
    }
}

// go_case() registers "<base>/<params...>/maxprocs=P" for every P of the sweep.
template <class Body>
void go_case(const std::string& base, std::initializer_list<std::string> params, Body body) {
    for (int p : maxprocs_sweep()) {
        std::string n = name(base, params) + "/maxprocs=" + std::to_string(p);
        add(n, [p, body](benchmark::State& state) { in_runtime(state, p, body); });
    }
}

inline int main(int argc, char** argv, void (*register_cases)()) {
    register_cases();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

}  // namespace micro
