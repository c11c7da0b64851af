// timeout_after — bounding a wait with select and after (Go's time.After).
//
// Mirrors the Go program of Go by Example, "Timeouts":
//
//     func main() {
//         c1 := make(chan string, 1)
//         go func() {
//             time.Sleep(2 * time.Second)
//             c1 <- "result 1"
//         }()
//         select {
//         case res := <-c1:
//             fmt.Println(res)
//         case <-time.After(1 * time.Second):
//             fmt.Println("timeout 1")
//         }
//
//         c2 := make(chan string, 1)
//         go func() {
//             time.Sleep(2 * time.Second)
//             c2 <- "result 2"
//         }()
//         select {
//         case res := <-c2:
//             fmt.Println(res)
//         case <-time.After(3 * time.Second):
//             fmt.Println("timeout 2")
//         }
//     }
//
// Run:     ./build/examples/tour timeout_after
//     or   ./build/examples/timeout_after
// Observe: "timeout 1" after ~100 ms (the call takes 200 ms, the limit is 100 ms), then "result 2" after
// another ~200 ms (the limit is 300 ms). Times are Go's divided by ten. c1 and c2 are buffered, so the
// late sender of "result 1" does not block forever when nobody is listening any more: it finishes.
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "examples.hpp"

namespace {
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}
}  // namespace

void example_timeout_after() {
    auto t0 = Clock::now();
    goro::Chan<std::string> c1(1);
    goro::go([c1] {
        goro::sleep_for(200ms);
        c1.send("result 1");
    });
    goro::select(
        goro::case_recv(c1, [](const std::optional<std::string>& res) { std::printf("%s\n", res->c_str()); }),
        goro::case_recv(goro::after(100ms), [&](auto) { std::printf("timeout 1 (after %lld ms)\n", ms_since(t0)); }));

    t0 = Clock::now();
    goro::Chan<std::string> c2(1);
    goro::go([c2] {
        goro::sleep_for(200ms);
        c2.send("result 2");
    });
    goro::select(goro::case_recv(c2,
                                 [&](const std::optional<std::string>& res) {
                                     std::printf("%s (after %lld ms)\n", res->c_str(), ms_since(t0));
                                 }),
                 goro::case_recv(goro::after(300ms), [](auto) { std::printf("timeout 2\n"); }));
}

GORO_EXAMPLE_MAIN(example_timeout_after)
