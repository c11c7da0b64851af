// tests/regress/go_from_plain_thread_outlives_run_test.cpp: go() called from a plain thread made the
// goroutine runnable and then went on touching the runtime (wakep -> wake_m). Meanwhile the goroutine ran,
// the main goroutine returned and run() freed the runtime: heap-use-after-free in wake_m (ASan), a data
// race on the Runtime (TSan). go() must not touch the runtime after its goroutine can run, or run() must
// wait for go() calls in flight. Only the sanitizer builds see this reliably.
#include "test_util.hpp"

#include <thread>

using namespace goro_test;

TEST_CASE("go_from_plain_thread_racing_end_of_run", "[regress][interop]") {
    const long rounds = kSanitized ? 1000 : 3000;
    long completed = 0;
    for (long r = 0; r < rounds; ++r) {
        std::thread t;
        std::atomic<bool> ran{false};
        goro::run(goro::Config{2, 0}, [&] {
            goro::WaitGroup wg;
            wg.add(1);
            t = std::thread([&] {
                goro::go([&] {
                    ran = true;
                    wg.done();
                });
            });
            wg.wait();
        });
        t.join();
        completed += ran.load();
    }
    CHECK(completed == rounds);
}
