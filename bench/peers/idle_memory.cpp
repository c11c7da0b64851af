// idle_memory: IDLE_N (100000) goroutines each call started.done() and then
// block receiving from ONE shared unbuffered channel; figure = VmRSS growth
// from before the first spawn to after started.wait(), per goroutine
// (bytes_per_task_100k; bytes_per_task_1m with IDLE_N=1000000): everything the
// runtime spent on them, stacks included. Then the channel is closed and main
// waits until every goroutine has finished.
#include "common.hpp"

#if GORO_BENCH_HAVE_CHAN
#include <goro/chan.hpp>
#endif

int main() {
    const long n = bench::env_long("IDLE_N", 100000);
    return bench::main_guard("idle_memory", [&] {
        goro::run([&] {
#if GORO_BENCH_HAVE_CHAN
            goro::Chan<int> release;  // unbuffered, as in the Go peer
#else
            // TODO(chan): remove this fallback once <goro/chan.hpp> is in the
            // tree (meson then defines GORO_BENCH_HAVE_CHAN=1 and the
            // Chan<int>::recv branch above and below is built instead). Until
            // then the goroutines park on one shared Event, which costs each
            // of them the same one waiter entry a channel receive would.
            goro::Event release;
#endif
            goro::WaitGroup started, finished;
            long before = bench::rss_bytes();
            started.add(n);
            finished.add(n);
            for (long i = 0; i < n; ++i)
                goro::go([&] {
                    started.done();
#if GORO_BENCH_HAVE_CHAN
                    if (release.recv().has_value()) bench::fail("idle_memory: expected a closed channel");
#else
                    release.wait();
#endif
                    finished.done();
                });
            started.wait();
            long after = bench::rss_bytes();
#if GORO_BENCH_HAVE_CHAN
            release.close();
#else
            release.set();
#endif
            finished.wait();
            bench::report("idle_memory", "bytes_per_task_" + bench::size_tag(n),
                          static_cast<double>(after - before) / static_cast<double>(n), 0, "B");
        });
    });
}
