// skynet — a million goroutines in a 10-ary tree, summing their numbers back up through channels.
//
// Mirrors the Go program of the skynet benchmark (github.com/atemerev/skynet):
//
//     func skynet(c chan int, num int, size int, div int) {
//         if size == 1 {
//             c <- num
//             return
//         }
//         rc := make(chan int)
//         var sum int
//         for i := 0; i < div; i++ {
//             subNum := num + i*(size/div)
//             go skynet(rc, subNum, size/div, div)
//         }
//         for i := 0; i < div; i++ {
//             sum += <-rc
//         }
//         c <- sum
//     }
//
//     func main() {
//         c := make(chan int)
//         start := time.Now()
//         go skynet(c, 0, 1000000, 10)
//         result := <-c
//         took := time.Since(start)
//         fmt.Printf("Result: %d in %d ms.\n", result, took.Nanoseconds()/1e6)
//     }
//
// Run:     ./build/examples/tour skynet
//     or   ./build/examples/skynet      (GORO_MAXPROCS=1 ./build/examples/skynet for one worker)
// Observe: "Result: 499999500000 in N ms." -- the sum of 0..999999 -- and whether it is right. Every one of
// the 1,111,111 goroutines (1,000,000 leaves, 111,111 inner nodes) is a real goroutine with its own
// stack, talking over an unbuffered channel; N is typically well under a second (Go: a few hundred ms).
// SKYNET_SIZE=1000 (any power of ten up to 10^8) shrinks the tree; the meson test does so under
// ThreadSanitizer, which counts every goroutine stack as a thread and allows 8128 at once.
#include <goro/goro.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <cstdio>
#include <stdexcept>

#include "examples.hpp"

namespace {

void skynet(goro::Chan<std::int64_t> c, std::int64_t num, std::int64_t size, std::int64_t div) {
    if (size == 1) {
        c.send(num);
        return;
    }
    goro::Chan<std::int64_t> rc;
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < div; ++i) {
        std::int64_t sub_num = num + i * (size / div);
        goro::go([rc, sub_num, size, div] { skynet(rc, sub_num, size / div, div); });
    }
    for (std::int64_t i = 0; i < div; ++i) sum += *rc.recv();
    c.send(sum);
}

// The tree's size: SKYNET_SIZE if set (a power of ten), else a million leaves.
std::int64_t skynet_size() {
    const char* s = std::getenv("SKYNET_SIZE");
    if (!s || !*s) return 1000000;
    std::int64_t n = 1;
    while (n < 100000000 && std::to_string(n) != s) n *= 10;
    if (std::to_string(n) != s)
        throw std::invalid_argument(std::string("skynet: SKYNET_SIZE=") + s +
                                    " is not a power of ten from 1 to 100000000");
    return n;
}

}  // namespace

void example_skynet() {
    const std::int64_t size = skynet_size();
    goro::Chan<std::int64_t> c;
    auto start = std::chrono::steady_clock::now();
    goro::go([c, size] { skynet(c, 0, size, 10); });
    std::int64_t result = *c.recv();
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    std::printf("Result: %lld in %lld ms.\n", static_cast<long long>(result), static_cast<long long>(took.count()));
    const std::int64_t want = size * (size - 1) / 2;  // 0 + 1 + ... + 999999 = 499999500000 at the default size
    if (result != want) {
        std::printf("WRONG: expected %lld\n", static_cast<long long>(want));
        throw std::runtime_error("skynet: wrong sum");
    }
    std::printf("correct (sum of 0..%lld = %lld) on %d worker(s)\n", static_cast<long long>(size - 1),
                static_cast<long long>(want), goro::maxprocs());
}

GORO_EXAMPLE_MAIN(example_skynet)
