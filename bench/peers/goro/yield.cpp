// yield: two goroutines each call goro::yield() YIELD_N (5000000) times while
// main waits on a WaitGroup; one switch is one yield, so the figure is
// wall / (2 * YIELD_N) (ns_per_switch_wN). The peers run it at one worker.
#include "common.hpp"

int main() {
    const long n = bench::env_long("YIELD_N", 5000000);
    return bench::main_guard("yield", [&] {
        goro::run([&] {
            goro::WaitGroup wg;
            auto t0 = bench::Clock::now();
            wg.add(2);
            for (int g = 0; g < 2; ++g)
                goro::go([&wg, n] {
                    for (long i = 0; i < n; ++i) goro::yield();
                    wg.done();
                });
            wg.wait();
            double ns = bench::ns_since(t0);
            bench::report("yield", "ns_per_switch" + bench::wsuffix(), ns / (2.0 * n), 1, "ns");
        });
    });
}
