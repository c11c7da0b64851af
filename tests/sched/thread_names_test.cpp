// tests/sched/thread_names_test.cpp: goro's threads carry names that top -H, ps -L and gdb show (Linux's
// /proc/self/task/<tid>/comm): workers "goro-w0", "goro-w1", ..., run_blocking's pool threads
// "goro-blocking", the monitor (sched/monitor.cpp) "goro-monitor"; the thread that called run() (worker 0 meanwhile) gets its own name back afterwards.
#include "test_util.hpp"

#include <pthread.h>
#include <unistd.h>

#include <set>
#include <string>

using namespace goro_test;

namespace {

// The names of every thread of the process now.
std::multiset<std::string> thread_names() {
    std::multiset<std::string> names;
    for (const std::string& dir : thread_dirs()) names.insert(thread_name(dir));
    return names;
}

std::string my_name() { return thread_name("/proc/self/task/" + std::to_string(::gettid())); }

}  // namespace

TEST_CASE("workers_are_named_goro_wN_and_the_callers_name_comes_back", "[sched][thread_names]") {
    ::pthread_setname_np(::pthread_self(), "names-test");
    std::multiset<std::string> inside;
    std::string main_goroutine_thread;
    goro::run(goro::Config{.maxprocs = 3}, [&] {
        // Keep every worker busy for a moment so all three threads exist.
        goro::WaitGroup wg;
        for (int i = 0; i < 3; ++i) {
            wg.add();
            goro::go([wg] {
                goro::sleep_for(std::chrono::milliseconds(20));
                wg.done();
            });
        }
        // A worker names its thread as its loop starts, which may come a moment after the main goroutine
        // starts (another worker may have taken it first): look again until all three are there (2 s at most).
        for (int i = 0; i < 400; ++i) {
            inside = thread_names();
            if (inside.count("goro-w0") && inside.count("goro-w1") && inside.count("goro-w2") &&
                inside.count("goro-monitor"))
                break;
            goro::sleep_for(std::chrono::milliseconds(5));
        }
        main_goroutine_thread = my_name();
        wg.wait();
    });
    CHECK(inside.count("goro-w0") == 1);
    CHECK(inside.count("goro-w1") == 1);
    CHECK(inside.count("goro-w2") == 1);
    CHECK(inside.count("goro-monitor") == 1);
    CHECK(main_goroutine_thread.rfind("goro-w", 0) == 0);
    CHECK(my_name() == "names-test");
}

TEST_CASE("run_blocking_pool_threads_are_named_goro_blocking", "[sched][thread_names]") {
    std::string name = goro::run([] { return goro::run_blocking([] { return my_name(); }); });
    CHECK(name == "goro-blocking");
}
