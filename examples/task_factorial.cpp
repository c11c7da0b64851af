// task_factorial — three tasks compute factorials concurrently (the
// asyncio.gather example of the Python documentation).
//
// Mirrors the Python program:
//
//     import asyncio
//
//     async def factorial(name, number):
//         f = 1
//         for i in range(2, number + 1):
//             print(f"Task {name}: Compute factorial({number}), currently i={i}...")
//             await asyncio.sleep(1)
//             f *= i
//         print(f"Task {name}: factorial({number}) = {f}")
//         return f
//
//     async def main():
//         L = await asyncio.gather(
//             factorial("A", 2),
//             factorial("B", 3),
//             factorial("C", 4),
//         )
//         print(L)
//
//     asyncio.run(main())
//
// Run:     ./build/examples/tour task_factorial
//     or   ./build/examples/task_factorial
// Observe: the lines of A, B and C interleave round by round (within a round
// their order may vary with more than one worker), A finishes first, then B,
// then C, and the results print as [2, 6, 24]. To keep the tour quick each
// sleep(1) is scaled to 100 ms (the first line says so): about 0.3 s in all.
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>

#include "examples.hpp"

namespace {

using namespace std::chrono_literals;

constexpr auto kOneSecond = 100ms;  // asyncio.sleep(1), scaled

long factorial(const char* name, int number) {
    long f = 1;
    for (int i = 2; i <= number; ++i) {
        std::printf("Task %s: Compute factorial(%d), currently i=%d...\n", name, number, i);
        goro::sleep_for(kOneSecond);
        f *= i;
    }
    std::printf("Task %s: factorial(%d) = %ld\n", name, number, f);
    return f;
}

}  // namespace

void example_task_factorial() {
    std::printf("(sleep(1) scaled to %lld ms)\n", static_cast<long long>(kOneSecond.count()));
    auto [a, b, c] = goro::gather([] { return factorial("A", 2); }, [] { return factorial("B", 3); },
                                  [] { return factorial("C", 4); });
    std::printf("[%ld, %ld, %ld]\n", a, b, c);
}

GORO_EXAMPLE_MAIN(example_task_factorial)
