// hello_waitgroup — three goroutines say Hello; a WaitGroup waits for them.
//
// Mirrors the Go program:
//
//     func main() {
//         var wg sync.WaitGroup
//         for i := 0; i < 3; i++ {
//             wg.Add(1)
//             go func() {
//                 defer wg.Done()
//                 fmt.Println("Hello")
//             }()
//         }
//         wg.Wait()
//     }
//
// Run:     ./build/examples/tour hello_waitgroup
//     or   ./build/examples/hello_waitgroup
// Observe: exactly three "Hello" lines, then "all 3 goroutines are done".
// wg.add() comes before go(...), never inside the goroutine, so wait() cannot
// see a zero counter before a goroutine has started. The WaitGroup lives on
// this goroutine's stack: once wait() returns nobody touches it again.
#include <goro/goro.hpp>

#include <cstdio>

#include "examples.hpp"

void example_hello_waitgroup() {
    goro::WaitGroup wg;
    for (int i = 0; i < 3; ++i) {
        wg.add(1);
        goro::go([&wg] {
            std::printf("Hello\n");
            wg.done();  // Go: defer wg.Done()
        });
    }
    wg.wait();
    std::printf("all 3 goroutines are done\n");
}

GORO_EXAMPLE_MAIN(example_hello_waitgroup)
