// bench/dump_time: how long goro::dump_goroutines() takes with N goroutines
// parked in a channel receive (RESULTS.md, "Wait reasons and the goroutine
// dump"). Writes to /dev/null; prints the time of each of REPS dumps.
//
//   bench/dump_time [N=100000] [REPS=3]
#include <goro/goro.hpp>
#include <goro/debug.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 100000;
    const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
    goro::run([&] {
        goro::Chan<int> stop;
        goro::WaitGroup wg;
        for (int i = 0; i < n; ++i) {
            wg.add(1);
            goro::go([&] {
                (void)stop.recv();
                wg.done();
            });
        }
        goro::sleep_for(std::chrono::milliseconds(100));  // let them all park
        std::FILE* null = std::fopen("/dev/null", "w");
        for (int r = 0; r < reps; ++r) {
            auto t0 = std::chrono::steady_clock::now();
            goro::dump_goroutines(null);
            std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
            std::printf("dump of %d parked goroutines: %.2f s (%.1f us each)\n", n, dt.count(), dt.count() * 1e6 / n);
        }
        std::fclose(null);
        stop.close();
        wg.wait();
    });
}
