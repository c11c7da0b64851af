// spawn_join: wg.add(N) once, N goroutines whose whole body is wg.done(), then
// wg.wait(); figure = wall / N (ns_per_spawn_wN). SPAWN_N (1000000).
#include "common.hpp"

int main() {
    const long n = bench::env_long("SPAWN_N", 1000000);
    return bench::main_guard("spawn_join", [&] {
        goro::run([&] {
            goro::WaitGroup wg;
            auto t0 = bench::Clock::now();
            wg.add(n);
            for (long i = 0; i < n; ++i) goro::go([&wg] { wg.done(); });
            wg.wait();
            double ns = bench::ns_since(t0);
            bench::report("spawn_join", "ns_per_spawn" + bench::wsuffix(), ns / n, 1, "ns");
        });
    });
}
