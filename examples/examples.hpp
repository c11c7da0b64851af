// examples/examples.hpp — the registry of the examples.
//
// Every example is one file, examples/<name>.cpp, that defines one function
// `void example_<name>()`. The function runs *inside* a running goro runtime
// (it is called on a goroutine) and prints what there is to observe, so that
// `tour` can run every example one after another on one runtime, in one
// process. Compiled with -DGORO_EXAMPLE_STANDALONE, the same file also gets
// a main() (GORO_EXAMPLE_MAIN at its end) that starts a runtime just for it.
//
// Adding an example `foo`:
//   1. write examples/foo.cpp defining `void example_foo()` and ending with
//      `GORO_EXAMPLE_MAIN(example_foo)`;
//   2. add one line `X(foo, "what it shows")` to GORO_EXAMPLES below (the
//      tour runs them in this order);
//   3. add one line 'foo' to example_names in examples/meson.build.
// A name listed here but missing from meson.build fails to link; a name in
// meson.build but missing here is caught at compile time: meson passes the
// length of its list to tour.cpp, which static_asserts it equals kExampleCount.
#pragma once

#include <cstddef>
#include <string_view>

// X(name, description): one line per example, in tour order.
#define GORO_EXAMPLES(X)                                                                            \
    /* goroutines, WaitGroup, maxprocs */                                                           \
    X(sync_then_goroutines, "f(\"direct\") called synchronously, then three go f(...)")             \
    X(hello_waitgroup, "three goroutines print Hello; a WaitGroup waits for them")                  \
    X(maxprocs_hello, "set_maxprocs(num_cpu()), then 100 goroutines say Hello, world!")             \
    X(ping_pong_callbacks, "hello/world re-schedule each other for five rounds")                    \
    X(cpu_bound, "sum of squares on 30 goroutines: 1 worker vs all workers")                        \
    /* network */                                                                                   \
    X(echo_server, "TCP echo server, a goroutine per connection, and three clients")                \
    X(http_hello, "HTTP/1.1 keep-alive Hello, World! server serving its own client")                \
    X(crawler, "fetch 15 slow pages: sequential vs 4 threads vs a goroutine each")                  \
    /* tasks (asyncio) */                                                                           \
    X(task_future_callbacks, "a callback sets a future's result; a done callback saves it to a db") \
    X(task_gather_random, "do_something(i) with random waits, gathered: results in argument order") \
    X(task_gather_sleep, "sleep(1), sleep(2) gathered in ~2 s; the same with run_blocking(sleep)")  \
    X(task_factorial, "asyncio docs: factorial A, B, C gathered -> [2, 6, 24]")                     \
    X(task_named, "spawn(\"foo\", ...) then pick the result by the task's name")                    \
    X(task_group_cancel, "TaskGroup: one child fails, the five others are cancelled at once")       \
    /* channels and select */                                                                       \
    X(prime_sieve, "Go's concurrent prime sieve: a chain of filter goroutines, first 25 primes")    \
    X(pipeline, "generate -> square -> print: stages joined by channels, closed in turn")           \
    X(worker_pool, "3 workers, a jobs and a results channel, a WaitGroup closing results")          \
    X(fan_in_select, "two talkers multiplexed onto one channel with select")                        \
    X(timeout_after, "select with after(): one call times out, one returns in time")                \
    X(context_pipeline, "Go's pipeline stopped by a Context deadline: every stage selects on done()") \
    X(ticker_heartbeat, "a Ticker heartbeat until a Timer fires; no tick after stop()")             \
    X(skynet, "1M goroutines in a 10-ary tree sum through channels: 499999500000")                  \
    X(metrics_server, "runtime_stats() at /metrics in Prometheus format, scraped twice over loopback")

#define GORO_EXAMPLE_DECLARE_(name, description) void example_##name();
GORO_EXAMPLES(GORO_EXAMPLE_DECLARE_)
#undef GORO_EXAMPLE_DECLARE_

namespace goro_examples {

struct Example {
    std::string_view name;         // as on the tour's command line
    std::string_view description;  // one line, printed in the tour's header
    void (*fn)();                  // example_<name>; call it on a goroutine
};

#define GORO_EXAMPLE_ENTRY_(name, description) Example{#name, description, &example_##name},
inline constexpr Example kExamples[] = {GORO_EXAMPLES(GORO_EXAMPLE_ENTRY_)};
#undef GORO_EXAMPLE_ENTRY_

inline constexpr std::size_t kExampleCount = sizeof(kExamples) / sizeof(kExamples[0]);

}  // namespace goro_examples

// GORO_EXAMPLE_MAIN(example_x) ends every example file. In a standalone build
// (-DGORO_EXAMPLE_STANDALONE) it defines main(), which runs example_x as the
// main goroutine of a fresh runtime, and reports an exception that escapes
// it (bad input, a failed check) in one line with exit status 1; in the tour
// it expands to nothing.
#ifdef GORO_EXAMPLE_STANDALONE
#include <cstdio>
#include <exception>
#define GORO_EXAMPLE_MAIN(fn)                                       \
    int main() {                                                    \
        try {                                                       \
            return goro::run([] {                                   \
                fn();                                               \
                return 0;                                           \
            });                                                     \
        } catch (const std::exception& e) {                         \
            std::fprintf(stderr, "%s: error: %s\n", #fn, e.what()); \
            return 1;                                               \
        }                                                           \
    }
#else
#define GORO_EXAMPLE_MAIN(fn)
#endif
