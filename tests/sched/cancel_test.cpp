// tests/sched/cancel_test.cpp: the end of run() (<goro/runtime.hpp>; Cancelled in <goro/errors.hpp>): every goroutine still
// alive is cancelled from the blocking call it is parked in (or its next one), is cancelled again each time
// it parks until it ends, never while an exception unwinds its stack, and has fully unwound before run()
// returns.
#include "test_util.hpp"

#include <thread>

using namespace goro_test;

namespace {

// Leftovers holds what outlives the run: the primitives the leftovers park on, and the counters.
struct Leftovers {
    LiveCount frames;                   // a Tracked in each leftover's frame
    std::atomic<int> parked{0};         // leftovers about to park
    std::atomic<int> saw_cancelled{0};  // leftovers that caught Cancelled (and rethrew it)
    std::atomic<int> other_outcome{0};  // leftovers that ended any other way
    std::atomic<int> cv_lock_not_held{0};
    goro::WaitGroup never_done;
    goro::Mutex held;
    goro::Event never_set;
    goro::Mutex cv_mu;
    goro::CondVar cv;
    goro::Semaphore empty{0};

    Leftovers() { never_done.add(1); }
};

// leftover() starts a goroutine that parks through `park` and reports how it ended.
template <class Park>
void leftover(Leftovers& s, Park park) {
    goro::go([&s, park] {
        Tracked t(s.frames);
        try {
            s.parked.fetch_add(1);
            park();
            s.other_outcome.fetch_add(1);
        } catch (const goro::Cancelled&) {
            s.saw_cancelled.fetch_add(1);
            throw;  // a Cancelled escaping a goroutine ends it quietly
        } catch (...) {
            s.other_outcome.fetch_add(1);
        }
    });
}

}  // namespace

TEST_CASE("run_cancels_leftovers_and_runs_their_destructors", "[sched][cancel]") {
    for (int procs : default_procs()) {
        INFO("maxprocs = " << procs);
        Leftovers s;
        const int per_kind = 3;
        const int kinds = 6;
        run_at(procs, [&] {
            CHECK(goro::num_goroutines() == 1);
            // The holder of `held` parks too; the lockers park behind it.
            leftover(s, [&s] {
                std::lock_guard<goro::Mutex> g(s.held);
                goro::sleep_for(1h);
            });
            CHECK(eventually([&] { return s.parked.load() == 1; }));
            goro::sleep_for(2ms);
            for (int i = 0; i < per_kind; ++i) {
                leftover(s, [] { goro::sleep_for(1h); });
                leftover(s, [&s] { s.never_done.wait(); });
                leftover(s, [&s] {
                    std::lock_guard<goro::Mutex> g(s.held);  // if it gets the lock, it parks again below
                    goro::sleep_for(1h);
                });
                leftover(s, [&s] { s.never_set.wait(); });
                leftover(s, [&s] {
                    std::unique_lock<goro::Mutex> lk(s.cv_mu);
                    try {
                        s.cv.wait(lk);
                    } catch (const goro::Cancelled&) {
                        // <goro/sync.hpp>: after a cancelled CondVar::wait the lock is held again.
                        if (!lk.owns_lock() || s.cv_mu.try_lock()) s.cv_lock_not_held.fetch_add(1);
                        throw;
                    }
                });
                leftover(s, [&s] { s.empty.acquire(); });
            }
            const int total = 1 + per_kind * kinds;
            CHECK(eventually([&] { return s.parked.load() == total; }));
            goro::sleep_for(5ms);  // let them reach their parking calls
            CHECK(goro::num_goroutines() == static_cast<std::size_t>(1 + total));
            CHECK(s.frames.live.load() == total);
        });
        const int total = 1 + per_kind * kinds;
        // Before run() returned, every leftover was cancelled and unwound.
        CHECK(s.frames.live.load() == 0);
        CHECK(s.frames.destroyed.load() == total);
        CHECK(s.saw_cancelled.load() == total);
        CHECK(s.other_outcome.load() == 0);
        CHECK(s.cv_lock_not_held.load() == 0);
    }
}

TEST_CASE("run_destroys_captures_of_never_started_goroutines", "[sched][cancel]") {
    // Goroutines still queued when the main one returns: their callables (and captures) are destroyed
    // before run() returns, whether they ran (and were cancelled) or never started.
    for (int procs : default_procs()) {
        INFO("maxprocs = " << procs);
        LiveCount captures;
        std::atomic<int> finished_normally{0};
        run_at(procs, [&] {
            for (int i = 0; i < 1000; ++i) {
                goro::go([&, t = Tracked(captures)] {
                    goro::sleep_for(1h);
                    finished_normally.fetch_add(1);
                });
            }
        });
        CHECK(captures.live.load() == 0);
        CHECK(finished_normally.load() == 0);
    }
}

TEST_CASE("cancelled_leftover_that_catches_is_cancelled_again_each_park", "[sched][cancel]") {
    for (int procs : {1, 2, 4}) {
        INFO("maxprocs = " << procs);
        std::atomic<int> cancels{0};
        std::atomic<int> slept_through{0};
        std::atomic<bool> parked{false};
        std::atomic<bool> ended{false};
        goro::WaitGroup never;
        never.add(1);
        auto t0 = Clock::now();
        run_at(procs, [&] {
            goro::go([&] {
                parked = true;
                try {
                    goro::sleep_for(1h);
                } catch (const goro::Cancelled&) {
                    cancels.fetch_add(1);
                }
                // Blocking again after catching: each park is cancelled again, until the goroutine ends.
                for (int i = 0; i < 3; ++i) {
                    try {
                        goro::sleep_for(10s);
                        slept_through.fetch_add(1);
                    } catch (const goro::Cancelled&) {
                        cancels.fetch_add(1);
                    }
                }
                try {
                    never.wait();
                    slept_through.fetch_add(1);
                } catch (const goro::Cancelled&) {
                    cancels.fetch_add(1);
                }
                try {
                    goro::sleep_for(1ms);
                    slept_through.fetch_add(1);
                } catch (const goro::Cancelled&) {
                    cancels.fetch_add(1);
                }
                ended = true;
            });
            CHECK(eventually([&] { return parked.load(); }));
            goro::sleep_for(2ms);
        });
        auto took = Clock::now() - t0;
        CHECK(ended.load());
        CHECK(cancels.load() == 6);
        CHECK(slept_through.load() == 0);
        CHECK(took < 9s);
    }
}

namespace {

// SleepyDestructor sleeps in its destructor and records whether the sleep completed.
struct SleepyDestructor {
    std::atomic<int>* completed;
    std::atomic<int>* cancelled_in_dtor;
    std::atomic<int>* unwinding_seen;
    ~SleepyDestructor() {
        if (std::uncaught_exceptions() > 0) unwinding_seen->fetch_add(1);
        auto t0 = Clock::now();
        try {
            goro::sleep_for(20ms);
            if (Clock::now() - t0 >= 20ms) completed->fetch_add(1);
        } catch (const goro::Cancelled&) {
            cancelled_in_dtor->fetch_add(1);
        }
    }
};

}  // namespace

TEST_CASE("no_cancel_while_unwinding_destructor_may_block", "[sched][cancel]") {
    for (int procs : {1, 2, 4}) {
        INFO("maxprocs = " << procs);
        std::atomic<int> completed{0}, cancelled_in_dtor{0}, unwinding_seen{0};
        std::atomic<int> user_caught{0}, final_cancel{0}, parked{0};
        run_at(procs, [&] {
            for (int i = 0; i < 10; ++i) {
                goro::go([&] {
                    try {
                        // Unwinding from the end-of-run Cancelled: the destructor's sleep completes.
                        SleepyDestructor d{&completed, &cancelled_in_dtor, &unwinding_seen};
                        parked.fetch_add(1);
                        goro::sleep_for(1h);
                    } catch (const goro::Cancelled&) {
                    }
                    try {
                        // Unwinding from a user exception while a cancellation is due: the same.
                        SleepyDestructor d{&completed, &cancelled_in_dtor, &unwinding_seen};
                        throw std::runtime_error("user");
                    } catch (const std::runtime_error&) {
                        user_caught.fetch_add(1);
                    }
                    try {
                        goro::sleep_for(1h);  // no longer unwinding: cancelled again
                    } catch (const goro::Cancelled&) {
                        final_cancel.fetch_add(1);
                    }
                });
            }
            CHECK(eventually([&] { return parked.load() == 10; }));
            goro::sleep_for(2ms);
        });
        CHECK(unwinding_seen.load() == 20);
        CHECK(completed.load() == 20);
        CHECK(cancelled_in_dtor.load() == 0);
        CHECK(user_caught.load() == 10);
        CHECK(final_cancel.load() == 10);
    }
}

TEST_CASE("cancelled_is_a_goro_error", "[sched][cancel]") {
    std::atomic<int> as_error{0};
    run_at(2, [&] {
        goro::go([&] {
            try {
                goro::sleep_for(1h);
            } catch (const goro::Error& e) {
                if (dynamic_cast<const goro::Cancelled*>(&e) != nullptr) as_error.fetch_add(1);
            }
        });
        goro::sleep_for(2ms);
    });
    CHECK(as_error.load() == 1);
}

TEST_CASE("leftover_spinning_on_yield_ends_at_next_park", "[sched][cancel]") {
    // A leftover busy when the main goroutine returns is cancelled once it blocks, and run() waits for it.
    for (int procs : {1, 2}) {
        INFO("maxprocs = " << procs);
        std::atomic<int> cancelled{0};
        std::atomic<bool> running{false};
        run_at(procs, [&] {
            goro::go([&] {
                running = true;
                try {  // whether yield() is a cancellation point is not fixed: catch it either way
                    auto until = Clock::now() + 30ms;
                    while (Clock::now() < until) goro::yield();
                    goro::sleep_for(1h);
                } catch (const goro::Cancelled&) {
                    cancelled.fetch_add(1);
                }
            });
            CHECK(eventually([&] { return running.load(); }));
        });
        CHECK(cancelled.load() == 1);
    }
}

namespace {

// requested_while_running() runs `call` in a task whose cancellation is requested (by a plain thread, so
// that it works at one worker too) while the task computes without blocking; `call` is its first blocking
// call after that. Returns how the call ended: "cancelled", "returned", or "other".
template <class Call>
std::string requested_while_running(Call call) {
    std::atomic<bool> running{false}, requested{false};
    auto t = goro::spawn([&]() -> std::string {
        running = true;
        while (!requested.load()) {
        }  // busy: no park, no blocking call
        try {
            call();
            return "returned";
        } catch (const goro::Cancelled&) {
            return "cancelled";
        } catch (...) {
            return "other";
        }
    });
    std::thread canceller([&] {
        while (!running.load()) std::this_thread::yield();
        t.cancel();
        requested = true;
    });
    std::string how = t.get();
    canceller.join();
    return how;
}

}  // namespace

// The contract (Cancelled, <goro/errors.hpp>): "Cancellation is one request, delivered once: the next blocking call (or the current one) throws
// Cancelled" — also a blocking call that could complete at once, without parking. (Before, such calls
// completed and the request waited for a call that parked.)
TEST_CASE("a_request_is_delivered_by_the_next_blocking_call_even_one_that_would_not_park", "[sched][cancel]") {
    for_each_maxprocs([](int) {
        goro::Chan<int> full(1);
        full.send(7);
        CHECK(requested_while_running([&] { full.recv(); }) == "cancelled");
        CHECK(full.size() == 1);  // the value was not taken
        goro::Chan<int> room(1);
        CHECK(requested_while_running([&] { room.send(1); }) == "cancelled");
        CHECK(room.size() == 0);  // nothing was sent
        CHECK(requested_while_running([&] { goro::select(goro::case_recv(full, [](std::optional<int>) {})); }) ==
              "cancelled");
        CHECK(full.size() == 1);
        goro::Mutex mu;
        CHECK(requested_while_running([&] { mu.lock(); }) == "cancelled");
        CHECK(mu.try_lock());  // not taken by the cancelled call
        mu.unlock();
        goro::Semaphore sem(1);
        CHECK(requested_while_running([&] { sem.acquire(); }) == "cancelled");
        CHECK(sem.available() == 1);
        goro::WaitGroup zero;
        CHECK(requested_while_running([&] { zero.wait(); }) == "cancelled");
        goro::Event set;
        set.set();
        CHECK(requested_while_running([&] { set.wait(); }) == "cancelled");
        auto done = goro::spawn([] { return 1; });
        CHECK(done.get() == 1);
        CHECK(requested_while_running([&] { done.get(); }) == "cancelled");
        CHECK(requested_while_running([&] { goro::gather(done); }) == "cancelled");
        CHECK(requested_while_running([&] { goro::wait(std::vector{done}); }) == "cancelled");
        CHECK(requested_while_running([&] { goro::wait_for(done, 1s); }) == "cancelled");
        CHECK(requested_while_running([&] {
                  for (auto& t : goro::as_completed(std::vector{done})) (void)t;
              }) == "cancelled");
        // Calls that never block are not cancellation points; the request waits for the next blocking one.
        bool nonblocking_ok = false;
        CHECK(requested_while_running([&] {
                  std::optional<int> v = full.try_recv();
                  bool ok = v.has_value() && full.try_send(*v) && !full.try_send(1);
                  std::optional<int> got;
                  goro::select(goro::case_recv(full, [&](std::optional<int> x) { got = x; }),
                               goro::case_default([] {}));
                  ok = ok && got.has_value() && full.try_send(*got);
                  ok = ok && mu.try_lock();
                  mu.unlock();
                  ok = ok && sem.try_acquire();
                  sem.release();
                  ok = ok && done.done();
                  nonblocking_ok = ok;
                  goro::Event never;
                  never.wait();  // and here it arrives
              }) == "cancelled");
        CHECK(nonblocking_ok);
        CHECK(full.size() == 1);
        // Delivered once: after catching it, the same calls complete normally.
        bool delivered = false;
        CHECK(requested_while_running([&] {
                  try {
                      full.recv();
                  } catch (const goro::Cancelled&) {
                      delivered = true;
                  }
                  full.send(full.recv().value());
                  mu.lock();
                  mu.unlock();
                  done.get();
              }) == "returned");
        CHECK(delivered);
        CHECK(full.size() == 1);
    });
}

// A leftover that loops over blocking calls which never need to park (a channel it both fills and drains)
// used to keep run() waiting forever at the end; now its next call throws Cancelled. (At one worker such a
// loop never lets the main goroutine run again, there being no preemption: two workers and up.)
TEST_CASE("leftover_looping_on_calls_that_never_park_ends_at_shutdown", "[sched][cancel]") {
    for (int procs : {2, 4}) {
        INFO("maxprocs = " << procs);
        std::atomic<long> rounds{0};
        std::atomic<int> cancelled{0};
        std::atomic<bool> finished{false};
        std::thread watchdog([&] {
            auto until = Clock::now() + 60s;
            while (!finished.load() && Clock::now() < until) std::this_thread::sleep_for(10ms);
            if (!finished.load()) {
                std::fprintf(stderr, "run() did not return within 60 s: the leftover was never cancelled\n");
                std::abort();
            }
        });
        run_at(procs, [&] {
            goro::go([&] {
                goro::Chan<int> ch(1);
                goro::Mutex mu;
                try {
                    for (;;) {
                        ch.send(1);
                        ch.recv();
                        std::lock_guard lk(mu);
                        rounds.fetch_add(1, std::memory_order_relaxed);
                    }
                } catch (const goro::Cancelled&) {
                    cancelled.fetch_add(1);
                }
            });
            CHECK(eventually([&] { return rounds.load() > 1000; }));
        });
        finished = true;
        watchdog.join();
        CHECK(cancelled.load() == 1);
    }
}

// g_requests_pending (detail/park.hpp) counts undelivered requests so that the entry checks cost one load
// when there are none: after a runtime whose goroutines were cancelled in every way (delivered, never
// delivered because the goroutine ended first, repeated, at shutdown), it must be back to zero, or every
// blocking call in the process would take the slow path from then on.
TEST_CASE("undelivered_cancellation_requests_are_not_left_counted", "[sched][cancel]") {
    for_each_maxprocs([](int) {
        goro::Chan<int> never;
        auto parked = goro::spawn([&] { never.recv(); });
        goro::sleep_for(1ms);
        parked.cancel();
        parked.cancel();  // repeated before delivery: one request
        CHECK_THROWS_AS(parked.get(), goro::Cancelled);
        // Requested while it computes, and it ends without another blocking call: never delivered.
        CHECK(requested_while_running([] {}) == "returned");
        goro::go([never] { never.recv(); });  // a leftover, cancelled at shutdown (holds its own copy)
        goro::sleep_for(1ms);
    });
    CHECK(goro::detail::g_requests_pending.load() == 0);
}
