// ping_pong_callbacks — two callbacks that re-schedule each other.
//
// Mirrors the Python event-loop "Hello World" (asyncio docs, call_soon()),
// grown into a five-round ping-pong:
//
//     def hello(loop, n):
//         print('Hello')
//         loop.call_soon(world, loop, n)
//
//     def world(loop, n):
//         print('World')
//         if n < 5:
//             loop.call_soon(hello, loop, n + 1)
//         else:
//             loop.stop()
//
//     loop = asyncio.new_event_loop()
//     loop.call_soon(hello, loop, 1)
//     loop.run_forever()
//     loop.close()
//
// A goro runtime has no user-visible event loop: `loop.call_soon(cb, args)`
// becomes `goro::go([=] { cb(args); })`, a fresh goroutine per step, and the
// "loop" that run_forever() would drive is the scheduler itself. loop.stop()
// becomes setting a goro::Event that this goroutine waits on (asyncio.Event).
//
// Run:     ./build/examples/tour ping_pong_callbacks
//     or   ./build/examples/ping_pong_callbacks
// Observe: "round 1: Hello", "round 1: World", ... "round 5: World", then
// "loop stopped after 5 rounds": always in this order, at any worker count,
// because each step prints before it schedules the next one, so only one step
// is ever runnable at a time. The goroutines may run on different worker
// threads; the order does not depend on it.
#include <goro/goro.hpp>

#include <cstdio>

#include "examples.hpp"

namespace {

constexpr int kRounds = 5;

void world(goro::Event& stop, int n);

void hello(goro::Event& stop, int n) {
    std::printf("round %d: Hello\n", n);
    goro::go([&stop, n] { world(stop, n); });  // loop.call_soon(world, loop, n)
}

void world(goro::Event& stop, int n) {
    std::printf("round %d: World\n", n);
    if (n < kRounds) {
        goro::go([&stop, n] { hello(stop, n + 1); });  // loop.call_soon(hello, loop, n + 1)
    } else {
        stop.set();  // loop.stop()
    }
}

}  // namespace

void example_ping_pong_callbacks() {
    goro::Event stop;                       // lives until stop.wait() returns
    goro::go([&stop] { hello(stop, 1); });  // loop.call_soon(hello, loop, 1)
    stop.wait();                            // loop.run_forever()
    std::printf("loop stopped after %d rounds\n", kRounds);
}

GORO_EXAMPLE_MAIN(example_ping_pong_callbacks)
