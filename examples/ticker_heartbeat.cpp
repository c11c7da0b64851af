// ticker_heartbeat — a Ticker-driven heartbeat beside the work it watches;
// stop() ends the ticks, and a Timer bounds the whole run.
//
// Mirrors the Go program:
//
//     ticker := time.NewTicker(10 * time.Millisecond)
//     deadline := time.NewTimer(55 * time.Millisecond)
//     for beats := 0; ; {
//         select {
//         case <-ticker.C:   beats++; fmt.Println("heartbeat", beats)
//         case <-deadline.C: ticker.Stop(); fmt.Println("done after", beats, "beats"); return
//         }
//     }
//
// Run:     ./build/examples/tour ticker_heartbeat
// Observe: about five heartbeats, then "done"; no tick arrives after stop().
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "examples.hpp"

void example_ticker_heartbeat() {
    using namespace std::chrono_literals;
    goro::Ticker ticker(10ms);
    goro::Timer deadline(55ms);
    int beats = 0;
    for (bool running = true; running;) {
        goro::select(goro::case_recv(ticker.c(), [&](auto) { std::printf("heartbeat %d\n", ++beats); }),
                     goro::case_recv(deadline.c(), [&](auto) {
                         ticker.stop();
                         running = false;
                     }));
    }
    goro::sleep_for(25ms);
    bool late_tick = ticker.c().try_recv().has_value();
    std::printf("done after %s heartbeats; a tick after stop: %s\n", beats >= 2 ? "several" : "too few",
                late_tick ? "yes" : "no");
    if (beats < 2 || late_tick) throw std::runtime_error("ticker_heartbeat: wrong ticks");
}

GORO_EXAMPLE_MAIN(example_ticker_heartbeat)
