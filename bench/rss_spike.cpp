// rss_spike: resident memory during and after a spike of goroutines, inside
// one runtime (issue 13: memory given back). RSS_SPIKE_N goroutines
// (1000000) are spawned; each touches RSS_SPIKE_TOUCH bytes of its stack
// (4096) and parks on one Event; once all are parked, VmRSS is read (the
// peak), they are released, and when all have ended VmRSS is read again,
// after a 200 ms pause for any stack trim still running on a worker. Prints
//
//   rss_spike before_mib B peak_mib P after_mib A spawn_ms S release_ms R
//
// read from /proc/self/statm. Run with GORO_MAXPROCS=1 or 2.
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

long env_long(const char* name, long dflt) {
    const char* s = std::getenv(name);
    return s && *s ? std::strtol(s, nullptr, 10) : dflt;
}

double rss_mib() {
    long size = 0, resident = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &size, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return static_cast<double>(resident) * 4096.0 / (1024.0 * 1024.0);
}

[[gnu::noinline]] void touch_stack(long bytes) {
    char* use = static_cast<char*>(__builtin_alloca(static_cast<std::size_t>(bytes)));
    std::memset(use, 1, static_cast<std::size_t>(bytes));
    asm volatile("" : : "r"(use) : "memory");
}

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

}  // namespace

int main() {
    const long n = env_long("RSS_SPIKE_N", 1000000);
    const long touch = env_long("RSS_SPIKE_TOUCH", 4096);
    goro::run([&] {
        const double before = rss_mib();
        goro::Event release;
        goro::WaitGroup parked, finished;
        parked.add(n);
        finished.add(n);
        auto t0 = Clock::now();
        for (long i = 0; i < n; ++i) {
            goro::go([&] {
                touch_stack(touch);
                parked.done();
                release.wait();
                finished.done();
            });
            if (i % 256 == 0) goro::yield();
        }
        parked.wait();
        const double spawn_ms = ms_since(t0);
        const double peak = rss_mib();
        t0 = Clock::now();
        release.set();
        finished.wait();
        while (goro::num_goroutines() > 1) goro::sleep_for(std::chrono::milliseconds(1));
        const double release_ms = ms_since(t0);
        goro::sleep_for(std::chrono::milliseconds(200));
        const double after = rss_mib();
        std::printf(
            "rss_spike before_mib %.0f peak_mib %.0f after_mib %.0f spawn_ms %.0f release_ms %.0f (n %ld, touch %ld, "
            "w%d)\n",
            before, peak, after, spawn_ms, release_ms, n, touch, goro::maxprocs());
    });
}
