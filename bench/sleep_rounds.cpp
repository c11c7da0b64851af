// sleep_rounds — sleep_many (bench/peers/README.md) ROUNDS times in one
// process: the first round runs on fresh memory (every stack page is touched
// for the first time), the later ones on the stacks, descriptors and timer
// heaps the first left behind. The gap between the first round and the rest
// is what first touches cost; bench/go/sleep_rounds.go does the same in Go,
// and bench/sleep_rounds.sh runs the two alternately (RESULTS.md, "What is
// left of sleep_many at 2 workers").
//
// Prints "goro sleep_rounds round_K_ms V" for K = 0 .. ROUNDS-1.
//   SLEEP_N (100000), SLEEP_MS (10), ROUNDS (4); GORO_MAXPROCS as usual.
// With LIVE_PEAK=1 each sleeper also counts itself in and out of a shared
// counter (two atomic operations on one line: the times are then not
// comparable), and the most sleepers started and not yet done at once is
// printed as round_K_peak_live: the stacks that round needed.
#include <goro/goro.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

long env_long(const char* name, long fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    char* end = nullptr;
    const long x = std::strtol(v, &end, 10);
    if (*end || x <= 0) {
        std::fprintf(stderr, "sleep_rounds: %s=%s is not a positive integer\n", name, v);
        std::exit(2);
    }
    return x;
}

struct alignas(64) LiveCount {
    std::atomic<long> now{0};
    std::atomic<long> peak{0};
    void enter() noexcept {
        const long v = now.fetch_add(1, std::memory_order_relaxed) + 1;
        long p = peak.load(std::memory_order_relaxed);
        while (v > p && !peak.compare_exchange_weak(p, v, std::memory_order_relaxed)) {
        }
    }
    void leave() noexcept { now.fetch_sub(1, std::memory_order_relaxed); }
};

}  // namespace

int main() {
    const long n = env_long("SLEEP_N", 100000);
    const long rounds = env_long("ROUNDS", 4);
    const auto d = std::chrono::milliseconds(env_long("SLEEP_MS", 10));
    const char* lp = std::getenv("LIVE_PEAK");
    const bool count_live = lp && *lp && std::string(lp) != "0";
    goro::run([&] {
        for (long r = 0; r < rounds; ++r) {
            goro::WaitGroup wg;
            LiveCount live;
            const auto t0 = std::chrono::steady_clock::now();
            wg.add(n);
            for (long i = 0; i < n; ++i)
                goro::go([&wg, &live, d, count_live] {
                    if (count_live) live.enter();
                    goro::sleep_for(d);
                    if (count_live) live.leave();
                    wg.done();
                });
            wg.wait();
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            std::printf("goro sleep_rounds round_%ld_ms %.2f\n", r, ms);
            if (count_live) std::printf("goro sleep_rounds round_%ld_peak_live %ld\n", r, live.peak.load());
        }
    });
}
