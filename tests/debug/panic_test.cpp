// tests/debug/panic_test.cpp — a panic (an exception escaping goro::go) and
// GORO_TRACEBACK: the report shows the stack where the exception was thrown,
// the other goroutines with GORO_TRACEBACK=all, nothing more with none, and
// a core-dumping abort with crash. Each panic runs in a forked child.
#include "test_util.hpp"

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

using goro_test::ChildResult;

// Runs body in a forked child (goro_test::in_child) with GORO_TRACEBACK=
// traceback (unset when null).
ChildResult run_child(const char* traceback, const std::function<void()>& body) {
    return goro_test::in_child([&] {
        if (traceback) ::setenv("GORO_TRACEBACK", traceback, 1);
        else ::unsetenv("GORO_TRACEBACK");
        body();
    });
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The throw site: a local with a destructor, so that an unwinding runtime
// would have to leave this frame to run it.
[[gnu::noinline]] void panic_thrower_deep(int depth) {
    std::string local(64, 'x');
    if (depth > 0) throw std::runtime_error("bad config line " + std::to_string(depth) + local.substr(0, 0));
    std::puts(local.c_str());
}

[[gnu::noinline]] void panic_rethrower() {
    try {
        panic_thrower_deep(7);
    } catch (const std::runtime_error&) {
        throw;  // the report shows this frame: the rethrow is where it escaped from
    }
}

[[gnu::noinline]] void bystander_waits(goro::Chan<int> c) { (void)c.recv(); }

void panicking_program(std::function<void()> fn) {
    goro::run(goro::Config{1, 0}, [fn] {
        goro::Chan<int> never;
        goro::go("bystander", [never] { bystander_waits(never); });
        goro::sleep_for(5ms);
        goro::go("boomer", fn);
        goro::sleep_for(5s);
    });
}

}  // namespace

TEST_CASE("a panic shows the stack where the exception was thrown", "[debug][panic]") {
    if (goro_test::skip_fork_under_tsan()) return;
    ChildResult r = run_child(nullptr, [] { panicking_program([] { panic_thrower_deep(3); }); });
    INFO(r.err);
    CHECK(WIFEXITED(r.status));
    CHECK(WEXITSTATUS(r.status) == 2);
    CHECK(has(r.err, "goro: panic in goroutine 3 (boomer): bad config line 3\n"));
    CHECK(has(r.err, "exception type: std::runtime_error\n"));
    CHECK(has(r.err, "goroutine 3 [running]:\nname: boomer\n"));
    const std::string block = r.err.substr(r.err.find("goroutine 3 [running]:"));
    // The first frame is the throw site; the throw and terminate machinery is not shown.
    CHECK(has(block.substr(0, block.find('\n', block.find("name: boomer") + 13) + 80), "panic_thrower_deep"));
    CHECK_FALSE(has(block, "__cxa_throw"));
    CHECK_FALSE(has(block, "on_terminate"));
    CHECK(has(block, "created by goroutine 1"));
    // single (the default): no other goroutine.
    CHECK_FALSE(has(r.err, "bystander_waits"));
}

TEST_CASE("a rethrown exception shows the rethrow site; a non-std exception is named", "[debug][panic]") {
    if (goro_test::skip_fork_under_tsan()) return;
    ChildResult r = run_child(nullptr, [] { panicking_program([] { panic_rethrower(); }); });
    INFO(r.err);
    CHECK(WEXITSTATUS(r.status) == 2);
    CHECK(has(r.err, "bad config line 7"));
    CHECK(has(r.err, "panic_rethrower"));

    ChildResult r2 = run_child(nullptr, [] { panicking_program([] { throw 42; }); });
    INFO(r2.err);
    CHECK(WIFEXITED(r2.status));
    CHECK(WEXITSTATUS(r2.status) == 2);
    CHECK(has(r2.err, "(boomer): an exception not derived from std::exception"));
    CHECK(has(r2.err, "exception type: int"));
}

TEST_CASE("GORO_TRACEBACK=all adds every goroutine; none leaves only the first lines", "[debug][panic]") {
    if (goro_test::skip_fork_under_tsan()) return;
    ChildResult all = run_child("all", [] { panicking_program([] { panic_thrower_deep(1); }); });
    INFO(all.err);
    CHECK(WEXITSTATUS(all.status) == 2);
    CHECK(has(all.err, "name: boomer"));
    CHECK(has(all.err, "[chan receive]:\nname: bystander\n"));
    CHECK(has(all.err, "bystander_waits"));

    ChildResult none = run_child("none", [] { panicking_program([] { panic_thrower_deep(1); }); });
    INFO(none.err);
    CHECK(WEXITSTATUS(none.status) == 2);
    CHECK(has(none.err, "goro: panic in goroutine 3 (boomer): bad config line 1\n"));
    CHECK_FALSE(has(none.err, "[running]"));
    CHECK_FALSE(has(none.err, "panic_thrower_deep"));
}

TEST_CASE("GORO_TRACEBACK=crash aborts after the report", "[debug][panic]") {
    if (goro_test::skip_fork_under_tsan()) return;
    ChildResult r = run_child("crash", [] { panicking_program([] { panic_thrower_deep(1); }); });
    INFO(r.err);
    REQUIRE(WIFSIGNALED(r.status));
    CHECK(WTERMSIG(r.status) == SIGABRT);
    CHECK(has(r.err, "panic_thrower_deep"));
    CHECK(has(r.err, "name: bystander"));
}

TEST_CASE("a bad GORO_TRACEBACK is an error from run() naming it", "[debug][panic]") {
    ::setenv("GORO_TRACEBACK", "everything", 1);
    CHECK_THROWS_WITH(goro::run([] {}), Catch::Contains("GORO_TRACEBACK") && Catch::Contains("everything"));
    ::setenv("GORO_TRACEBACK", "system", 1);
    CHECK_NOTHROW(goro::run([] {}));
    ::unsetenv("GORO_TRACEBACK");
    CHECK_NOTHROW(goro::run([] {}));
}

TEST_CASE("a goroutine that catches its exception does not panic; Cancelled ends it quietly", "[debug][panic]") {
    if (goro_test::skip_fork_under_tsan()) return;
    ChildResult r = run_child(nullptr, [] {
        goro::run(goro::Config{1, 0}, [] {
            goro::WaitGroup wg;
            wg.add(2);
            goro::go([&] {
                try {
                    panic_thrower_deep(1);
                } catch (const std::exception&) {
                }
                wg.done();
            });
            goro::go([&] {
                struct Done {
                    goro::WaitGroup& wg;
                    ~Done() { wg.done(); }
                } done{wg};
                throw goro::Cancelled();
            });
            wg.wait();
        });
    });
    INFO(r.err);
    CHECK(WIFEXITED(r.status));
    CHECK(WEXITSTATUS(r.status) == 0);
    CHECK_FALSE(has(r.err, "panic"));
}
