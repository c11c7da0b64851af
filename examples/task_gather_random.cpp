// task_gather_random — do_something(i) with random waits, gathered.
//
// Mirrors the Python program:
//
//     import asyncio, random
//
//     async def do_something(i):
//         delay = random.uniform(0, 0.5)
//         print(f"do_something({i}): sleeping {delay:.3f} s")
//         await asyncio.sleep(delay)
//         print(f"do_something({i}): done")
//         return i * 10
//
//     async def main():
//         results = await asyncio.gather(*(do_something(i) for i in range(5)))
//         print(f"results: {results}")
//
//     asyncio.run(main())
//
// Run:     ./build/examples/tour task_gather_random
//     or   ./build/examples/task_gather_random
// Observe: the "done" lines come in the order of the random delays, but the
// results are in argument order: [0, 10, 20, 30, 40], after about 0.5 s at
// most (the longest delay), not the sum of the delays.
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "examples.hpp"

namespace {

int do_something(int i, std::chrono::milliseconds delay) {
    std::printf("do_something(%d): sleeping %.3f s\n", i, static_cast<double>(delay.count()) / 1000.0);
    goro::sleep_for(delay);
    std::printf("do_something(%d): done\n", i);
    return i * 10;
}

}  // namespace

void example_task_gather_random() {
    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> ms(0, 500);  // random.uniform(0, 0.5)
    std::vector<goro::Task<int>> tasks;
    for (int i = 0; i < 5; ++i) {
        std::chrono::milliseconds delay(ms(rng));
        tasks.push_back(goro::spawn([i, delay] { return do_something(i, delay); }));
    }
    auto t0 = std::chrono::steady_clock::now();
    std::vector<int> results = goro::gather(tasks);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("results: [");
    for (std::size_t i = 0; i < results.size(); ++i) std::printf("%s%d", i ? ", " : "", results[i]);
    std::printf("] after %.2f s\n", s);
}

GORO_EXAMPLE_MAIN(example_task_gather_random)
