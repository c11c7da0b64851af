// pipeline — generate -> square -> print, each stage a goroutine joined by channels.
//
// Mirrors the Go program of the Go blog's "Go Concurrency Patterns: Pipelines and cancellation":
//
//     func gen(nums ...int) <-chan int {
//         out := make(chan int)
//         go func() {
//             for _, n := range nums {
//                 out <- n
//             }
//             close(out)
//         }()
//         return out
//     }
//
//     func sq(in <-chan int) <-chan int {
//         out := make(chan int)
//         go func() {
//             for n := range in {
//                 out <- n * n
//             }
//             close(out)
//         }()
//         return out
//     }
//
//     func main() {
//         c := gen(2, 3)
//         out := sq(c)
//         fmt.Println(<-out) // 4
//         fmt.Println(<-out) // 9
//
//         for n := range sq(sq(gen(2, 3))) {
//             fmt.Println(n) // 16 then 81
//         }
//     }
//
// Run:     ./build/examples/tour pipeline
//     or   ./build/examples/pipeline
// Observe: 4, 9, then 16, 81 (stages compose: sq(sq(...)) is a fourth power), then the sum of the squares
// of 1..100 through a three-stage pipeline: 338350. Each stage closes its output when its input is closed
// and drained, so `for (int n : ch)` loops end and every goroutine finishes.
#include <goro/goro.hpp>

#include <cstdio>
#include <initializer_list>
#include <vector>

#include "examples.hpp"

namespace {

// gen: a goroutine that sends nums on the returned channel, then closes it.
goro::Chan<int> gen(std::vector<int> nums) {
    goro::Chan<int> out;
    goro::go([out, nums] {
        for (int n : nums) out.send(n);
        out.close();
    });
    return out;
}

// sq: a goroutine that receives from in until it is closed, sends each square, then closes its output.
goro::Chan<int> sq(goro::Chan<int> in) {
    goro::Chan<int> out;
    goro::go([in, out] {
        for (int n : in) out.send(n * n);
        out.close();
    });
    return out;
}

}  // namespace

void example_pipeline() {
    // Set up the pipeline and consume the output.
    goro::Chan<int> c = gen({2, 3});
    goro::Chan<int> out = sq(c);
    std::printf("%d\n", *out.recv());  // 4
    std::printf("%d\n", *out.recv());  // 9

    // Stages compose: the output of sq is a valid input of sq.
    for (int n : sq(sq(gen({2, 3})))) std::printf("%d\n", n);  // 16 then 81

    // A longer run: 1..100 -> square -> sum.
    std::vector<int> nums;
    for (int i = 1; i <= 100; ++i) nums.push_back(i);
    long sum = 0;
    for (int n : sq(gen(nums))) sum += n;
    std::printf("sum of squares 1..100 = %ld\n", sum);  // 338350
}

GORO_EXAMPLE_MAIN(example_pipeline)
