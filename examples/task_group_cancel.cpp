// task_group_cancel — a TaskGroup where one child fails: the others are
// cancelled at once, and wait() reports the failure (asyncio.TaskGroup).
//
// Mirrors the Python program:
//
//     async def fetch(i):
//         if i == 3:
//             await asyncio.sleep(0.05); raise ValueError(f"page {i}: bad status 500")
//         await asyncio.sleep(10)           # would take long: cancelled instead
//
//     async def main():
//         try:
//             async with asyncio.TaskGroup() as tg:
//                 for i in range(6): tg.create_task(fetch(i))
//         except* ValueError as eg:
//             print("failed:", [str(e) for e in eg.exceptions])
//
// Run:     ./build/examples/tour task_group_cancel
// Observe: after ~50 ms the failure is reported, five siblings say
// "cancelled", and the whole group took well under the 10 s they would
// have slept.
#include <goro/goro.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "examples.hpp"

void example_task_group_cancel() {
    using namespace std::chrono_literals;
    auto t0 = std::chrono::steady_clock::now();
    std::atomic<int> cancelled{0};
    goro::TaskGroup group;
    for (int i = 0; i < 6; ++i)
        group.spawn("fetch-" + std::to_string(i), [i, &cancelled] {
            if (i == 3) {
                goro::sleep_for(50ms);
                throw std::runtime_error("page " + std::to_string(i) + ": bad status 500");
            }
            try {
                goro::sleep_for(10s);
            } catch (const goro::Cancelled&) {
                std::printf("fetch-%d cancelled\n", i);
                cancelled.fetch_add(1);
                throw;
            }
        });
    try {
        group.wait();
        std::printf("no failure?\n");
    } catch (const goro::TaskGroupError& e) {
        std::printf("%s\n", e.what());
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%d siblings cancelled; the group took %.2f s\n", cancelled.load(), s);
    if (cancelled.load() != 5 || s > 5) throw std::runtime_error("task_group_cancel: the siblings were not cancelled");
}

GORO_EXAMPLE_MAIN(example_task_group_cancel)
