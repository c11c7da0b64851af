// bench/goroutine_local: what a GoroutineLocal read costs beside a
// thread_local read, and what TaskGroup costs per child beside spawn +
// gather (issue 19). Medians of REPS runs, in ns per operation.
//
//   bench/goroutine_local [REPS=7]
#include <goro/goro.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

thread_local long t_counter = 0;

template <class F>
double median_ns_per_op(int reps, long ops, F&& f) {
    std::vector<double> r;
    for (int i = 0; i < reps; ++i) {
        auto t0 = Clock::now();
        f();
        r.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / static_cast<double>(ops));
    }
    std::sort(r.begin(), r.end());
    return r[r.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const int reps = argc > 1 ? std::atoi(argv[1]) : 7;
    static constexpr long kReads = 20'000'000;
    static constexpr long kChildren = 20'000;
    goro::GoroutineLocal<long> local;
    goro::run(goro::Config{1, 0}, [&] {
        const double tl = median_ns_per_op(reps, kReads, [] {
            for (long i = 0; i < kReads; ++i) {
                long* p = &t_counter;
                asm volatile("" : "+r"(p));  // one address computation per read, not hoisted
                ++*p;
            }
        });
        const double gl = median_ns_per_op(reps, kReads, [&] {
            for (long i = 0; i < kReads; ++i) ++local.get();
        });
        std::printf("thread_local read+increment:   %6.2f ns\n", tl);
        std::printf("GoroutineLocal read+increment: %6.2f ns\n", gl);

        const double tg = median_ns_per_op(reps, kChildren, [] {
            goro::TaskGroup group;
            for (long i = 0; i < kChildren; ++i) group.spawn([i] { return i; });
            group.wait();
        });
        const double ga = median_ns_per_op(reps, kChildren, [] {
            std::vector<goro::Task<long>> tasks;
            tasks.reserve(kChildren);
            for (long i = 0; i < kChildren; ++i) tasks.push_back(goro::spawn([i] { return i; }));
            (void)goro::gather(tasks);
        });
        std::printf("TaskGroup spawn+wait per child:  %7.1f ns\n", tg);
        std::printf("spawn+gather per child:          %7.1f ns\n", ga);
    });
}
