// gather_sleep: asyncio.gather's shape: GATHER_N (100000) goroutines each sleep
// SLEEP_MS (10) ms and return their index i; the results are collected in
// argument order and checked (results[i] == i). Figure = wall time from before
// the first spawn to after the last result (wall_ms_wN). Written with
// goro::spawn + goro::gather(std::vector<Task<long>>), as the asyncio peer
// awaits asyncio.gather (the Go peer writes results[i] from goroutines and
// waits on a WaitGroup).
#include "common.hpp"

#include <vector>

#include <goro/task.hpp>

int main() {
    const long n = bench::env_long("GATHER_N", 100000);
    const auto d = std::chrono::milliseconds(bench::env_long("SLEEP_MS", 10));
    return bench::main_guard("gather_sleep", [&] {
        goro::run([&] {
            auto t0 = bench::Clock::now();
            std::vector<goro::Task<long>> tasks;
            tasks.reserve(static_cast<std::size_t>(n));
            for (long i = 0; i < n; ++i)
                tasks.push_back(goro::spawn([d, i] {
                    goro::sleep_for(d);
                    return i;
                }));
            std::vector<long> results = goro::gather(std::move(tasks));
            double ms = bench::ms_since(t0);
            if (results.size() != static_cast<std::size_t>(n))
                bench::fail("gather_sleep: " + std::to_string(results.size()) + " results");
            for (long i = 0; i < n; ++i)
                if (results[static_cast<std::size_t>(i)] != i)
                    bench::fail("gather_sleep: results[" + std::to_string(i) +
                                "] = " + std::to_string(results[static_cast<std::size_t>(i)]));
            bench::report("gather_sleep", "wall_ms" + bench::wsuffix(), ms, 2, "ms");
        });
    });
}
