// task_named — create_task(..., name="foo"), then pick the result by name.
//
// Mirrors the Python program:
//
//     import asyncio
//
//     async def work(x):
//         await asyncio.sleep(0.1)
//         return x * 2
//
//     async def main():
//         tasks = [asyncio.create_task(work(1), name="foo"),
//                  asyncio.create_task(work(2), name="bar"),
//                  asyncio.create_task(work(3))]          # named Task-N
//         done, pending = await asyncio.wait(tasks)
//         for t in tasks:
//             print(f"{t.get_name()}: {t.result()}")
//         foo = next(t for t in tasks if t.get_name() == "foo")
//         print(f"the result of foo is {foo.result()}")
//
//     asyncio.run(main())
//
// Run:     ./build/examples/tour task_named
//     or   ./build/examples/task_named
// Observe: "foo: 2", "bar: 4", "Task-N: 6" (N counts every unnamed task of
// the process), then "the result of foo is 2".
#include <goro/goro.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "examples.hpp"

namespace {

using namespace std::chrono_literals;

int work(int x) {
    goro::sleep_for(100ms);
    return x * 2;
}

}  // namespace

void example_task_named() {
    std::vector<goro::Task<int>> tasks{
        goro::spawn("foo", [] { return work(1); }),
        goro::spawn("bar", [] { return work(2); }),
        goro::spawn([] { return work(3); }),
    };
    auto [done, pending] = goro::wait(tasks);
    std::printf("%zu done, %zu pending\n", done.size(), pending.size());
    for (const auto& t : tasks) std::printf("%s: %d\n", t.name().c_str(), t.get());
    auto foo = std::find_if(tasks.begin(), tasks.end(), [](const goro::Task<int>& t) { return t.name() == "foo"; });
    std::printf("the result of foo is %d\n", foo->get());
}

GORO_EXAMPLE_MAIN(example_task_named)
