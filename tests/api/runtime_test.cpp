// tests/api/runtime_test.cpp: <goro/runtime.hpp> — run(), go(), yield(), maxprocs(), num_cpu(),
// num_goroutines(), the environment, and the rules about several runtimes and InvalidState.
#include "test_util.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

using namespace goro_test;

namespace {

struct UserError : std::runtime_error {
    int code;
    explicit UserError(int c) : std::runtime_error("user error " + std::to_string(c)), code(c) {}
};

// what_of_run() runs a runtime from the environment alone (Config{}) and returns the what() of the
// std::invalid_argument it must throw; `ran` tells whether the main goroutine ran at all.
std::string what_of_run(bool& ran) {
    ran = false;
    try {
        goro::run([&] { ran = true; });
    } catch (const std::invalid_argument& e) {
        return e.what();
    } catch (const std::exception& e) {
        FAIL("run() threw something other than std::invalid_argument: " << e.what());
    }
    FAIL("run() threw no std::invalid_argument");
    return {};
}

}  // namespace

TEST_CASE("run_returns_fn_value", "[api]") {
    for (int procs : default_procs()) {
        INFO("maxprocs = " << procs);
        CHECK(run_at(procs, [] { return 42; }) == 42);
        CHECK(run_at(procs, [] { return std::string("hello goro"); }) == "hello goro");
        auto p = run_at(procs, [] { return std::make_unique<int>(7); });  // move-only results
        REQUIRE(p);
        CHECK(*p == 7);
        int side = 0;
        run_at(procs, [&] { side = 5; });  // void
        CHECK(side == 5);
    }
}

TEST_CASE("run_without_config_returns_fn_value", "[api]") {
    EnvVar a("GORO_MAXPROCS", "2");
    CHECK(goro::run([] { return 3.5; }) == 3.5);
}

TEST_CASE("run_rethrows_fn_exception", "[api]") {
    for (int procs : default_procs()) {
        INFO("maxprocs = " << procs);
        try {
            run_at(procs, []() -> int {
                goro::yield();
                throw UserError(17);
            });
            FAIL("run() returned normally");
        } catch (const UserError& e) {
            CHECK(e.code == 17);
            CHECK(std::string(e.what()) == "user error 17");
        }
        CHECK_THROWS_AS(run_at(procs, [] { throw goro::Timeout(); }), goro::Timeout);
        // The exception comes out even after the main goroutine parked (and maybe migrated) first.
        CHECK_THROWS_WITH(run_at(procs,
                                 [] {
                                     goro::sleep_for(1ms);
                                     throw std::logic_error("after a sleep");
                                 }),
                          "after a sleep");
    }
}

TEST_CASE("run_rethrows_after_unwinding_leftovers", "[api]") {
    // fn throws while goroutines are parked: run still cancels them, unwinds them, then rethrows.
    LiveCount count;
    goro::Event never;
    std::atomic<int> parked{0};
    for (int procs : {1, 2, 4}) {
        INFO("maxprocs = " << procs);
        parked = 0;
        CHECK_THROWS_AS(run_at(procs,
                               [&] {
                                   for (int i = 0; i < 10; ++i) {
                                       goro::go([&, t = Tracked(count)] {
                                           parked.fetch_add(1);
                                           never.wait();
                                       });
                                   }
                                   CHECK(eventually([&] { return parked.load() == 10; }));
                                   throw UserError(1);
                               }),
                        UserError);
        CHECK(count.live.load() == 0);
    }
}

TEST_CASE("run_several_runtimes_one_after_another", "[api]") {
    for (int round = 0; round < 20; ++round) {
        int procs = 1 + round % 4;
        INFO("round " << round << ", maxprocs = " << procs);
        std::atomic<int> ran{0};
        int got = run_at(procs, [&] {
            goro::WaitGroup wg;
            for (int i = 0; i < 100; ++i) {
                wg.add();
                goro::go([&] {
                    goro::yield();
                    ran.fetch_add(1);
                    wg.done();
                });
            }
            wg.wait();
            CHECK(goro::maxprocs() == procs);
            return round;
        });
        CHECK(got == round);
        CHECK(ran.load() == 100);
    }
}

TEST_CASE("run_inside_goroutine_throws_invalid_state", "[api]") {
    for_each_maxprocs({1, 2, 4}, [](int) {
        CHECK_THROWS_AS(goro::run([] {}), goro::InvalidState);
        CHECK_THROWS_AS(goro::run(goro::Config{1, 0}, [] { return 1; }), goro::InvalidState);
        // From a spawned goroutine too.
        goro::WaitGroup wg;
        wg.add();
        std::atomic<int> outcome{0};  // 1: InvalidState, 2: ran, 3: other exception
        goro::go([&] {
            try {
                goro::run([] {});
                outcome = 2;
            } catch (const goro::InvalidState&) {
                outcome = 1;
            } catch (...) {
                outcome = 3;
            }
            wg.done();
        });
        wg.wait();
        CHECK(outcome.load() == 1);
        // The runtime still works afterwards.
        CHECK(goro::num_goroutines() >= 1);
    });
}

TEST_CASE("go_without_runtime_throws_invalid_state", "[api]") {
    bool ran = false;
    CHECK_THROWS_AS(goro::go([&] { ran = true; }), goro::InvalidState);
    // After a runtime has come and gone, too; and from another plain thread.
    run_at(2, [] {});
    CHECK_THROWS_AS(goro::go([&] { ran = true; }), goro::InvalidState);
    std::atomic<int> outcome{0};
    std::thread t([&] {
        try {
            goro::go([] {});
            outcome = 2;
        } catch (const goro::InvalidState&) {
            outcome = 1;
        }
    });
    t.join();
    CHECK(outcome.load() == 1);
    CHECK_FALSE(ran);
}

TEST_CASE("go_invalid_state_is_a_goro_error", "[api]") {
    try {
        goro::go([] {});
        FAIL("go() without a runtime did not throw");
    } catch (const goro::Error& e) {
        CHECK(std::string(e.what()).size() > 0);
    }
}

TEST_CASE("go_runs_callable_with_captured_state", "[api]") {
    for_each_maxprocs([](int) {
        goro::WaitGroup wg;
        std::vector<int> out(50, -1);
        for (int i = 0; i < 50; ++i) {
            wg.add();
            std::string big(200, static_cast<char>('a' + i % 26));  // larger than the inline buffer
            goro::go([&, i, big] {
                out[i] = i * 2 + static_cast<int>(big.size());
                wg.done();
            });
        }
        wg.wait();
        for (int i = 0; i < 50; ++i) CHECK(out[i] == i * 2 + 200);
    });
}

TEST_CASE("go_move_only_callable", "[api]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::WaitGroup wg;
        std::atomic<int> got{0};
        wg.add();
        auto p = std::make_unique<int>(99);
        goro::go([&, p = std::move(p)] {
            got = *p;
            wg.done();
        });
        wg.wait();
        CHECK(got.load() == 99);
    });
}

TEST_CASE("num_goroutines_counts_main_one", "[api]") {
    for_each_maxprocs([](int) {
        CHECK(goro::num_goroutines() == 1);
        goro::sleep_for(1ms);  // timers (and any helper they start) are not user goroutines
        CHECK(goro::num_goroutines() == 1);
        goro::Event release;
        goro::WaitGroup finished;
        std::atomic<int> started{0};
        for (int i = 0; i < 100; ++i) {
            finished.add();
            goro::go([&] {
                started.fetch_add(1);
                release.wait();
                finished.done();
            });
        }
        CHECK(eventually([&] { return started.load() == 100; }));
        CHECK(goro::num_goroutines() == 101);
        release.set();
        finished.wait();
        // A goroutine is alive until it returns; done() comes a little before that.
        CHECK(eventually([] { return goro::num_goroutines() == 1; }));
    });
}

TEST_CASE("maxprocs_reflects_config", "[api]") {
    for (int procs : {1, 2, 3, 4, 8}) {
        INFO("maxprocs = " << procs);
        CHECK(run_at(procs, [] { return goro::maxprocs(); }) == procs);
        CHECK(run_at(procs, [] { return goro::set_maxprocs(0); }) == procs);
    }
}

TEST_CASE("set_maxprocs_returns_previous_and_nonpositive_only_asks", "[api]") {
    run_at(2, [] {
        CHECK(goro::set_maxprocs(4) == 2);
        CHECK(goro::maxprocs() == 4);
        CHECK(goro::set_maxprocs(1) == 4);
        CHECK(goro::maxprocs() == 1);
        CHECK(goro::set_maxprocs(0) == 1);
        CHECK(goro::maxprocs() == 1);
        CHECK(goro::set_maxprocs(-3) == 1);
        CHECK(goro::maxprocs() == 1);
        CHECK(goro::set_maxprocs(3) == 1);
        CHECK(goro::set_maxprocs(3) == 3);
        CHECK(goro::maxprocs() == 3);
    });
}

TEST_CASE("set_maxprocs_without_runtime_returns_zero", "[api]") {
    CHECK(goro::set_maxprocs(0) == 0);
    CHECK(goro::set_maxprocs(4) == 0);
    CHECK(goro::set_maxprocs(0) == 0);
}

TEST_CASE("set_maxprocs_from_plain_thread_while_running", "[api]") {
    run_at(2, [] {
        std::atomic<int> prev{-1};
        std::thread t([&] { prev = goro::set_maxprocs(3); });
        t.join();
        CHECK(prev.load() == 2);
        CHECK(goro::maxprocs() == 3);
    });
}

TEST_CASE("num_cpu_is_within_hardware", "[api]") {
    int n = goro::num_cpu();
    CHECK(n >= 1);
    if (unsigned hw = std::thread::hardware_concurrency(); hw > 0) CHECK(n <= static_cast<int>(hw));
    CHECK(goro::num_cpu() == n);
    CHECK(run_at(1, [] { return goro::num_cpu(); }) == n);
}

// ---- the environment, read by run() ------------------------------------------------------------

TEST_CASE("env_bad_goro_maxprocs_makes_run_throw_naming_it", "[api][env]") {
    EnvVar go("GOMAXPROCS", nullptr);
    EnvVar stack("GORO_STACK_SIZE", nullptr);
    for (const char* bad : {"abc", "0", "-3", "99999999999", "4x"}) {
        INFO("GORO_MAXPROCS=" << bad);
        EnvVar v("GORO_MAXPROCS", bad);
        bool ran = true;
        std::string what = what_of_run(ran);
        INFO("what(): " << what);
        CHECK(what.find("GORO_MAXPROCS") != std::string::npos);
        CHECK(what.find(bad) != std::string::npos);
        CHECK_FALSE(ran);
    }
}

TEST_CASE("env_bad_goro_stack_size_makes_run_throw_naming_it", "[api][env]") {
    EnvVar procs("GORO_MAXPROCS", "2");
    for (const char* bad : {"12Q", "-5", "abcK"}) {
        INFO("GORO_STACK_SIZE=" << bad);
        EnvVar v("GORO_STACK_SIZE", bad);
        bool ran = true;
        std::string what = what_of_run(ran);
        INFO("what(): " << what);
        CHECK(what.find("GORO_STACK_SIZE") != std::string::npos);
        CHECK(what.find(bad) != std::string::npos);
        CHECK_FALSE(ran);
    }
}

TEST_CASE("env_goro_maxprocs_sets_worker_count", "[api][env]") {
    EnvVar go("GOMAXPROCS", nullptr);
    EnvVar v("GORO_MAXPROCS", "3");
    CHECK(goro::run([] { return goro::maxprocs(); }) == 3);
    CHECK(goro::run(goro::Config{}, [] { return goro::maxprocs(); }) == 3);
}

TEST_CASE("env_config_maxprocs_overrides_environment", "[api][env]") {
    EnvVar v("GORO_MAXPROCS", "3");
    CHECK(goro::run(goro::Config{2, 0}, [] { return goro::maxprocs(); }) == 2);
}

TEST_CASE("env_gomaxprocs_read_when_goro_maxprocs_unset", "[api][env]") {
    EnvVar v("GORO_MAXPROCS", nullptr);
    {
        EnvVar go("GOMAXPROCS", "2");
        CHECK(goro::run([] { return goro::maxprocs(); }) == 2);
    }
    {
        EnvVar go("GOMAXPROCS", "abc");
        bool ran = true;
        std::string what = what_of_run(ran);
        INFO("what(): " << what);
        CHECK(what.find("GOMAXPROCS=abc") != std::string::npos);
        CHECK_FALSE(ran);
    }
}

TEST_CASE("env_goro_maxprocs_wins_over_gomaxprocs", "[api][env]") {
    EnvVar v("GORO_MAXPROCS", "3");
    EnvVar go("GOMAXPROCS", "1");
    CHECK(goro::run([] { return goro::maxprocs(); }) == 3);
}

TEST_CASE("env_unset_uses_num_cpu", "[api][env]") {
    EnvVar v("GORO_MAXPROCS", nullptr);
    EnvVar go("GOMAXPROCS", nullptr);
    CHECK(goro::run([] { return goro::maxprocs(); }) == goro::num_cpu());
}

namespace {
// touch_stack() uses about `bytes` of the goroutine's stack and returns a checksum of it.
int touch_stack(std::size_t bytes) {
    constexpr std::size_t kChunk = 8 * 1024;
    volatile char buf[kChunk];
    for (std::size_t i = 0; i < kChunk; i += 512) buf[i] = static_cast<char>(i / 512);
    int sum = buf[kChunk - 512];
    if (bytes > kChunk) sum += touch_stack(bytes - kChunk);
    return sum + buf[0];
}
}  // namespace

TEST_CASE("env_stack_size_gives_goroutines_bigger_stacks", "[api][env]") {
    // 40 KiB of frames would overflow nothing at 64 KiB; 400 KiB needs the configured 1 MiB.
    const std::size_t use = kSanitized ? 200 * 1024 : 400 * 1024;
    EnvVar procs("GORO_MAXPROCS", "2");
    {
        EnvVar v("GORO_STACK_SIZE", "1M");
        auto [in_child, in_main] = goro::run([&] {
            std::atomic<int> s{0};
            goro::WaitGroup wg;
            wg.add();
            goro::go([&] {
                s = touch_stack(use);
                wg.done();
            });
            wg.wait();
            int m = touch_stack(use);  // the main goroutine gets the same stack size
            return std::pair<int, int>{s.load(), m};
        });
        CHECK(in_child == touch_stack(use));
        CHECK(in_main == touch_stack(use));
    }
    // Config::stack_size does the same without the environment.
    EnvVar unset("GORO_STACK_SIZE", nullptr);
    int sum = run_at(
        2, [&] { return touch_stack(use); }, 1024 * 1024);
    CHECK(sum == touch_stack(use));
}
