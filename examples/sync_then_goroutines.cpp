// sync_then_goroutines — a function called directly, then on goroutines.
//
// Mirrors the Go program "Goroutines" (Go by Example; the seed's version
// prints ten lines per call and starts three goroutines):
//
//     func f(from string) {
//         for i := 0; i < 10; i++ {
//             fmt.Println(from, ":", i)
//         }
//     }
//
//     func main() {
//         f("direct")
//         go f("goroutine 1")
//         go f("goroutine 2")
//         go f("goroutine 3")
//         time.Sleep(time.Second)   // or: fmt.Scanln(&input)
//         fmt.Println("done")
//     }
//
// The Go original waits for its goroutines with a sleep (or by reading a line
// from stdin), which only hopes they have finished. Here a WaitGroup waits for
// exactly them: each goroutine is `go func() { defer wg.Done(); f(...) }()`.
//
// Run:     ./build/examples/tour sync_then_goroutines
//     or   ./build/examples/sync_then_goroutines
// Observe: the ten "direct : i" lines come first and in order, because f runs
// synchronously on the calling goroutine before any `go`. The thirty lines of
// the three goroutines follow; each goroutine's own lines are in order, but
// how the three interleave depends on the scheduler and the worker count
// (try GORO_MAXPROCS=1 and GORO_MAXPROCS=4). Go's own scheduler often runs
// the newest goroutine first (its runnext slot), so "goroutine 3" leading is
// no surprise either. "done" is always last.
#include <goro/goro.hpp>

#include <cstdio>
#include <string>

#include "examples.hpp"

namespace {

void f(const std::string& from) {
    for (int i = 0; i < 10; ++i) {
        std::printf("%s : %d\n", from.c_str(), i);
    }
}

}  // namespace

void example_sync_then_goroutines() {
    f("direct");

    goro::WaitGroup wg;
    for (int k = 1; k <= 3; ++k) {
        wg.add();
        goro::go([&wg, from = "goroutine " + std::to_string(k)] {
            f(from);
            wg.done();
        });
    }

    wg.wait();  // the Go original: time.Sleep(time.Second)
    std::printf("done\n");
}

GORO_EXAMPLE_MAIN(example_sync_then_goroutines)
