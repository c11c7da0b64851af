// context_pipeline — Go's pipeline cancellation pattern driven by a Context
// with a deadline: every stage selects on ctx.done(), so when the deadline
// passes the whole pipeline stops and no goroutine is left blocked.
//
// Mirrors the Go program:
//
//     ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
//     defer cancel()
//     gen := func(ctx context.Context) <-chan int { /* send 0,1,2,... until ctx.Done() */ }
//     sq  := func(ctx context.Context, in <-chan int) <-chan int { /* n*n until ctx.Done() */ }
//     for v := range sq(ctx, gen(ctx)) { sum += v }   // ends when the stages close
//     fmt.Println(ctx.Err())                          // context deadline exceeded
//
// Run:     ./build/examples/tour context_pipeline
// Observe: the stages run for about 30 ms, then both say they stopped, the
// range ends, and err() is DeadlineExceeded.
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "examples.hpp"

namespace {

// Sends 0, 1, 2, ... until ctx is done; then closes its channel.
goro::Chan<long> generate(goro::Context ctx, goro::WaitGroup& stages) {
    goro::Chan<long> out;
    stages.add();
    goro::go([ctx, out, &stages] {
        long n = 0;
        for (bool open = true; open; ++n)
            goro::select(goro::case_send(out, n, [] {}), goro::case_recv(ctx.done(), [&](auto) { open = false; }));
        std::printf("generate: stopped after %s\n", n > 1 ? "many values" : "a value");
        out.close();
        stages.done();
    });
    return out;
}

// Squares what comes in until ctx is done or the input closes.
goro::Chan<long> square(goro::Context ctx, goro::Chan<long> in, goro::WaitGroup& stages) {
    goro::Chan<long> out;
    stages.add();
    goro::go([ctx, in, out, &stages] {
        for (bool open = true; open;) {
            std::optional<long> v;
            goro::select(goro::case_recv(in, [&](std::optional<long> x) { v = x; }),
                         goro::case_recv(ctx.done(), [&](auto) { open = false; }));
            if (!open || !v) break;
            goro::select(goro::case_send(out, *v * *v, [] {}), goro::case_recv(ctx.done(), [&](auto) { open = false; }));
        }
        std::printf("square: stopped\n");
        out.close();
        for (long rest : in) (void)rest;  // let generate finish its last send
        stages.done();
    });
    return out;
}

}  // namespace

void example_context_pipeline() {
    using namespace std::chrono_literals;
    auto [ctx, cancel] = goro::with_timeout(goro::background(), 30ms);
    goro::WaitGroup stages;
    long count = 0;
    for (long v : square(ctx, generate(ctx, stages), stages)) {
        (void)v;
        ++count;
    }
    stages.wait();
    cancel();
    bool deadline = ctx.err() == goro::ContextError::DeadlineExceeded;
    std::printf("received %s squares; err: %s\n", count > 0 ? "some" : "no",
                deadline ? "deadline exceeded" : "canceled");
    if (!deadline || count == 0) throw std::runtime_error("context_pipeline: the deadline did not stop the pipeline");
}

GORO_EXAMPLE_MAIN(example_context_pipeline)
