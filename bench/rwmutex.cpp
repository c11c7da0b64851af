// bench/rwmutex.cpp: RWMutex read-lock cost (issue 19), beside std::shared_mutex on
// plain threads. Each line: "IMPL rwmutex METRIC VALUE ns", METRIC ns_per_rlock_R for R
// readers each taking and releasing the read lock RW_N times (default 2,000,000) around
// one read of a shared value: R = 1 is the uncontended cost, R = 4 the contended one
// (readers only: the lock's own line is what they contend on). goro runs the readers
// as goroutines on GORO_MAXPROCS workers; std runs them as threads. bench/rwmutex.sh
// runs it beside Go's sync.RWMutex (bench/go/rwmutex.go).
#include <goro/goro.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

long env_long(const char* name, long def) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtol(v, nullptr, 10) : def;
}

volatile long g_shared = 1;

template <class Lock, class Start>
double ns_per_op(Lock& mu, int readers, long n, Start start_all) {
    std::atomic<long> sink{0};
    auto t0 = std::chrono::steady_clock::now();
    start_all(readers, [&] {
        long local = 0;
        for (long i = 0; i < n; ++i) {
            mu.lock_shared();
            local += g_shared;
            mu.unlock_shared();
        }
        sink.fetch_add(local);
    });
    double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    if (sink.load() != readers * n) std::abort();
    return ns / static_cast<double>(n);  // per reader's operation: wall time / ops of one reader
}

}  // namespace

int main() {
    const long n = env_long("RW_N", 2000000);
    for (int readers : {1, 4}) {
        std::shared_mutex smu;
        double std_ns = ns_per_op(smu, readers, n, [](int r, auto body) {
            std::vector<std::thread> ts;
            for (int i = 0; i < r; ++i) ts.emplace_back(body);
            for (auto& t : ts) t.join();
        });
        double goro_ns = 0;
        goro::run([&] {
            goro::RWMutex gmu;
            goro_ns = ns_per_op(gmu, readers, n, [](int r, auto body) {
                goro::WaitGroup wg;
                wg.add(r);
                for (int i = 0; i < r; ++i)
                    goro::go([&wg, body] {
                        body();
                        wg.done();
                    });
                wg.wait();
            });
        });
        std::printf("goro rwmutex ns_per_rlock_%d %.1f ns\n", readers, goro_ns);
        std::printf("std rwmutex ns_per_rlock_%d %.1f ns\n", readers, std_ns);
    }
}
