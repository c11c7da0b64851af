// spawn_join: wg.add(N) once, N goroutines whose whole body is wg.done(), then
// wg.wait(); figure = wall / N (ns_per_spawn_wN). SPAWN_N (1000000).
#include "common.hpp"

int main() {
    const long n = bench::env_long("SPAWN_N", 1000000);
    return bench::main_guard("spawn_join", [&] {
        goro::run([&] {
            // The handle on a cache line of its own: every goroutine reads it
            // (at 2 workers, from the other CPU) while the spawn loop writes its
            // own stack slots, and sharing a line with one of them made the -O2
            // build 1.3x slower than the -O3 one (bench/RESULTS.md). Go's wg
            // lives on the heap (it escapes to the goroutines).
            struct alignas(64) Padded {
                goro::WaitGroup wg;
            } padded;
            goro::WaitGroup& wg = padded.wg;
            auto t0 = bench::Clock::now();
            wg.add(n);
            for (long i = 0; i < n; ++i) goro::go([&wg] { wg.done(); });
            wg.wait();
            double ns = bench::ns_since(t0);
            bench::report("spawn_join", "ns_per_spawn" + bench::wsuffix(), ns / n, 1, "ns");
        });
    });
}
