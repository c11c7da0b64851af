// sleep_many: SLEEP_N (100000) goroutines each sleep SLEEP_MS (10) ms, then
// wg.done(); figure = wall time from before the first spawn to after wg.wait()
// (wall_ms_wN; ideal ≈ SLEEP_MS): spawn cost plus timer overhead.
#include "common.hpp"

int main() {
    const long n = bench::env_long("SLEEP_N", 100000);
    const auto d = std::chrono::milliseconds(bench::env_long("SLEEP_MS", 10));
    return bench::main_guard("sleep_many", [&] {
        goro::run([&] {
            goro::WaitGroup wg;
            auto t0 = bench::Clock::now();
            wg.add(n);
            for (long i = 0; i < n; ++i)
                goro::go([&wg, d] {
                    goro::sleep_for(d);
                    wg.done();
                });
            wg.wait();
            double ms = bench::ms_since(t0);
            if (ms < static_cast<double>(d.count()))
                bench::fail("sleep_many: all done after " + std::to_string(ms) + " ms, before the " +
                            std::to_string(d.count()) + " ms sleep could end");
            bench::report("sleep_many", "wall_ms" + bench::wsuffix(), ms, 2, "ms");
        });
    });
}
