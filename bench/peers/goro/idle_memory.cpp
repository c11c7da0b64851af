// idle_memory: IDLE_N (100000) goroutines each call started.done() and then
// block receiving from ONE shared unbuffered channel; figure = VmRSS growth
// from before the first spawn to after started.wait(), per goroutine
// (bytes_per_task_100k; bytes_per_task_1m with IDLE_N=1000000): everything the
// runtime spent on them, stacks included. Then the channel is closed and main
// waits until every goroutine has finished.
#include "common.hpp"

#include <goro/chan.hpp>

int main() {
    const long n = bench::env_long("IDLE_N", 100000);
    return bench::main_guard("idle_memory", [&] {
        goro::run([&] {
            goro::Chan<int> release;  // unbuffered, as in the Go peer
            goro::WaitGroup started, finished;
            long before = bench::rss_bytes();
            started.add(n);
            finished.add(n);
            for (long i = 0; i < n; ++i)
                goro::go([&] {
                    started.done();
                    if (release.recv().has_value()) bench::fail("idle_memory: expected a closed channel");
                    finished.done();
                });
            started.wait();
            long after = bench::rss_bytes();
            release.close();
            finished.wait();
            bench::report("idle_memory", "bytes_per_task_" + bench::size_tag(n),
                          static_cast<double>(after - before) / static_cast<double>(n), 0, "B");
        });
    });
}
