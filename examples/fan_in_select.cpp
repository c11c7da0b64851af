// fan_in_select — two talkers multiplexed onto one channel with select.
//
// Mirrors the fanIn of Rob Pike's "Go Concurrency Patterns" talk (2012):
//
//     func boring(msg string) <-chan string {
//         c := make(chan string)
//         go func() {
//             for i := 0; ; i++ {
//                 c <- fmt.Sprintf("%s %d", msg, i)
//                 time.Sleep(time.Duration(rand.Intn(1e3)) * time.Millisecond)
//             }
//         }()
//         return c
//     }
//
//     func fanIn(input1, input2 <-chan string) <-chan string {
//         c := make(chan string)
//         go func() {
//             for {
//                 select {
//                 case s := <-input1:  c <- s
//                 case s := <-input2:  c <- s
//                 }
//             }
//         }()
//         return c
//     }
//
//     func main() {
//         c := fanIn(boring("Joe"), boring("Ann"))
//         for i := 0; i < 10; i++ {
//             fmt.Println(<-c)
//         }
//         fmt.Println("You're both boring; I'm leaving.")
//     }
//
// Run:     ./build/examples/tour fan_in_select
//     or   ./build/examples/fan_in_select
// Observe: "Joe 0".."Joe 4" and "Ann 0".."Ann 4" interleaved in an order that changes from run to run
// (each talker pauses a random 0-20 ms): whoever is ready first is heard first, and neither waits for the
// other. Each talker's own lines stay in order. Unlike the talk's endless talkers, these say five things
// and close their channel; fanIn then disables that case with the nil channel (Go's `input1 = nil` idiom)
// and closes its output once both are done, so the range loop ends and no goroutine is left behind.
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include "examples.hpp"

namespace {

goro::Chan<std::string> boring(std::string msg, int count) {
    goro::Chan<std::string> c;
    goro::go([c, msg, count] {
        std::mt19937 rng(std::random_device{}());
        for (int i = 0; i < count; ++i) {
            c.send(msg + " " + std::to_string(i));
            goro::sleep_for(std::chrono::milliseconds(rng() % 20));
        }
        c.close();
    });
    return c;
}

goro::Chan<std::string> fan_in(goro::Chan<std::string> input1, goro::Chan<std::string> input2) {
    goro::Chan<std::string> c;
    goro::go([c, input1, input2]() mutable {
        auto nil = goro::Chan<std::string>::nil();
        while (!(input1.is_nil() && input2.is_nil())) {
            // A closed input is replaced by the nil channel, whose case select never picks.
            goro::select(goro::case_recv(input1,
                                         [&](const std::optional<std::string>& s) {
                                             if (s) c.send(*s);
                                             else input1 = nil;
                                         }),
                         goro::case_recv(input2, [&](const std::optional<std::string>& s) {
                             if (s) c.send(*s);
                             else input2 = nil;
                         }));
        }
        c.close();
    });
    return c;
}

}  // namespace

void example_fan_in_select() {
    goro::Chan<std::string> c = fan_in(boring("Joe", 5), boring("Ann", 5));
    int n = 0;
    for (const std::string& s : c) {
        std::printf("%s\n", s.c_str());
        ++n;
    }
    std::printf("%d messages. You're both boring; I'm leaving.\n", n);
}

GORO_EXAMPLE_MAIN(example_fan_in_select)
