// sched/quiet_threads.cpp — counting the process's threads for the deadlock
// watch. See quiet_threads.hpp for the rule.
#include "sched/quiet_threads.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>

namespace goro::rt {

std::atomic<int> g_quiet_threads{0};

namespace {

// Threads that existed before the program's own code: with a sanitizer,
// its helper threads start before static constructors. Written once, by the
// constructor below, before main() and before any runtime exists.
constexpr int kMaxBaseline = 16;
pid_t g_baseline[kMaxBaseline];
int g_nbaseline = 0;

template <class F>
bool for_each_task(F&& f) noexcept {
    DIR* d = ::opendir("/proc/self/task");
    if (!d) return false;
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        f(static_cast<pid_t>(std::atol(e->d_name)));
    }
    ::closedir(d);
    return true;
}

bool in_baseline(pid_t tid) noexcept {
    for (int i = 0; i < g_nbaseline; ++i)
        if (g_baseline[i] == tid) return true;
    return false;
}

[[gnu::constructor(101)]] void record_baseline_threads() {
    const pid_t main_tid = ::getpid();
    for_each_task([&](pid_t tid) {
        if (tid != main_tid && g_nbaseline < kMaxBaseline) g_baseline[g_nbaseline++] = tid;
    });
}

}  // namespace

bool quiet_threads_only() noexcept {
    int others = 0;
    if (!for_each_task([&](pid_t tid) {
            if (!in_baseline(tid)) ++others;
        }))
        return false;
    return others <= g_quiet_threads.load(std::memory_order_relaxed);
}

}  // namespace goro::rt
