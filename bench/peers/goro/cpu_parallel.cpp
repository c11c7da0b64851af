// cpu_parallel: for k in [0, CPU_COUNT) (30) one goroutine computes
// sum(i*i, i < CPU_BASE + k) (CPU_BASE 3000000) in wrapping uint64_t arithmetic
// and stores it at index k; main waits on a WaitGroup. Figure = wall_ms_wN;
// compare.sh derives speedup_wN = wall_ms_w1 / wall_ms_wN. Every sum is checked
// against the closed form (n-1)n(2n-1)/6 computed in 128 bits, mod 2^64.
#include "common.hpp"

#include <vector>

// The peers' kernel: the empty asm hides the loop counter from the optimizer,
// so the loop is neither vectorized nor folded into a closed form and stays
// the scalar multiply-add loop that Go compiles.
static std::uint64_t sum_squares(std::uint64_t n) {
    std::uint64_t s = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        asm volatile("" : "+r"(i));
        s += i * i;
    }
    return s;
}

int main() {
    const long base = bench::env_long("CPU_BASE", 3000000);
    const long count = bench::env_long("CPU_COUNT", 30);
    return bench::main_guard("cpu_parallel", [&] {
        goro::run([&] {
            std::vector<std::uint64_t> results(static_cast<std::size_t>(count));
            goro::WaitGroup wg;
            auto t0 = bench::Clock::now();
            wg.add(count);
            for (long k = 0; k < count; ++k)
                goro::go([&results, &wg, base, k] {
                    results[static_cast<std::size_t>(k)] = sum_squares(static_cast<std::uint64_t>(base + k));
                    wg.done();
                });
            wg.wait();
            double ms = bench::ms_since(t0);
            for (long k = 0; k < count; ++k) {
                unsigned __int128 n = static_cast<unsigned __int128>(base + k);
                auto want = static_cast<std::uint64_t>((n - 1) * n * (2 * n - 1) / 6);
                if (results[static_cast<std::size_t>(k)] != want)
                    bench::fail("cpu_parallel: wrong sum for n=" + std::to_string(base + k));
            }
            bench::report("cpu_parallel", "wall_ms" + bench::wsuffix(), ms, 2, "ms");
        });
    });
}
