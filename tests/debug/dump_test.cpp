// tests/debug/dump_test.cpp — goro::dump_goroutines (goro/debug.hpp): every
// goroutine's block with its wait reason, name, parked stack and creator;
// the deadlock report; a dump while goroutines churn.
#include "test_util.hpp"

#include <goro/debug.hpp>
#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

std::string dump_to_string() {
    std::FILE* f = std::tmpfile();
    REQUIRE(f);
    goro::dump_goroutines(f);
    std::fflush(f);
    std::rewind(f);
    std::string s;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) s.append(buf, n);
    std::fclose(f);
    return s;
}

// The block of the goroutine named `name` (its header to the blank line).
std::string block_named(const std::string& dump, const std::string& name) {
    auto at = dump.find("name: " + name + "\n");
    if (at == std::string::npos) return "";
    auto start = dump.rfind("goroutine ", at);
    auto end = dump.find("\n\n", at);
    return dump.substr(start, end - start);
}

[[gnu::noinline]] void dumped_chan_recv(goro::Chan<int> ch) { ch.recv(); asm volatile("" ::: "memory"); }
[[gnu::noinline]] void dumped_chan_send(goro::Chan<int> ch) { ch.send(1); asm volatile("" ::: "memory"); }
[[gnu::noinline]] void dumped_select(goro::Chan<int> a, goro::Chan<int> b) {
    goro::select(goro::case_recv(a, [](std::optional<int>) {}), goro::case_recv(b, [](std::optional<int>) {}));
    asm volatile("" ::: "memory");
}
[[gnu::noinline]] void dumped_sleep() { goro::sleep_for(1h); asm volatile("" ::: "memory"); }
[[gnu::noinline]] void dumped_mutex(goro::Mutex& mu) { mu.lock(); mu.unlock(); asm volatile("" ::: "memory"); }
[[gnu::noinline]] void dumped_cond(goro::Mutex& mu, goro::CondVar& cv, bool& flag) {
    std::unique_lock lk(mu);
    while (!flag) cv.wait(lk);
    asm volatile("" ::: "memory");
}
[[gnu::noinline]] void dumped_waitgroup(goro::WaitGroup& wg) { wg.wait(); asm volatile("" ::: "memory"); }
[[gnu::noinline]] void dumped_event(goro::Event& ev) { ev.wait(); asm volatile("" ::: "memory"); }
[[gnu::noinline]] void dumped_task_get(goro::Task<int>& t) { t.get(); asm volatile("" ::: "memory"); }
}  // namespace

TEST_CASE("dump_goroutines shows each parked goroutine's wait reason, name, stack and creator", "[debug]") {
    for (int procs : {1, 2}) {
        CAPTURE(procs);
        goro::run(goro::Config{procs, 0}, [] {
            goro::Chan<int> rc, sc, s1, s2;
            goro::Mutex mu, cmu;
            goro::CondVar cv;
            bool flag = false;
            goro::WaitGroup wg;
            wg.add(1);
            goro::Event ev;
            goro::Event release_task;
            auto task = goro::spawn("slow-task", [&] { release_task.wait(); return 1; });
            mu.lock();
            goro::go("recv-er", [rc] { dumped_chan_recv(rc); });
            goro::go("send-er", [sc] { dumped_chan_send(sc); });
            goro::go("select-er", [s1, s2] { dumped_select(s1, s2); });
            goro::go("sleep-er", [] {
                try {
                    dumped_sleep();
                } catch (const goro::Cancelled&) {
                }
            });
            goro::go("mutex-er", [&mu] { dumped_mutex(mu); });
            goro::go("cond-er", [&] { dumped_cond(cmu, cv, flag); });
            goro::go("wg-er", [&wg] { dumped_waitgroup(wg); });
            goro::go("event-er", [&ev] { dumped_event(ev); });
            goro::go("task-er", [&task] { dumped_task_get(task); });
            goro::sleep_for(50ms);
            std::string d = dump_to_string();
            INFO(d);
            struct Want {
                const char* name;
                const char* reason;
                const char* fn;
            } wants[] = {
                {"recv-er", "[chan receive]", "dumped_chan_recv"},
                {"send-er", "[chan send]", "dumped_chan_send"},
                {"select-er", "[select]", "dumped_select"},
                {"sleep-er", "[sleep]", "dumped_sleep"},
                {"mutex-er", "[sync.Mutex.Lock]", "dumped_mutex"},
                {"cond-er", "[sync.Cond.Wait]", "dumped_cond"},
                {"wg-er", "[sync.WaitGroup.Wait]", "dumped_waitgroup"},
                {"event-er", "[event wait]", "dumped_event"},
                {"task-er", "[task wait]", "dumped_task_get"},
                {"slow-task", "[event wait]", ""},
            };
            for (const Want& w : wants) {
                std::string b = block_named(d, w.name);
                CAPTURE(w.name, b);
                CHECK(b.find(w.reason) != std::string::npos);
                if (*w.fn) CHECK(b.find(w.fn) != std::string::npos);
                CHECK(b.find("created by goroutine 1") != std::string::npos);
            }
            // The caller itself is running, and its own stack shows.
            CHECK(d.find("goroutine 1 [running]:") != std::string::npos);
            // Let everything end.
            mu.unlock();
            rc.send(1);
            (void)sc.recv();
            s1.send(1);
            {
                std::lock_guard lk(cmu);
                flag = true;
            }
            cv.notify_all();
            wg.done();
            ev.set();
            release_task.set();
            goro::sleep_for(20ms);
        });
    }
}

TEST_CASE("dump_goroutines: IO wait and run_blocking", "[debug]") {
    goro::run(goro::Config{2, 0}, [] {
        auto ln = goro::net::TcpListener::listen("127.0.0.1", 0);
        goro::go("acceptor", [&ln] {
            try {
                ln.accept();
            } catch (...) {
            }
        });
        goro::Event stop;
        auto rb = goro::spawn("blocker", [&] { return goro::run_blocking([&] { while (!stop.is_set()) ::usleep(1000); return 0; }); });
        goro::sleep_for(50ms);
        std::string d = dump_to_string();
        INFO(d);
        CHECK(block_named(d, "acceptor").find("[IO wait]") != std::string::npos);
        CHECK(block_named(d, "blocker").find("[run_blocking]") != std::string::npos);
        stop.set();
        rb.get();
        ln.close();
        goro::sleep_for(10ms);
    });
}

TEST_CASE("dump_goroutines while goroutines churn: no crash, whole blocks", "[debug]") {
    goro::run(goro::Config{2, 0}, [] {
        std::atomic<bool> stop{false};
        goro::WaitGroup wg;
        for (int s = 0; s < 2; ++s) {
            wg.add(1);
            goro::go("spawner", [&] {
                while (!stop.load()) {
                    goro::Chan<int> c(1);
                    for (int i = 0; i < 50; ++i) goro::go([c]() mutable { c.send(1); });
                    for (int i = 0; i < 50; ++i) c.recv();
                    goro::yield();
                }
                wg.done();
            });
        }
        for (int i = 0; i < 50; ++i) {
            std::string d = dump_to_string();
            // Every block starts with a header and ends with a blank line.
            std::size_t pos = 0;
            while (pos < d.size()) {
                REQUIRE(d.compare(pos, 10, "goroutine ") == 0);
                auto end = d.find("\n\n", pos);
                REQUIRE(end != std::string::npos);
                pos = end + 2;
            }
        }
        stop = true;
        wg.wait();
    });
}

TEST_CASE("a deadlock prints the dump and names the wait reasons", "[debug]") {
    if (goro_test::skip_fork_under_tsan()) return;
    goro_test::ChildResult r = goro_test::in_child([] {
        int code = 0;
        try {
            goro::run(goro::Config{1, 0}, [] {
                goro::Chan<int> a;
                goro::go("stuck-reader", [a] { dumped_chan_recv(a); });
                a.recv();
            });
        } catch (const goro::Deadlock& e) {
            std::fprintf(stderr, "what: %s\n", e.what());
            code = 3;
        }
        std::fflush(stderr);
        ::_exit(code);
    });
    const std::string& err = r.err;
    const int status = r.status;
    INFO(err);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 3);
    CHECK(err.find("fatal error: all goroutines are asleep - deadlock!") != std::string::npos);
    CHECK(err.find("[chan receive]") != std::string::npos);
    CHECK(err.find("name: stuck-reader") != std::string::npos);
    CHECK(err.find("dumped_chan_recv") != std::string::npos);
    CHECK(err.find("2 goroutines: 2 chan receive") != std::string::npos);
}

TEST_CASE("GORO_DEBUG=sigquit=1: SIGQUIT prints the dump and exits 2", "[debug]") {
    if (goro_test::skip_fork_under_tsan()) return;
    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(pipefd[1], 2);
        ::setenv("GORO_DEBUG", "sigquit=1", 1);
        goro::run(goro::Config{2, 0}, [] {
            goro::Chan<int> a;
            goro::go("quit-waiter", [a] { dumped_chan_recv(a); });
            goro::sleep_for(std::chrono::hours(1));
        });
        ::_exit(0);
    }
    ::close(pipefd[1]);
    ::usleep(300000);
    ::kill(pid, SIGQUIT);
    std::string err;
    char buf[4096];
    for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<std::size_t>(n));
    ::close(pipefd[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    INFO(err);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);
    CHECK(err.find("SIGQUIT: quit") != std::string::npos);
    CHECK(err.find("[sleep]") != std::string::npos);
    CHECK(err.find("name: quit-waiter") != std::string::npos);
    CHECK(err.find("dumped_chan_recv") != std::string::npos);
}

TEST_CASE("GORO_DEBUG: a bad key or value is an invalid_argument naming it", "[debug]") {
    ::setenv("GORO_DEBUG", "sigquit=2", 1);
    CHECK_THROWS_WITH(goro::run([] {}), Catch::Contains("GORO_DEBUG") && Catch::Contains("sigquit"));
    ::setenv("GORO_DEBUG", "gctrace=1", 1);
    CHECK_THROWS_WITH(goro::run([] {}), Catch::Contains("GORO_DEBUG") && Catch::Contains("gctrace"));
    ::unsetenv("GORO_DEBUG");
    CHECK_NOTHROW(goro::run([] {}));
}

TEST_CASE("a panic prints the goroutine's block: name, exception type, created by", "[debug]") {
    if (goro_test::skip_fork_under_tsan()) return;
    goro_test::ChildResult r = goro_test::in_child([] {
        goro::run(goro::Config{1, 0}, [] {
            goro::go("boomer", [] { throw std::logic_error("boom"); });
            goro::sleep_for(std::chrono::seconds(5));
        });
    });
    const std::string& err = r.err;
    const int status = r.status;
    INFO(err);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);
    CHECK(err.find("goro: panic in goroutine 2 (boomer): boom") != std::string::npos);
    CHECK(err.find("exception type: std::logic_error") != std::string::npos);
    CHECK(err.find("goroutine 2 [running]:\nname: boomer\n") != std::string::npos);
    CHECK(err.find("created by goroutine 1") != std::string::npos);
}
