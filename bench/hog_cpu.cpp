// hog_cpu: how many CPUs goroutines that compute without calling goro keep
// busy (issue 14: a hog's queue moves to another thread, so more threads than
// maxprocs may burn CPU until the hog reaches a goro call). HOGS (2)
// goroutines each compute for HOG_MS (500) of wall time, all started at once;
// the program prints, for loops that call nothing of goro and for loops that
// call goro::preempt_point() every ~100 us,
//   goro hog_cpu cpus_plain_wN VALUE cpus
//   goro hog_cpu cpus_preempt_point_wN VALUE cpus
// where VALUE is the process's CPU time over the wall time of the round:
// Go's preemption would keep it at maxprocs; goro without preempt_point runs
// up to maxprocs + one thread per hog (DESIGN.md "Blocked workers").
#include <goro/goro.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;

double process_cpu_s() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long env_long(const char* name, long fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtol(v, nullptr, 10) : fallback;
}

// Each hog computes until it has run `work` on its own clock.
void hog(std::chrono::milliseconds work, bool preempt_points) {
    std::uint64_t x = 1;
    const auto end = Clock::now() + work;
    while (Clock::now() < end) {
        const auto slice = Clock::now() + std::chrono::microseconds(100);
        while (Clock::now() < slice) x = x * 6364136223846793005ull + 1442695040888963407ull;
        if (preempt_points) goro::preempt_point();
    }
    if (x == 0) std::abort();
}

}  // namespace

int main() {
    const int hogs = static_cast<int>(env_long("HOGS", 2));
    const auto work = std::chrono::milliseconds(env_long("HOG_MS", 500));
    goro::run([&] {
        const std::string w = "_w" + std::to_string(goro::maxprocs());
        for (bool preempt_points : {false, true}) {
            const double cpu0 = process_cpu_s();
            const auto t0 = Clock::now();
            goro::WaitGroup wg;
            wg.add(hogs);
            for (int i = 0; i < hogs; ++i)
                goro::go([&] {
                    hog(work, preempt_points);
                    wg.done();
                });
            wg.wait();
            const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
            std::printf("goro hog_cpu %s%s %.2f cpus\n", preempt_points ? "cpus_preempt_point" : "cpus_plain",
                        w.c_str(), (process_cpu_s() - cpu0) / wall);
        }
    });
}
