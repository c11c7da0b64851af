// prime_sieve — Go's concurrent prime sieve: a daisy chain of filter goroutines.
//
// Mirrors the Go program (go.dev/doc/play/sieve.go):
//
//     func Generate(ch chan<- int) {
//         for i := 2; ; i++ {
//             ch <- i // Send 'i' to channel 'ch'.
//         }
//     }
//
//     func Filter(in <-chan int, out chan<- int, prime int) {
//         for {
//             i := <-in // Receive value from 'in'.
//             if i%prime != 0 {
//                 out <- i // Send 'i' to 'out'.
//             }
//         }
//     }
//
//     func main() {
//         ch := make(chan int) // Create a new channel.
//         go Generate(ch)      // Launch Generate goroutine.
//         for i := 0; i < 25; i++ {
//             prime := <-ch
//             fmt.Println(prime)
//             ch1 := make(chan int)
//             go Filter(ch, ch1, prime)
//             ch = ch1
//         }
//     }
//
// Run:     ./build/examples/tour prime_sieve
//     or   ./build/examples/prime_sieve
// Observe: the first 25 primes, 2 to 97, one per line, then a line saying the chain drained. Every prime
// found adds a Filter goroutine to the chain; each number travels down it through unbuffered channels.
// One difference from Go: Go's program exits with its goroutines still blocked forever. Here Generate stops
// at 100 and closes its channel, and each Filter ranges over its input and closes its output, so the close
// ripples down the chain and every goroutine ends by itself (the 25 primes are exactly the primes below 100).
#include <goro/goro.hpp>

#include <cstdio>

#include "examples.hpp"

namespace {

constexpr int kLimit = 100;  // Go's Generate never stops; this one stops here, then closes ch

// Send the sequence 2, 3, 4, ... to channel ch.
void generate(goro::Chan<int> ch) {
    for (int i = 2; i < kLimit; ++i) ch.send(i);  // Send i to channel ch.
    ch.close();
}

// Copy the values from channel in to channel out, removing those divisible by prime.
void filter(goro::Chan<int> in, goro::Chan<int> out, int prime) {
    for (int i : in) {  // Receive values from in until it is closed.
        if (i % prime != 0) out.send(i);
    }
    out.close();
}

}  // namespace

void example_prime_sieve() {
    goro::Chan<int> ch;                // Create a new channel.
    goro::go([ch] { generate(ch); });  // Launch the generate goroutine.
    for (int i = 0; i < 25; ++i) {
        int prime = *ch.recv();
        std::printf("%d\n", prime);
        goro::Chan<int> ch1;
        goro::go([ch, ch1, prime] { filter(ch, ch1, prime); });
        ch = ch1;
    }
    // Nothing is left below kLimit: the last filter's output closes once the chain has drained.
    std::printf("chain drained: %s\n", ch.recv() ? "no (bug)" : "yes");
}

GORO_EXAMPLE_MAIN(example_prime_sieve)
