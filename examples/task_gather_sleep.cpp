// task_gather_sleep — sleep(1) and sleep(2) gathered finish in ~2 s; the same
// with blocking sleeps moved off the workers with run_blocking.
//
// Mirrors the Python program:
//
//     import asyncio, time
//
//     async def sleeper(n):
//         await asyncio.sleep(n)
//         return n
//
//     def blocking_sleeper(n):
//         time.sleep(n)                    # blocks its thread
//         return n
//
//     async def main():
//         t0 = time.monotonic()
//         print(await asyncio.gather(sleeper(1), sleeper(2)))
//         print(f"gather of sleep(1), sleep(2): {time.monotonic() - t0:.1f} s")
//         loop = asyncio.get_running_loop()
//         t0 = time.monotonic()
//         print(await asyncio.gather(loop.run_in_executor(None, blocking_sleeper, 1),
//                                    loop.run_in_executor(None, blocking_sleeper, 2)))
//         print(f"gather of run_in_executor(time.sleep): {time.monotonic() - t0:.1f} s")
//
//     asyncio.run(main())
//
// Run:     ./build/examples/tour task_gather_sleep
//     or   GORO_MAXPROCS=1 ./build/examples/task_gather_sleep
// Observe: both gathers take about 2 s, not 3 s, even with one worker: a
// blocking std::this_thread::sleep_for inside run_blocking parks only its
// goroutine while a pool thread sleeps.
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

#include "examples.hpp"

namespace {

using namespace std::chrono_literals;

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int sleeper(int n) {
    goro::sleep_for(std::chrono::seconds(n));
    return n;
}

int blocking_sleeper(int n) {
    std::this_thread::sleep_for(std::chrono::seconds(n));  // blocks the calling thread
    return n;
}

}  // namespace

void example_task_gather_sleep() {
    auto t0 = std::chrono::steady_clock::now();
    auto [a, b] = goro::gather([] { return sleeper(1); }, [] { return sleeper(2); });
    std::printf("[%d, %d]\n", a, b);
    std::printf("gather of sleep(1), sleep(2): %.1f s\n", seconds_since(t0));

    t0 = std::chrono::steady_clock::now();
    auto [c, d] = goro::gather([] { return goro::run_blocking([] { return blocking_sleeper(1); }); },
                               [] { return goro::run_blocking([] { return blocking_sleeper(2); }); });
    std::printf("[%d, %d]\n", c, d);
    std::printf("gather of run_blocking(std::this_thread::sleep_for): %.1f s (maxprocs %d)\n", seconds_since(t0),
                goro::maxprocs());
}

GORO_EXAMPLE_MAIN(example_task_gather_sleep)
