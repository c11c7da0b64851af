// tests/chan/select_test.cpp: goro::select (<goro/select.hpp>): a uniform random choice among ready cases,
// parking until a case is ready, closed / nil / full / empty channels (a port of Go's test/chan/select3.go),
// a goroutine parked on N channels woken exactly once, no stale waiter after a million selects, and two
// goroutines selecting on the same channels in opposite orders.
#include "test_util.hpp"

#include <array>
#include <memory>
#include <thread>
#include <utility>

using namespace goro_test;

// ---- fairness and indices ---------------------------------------------------------------------------

TEST_CASE("select_uniform_random_among_ready", "[chan][select]") {
    const int n = 100000;  // not scaled: the 40-60% bound needs the sample
    for_each_maxprocs({1, 2}, [&](int) {
        // Two receive cases, both always ready.
        {
            goro::Chan<int> a(1), b(1);
            long picks[2] = {0, 0};
            for (int i = 0; i < n; ++i) {
                a.try_send(1);
                b.try_send(2);
                std::size_t k = goro::select(goro::case_recv(a, [&](std::optional<int> v) { GCHECK(v == 1); }),
                                             goro::case_recv(b, [&](std::optional<int> v) { GCHECK(v == 2); }));
                REQUIRE(k < 2);
                ++picks[k];
            }
            INFO("recv picks: " << picks[0] << " / " << picks[1]);
            CHECK(picks[0] + picks[1] == n);
            CHECK(picks[0] >= n * 4 / 10);
            CHECK(picks[0] <= n * 6 / 10);
        }
        // Two send cases with room, and a closed channel against a buffered value.
        {
            goro::Chan<int> a(1), b(1);
            long picks[2] = {0, 0};
            for (int i = 0; i < n; ++i) {
                std::size_t k = goro::select(goro::case_send(a, i), goro::case_send(b, i));
                ++picks[k];
                CHECK((k == 0 ? a : b).try_recv() == i);
            }
            INFO("send picks: " << picks[0] << " / " << picks[1]);
            CHECK(picks[0] >= n * 4 / 10);
            CHECK(picks[0] <= n * 6 / 10);
        }
        {
            goro::Chan<int> closed, full(1);
            closed.close();
            long picks[3] = {0, 0, 0};
            for (int i = 0; i < n; ++i) {
                full.try_send(7);
                std::size_t k = goro::select(goro::case_recv(closed, [](std::optional<int> v) { GCHECK(!v); }),
                                             goro::case_recv(full, [](std::optional<int> v) { GCHECK(v == 7); }),
                                             goro::case_default([] { GCHECK(false); }));
                ++picks[k];
            }
            INFO("closed/full picks: " << picks[0] << " / " << picks[1]);
            CHECK(picks[2] == 0);
            CHECK(picks[0] >= n * 4 / 10);
            CHECK(picks[0] <= n * 6 / 10);
        }
    });
}

TEST_CASE("select_returns_argument_index_default_included", "[chan][select]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Chan<int> empty, ready(1);
        bool ran = false;
        CHECK(goro::select(goro::case_recv(empty), goro::case_default([&] { ran = true; })) == 1);
        CHECK(ran);
        ran = false;
        CHECK(goro::select(goro::case_default([&] { ran = true; }), goro::case_recv(empty)) == 0);
        CHECK(ran);
        ready.send(5);
        int got = 0;
        CHECK(goro::select(goro::case_recv(empty), goro::case_default(),
                           goro::case_recv(ready, [&](std::optional<int> v) { got = *v; })) == 2);
        CHECK(got == 5);
        // A body may take no arguments.
        ready.send(6);
        bool body = false;
        CHECK(goro::select(goro::case_recv(ready, [&] { body = true; })) == 0);
        CHECK(body);
        CHECK(goro::select(goro::case_default()) == 0);
    });
}

// ---- parking ----------------------------------------------------------------------------------------

TEST_CASE("select_parks_until_a_case_is_ready", "[chan][select]") {
    for_each_maxprocs({1, 2}, [](int) {
        // Receive cases.
        {
            goro::Chan<int> a, b(2);
            std::atomic<int> which{-1}, value{-1};
            goro::go([=, &which, &value] {
                std::size_t k = goro::select(goro::case_recv(a, [&](std::optional<int> v) { value = *v; }),
                                             goro::case_recv(b, [&](std::optional<int> v) { value = *v; }));
                which = static_cast<int>(k);
            });
            CHECK(stays([&] { return which.load() == -1; }, 40ms));
            b.send(11);
            CHECK(eventually([&] { return which.load() != -1; }));
            CHECK(which.load() == 1);
            CHECK(value.load() == 11);
            CHECK(b.size() == 0);
        }
        // Send cases on a full buffered channel and an unbuffered one without a receiver.
        {
            goro::Chan<int> full(1), unbuf;
            full.send(0);
            std::atomic<int> which{-1};
            goro::go([=, &which] {
                which = static_cast<int>(goro::select(goro::case_send(full, 1), goro::case_send(unbuf, 2)));
            });
            CHECK(stays([&] { return which.load() == -1; }, 40ms));
            CHECK(unbuf.recv() == 2);
            CHECK(eventually([&] { return which.load() != -1; }));
            CHECK(which.load() == 1);
            CHECK(full.size() == 1);
            CHECK(full.recv() == 0);
            CHECK_FALSE(full.try_recv());
        }
        // Parked select woken by close: a receive case sees nullopt.
        {
            goro::Chan<int> a, b;
            std::atomic<int> which{-1};
            std::atomic<bool> got_nullopt{false};
            goro::go([=, &which, &got_nullopt] {
                which = static_cast<int>(goro::select(
                    goro::case_recv(a), goro::case_recv(b, [&](std::optional<int> v) { got_nullopt = !v; })));
            });
            CHECK(stays([&] { return which.load() == -1; }, 20ms));
            b.close();
            CHECK(eventually([&] { return which.load() != -1; }));
            CHECK(which.load() == 1);
            CHECK(got_nullopt.load());
        }
        // Parked send case, channel closed meanwhile: select throws ChannelClosed.
        {
            goro::Chan<int> a, b;
            std::atomic<int> outcome{0};  // 1 threw ChannelClosed, 2 returned
            goro::go([=, &outcome] {
                try {
                    goro::select(goro::case_recv(a), goro::case_send(b, 1));
                    outcome = 2;
                } catch (const goro::ChannelClosed&) {
                    outcome = 1;
                }
            });
            CHECK(stays([&] { return outcome.load() == 0; }, 20ms));
            b.close();
            CHECK(eventually([&] { return outcome.load() != 0; }));
            CHECK(outcome.load() == 1);
            // a is untouched: still works.
            goro::go([a] { a.send(3); });
            CHECK(a.recv() == 3);
        }
    });
}

// ---- Go's test/chan/select3.go ----------------------------------------------------------------------

namespace {

enum class Expect { Always, Never };

// test_block: runs f on a goroutine and checks that it always (still blocked after 100 ms) or never blocks.
// A goroutine left blocked is cancelled afterwards (it must end with Cancelled, leaving no trace).
void test_block(Expect signal, std::function<void()> f, int line) {
    INFO("select3 case at line " << line);
    auto task = goro::spawn([f] { f(); });
    auto start = Clock::now();
    bool finished = eventually([&] { return task.done(); }, 100ms);
    if (signal == Expect::Never) {
        CHECK(finished);
        CHECK(Clock::now() - start < 5s);
        if (finished) CHECK_NOTHROW(task.get());
    } else {
        CHECK_FALSE(finished);
        task.cancel();
        CHECK_THROWS_AS(task.get(), goro::Cancelled);
    }
}

// test_panic: f always / never throws (Go: panics).
void test_panic(Expect signal, std::function<void()> f, int line) {
    INFO("select3 case at line " << line);
    bool threw = false;
    try {
        f();
    } catch (const goro::ChannelClosed&) {
        threw = true;
    }
    CHECK(threw == (signal == Expect::Always));
}

[[noreturn]] void unreachable() { throw std::logic_error("control flow shouldn't reach here"); }

}  // namespace

TEST_CASE("select_go_select3", "[chan][select]") {
    for_each_maxprocs({1, 2}, [](int) {
        using goro::case_default;
        using goro::case_recv;
        using goro::case_send;
        using goro::select;
        const std::size_t async = 1;
        auto nilch = goro::Chan<int>::nil();
        goro::Chan<int> closedch;
        closedch.close();
        auto never = [](auto&&...) { unreachable(); };

        // sending/receiving from a nil channel blocks
        test_block(
            Expect::Always, [=] { nilch.send(7); }, __LINE__);
        test_block(
            Expect::Always, [=] { nilch.recv(); }, __LINE__);

        // sending/receiving from a nil channel inside a select is never selected
        test_panic(
            Expect::Never, [=] { select(case_send(nilch, 7, never), case_default()); }, __LINE__);
        test_panic(
            Expect::Never, [=] { select(case_recv(nilch, never), case_default()); }, __LINE__);

        // sending to an async channel with free buffer space never blocks
        test_block(
            Expect::Never,
            [=] {
                goro::Chan<int> ch(async);
                ch.send(7);
            },
            __LINE__);

        // receiving from a closed channel never blocks
        test_block(
            Expect::Never,
            [=] {
                for (int i = 0; i < 10; ++i) {
                    if (closedch.recv()) unreachable();
                    if (closedch.try_recv()) unreachable();
                }
            },
            __LINE__);

        // sending to a closed channel panics
        test_panic(
            Expect::Always, [=] { closedch.send(7); }, __LINE__);

        // receiving from a non-ready channel always blocks
        test_block(
            Expect::Always,
            [=] {
                goro::Chan<int> ch;
                ch.recv();
            },
            __LINE__);

        // selects with only nil channels always block (goro has no empty select; a nil case is the closest)
        test_block(
            Expect::Always, [=] { select(case_recv(nilch, never)); }, __LINE__);
        test_block(
            Expect::Always, [=] { select(case_send(nilch, 7, never)); }, __LINE__);
        test_block(
            Expect::Always, [=] { select(case_recv(nilch, never), case_send(nilch, 7, never)); }, __LINE__);

        // selects with non-ready non-nil channels always block
        test_block(
            Expect::Always,
            [=] {
                goro::Chan<int> ch;
                select(case_recv(ch, never));
            },
            __LINE__);

        // selects with default cases don't block
        test_block(
            Expect::Never, [=] { select(case_default()); }, __LINE__);
        test_block(
            Expect::Never, [=] { select(case_recv(nilch, never), case_default()); }, __LINE__);
        test_block(
            Expect::Never, [=] { select(case_send(nilch, 7, never), case_default()); }, __LINE__);

        // selects with ready channels don't block
        test_block(
            Expect::Never,
            [=] {
                goro::Chan<int> ch(async);
                select(case_send(ch, 7), case_default(never));
            },
            __LINE__);
        test_block(
            Expect::Never,
            [=] {
                goro::Chan<int> ch(async);
                ch.send(7);
                select(case_recv(ch), case_default(never));
            },
            __LINE__);

        // selects with closed channels behave like ordinary operations
        test_block(
            Expect::Never, [=] { select(case_recv(closedch)); }, __LINE__);
        test_block(
            Expect::Never,
            [=] {
                select(case_recv(closedch, [](std::optional<int> v) {
                    if (v) unreachable();
                }));
            },
            __LINE__);
        test_panic(
            Expect::Always, [=] { select(case_send(closedch, 7)); }, __LINE__);

        // select should not get confused if it sees itself
        test_block(
            Expect::Always,
            [=] {
                goro::Chan<int> c;
                select(case_send(c, 1), case_recv(c));
            },
            __LINE__);
        // a send on a full channel blocks, in a select as outside one
        test_block(
            Expect::Always,
            [=] {
                goro::Chan<int> c(async);
                c.send(0);
                select(case_send(c, 1, never), case_recv(nilch, never));
            },
            __LINE__);
        test_block(
            Expect::Always,
            [=] {
                goro::Chan<int> c(async);
                c.send(0);
                c.send(1);
            },
            __LINE__);
    });
}

// ---- woken exactly once -----------------------------------------------------------------------------

namespace {

template <std::size_t N, class F, std::size_t... I>
std::size_t select_recv_all(const std::array<goro::Chan<int>, N>& chans, F& body, std::index_sequence<I...>) {
    return goro::select(goro::case_recv(chans[I], [&body](std::optional<int> v) { body(I, v); })...);
}

}  // namespace

TEST_CASE("select_parked_on_n_channels_woken_exactly_once", "[chan][select]") {
    constexpr std::size_t N = 8;
    const int iterations = static_cast<int>(scale(2000));
    for_each_maxprocs({1, 2}, [&](int) {
        long bad = 0;
        for (int it = 0; it < iterations; ++it) {
            std::array<goro::Chan<int>, N> chans;
            std::atomic<int> bodies{0}, chosen{-1}, chosen_value{-1};
            goro::Chan<int> done;
            goro::go([&, chans, done] {
                auto body = [&](std::size_t i, std::optional<int> v) {
                    bodies.fetch_add(1);
                    chosen_value = v ? *v : -2;
                    (void)i;
                };
                std::size_t k = select_recv_all(chans, body, std::make_index_sequence<N>());
                chosen = static_cast<int>(k);
                done.send(1);
            });
            if (it % 2 == 0) goro::yield();  // sometimes parked before the senders come, sometimes not
            // N senders race for the one select; exactly one pairs with it, the rest stay blocked.
            goro::WaitGroup senders;
            for (std::size_t i = 0; i < N; ++i) {
                senders.add();
                goro::go([&senders, c = chans[i], i] {
                    c.send(static_cast<int>(i));
                    senders.done();
                });
            }
            done.recv();
            int k = chosen.load();
            if (bodies.load() != 1 || k < 0 || chosen_value.load() != k) ++bad;
            // Every other sender still waits with its value; nothing was lost or duplicated.
            for (std::size_t i = 0; i < N; ++i) {
                if (static_cast<int>(i) == k) continue;
                auto v = chans[i].recv();
                if (!(v && *v == static_cast<int>(i))) ++bad;
            }
            senders.wait();
            for (auto& c : chans)
                if (c.try_recv()) ++bad;
            if (bodies.load() != 1) ++bad;
        }
        CHECK(bad == 0);

        // The same woken by close(): all N channels closed at once by N goroutines; the body runs once.
        bad = 0;
        for (int it = 0; it < iterations; ++it) {
            std::array<goro::Chan<int>, N> chans;
            std::atomic<int> bodies{0};
            goro::Chan<int> done;
            goro::go([&, chans, done] {
                auto body = [&](std::size_t, std::optional<int> v) {
                    bodies.fetch_add(1);
                    if (v) bodies.fetch_add(100);
                };
                select_recv_all(chans, body, std::make_index_sequence<N>());
                done.send(1);
            });
            goro::WaitGroup closers;
            for (std::size_t i = 0; i < N; ++i) {
                closers.add();
                goro::go([&closers, c = chans[i]] {
                    c.close();
                    closers.done();
                });
            }
            done.recv();
            closers.wait();
            if (bodies.load() != 1) ++bad;
        }
        CHECK(bad == 0);
    });
}

// ---- no stale waiter ------------------------------------------------------------------------------

TEST_CASE("select_loop_leaves_no_stale_waiter", "[chan][select]") {
    const long n = scale(1000000);
    for_each_maxprocs({1, 2}, [&](int) {
        goro::Chan<long> c0, c1, c2;
        std::array<goro::Chan<long>, 3> cs{c0, c1, c2};
        // A partner sends i on channel i % 3; the loop selects on all three (often parking on all of them,
        // so two of its three nodes go stale every time it is woken).
        goro::go([cs, n] {
            for (long i = 0; i < n; ++i) cs[static_cast<std::size_t>(i % 3)].send(i);
        });
        long bad = 0;
        long long rss_before = 0;
        for (long i = 0; i < n; ++i) {
            if (i == n / 10) rss_before = rss_bytes();
            long got = -1;
            std::size_t k = goro::select(goro::case_recv(c0, [&](std::optional<long> v) { got = *v; }),
                                         goro::case_recv(c1, [&](std::optional<long> v) { got = *v; }),
                                         goro::case_recv(c2, [&](std::optional<long> v) { got = *v; }));
            if (got != i || static_cast<long>(k) != i % 3) ++bad;
        }
        long long rss_after = rss_bytes();
        CHECK(bad == 0);
        INFO("VmRSS before " << rss_before << " after " << rss_after);
        CHECK(rss_after - rss_before < 16LL * 1024 * 1024);

        // No stale receiver is left claimable: a non-blocking send finds nobody, and a real send/recv pair
        // still matches up on each channel.
        for (auto& c : cs) {
            CHECK_FALSE(c.try_send(-1));
            goro::go([c] { c.send(42); });
            CHECK(c.recv() == 42);
            CHECK_FALSE(c.try_recv());
        }

        // The same with select polling and a default: nothing is ever linked.
        goro::Chan<long> b(1);
        bad = 0;
        rss_before = rss_bytes();
        for (long i = 0; i < n; ++i) {
            if (i % 2 == 0) b.try_send(i);
            long got = -1;
            std::size_t k =
                goro::select(goro::case_recv(c0), goro::case_recv(b, [&](std::optional<long> v) { got = *v; }),
                             goro::case_send(c1, i), goro::case_default());
            if (i % 2 == 0 ? (k != 1 || got != i) : k != 3) ++bad;
        }
        CHECK(bad == 0);
        CHECK(rss_bytes() - rss_before < 16LL * 1024 * 1024);
        for (auto& c : cs) CHECK_FALSE(c.try_send(-1));
    });
}

TEST_CASE("select_loop_with_after_keeps_no_abandoned_timer", "[chan][select]") {
    // A select loop whose timeout case is after(1h) abandons one channel per round. Each used to keep its
    // channel and its timer (~224 bytes) until the hour had passed: 1M rounds held ~217 MiB. Now the timer
    // goes with the last handle, so the loop's memory stays flat.
    const long n = scale(1000000);
    for_each_maxprocs({1, 2}, [&](int) {
        goro::Chan<long> c(1);
        long got_sum = 0, want_sum = 0;
        long long rss_before = 0;
        for (long i = 0; i < n; ++i) {
            if (i == n / 10) rss_before = rss_bytes();
            c.try_send(i);
            want_sum += i;
            goro::select(goro::case_recv(c, [&](std::optional<long> v) { got_sum += *v; }),
                         goro::case_recv(goro::after(std::chrono::hours(1)), [](auto) {}));
        }
        long long rss_after = rss_bytes();
        CHECK(got_sum == want_sum);
        INFO("VmRSS before " << rss_before << " after " << rss_after);
        // ASan keeps freed blocks in its quarantine (up to 256 MiB), so there RSS grows with what was freed
        // too; tests/sched/deadlock_test.cpp checks the timers' removal in every build.
        if (!kSanitized) CHECK(rss_after - rss_before < 16LL * 1024 * 1024);
    });
}

// ---- opposite orders ----------------------------------------------------------------------------------

TEST_CASE("select_opposite_orders_do_not_deadlock", "[chan][select]") {
    const int n = static_cast<int>(scale(200000));
    for_each_maxprocs({1, 2}, [&](int) {
        for (std::size_t cap : {std::size_t(0), std::size_t(1)}) {
            INFO("capacity = " << cap);
            goro::Chan<int> a(cap), b(cap);
            // left: send on a or receive from b; right: send on b or receive from a, cases in the opposite order.
            // With buffers the two may run ahead of each other, so each drains what is left at the end.
            std::atomic<long> left_sent{0}, left_got{0}, right_sent{0}, right_got{0};
            goro::Chan<int> done(2);
            goro::go([=, &left_sent, &left_got] {
                for (int i = 0; i < n; ++i)
                    goro::select(goro::case_send(a, i, [&] { left_sent.fetch_add(1); }),
                                 goro::case_recv(b, [&](std::optional<int>) { left_got.fetch_add(1); }));
                done.send(0);
            });
            goro::go([=, &right_sent, &right_got] {
                for (int i = 0; i < n; ++i)
                    goro::select(goro::case_recv(a, [&](std::optional<int>) { right_got.fetch_add(1); }),
                                 goro::case_send(b, i, [&] { right_sent.fetch_add(1); }));
                done.send(1);
            });
            int finished = 0;
            bool timed_out = false;
            auto deadline = goro::after(120s);
            while (finished < 2 && !timed_out) {
                goro::select(goro::case_recv(done, [&](std::optional<int>) { ++finished; }),
                             goro::case_recv(deadline, [&](auto) { timed_out = true; }));
            }
            CHECK_FALSE(timed_out);
            // Every select did exactly one thing; every value sent was received or is still buffered.
            CHECK(left_sent.load() + left_got.load() == n);
            CHECK(right_sent.load() + right_got.load() == n);
            CHECK(left_sent.load() == right_got.load() + static_cast<long>(a.size()));
            CHECK(right_sent.load() == left_got.load() + static_cast<long>(b.size()));
        }
    });
}

TEST_CASE("select_many_goroutines_crossing_selects", "[chan][select]") {
    // Four goroutines, each selecting over the same three channels in its own order, sends and receives
    // mixed: the lock order must not depend on the case order.
    const int n = static_cast<int>(scale(50000));
    for_each_maxprocs({1, 2}, [&](int) {
        goro::Chan<int> x, y, z;
        std::atomic<long> sends{0}, recvs{0};
        goro::WaitGroup wg;
        auto S = [&](goro::Chan<int> c) { return goro::case_send(c, 1, [&] { sends.fetch_add(1); }); };
        auto R = [&](goro::Chan<int> c) { return goro::case_recv(c, [&](std::optional<int>) { recvs.fetch_add(1); }); };
        std::atomic<bool> stop{false};
        wg.add(4);
        goro::go([&] {
            for (int i = 0; i < n; ++i) goro::select(S(x), R(y), S(z));
            wg.done();
        });
        goro::go([&] {
            for (int i = 0; i < n; ++i) goro::select(R(z), S(y), R(x));
            wg.done();
        });
        goro::go([&] {
            for (int i = 0; i < n; ++i) goro::select(S(y), R(x), R(z));
            wg.done();
        });
        goro::go([&] {
            for (int i = 0; i < n; ++i) goro::select(R(y), S(x), S(z));
            wg.done();
        });
        // A helper keeps everyone moving once some goroutines have finished their n iterations.
        goro::Chan<int> stop_ch;
        goro::WaitGroup helper;
        helper.add();
        goro::go([&] {
            while (!stop.load()) {
                goro::select(S(x), S(y), S(z), R(x), R(y), R(z), goro::case_recv(stop_ch));
            }
            helper.done();
        });
        wg.wait();
        stop = true;
        stop_ch.close();
        helper.wait();
        CHECK(sends.load() == recvs.load());
        CHECK(sends.load() + recvs.load() >= 4L * n);
    });
}
