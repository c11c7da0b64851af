// task_spawn_get: the cost of a Task. Each round spawns N goroutines whose
// body returns a number and collects them: goro::spawn + Task::get (every
// result), next to the plain-goroutine baseline go + a WaitGroup (results
// written to a slot), at TASK_N (10000) per round, TASK_ROUNDS (50) rounds;
// prints ns per goroutine for both and their ratio (goal <= 1.3x).
//
//   build/bench/task_spawn_get           (GORO_MAXPROCS=1 for one worker)
#include <goro/goro.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

long env_long(const char* name, long def) {
    const char* s = std::getenv(name);
    return s && *s ? std::max(1L, std::atol(s)) : def;
}

double ns_per(Clock::time_point t0, long n) {
    return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / static_cast<double>(n);
}

double round_tasks(long n) {
    std::vector<goro::Task<long>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    auto t0 = Clock::now();
    for (long i = 0; i < n; ++i) tasks.push_back(goro::spawn([i] { return i; }));
    long sum = 0;
    for (auto& t : tasks) sum += t.get();
    double ns = ns_per(t0, n);
    if (sum != n * (n - 1) / 2) std::abort();
    return ns;
}

double round_go(long n) {
    std::vector<long> slots(static_cast<std::size_t>(n));
    goro::WaitGroup wg;
    auto t0 = Clock::now();
    wg.add(n);
    for (long i = 0; i < n; ++i)
        goro::go([&slots, &wg, i] {
            slots[static_cast<std::size_t>(i)] = i;
            wg.done();
        });
    wg.wait();
    long sum = 0;
    for (long v : slots) sum += v;
    double ns = ns_per(t0, n);
    if (sum != n * (n - 1) / 2) std::abort();
    return ns;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main() {
    const long n = env_long("TASK_N", 10000);
    const long rounds = env_long("TASK_ROUNDS", 50);
    goro::run([&] {
        std::vector<double> go_ns, task_ns;
        for (long r = 0; r < rounds; ++r) {  // interleaved, so both see the same machine state
            go_ns.push_back(round_go(n));
            task_ns.push_back(round_tasks(n));
        }
        double g = median(go_ns), t = median(task_ns);
        int w = goro::maxprocs();
        std::printf("goro task_spawn_get/n=%ld/w%d go+WaitGroup %.1f ns per goroutine\n", n, w, g);
        std::printf("goro task_spawn_get/n=%ld/w%d spawn+get    %.1f ns per task\n", n, w, t);
        std::printf("goro task_spawn_get/n=%ld/w%d ratio        %.2f x (goal <= 1.30)\n", n, w, t / g);
    });
}
