// cpu_bound — the same CPU-bound job on one worker and on all of them.
//
// Mirrors the seed's Python program (the CPU-bound half of "speed up your
// program with concurrency"), which needs processes because of the GIL:
//
//     def cpu_bound(number):
//         return sum(i * i for i in range(number))
//
//     def find_sums(numbers):
//         with multiprocessing.Pool() as pool:
//             pool.map(cpu_bound, numbers)
//
//     numbers = [3_000_000 + x for x in range(30)]
//     start_time = time.time()
//     find_sums(numbers)
//     print(f"Duration {time.time() - start_time} seconds")
//
// and its Go port (bench/peers/go/cpu_parallel.go): one goroutine per number,
// sync.WaitGroup, uint64 arithmetic. Goroutines on an M:N scheduler need no
// process pool: with maxprocs workers they run on maxprocs threads at once.
//
// The kernel is the peers' one: the empty asm hides the loop counter from the
// optimizer, so g++ and clang neither vectorize the loop nor replace it by the
// closed form; it stays the scalar multiply-add loop that Go compiles. Each sum
// is checked against (n-1)n(2n-1)/6, computed in 128 bits and reduced mod 2^64.
//
// Run:     ./build/examples/tour cpu_bound
//     or   ./build/examples/cpu_bound
// Observe: the wall time with 1 worker (about 25-30 ms of work), the wall time
// with num_cpu() workers, and their ratio: close to the number of workers on
// an idle machine with several cores (the job is tiny, so expect noise), 1.0x
// on a single CPU. Every one of the 30 sums is checked after each of the two
// runs. maxprocs is restored at the end because the tour runs every example on
// one runtime.
#include <goro/goro.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "examples.hpp"

namespace {

__extension__ typedef unsigned __int128 uint128;

// cpu_bound(number) = sum(i * i for i in range(number)), wrapping mod 2^64.
std::uint64_t cpu_bound(std::uint64_t number) {
    std::uint64_t s = 0;
    for (std::uint64_t i = 0; i < number; ++i) {
        asm volatile("" : "+r"(i));
        s += i * i;
    }
    return s;
}

// find_sums runs cpu_bound(n) for every n on its own goroutine (pool.map).
std::vector<std::uint64_t> find_sums(const std::vector<std::uint64_t>& numbers) {
    std::vector<std::uint64_t> sums(numbers.size());
    goro::WaitGroup wg;
    wg.add(static_cast<std::int64_t>(numbers.size()));
    for (std::size_t k = 0; k < numbers.size(); ++k) {
        goro::go([&sums, &numbers, &wg, k] {
            sums[k] = cpu_bound(numbers[k]);
            wg.done();
        });
    }
    wg.wait();  // also makes every sums[k] visible here
    return sums;
}

// Times find_sums(numbers) with `workers` worker threads; checks every sum.
double timed_find_sums(const std::vector<std::uint64_t>& numbers, int workers) {
    goro::set_maxprocs(workers);
    auto start = std::chrono::steady_clock::now();
    std::vector<std::uint64_t> sums = find_sums(numbers);
    std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;

    for (std::size_t k = 0; k < numbers.size(); ++k) {
        uint128 n = numbers[k];
        auto want = static_cast<std::uint64_t>((n - 1) * n * (2 * n - 1) / 6);
        if (sums[k] != want) {
            throw std::runtime_error("cpu_bound: wrong sum for n=" + std::to_string(numbers[k]) + ": got " +
                                     std::to_string(sums[k]) + ", want " + std::to_string(want));
        }
    }
    return took.count();
}

}  // namespace

void example_cpu_bound() {
    std::vector<std::uint64_t> numbers;
    for (std::uint64_t x = 0; x < 30; ++x) numbers.push_back(3'000'000 + x);

    const int all = goro::num_cpu();
    const int previous = goro::maxprocs();
    std::printf("sum(i*i for i < n) for n = %llu .. %llu, one goroutine each\n",
                static_cast<unsigned long long>(numbers.front()), static_cast<unsigned long long>(numbers.back()));

    double one_ms = 0, all_ms = 0;
    try {
        one_ms = timed_find_sums(numbers, 1);
        std::printf("  1 worker : %8.2f ms\n", one_ms);
        all_ms = timed_find_sums(numbers, all);
        std::printf("%3d %s: %8.2f ms\n", all, all == 1 ? "worker " : "workers", all_ms);
    } catch (...) {
        goro::set_maxprocs(previous);
        throw;
    }
    goro::set_maxprocs(previous);

    std::printf("speedup: %.2fx with %d workers\n", one_ms / all_ms, all);
    std::printf("all %zu sums match (n-1)n(2n-1)/6 mod 2^64, twice\n", numbers.size());
}

GORO_EXAMPLE_MAIN(example_cpu_bound)
