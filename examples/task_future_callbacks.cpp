// task_future_callbacks — an event loop's callbacks turned into a future.
//
// Mirrors the Python program:
//
//     import asyncio
//
//     db = []
//
//     def save_value(fut, value):              # a plain callback sets the result
//         print(f"save_value: setting the result to {value!r}")
//         fut.set_result(value)
//
//     def save_result_to_db(fut):              # a done callback stores it
//         print(f"save_result_to_db: saving {fut.result()!r} to the db")
//         db.append(fut.result())
//
//     async def main():
//         loop = asyncio.get_running_loop()
//         fut = loop.create_future()
//         fut.add_done_callback(save_result_to_db)
//         loop.call_soon(save_value, fut, "hello from a callback")
//         print("main: awaiting the future")
//         value = await fut
//         print(f"main: the future gave {value!r}")
//         print(f"main: db = {db!r}")
//
//     asyncio.run(main())
//
// Run:     ./build/examples/tour task_future_callbacks
//     or   ./build/examples/task_future_callbacks
// Observe: the four lines in this order: main awaiting, save_value,
// save_result_to_db, main with the value and the db. The future is a Task
// whose goroutine waits for the value that save_value (started with go, as
// call_soon) hands it; the done callback runs on a goroutine of its own when
// the task is done. asyncio runs done callbacks before waking the awaiting
// task; in goro they run concurrently with it, so main waits for `saved`
// before printing the db.
#include <goro/goro.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "examples.hpp"

namespace {

// A future: a task that returns whatever set_result() hands it.
struct Future {
    goro::Chan<std::string> slot{1};
    goro::Task<std::string> task = goro::spawn([slot = slot] { return *slot.recv(); });
    void set_result(std::string v) const { slot.send(std::move(v)); }
};

void save_value(const Future& fut, const std::string& value) {
    std::printf("save_value: setting the result to '%s'\n", value.c_str());
    fut.set_result(value);
}

}  // namespace

void example_task_future_callbacks() {
    std::vector<std::string> db;
    goro::Event saved;
    auto save_result_to_db = [&](const goro::Task<std::string>& fut) {
        std::printf("save_result_to_db: saving '%s' to the db\n", fut.get().c_str());
        db.push_back(fut.get());
        saved.set();
    };

    Future fut;
    fut.task.add_done_callback(save_result_to_db);
    std::printf("main: awaiting the future\n");
    std::fflush(stdout);
    goro::go([&fut] { save_value(fut, "hello from a callback"); });  // loop.call_soon
    std::string value = fut.task.get();
    saved.wait();  // the done callback runs on its own goroutine
    std::printf("main: the future gave '%s'\n", value.c_str());
    std::printf("main: db = ['%s']\n", db.empty() ? "" : db[0].c_str());
}

GORO_EXAMPLE_MAIN(example_task_future_callbacks)
