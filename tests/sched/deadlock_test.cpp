// tests/sched/deadlock_test.cpp: run() throws goro::Deadlock only when nothing can wake a goroutine again
// (runtime/sched/quiet_threads.hpp states the rule): every goroutine parked in goro, no timer, no I/O wait,
// no run_blocking job, and every thread outside the runtime quiet (parked in a goro wait, or absent).
//
// The true deadlocks run in a forked child: the child has one thread, so no thread left behind by another
// test (a pool thread, a detached helper) can make the case look alive, and a hang is bounded by the parent.
// The false ones run in this process, with a plain thread that releases the main goroutine after a delay
// longer than the deadlock watch's 300 ms grace; each of them threw Deadlock before the rule counted threads.
#include "test_util.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace {

using namespace std::chrono_literals;

constexpr auto kRelease = 900ms;  // three times the deadlock grace

// Runs body in a forked child; returns its exit status (or -signal), killing it after `limit`.
int in_child(const std::function<int()>& body, std::chrono::seconds limit = std::chrono::seconds(20)) {
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        int rc = 99;
        try {
            rc = body();
        } catch (...) {
            rc = 98;
        }
        ::_exit(rc);
    }
    REQUIRE(pid > 0);
    auto until = std::chrono::steady_clock::now() + limit;
    int status = 0;
    for (;;) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (std::chrono::steady_clock::now() > until) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            FAIL("child did not finish in time (a deadlock not reported?)");
        }
        std::this_thread::sleep_for(10ms);
    }
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return WEXITSTATUS(status);
}

// 0 when run() threw Deadlock, 1 when it returned, 2 on another exception.
int expect_deadlock(int procs, const std::function<void()>& main) {
    try {
        goro::run(goro::Config{procs, 0}, [&] { main(); });
        return 1;
    } catch (const goro::Deadlock&) {
        return 0;
    } catch (...) {
        return 2;
    }
}

}  // namespace

TEST_CASE("deadlock_reported_when_every_goroutine_waits_on_a_channel", "[sched][deadlock]") {
    if (goro_test::kThreadSanitizer) {
        WARN("skipped under TSan: it cannot start threads in a child forked from a threaded process");
        return;
    }
    for (int procs : {1, 2}) {
        INFO("maxprocs " << procs);
        CHECK(in_child([procs] {
                  return expect_deadlock(procs, [] {
                      goro::Chan<int> never;
                      goro::go([never] { never.recv(); });  // a second goroutine asleep too
                      never.recv();
                  });
              }) == 0);
    }
}

TEST_CASE("deadlock_reported_for_a_mutex_cycle_and_a_waitgroup", "[sched][deadlock]") {
    if (goro_test::kThreadSanitizer) {
        WARN("skipped under TSan: it cannot start threads in a child forked from a threaded process");
        return;
    }
    for (int procs : {1, 2}) {
        INFO("maxprocs " << procs);
        CHECK(in_child([procs] {
                  return expect_deadlock(procs, [] {
                      goro::Mutex a, b;
                      goro::Event both_hold;
                      goro::WaitGroup wg;
                      wg.add(2);
                      goro::go([=]() mutable {
                          a.lock();
                          both_hold.wait();
                          b.lock();
                          wg.done();
                      });
                      goro::go([=]() mutable {
                          b.lock();
                          both_hold.set();
                          a.lock();
                          wg.done();
                      });
                      wg.wait();
                  });
              }) == 0);
    }
}

TEST_CASE("deadlock_reported_while_a_plain_thread_is_parked_in_goro_too", "[sched][deadlock]") {
    // The plain thread waits on a goro channel that only the (stuck) main goroutine would send on: it is
    // quiet, so it does not keep the deadlock from being reported.
    if (goro_test::kThreadSanitizer) {
        WARN("skipped under TSan: it cannot start threads in a child forked from a threaded process");
        return;
    }
    for (int procs : {1, 2}) {
        INFO("maxprocs " << procs);
        CHECK(in_child([procs] {
                  goro::Chan<int> to_thread;
                  std::thread t([to_thread] { (void)to_thread.recv(); });
                  int rc = expect_deadlock(procs, [to_thread] {
                      goro::Chan<int> never;
                      never.recv();
                      to_thread.send(1);
                  });
                  to_thread.close();  // let the thread go after run() returned
                  t.join();
                  return rc;
              }) == 0);
    }
}

TEST_CASE("deadlock_reported_once_the_plain_thread_that_could_call_in_has_ended", "[sched][deadlock]") {
    if (goro_test::kThreadSanitizer) {
        WARN("skipped under TSan: it cannot start threads in a child forked from a threaded process");
        return;
    }
    for (int procs : {1, 2}) {
        INFO("maxprocs " << procs);
        CHECK(in_child([procs] {
                  std::thread t([] { std::this_thread::sleep_for(kRelease); });  // never touches goro
                  int rc = expect_deadlock(procs, [] {
                      goro::Chan<int> never;
                      never.recv();
                  });
                  t.join();
                  return rc;
              }) == 0);
    }
}

// ---- no false deadlocks: a plain thread releases the main goroutine after the grace period

TEST_CASE("no_deadlock_when_a_plain_thread_started_before_run_sends_later", "[sched][deadlock]") {
    for (int procs : {1, 2}) {
        goro::Chan<int> ch(1);  // buffered: the thread never blocks, so a wrong Deadlock fails, not hangs
        std::thread t([ch] {
            std::this_thread::sleep_for(kRelease);  // has not touched goro until now
            ch.send(7);
        });
        int got = 0;
        CHECK_NOTHROW(goro::run(goro::Config{procs, 0}, [&] { got = *ch.recv(); }));
        t.join();
        CHECK(got == 7);
    }
}

TEST_CASE("no_deadlock_when_a_thread_started_inside_run_sets_an_event_later", "[sched][deadlock]") {
    for (int procs : {1, 2}) {
        goro::Event ev;
        std::thread t;
        CHECK_NOTHROW(goro::run(goro::Config{procs, 0}, [&] {
            t = std::thread([ev]() mutable {
                std::this_thread::sleep_for(kRelease);
                ev.set();
            });
            ev.wait();
        }));
        t.join();
        CHECK(ev.is_set());
    }
}

TEST_CASE("no_deadlock_when_a_task_waits_on_a_plain_thread", "[sched][deadlock]") {
    for (int procs : {1, 2}) {
        goro::Chan<int> ch(1);
        std::thread t([ch] {
            std::this_thread::sleep_for(kRelease);
            ch.send(5);
        });
        int got = 0;
        CHECK_NOTHROW(goro::run(goro::Config{procs, 0}, [&] {
            auto task = goro::spawn([ch] { return *ch.recv() * 2; });
            got = task.get();
        }));
        t.join();
        CHECK(got == 10);
    }
}

TEST_CASE("no_deadlock_when_a_plain_thread_holds_the_mutex", "[sched][deadlock]") {
    for (int procs : {1, 2}) {
        goro::Mutex mu;
        mu.lock();  // held by this (plain) thread
        std::thread t([&mu] {
            std::this_thread::sleep_for(kRelease);
            mu.unlock();
        });
        bool locked = false;
        CHECK_NOTHROW(goro::run(goro::Config{procs, 0}, [&] {
            mu.lock();
            locked = true;
            mu.unlock();
        }));
        t.join();
        CHECK(locked);
    }
}

TEST_CASE("deadlock_reported_after_an_abandoned_after_channel", "[sched][deadlock]") {
    // An after(1h) channel nobody holds takes its timer with it (Go 1.23), so it no longer counts as
    // something that could wake a goroutine. Before, the pending timer kept the deadlock from being seen
    // for the hour: the child ran out its time limit.
    if (goro_test::kThreadSanitizer) {
        WARN("skipped under TSan: it cannot start threads in a child forked from a threaded process");
        return;
    }
    for (int procs : {1, 2}) {
        INFO("maxprocs " << procs);
        CHECK(in_child([procs] {
                  return expect_deadlock(procs, [] {
                      for (int i = 0; i < 1000; ++i) (void)goro::after(std::chrono::hours(1));
                      goro::select(goro::case_recv(goro::after(std::chrono::hours(1)), [](auto) {}),
                                   goro::case_default());
                      goro::Chan<int> never;
                      never.recv();
                  });
              }) == 0);
    }
}

// A goroutine still running on a P that set_maxprocs (or the monitor's take-back of a spare, monitor.cpp)
// has just retired is not asleep: it leaves its P only at its next scheduling point. Before the watch
// looked at the running goroutines, the one remaining worker went idle with nothing queued, and 300 ms
// later run() threw Deadlock while the goroutine was still computing (a false deadlock seen once in CI
// at maxprocs 2, in chan_cancel_select_races_with_delivery, after a hand-off under load).
TEST_CASE("no_deadlock_while_a_goroutine_computes_on_a_retired_p", "[sched][deadlock]") {
    std::atomic<bool> started{false};
    bool got = false;
    CHECK_NOTHROW(goro::run(goro::Config{2, 0}, [&] {
        goro::Chan<bool> done(1);
        goro::go([&started, done] {
            started.store(true);
            // Plain computation, no goro call: it keeps this P past set_maxprocs(1).
            auto until = std::chrono::steady_clock::now() + kRelease;
            while (std::chrono::steady_clock::now() < until) {
            }
            done.send(true);
        });
        // Keep this worker busy until the other one has taken the goroutine: it then runs on P 1.
        while (!started.load()) {
        }
        goro::set_maxprocs(1);
        got = *done.recv();
    }));
    CHECK(got);
}
