// Timeout scopes: goro::timeout(d, fn) and timeout_at(t, fn), with the cases
// of CPython's Lib/test/test_asyncio/test_timeouts.py that apply (nested
// scopes, a body that catches the cancellation, an outer cancellation,
// scopes after a caught cancellation, deadlines already past), at maxprocs 1
// and 2, and from a plain thread.
#include "../test_util.hpp"

#include <goro/goro.hpp>

#include <random>
#include <stdexcept>

using namespace std::chrono_literals;
using goro_test::for_each_maxprocs;
using goro_test::scale;

namespace {

// Spins without a goro call (no cancellation point) for d.
void spin_for(std::chrono::nanoseconds d) {
    auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
    }
}

// A cancellation request left pending for the caller would make this throw.
bool still_not_cancelled() {
    try {
        goro::sleep_for(0ms);
        goro::sleep_for(100us);
        return true;
    } catch (const goro::Cancelled&) {
        return false;
    }
}

}  // namespace

TEST_CASE("timeout_turns_its_own_cancellation_into_Timeout", "[task][timeout]") {
    for_each_maxprocs({1, 2}, [](int) {
        auto t0 = std::chrono::steady_clock::now();
        CHECK_THROWS_AS(goro::timeout(10ms, [] { goro::sleep_for(10s); }), goro::Timeout);
        CHECK(std::chrono::steady_clock::now() - t0 < 5s);
        CHECK(still_not_cancelled());

        // In time: the value, and no request left behind.
        CHECK(goro::timeout(5s, [] { return 42; }) == 42);
        int x = 7;
        int& ref = goro::timeout(5s, [&]() -> int& { return x; });
        CHECK(&ref == &x);
        auto moved = goro::timeout(5s, [] { return std::make_unique<int>(3); });
        CHECK(*moved == 3);
        CHECK(still_not_cancelled());

        // A channel receive is cancelled the same way as a sleep.
        goro::Chan<int> never;
        CHECK_THROWS_AS(goro::timeout(5ms, [&] { return never.recv(); }), goro::Timeout);

        // No end: runs as if there were no scope.
        CHECK(goro::timeout(std::chrono::hours::max(), [] {
                  goro::sleep_for(1ms);
                  return 1;
              }) == 1);
    });
}

TEST_CASE("timeout_deadline_already_past_cancels_at_the_first_blocking_call", "[task][timeout]") {
    for_each_maxprocs({1, 2}, [](int) {
        bool reached_first_call = false;
        CHECK_THROWS_AS(goro::timeout(0ms,
                                      [&] {
                                          reached_first_call = true;
                                          goro::sleep_for(10s);
                                      }),
                        goro::Timeout);
        CHECK(reached_first_call);
        CHECK_THROWS_AS(goro::timeout_at(std::chrono::system_clock::now() - 1s, [] { goro::sleep_for(10s); }),
                        goro::Timeout);
        CHECK_THROWS_AS(goro::timeout(-5s, [] { goro::sleep_for(10s); }), goro::Timeout);

        // The request was made, but the body never blocked: it is withdrawn,
        // and neither the scope nor the code after it is cancelled.
        CHECK(goro::timeout(0ms, [] { return 5; }) == 5);
        CHECK(still_not_cancelled());
    });
}

TEST_CASE("timeout_expired_while_the_body_spins_is_withdrawn", "[task][timeout]") {
    for_each_maxprocs({1, 2}, [](int) {
        // The deadline passes while the body computes without a goro call:
        // at two workers the other one fires the timer; the request is never
        // delivered, and the scope takes it back at its exit.
        CHECK(goro::timeout(1ms,
                            [] {
                                spin_for(20ms);
                                return 9;
                            }) == 9);
        CHECK(still_not_cancelled());
    });
}

TEST_CASE("timeout_nested_scopes_follow_asyncio", "[task][timeout]") {
    for_each_maxprocs({1, 2}, [](int) {
        // Both expire (asyncio test_nested_timeouts): the outer scope throws
        // Timeout; the inner one passed the Cancelled on.
        bool inner_passed_cancelled = false;
        CHECK_THROWS_AS(goro::timeout(5ms,
                                      [&] {
                                          try {
                                              goro::timeout(5ms, [] { goro::sleep_for(10s); });
                                          } catch (const goro::Cancelled&) {
                                              inner_passed_cancelled = true;
                                              throw;
                                          }
                                      }),
                        goro::Timeout);
        CHECK(inner_passed_cancelled);

        // Only the inner one expires: it throws Timeout, which the outer body
        // may catch; the outer scope then returns normally.
        int r = goro::timeout(10s, [] {
            try {
                goro::timeout(5ms, [] { goro::sleep_for(10s); });
                return 0;
            } catch (const goro::Timeout&) {
                return 1;
            }
        });
        CHECK(r == 1);

        // Only the outer one expires: the inner scope (not expired) must not
        // claim it.
        bool inner_saw_cancelled = false;
        CHECK_THROWS_AS(goro::timeout(5ms,
                                      [&] {
                                          try {
                                              goro::timeout(10s, [] { goro::sleep_for(10s); });
                                          } catch (const goro::Timeout&) {
                                              FAIL("the inner scope claimed the outer one's deadline");
                                          } catch (const goro::Cancelled&) {
                                              inner_saw_cancelled = true;
                                              throw;
                                          }
                                      }),
                        goro::Timeout);
        CHECK(inner_saw_cancelled);
        CHECK(still_not_cancelled());
    });
}

TEST_CASE("timeout_body_that_catches_or_throws_keeps_its_outcome", "[task][timeout]") {
    for_each_maxprocs({1, 2}, [](int) {
        // It catches the cancellation and returns: the value (asyncio: no
        // TimeoutError when the body swallowed the CancelledError).
        int r = goro::timeout(5ms, [] {
            try {
                goro::sleep_for(10s);
            } catch (const goro::Cancelled&) {
                return -1;
            }
            return 0;
        });
        CHECK(r == -1);
        CHECK(still_not_cancelled());

        // It turns the cancellation into its own exception: that one passes
        // (asyncio test_foreign_exception_passed).
        CHECK_THROWS_AS(goro::timeout(5ms,
                                      [] {
                                          try {
                                              goro::sleep_for(10s);
                                          } catch (const goro::Cancelled&) {
                                              throw std::runtime_error("mine");
                                          }
                                      }),
                        std::runtime_error);
        CHECK(still_not_cancelled());
    });
}

TEST_CASE("timeout_outer_cancellation_stays_Cancelled", "[task][timeout]") {
    for_each_maxprocs({1, 2}, [](int) {
        // Cancelled from outside before the deadline (asyncio
        // test_foreign_cancel_doesnt_timeout_if_not_expired).
        goro::Chan<int> started(1);
        auto t = goro::spawn([started] {
            goro::timeout(10s, [&] {
                started.send(1);
                goro::sleep_for(10s);
            });
        });
        started.recv();
        t.cancel();
        CHECK_THROWS_AS(t.get(), goro::Cancelled);

        // Cancelled from outside after the deadline, before the scope ended:
        // two requests, one taken back; the other one's Cancelled passes.
        goro::Chan<int> expired(1), gate;
        auto u = goro::spawn([expired, gate] {
            goro::timeout(1ms, [&] {
                try {
                    goro::sleep_for(10s);
                } catch (const goro::Cancelled&) {
                    expired.send(1);
                    gate.recv();  // the outer cancel ends this
                }
            });
            return 0;
        });
        expired.recv();
        u.cancel();
        CHECK_THROWS_AS(u.get(), goro::Cancelled);
    });
}

TEST_CASE("timeout_after_a_caught_cancellation", "[task][timeout]") {
    for_each_maxprocs({1, 2}, [](int) {
        // asyncio test_timeout_after_cancellation: a goroutine that caught a
        // cancellation still gets Timeout from a later scope.
        goro::Chan<int> started(1);
        goro::Chan<int> never;
        auto t = goro::spawn([started, never] {
            try {
                started.send(1);
                never.recv();
            } catch (const goro::Cancelled&) {
            }
            try {
                goro::timeout(0ms, [] { goro::sleep_for(10s); });
                return 0;
            } catch (const goro::Timeout&) {
                return 1;
            }
        });
        started.recv();
        t.cancel();
        CHECK(t.get() == 1);

        // asyncio test_cancel_in_timeout_after_cancellation: a cancellation
        // made inside the scope, not by it, stays Cancelled.
        goro::Chan<goro::Task<int>> self(1);
        goro::Chan<int> started2(1);
        auto v = goro::spawn([self, started2, never] {
            try {
                started2.send(1);
                never.recv();
            } catch (const goro::Cancelled&) {
            }
            goro::Task<int> me = *self.recv();
            goro::timeout(10s, [&] {
                me.cancel();
                goro::sleep_for(10s);
            });
            return 0;
        });
        started2.recv();
        v.cancel();
        self.send(v);
        CHECK_THROWS_AS(v.get(), goro::Cancelled);
    });
}

TEST_CASE("timeout_from_a_plain_thread_runs_the_body_on_a_goroutine", "[task][timeout]") {
    for_each_maxprocs({1, 2}, [](int) {
        bool timed_out = false;
        int value = 0;
        std::thread plain([&] {
            try {
                goro::timeout(5ms, [] {
                    goro::sleep_for(10s);
                    return 0;
                });
            } catch (const goro::Timeout&) {
                timed_out = true;
            }
            value = goro::timeout(10s, [] { return 11; });
        });
        goro::run_blocking([&] { plain.join(); });
        CHECK(timed_out);
        CHECK(value == 11);
    });
}

TEST_CASE("timeout_scopes_racing_their_deadlines_leave_no_request_behind", "[task][timeout][stress]") {
    for_each_maxprocs({1, 2}, [](int procs) {
        // Deadlines and bodies of about the same length, so that the timer
        // fires before, during and after the body's end, on the other worker
        // at maxprocs 2. Whatever the outcome, the request is the scope's
        // only: after it, nothing is cancelled.
        std::mt19937 rng(procs);
        int timeouts = 0, in_time = 0, leaked = 0;
        const int rounds = scale(3000);
        for (int i = 0; i < rounds; ++i) {
            auto d = std::chrono::microseconds(rng() % 60);
            auto work = std::chrono::microseconds(rng() % 60);
            bool park = rng() % 2;
            try {
                goro::timeout(d, [&] {
                    if (park) goro::sleep_for(work);
                    else spin_for(work);
                });
                ++in_time;
            } catch (const goro::Timeout&) {
                ++timeouts;
            }
            if (goro::detail::cancel_pending()) ++leaked;
            try {
                goro::yield();
            } catch (const goro::Cancelled&) {
                ++leaked;
            }
        }
        CHECK(leaked == 0);
        CHECK(timeouts + in_time == rounds);
        CHECK(timeouts > 0);
        CHECK(in_time > 0);
    });
}
