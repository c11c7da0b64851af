// tests/chan/cancel_test.cpp: cancelling a goroutine parked in send, recv or select (Task::cancel(), and the
// end of goro::run) leaves the channel consistent: buffered content intact, no value lost or duplicated, and
// later send/recv pairs complete.
#include "test_util.hpp"

#include <thread>
#include <vector>

using namespace goro_test;

namespace {

template <class R>
bool ended_cancelled(const goro::Task<R>& t) {
    try {
        t.get();
    } catch (const goro::Cancelled&) {
        return true;
    }
    return false;
}

// parked(t): the task has not finished after a short while (it is parked, as far as can be told).
template <class R>
bool parked(const goro::Task<R>& t) {
    return stays([&] { return !t.done(); }, 20ms);
}

// pairs_ok(ch, v): a send from another goroutine pairs with a recv here.
bool pairs_ok(goro::Chan<int> ch, int v) {
    goro::go([ch, v] { ch.send(v); });
    auto got = ch.recv();
    return got && *got == v;
}

}  // namespace

TEST_CASE("chan_cancel_parked_send_keeps_buffer", "[chan][cancel]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Chan<int> ch(2);
        ch.send(1);
        ch.send(2);
        auto t = goro::spawn([ch] { ch.send(3); });
        CHECK(parked(t));
        CHECK(t.cancel());
        CHECK(ended_cancelled(t));
        CHECK(t.cancelled());
        CHECK(ch.size() == 2);
        CHECK(ch.recv() == 1);
        CHECK(ch.recv() == 2);
        CHECK_FALSE(ch.try_recv());  // the cancelled sender's 3 never went in
        ch.send(4);
        ch.send(5);
        CHECK_FALSE(ch.try_send(6));  // no ghost room
        CHECK(ch.recv() == 4);
        CHECK(ch.recv() == 5);

        // Unbuffered: the cancelled sender's value is not received later.
        goro::Chan<int> u;
        auto t2 = goro::spawn([u] { u.send(7); });
        CHECK(parked(t2));
        t2.cancel();
        CHECK(ended_cancelled(t2));
        CHECK_FALSE(u.try_recv());
        CHECK(pairs_ok(u, 8));
        CHECK_FALSE(u.try_recv());
    });
}

TEST_CASE("chan_cancel_parked_recv", "[chan][cancel]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Chan<int> u;
        auto t = goro::spawn([u] { return u.recv().value_or(-1); });
        CHECK(parked(t));
        t.cancel();
        CHECK(ended_cancelled(t));
        CHECK_FALSE(u.try_send(1));  // no receiver waits any more
        CHECK(pairs_ok(u, 2));

        goro::Chan<int> b(3);
        auto t2 = goro::spawn([b] { return b.recv().value_or(-1); });
        CHECK(parked(t2));
        t2.cancel();
        CHECK(ended_cancelled(t2));
        b.send(10);
        b.send(11);
        CHECK(b.size() == 2);  // the cancelled receiver took nothing
        CHECK(b.recv() == 10);
        CHECK(b.recv() == 11);
    });
}

TEST_CASE("chan_cancel_parked_select", "[chan][cancel]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Chan<int> a, b(1), c(1);
        c.send(100);  // c full: the send case parks
        auto t = goro::spawn([=] {
            return static_cast<int>(goro::select(goro::case_recv(a), goro::case_recv(b), goro::case_send(c, 5)));
        });
        CHECK(parked(t));
        t.cancel();
        CHECK(ended_cancelled(t));
        CHECK_FALSE(a.try_send(1));  // no stale receiver on a
        CHECK(b.try_send(1));        // b's value stays in b
        CHECK(b.size() == 1);
        CHECK(b.recv() == 1);
        CHECK(c.size() == 1);
        CHECK(c.recv() == 100);
        CHECK_FALSE(c.try_recv());  // the select's 5 never went in
        CHECK(pairs_ok(a, 3));
        CHECK(pairs_ok(b, 4));
        CHECK(pairs_ok(c, 6));
    });
}

// A cancel racing with a value arriving: either the parked goroutine got the value (and its task returns it)
// or it was cancelled and the value is still there for someone else. Never both, never neither.
TEST_CASE("chan_cancel_races_with_delivery", "[chan][cancel]") {
    const int iterations = static_cast<int>(scale(3000));
    for_each_maxprocs({1, 2}, [&](int) {
        long lost = 0, duplicated = 0, got_by_task = 0, got_by_main = 0;
        for (int i = 0; i < iterations; ++i) {
            goro::Chan<int> ch;
            auto t = goro::spawn([ch] { return ch.recv().value_or(-1); });
            if (i % 3 == 0) goro::yield();
            goro::Chan<int> sent(1);
            goro::go([ch, sent, i] {
                try {
                    ch.send(i);
                    sent.send(1);
                } catch (const goro::ChannelClosed&) {
                    sent.send(0);
                }
            });
            if (i % 2 == 0) goro::yield();
            t.cancel();
            bool task_has_it = false;
            try {
                task_has_it = t.get() == i;
            } catch (const goro::Cancelled&) {
            }
            if (task_has_it) {
                ++got_by_task;
                if (sent.recv() != 1) ++lost;
                if (ch.try_recv()) ++duplicated;
            } else {
                // The sender is still blocked with its value: receive it here.
                auto v = ch.recv();
                if (v == i) ++got_by_main;
                else ++lost;
                if (sent.recv() != 1) ++lost;
            }
        }
        INFO("task got " << got_by_task << ", main got " << got_by_main);
        CHECK(lost == 0);
        CHECK(duplicated == 0);
        CHECK(got_by_task + got_by_main == iterations);
    });
}

// Until the fix in runtime/sched/g.hpp ("Why queued and running share one state"), about 1 run of [chan]
// in 15 at maxprocs 2 ended here with a false Deadlock: the task, made runnable by cancel(), missed the
// sender's delivery to its select and parked for good.
TEST_CASE("chan_cancel_select_races_with_delivery", "[chan][cancel]") {
    const int iterations = static_cast<int>(scale(3000));
    for_each_maxprocs({1, 2}, [&](int) {
        long bad = 0, task_wins = 0;
        for (int i = 0; i < iterations; ++i) {
            goro::Chan<int> a, b;
            auto t = goro::spawn([a, b] {
                int got = -1;
                goro::select(goro::case_recv(a, [&](std::optional<int> v) { got = *v; }),
                             goro::case_recv(b, [&](std::optional<int> v) { got = *v; }));
                return got;
            });
            goro::WaitGroup wg;
            wg.add(2);
            goro::go([a, &wg] {
                a.send(1);
                wg.done();
            });
            goro::go([b, &wg] {
                b.send(2);
                wg.done();
            });
            if (i % 2) goro::yield();
            t.cancel();
            int got = -1;
            try {
                got = t.get();
            } catch (const goro::Cancelled&) {
            }
            // Collect what the task did not take: each value exactly once overall.
            int have = 0;
            if (got == 1 || got == 2) {
                ++task_wins;
                have |= got;
            } else if (got != -1) {
                ++bad;
            }
            if (!(have & 1)) {
                if (a.recv() == 1) have |= 1;
                else ++bad;
            }
            if (!(have & 2)) {
                if (b.recv() == 2) have |= 2;
                else ++bad;
            }
            wg.wait();
            if (have != 3 || a.try_recv() || b.try_recv()) ++bad;
        }
        INFO("task won " << task_wins << " of " << iterations);
        CHECK(bad == 0);
    });
}

// Two wake-ups of one goroutine at once: a cancellation makes a goroutine parked in select runnable, and
// a sender on another worker completes one of its cases and wakes it too. The second waker finds the
// goroutine already queued or running; its delivery must still be seen before the goroutine parks
// again. Many such triples run at once so that the wakers meet often. A lost wake-up shows as a
// goroutine that never ends (run() throws Deadlock); a lost or doubled value as a wrong sum. (The race
// fixed in runtime/sched/g.hpp is a window of a cache miss: this test did not hit it in 10 runs before
// the fix; chan_cancel_select_races_with_delivery above did, about once in 15-40 runs of [chan].)
TEST_CASE("select_woken_by_cancel_and_delivery_at_once_misses_neither", "[chan][cancel][stress]") {
    const int rounds = static_cast<int>(scale(1000));
    constexpr int kAtOnce = 32;
    for_each_maxprocs({1, 2}, [&](int) {
        long delivered = 0, task_wins = 0;
        for (int r = 0; r < rounds; ++r) {
            std::vector<goro::Chan<int>> as, bs;
            std::vector<goro::Task<int>> tasks;
            goro::WaitGroup senders;  // the senders and the canceller
            for (int k = 0; k < kAtOnce; ++k) {
                goro::Chan<int> a, b;
                as.push_back(a);
                bs.push_back(b);
                tasks.push_back(goro::spawn([a, b] {
                    int got = 0;
                    goro::select(goro::case_recv(a, [&](std::optional<int> v) { got = *v; }),
                                 goro::case_recv(b, [&](std::optional<int> v) { got = *v; }));
                    return got;
                }));
            }
            // The senders and the canceller start together, each on whichever worker takes it.
            senders.add(2 * kAtOnce);
            for (int k = 0; k < kAtOnce; ++k) {
                goro::go([a = as[k], &senders] {
                    a.send(1);
                    senders.done();
                });
                goro::go([b = bs[k], &senders] {
                    b.send(2);
                    senders.done();
                });
            }
            senders.add(1);
            goro::go([tasks, &senders]() mutable {  // its own handles: the round may end before it does
                for (auto& t : tasks) t.cancel();
                senders.done();
            });
            for (int k = 0; k < kAtOnce; ++k) {
                int have = 0;
                try {
                    have = tasks[k].get();
                    ++task_wins;
                } catch (const goro::Cancelled&) {
                }
                if (have != 1) have += *as[k].recv();
                if (have != 2 && have != 3) have += *bs[k].recv();
                if (have == 3) ++delivered;
            }
            senders.wait();
        }
        INFO("the task won " << task_wins << " of " << rounds * kAtOnce);
        CHECK(delivered == long(rounds) * kAtOnce);
    });
}

// The end of run(): leftovers parked in send, recv and select are cancelled; the channels they were parked
// on outlive the run and still work from a plain thread, with their buffered contents intact.
TEST_CASE("chan_run_end_cancels_parked_channel_ops", "[chan][cancel]") {
    for (int procs : {1, 2}) {
        INFO("maxprocs = " << procs);
        goro::Chan<int> full(2), empty(2), unbuf, other;
        std::atomic<int> cancelled{0}, other_outcome{0}, started{0};
        run_at(procs, [&] {
            full.send(1);
            full.send(2);
            auto leftover = [&](auto fn) {
                goro::go([&, fn] {
                    started.fetch_add(1);
                    try {
                        fn();
                        other_outcome.fetch_add(1);
                    } catch (const goro::Cancelled&) {
                        cancelled.fetch_add(1);
                        throw;
                    } catch (...) {
                        other_outcome.fetch_add(1);
                    }
                });
            };
            for (int i = 0; i < 3; ++i) {
                leftover([=] { full.send(10 + i); });
                leftover([=] { empty.recv(); });
                leftover([=] { unbuf.send(20 + i); });
                leftover([=] { unbuf.recv(); });  // pairs with a sender above, or parks
                leftover([=] {
                    goro::select(goro::case_recv(empty), goro::case_send(full, 30 + i), goro::case_recv(other));
                });
            }
            CHECK(eventually([&] { return started.load() == 15; }));
            goro::sleep_for(20ms);
        });
        // Some unbuf senders and receivers may have paired before the end; everything else was cancelled.
        CHECK(cancelled.load() + other_outcome.load() == 15);
        CHECK(cancelled.load() >= 9);
        // The channels still work, without a runtime, and hold exactly what they held.
        CHECK(full.size() == 2);
        CHECK(full.recv() == 1);
        CHECK(full.recv() == 2);
        CHECK_FALSE(full.try_recv());
        CHECK(empty.size() == 0);
        CHECK_FALSE(empty.try_recv());
        CHECK_FALSE(unbuf.try_recv());
        CHECK_FALSE(unbuf.try_send(0));
        CHECK_FALSE(other.try_send(0));
        std::thread t([=] { unbuf.send(5); });
        CHECK(unbuf.recv() == 5);
        t.join();
        empty.send(6);
        CHECK(empty.recv() == 6);
    }
}
