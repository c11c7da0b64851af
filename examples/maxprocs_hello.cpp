// maxprocs_hello — use every CPU, then start 100 goroutines.
//
// Mirrors the Go program:
//
//     func main() {
//         runtime.GOMAXPROCS(runtime.NumCPU())
//         fmt.Println("GOMAXPROCS =", runtime.GOMAXPROCS(0))
//         var wg sync.WaitGroup
//         for i := 0; i < 100; i++ {
//             wg.Add(1)
//             go func(n int) {
//                 defer wg.Done()
//                 fmt.Println("Hello, world!", n)
//             }(i)
//         }
//         wg.Wait()
//     }
//
// goro::set_maxprocs(n) is runtime.GOMAXPROCS(n): it changes the number of
// worker threads while goroutines run and returns the previous value; n <= 0
// (here: goro::maxprocs()) only asks. Since Go 1.5 GOMAXPROCS already
// defaults to NumCPU, as goro's does (unless GORO_MAXPROCS / GOMAXPROCS say
// otherwise), so the first call often changes nothing.
//
// Run:     ./build/examples/tour maxprocs_hello
//     or   GORO_MAXPROCS=1 ./build/examples/maxprocs_hello
// Observe: "maxprocs = N" with N = num_cpu() even when the environment asked
// for fewer workers, then 100 "Hello, world! n" lines, n = 0..99, each exactly
// once. With more than one worker their order varies from run to run. The
// previous worker count is put back at the end because the tour runs every
// example on one runtime.
#include <goro/goro.hpp>

#include <cstdio>

#include "examples.hpp"

void example_maxprocs_hello() {
    const int previous = goro::set_maxprocs(goro::num_cpu());
    std::printf("num_cpu = %d, maxprocs = %d (was %d)\n", goro::num_cpu(), goro::maxprocs(), previous);

    goro::WaitGroup wg;
    for (int i = 0; i < 100; ++i) {
        wg.add(1);
        goro::go([&wg, n = i] {
            std::printf("Hello, world! %d\n", n);
            wg.done();  // Go: defer wg.Done()
        });
    }
    wg.wait();

    goro::set_maxprocs(previous);  // the tour's later examples see the old count
}

GORO_EXAMPLE_MAIN(example_maxprocs_hello)
