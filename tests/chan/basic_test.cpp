// tests/chan/basic_test.cpp: goro::Chan (<goro/chan.hpp>) without select: unbuffered rendezvous,
// buffered FIFO with Go's len/cap, close() (drain, nullopt, ChannelClosed for senders and a second
// close), range-for, try_send/try_recv, move-only values, plain threads in every direction, and after().
// Ports of Go's test/chan/fifo.go and test/chan/nonblock.go live here too.
#include "test_util.hpp"

#include <memory>
#include <string>
#include <thread>

using namespace goro_test;

// ---- unbuffered -------------------------------------------------------------------------------------

TEST_CASE("chan_unbuffered_send_completes_only_when_received", "[chan]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Chan<int> ch;
        CHECK(ch.capacity() == 0);
        CHECK(ch.size() == 0);
        CHECK_FALSE(ch.closed());
        CHECK_FALSE(ch.is_nil());

        // Sender first: it stays blocked until a receiver takes the value.
        std::atomic<bool> sent{false};
        goro::go([ch, &sent] {
            ch.send(7);
            sent = true;
        });
        CHECK(stays([&] { return !sent.load(); }, 50ms));
        CHECK(ch.size() == 0);  // an unbuffered channel never holds a value
        auto v = ch.recv();
        REQUIRE(v);
        CHECK(*v == 7);
        CHECK(eventually([&] { return sent.load(); }));

        // Receiver first: it stays blocked until a sender comes; after send() returns, the value is taken.
        std::atomic<int> got{-1};
        goro::Chan<int> done;
        goro::go([ch, done, &got] {
            got = *ch.recv();
            done.send(1);
        });
        CHECK(stays([&] { return got.load() == -1; }, 30ms));
        CHECK_FALSE(ch.try_recv());
        ch.send(8);
        CHECK(done.recv() == 1);
        CHECK(got.load() == 8);

        // try_send succeeds only while a receiver waits.
        CHECK_FALSE(ch.try_send(1));
        goro::go([ch, done] { done.send(*ch.recv()); });
        CHECK(eventually([&] { return ch.try_send(9); }));
        CHECK(done.recv() == 9);
        CHECK_FALSE(ch.try_send(1));
    });
}

TEST_CASE("chan_unbuffered_sender_blocked_from_plain_thread", "[chan]") {
    goro::Chan<int> ch;
    std::atomic<bool> sent{false};
    std::thread t([&] {
        ch.send(3);
        sent = true;
    });
    CHECK(stays([&] { return !sent.load(); }, 50ms));
    CHECK(ch.recv() == 3);
    t.join();
    CHECK(sent.load());
}

// ---- buffered ---------------------------------------------------------------------------------------

TEST_CASE("chan_buffered_fifo_len_cap", "[chan]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Chan<int> ch(5);
        CHECK(ch.capacity() == 5);
        CHECK(ch.size() == 0);
        for (int i = 0; i < 5; ++i) {
            ch.send(i);  // never blocks: room in the buffer
            CHECK(ch.size() == static_cast<std::size_t>(i + 1));
        }
        CHECK(ch.capacity() == 5);
        CHECK_FALSE(ch.try_send(99));  // full

        // A sender blocks while the buffer is full; a receive makes room and its value goes in after the rest.
        std::atomic<bool> sent{false};
        goro::go([ch, &sent] {
            ch.send(5);
            sent = true;
        });
        CHECK(stays([&] { return !sent.load(); }, 30ms));
        CHECK(ch.size() == 5);
        CHECK(ch.recv() == 0);
        CHECK(eventually([&] { return sent.load(); }));
        CHECK(ch.size() == 5);
        for (int i = 1; i <= 5; ++i) CHECK(ch.recv() == i);
        CHECK(ch.size() == 0);
        CHECK_FALSE(ch.try_recv());

        // FIFO across many wrap-arounds of the ring, with a varying fill level.
        int next_send = 0, next_recv = 0;
        bool in_order = true;
        for (int round = 0; round < 2000; ++round) {
            int puts = (round * 7) % 6;
            for (int k = 0; k < puts && ch.try_send(next_send); ++k) ++next_send;
            int gets = (round * 5) % 6;
            for (int k = 0; k < gets; ++k) {
                auto v = ch.try_recv();
                if (!v) break;
                in_order = in_order && *v == next_recv;
                ++next_recv;
            }
            if (ch.size() != static_cast<std::size_t>(next_send - next_recv)) in_order = false;
        }
        CHECK(in_order);
    });
}

// Go's test/chan/fifo.go: a buffered channel is a FIFO (AsynchFifo), and so is an unbuffered one read by a
// daisy chain of goroutines each taking one value in turn (SynchFifo).
TEST_CASE("chan_go_fifo", "[chan]") {
    for_each_maxprocs({1, 2}, [](int) {
        const int N = 10;
        // AsynchFifo
        {
            goro::Chan<int> ch(N);
            for (int i = 0; i < N; ++i) ch.send(i);
            for (int i = 0; i < N; ++i) CHECK(ch.recv() == i);
        }
        // SynchFifo (repeated, and with a longer chain than Go's 10)
        for (int n : {N, 1000}) {
            goro::Chan<int> ch;
            goro::Chan<int> in;
            goro::Chan<int> start = in;
            for (int i = 0; i < n; ++i) {
                goro::Chan<int> out;
                goro::go([ch, i, in, out] {
                    in.recv();
                    auto v = ch.recv();
                    GCHECK(v && *v == i);
                    out.send(1);
                });
                in = out;
            }
            start.send(0);
            for (int i = 0; i < n; ++i) ch.send(i);
            CHECK(in.recv() == 1);
        }
    });
}

// ---- close ----------------------------------------------------------------------------------------

TEST_CASE("chan_close_drains_then_nullopt", "[chan]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Chan<int> ch(4);
        ch.send(1);
        ch.send(2);
        ch.send(3);
        ch.close();
        CHECK(ch.closed());
        CHECK(ch.size() == 3);
        CHECK(ch.capacity() == 4);
        CHECK(throws_closed([&] { ch.send(4); }));
        CHECK(throws_closed([&] { ch.try_send(4); }));
        CHECK(ch.size() == 3);
        CHECK(ch.recv() == 1);
        CHECK(ch.try_recv() == 2);
        CHECK(ch.recv() == 3);
        for (int i = 0; i < 10; ++i) {
            CHECK_FALSE(ch.recv());  // closed and drained: never blocks, always nullopt
            CHECK_FALSE(ch.try_recv());
        }
        CHECK(ch.size() == 0);
        CHECK(throws_closed([&] { ch.close(); }));
        CHECK(ch.closed());

        goro::Chan<int> u;
        u.close();
        CHECK_FALSE(u.recv());
        CHECK(throws_closed([&] { u.send(1); }));
        CHECK(throws_closed([&] { u.close(); }));

        // Closing the nil channel throws too (Go: close of nil channel panics).
        CHECK(throws_closed([] { goro::Chan<int>::nil().close(); }));
    });
}

TEST_CASE("chan_close_wakes_blocked_receivers_and_senders", "[chan]") {
    for_each_maxprocs({1, 2}, [](int) {
        const int n = 20;
        // Blocked receivers get nullopt.
        {
            goro::Chan<int> ch;
            std::atomic<int> parked{0}, got_nullopt{0}, got_value{0};
            goro::WaitGroup wg;
            for (int i = 0; i < n; ++i) {
                wg.add();
                goro::go([&, ch] {
                    parked.fetch_add(1);
                    if (ch.recv()) got_value.fetch_add(1);
                    else got_nullopt.fetch_add(1);
                    wg.done();
                });
            }
            CHECK(eventually([&] { return parked.load() == n; }));
            CHECK(stays([&] { return got_nullopt.load() + got_value.load() == 0; }, 20ms));
            ch.close();
            wg.wait();
            CHECK(got_nullopt.load() == n);
            CHECK(got_value.load() == 0);
        }
        // Blocked senders throw ChannelClosed; for a full buffered channel what was buffered still drains,
        // and none of the blocked senders' values is delivered.
        for (std::size_t cap : {std::size_t(0), std::size_t(3)}) {
            goro::Chan<int> ch(cap);
            for (std::size_t i = 0; i < cap; ++i) ch.send(static_cast<int>(i));
            std::atomic<int> parked{0}, threw{0}, completed{0};
            goro::WaitGroup wg;
            for (int i = 0; i < n; ++i) {
                wg.add();
                goro::go([&, ch, i] {
                    parked.fetch_add(1);
                    try {
                        ch.send(100 + i);
                        completed.fetch_add(1);
                    } catch (const goro::ChannelClosed&) {
                        threw.fetch_add(1);
                    }
                    wg.done();
                });
            }
            CHECK(eventually([&] { return parked.load() == n; }));
            CHECK(stays([&] { return threw.load() + completed.load() == 0; }, 20ms));
            ch.close();
            wg.wait();
            CHECK(threw.load() == n);
            CHECK(completed.load() == 0);
            for (std::size_t i = 0; i < cap; ++i) CHECK(ch.recv() == static_cast<int>(i));
            CHECK_FALSE(ch.recv());
        }
        // Later senders throw as well.
        goro::Chan<int> c;
        c.close();
        goro::Chan<bool> res;
        goro::go([c, res] { res.send(throws_closed([&] { c.send(1); })); });
        CHECK(res.recv() == true);
    });
}

TEST_CASE("chan_range_for_ends_at_close", "[chan]") {
    for_each_maxprocs({1, 2}, [](int) {
        for (std::size_t cap : {std::size_t(0), std::size_t(1), std::size_t(16)}) {
            goro::Chan<int> ch(cap);
            goro::go([ch] {
                for (int i = 0; i < 1000; ++i) ch.send(i);
                ch.close();
            });
            long sum = 0;
            int count = 0, expect = 0;
            bool in_order = true;
            for (int v : ch) {
                in_order = in_order && v == expect++;
                sum += v;
                ++count;
            }
            CHECK(in_order);
            CHECK(count == 1000);
            CHECK(sum == 999L * 1000 / 2);
            for (int v : ch) {  // a closed, drained channel: the loop body never runs
                (void)v;
                FAIL("range over a drained closed channel yielded a value");
            }
        }
    });
}

// ---- Go's test/chan/nonblock.go ---------------------------------------------------------------------

namespace {

// nonblock_one: for one element type, what nonblock.go checks: a non-blocking receive on an empty channel
// fails; a non-blocking send succeeds once a receiver waits (or there is room); a non-blocking receive
// succeeds once a sender waits (or a value is buffered). Both spellings: try_* and select with a default.
template <class T>
void nonblock_one(int buffer, T to_receiver, T from_sender, bool use_select) {
    const int max_tries = 20000;  // Go: maxTries, with a short sleep between tries
    goro::Chan<T> c(static_cast<std::size_t>(buffer));
    goro::Chan<bool> sync;

    auto nb_send = [&](T v) -> bool {
        if (!use_select) return c.try_send(v);
        bool ok = false;
        goro::select(goro::case_send(c, v, [&] { ok = true; }), goro::case_default());
        return ok;
    };
    auto nb_recv = [&]() -> std::optional<T> {
        if (!use_select) return c.try_recv();
        std::optional<T> out;
        goro::select(goro::case_recv(c, [&](std::optional<T> v) { out = std::move(v); }), goro::case_default());
        return out;
    };

    CHECK_FALSE(nb_recv());  // "blocked sender": nothing to receive yet

    goro::go([c, sync, to_receiver] {
        auto v = c.recv();
        GCHECK(v && *v == to_receiver);
        sync.send(true);
    });
    int tries = 0;
    while (!nb_send(to_receiver)) {
        if (++tries > max_tries) break;
        goro::sleep_for(std::chrono::microseconds(50));
    }
    CHECK(tries <= max_tries);
    CHECK(sync.recv() == true);

    goro::go([c, sync, from_sender] {
        c.send(from_sender);
        sync.send(true);
    });
    if (buffer > 0) CHECK(sync.recv() == true);
    std::optional<T> got;
    tries = 0;
    while (!(got = nb_recv())) {
        if (++tries > max_tries) break;
        goro::sleep_for(std::chrono::microseconds(50));
    }
    CHECK(tries <= max_tries);
    CHECK(got == from_sender);
    if (buffer == 0) CHECK(sync.recv() == true);
}

}  // namespace

TEST_CASE("chan_go_nonblock", "[chan]") {
    for_each_maxprocs({1, 2}, [](int) {
        for (int buffer = 0; buffer < 2; ++buffer) {
            for (bool use_select : {false, true}) {
                INFO("buffer = " << buffer << ", select = " << use_select);
                nonblock_one<std::int32_t>(buffer, 123, 234, use_select);
                nonblock_one<std::int64_t>(buffer, 123456, 234567, use_select);
                nonblock_one<bool>(buffer, true, true, use_select);
                nonblock_one<std::string>(buffer, "hello", "hello again", use_select);
            }
        }
    });
}

// ---- move-only values ----------------------------------------------------------------------------

TEST_CASE("chan_move_only_values", "[chan]") {
    for_each_maxprocs({1, 2}, [](int) {
        for (std::size_t cap : {std::size_t(0), std::size_t(2)}) {
            goro::Chan<std::unique_ptr<int>> ch(cap);
            goro::go([ch] {
                for (int i = 0; i < 100; ++i) ch.send(std::make_unique<int>(i));
                ch.close();
            });
            int expect = 0;
            bool ok = true;
            for (std::unique_ptr<int> p : ch) {  // chan.hpp's `for (T v : ch)`, with a move-only T
                ok = ok && p && *p == expect++;
            }
            CHECK(ok);
            CHECK(expect == 100);
        }
        // <goro/chan.hpp>: `for (T v : ch)` -- with a move-only T that needs *it to yield something T can be
        // constructed from (an rvalue). Checked here without breaking the build when it does not.
        using It = goro::Chan<std::unique_ptr<int>>::iterator;
        CHECK(std::is_constructible_v<std::unique_ptr<int>, decltype(*std::declval<It&>())>);

        // try_send on a full channel leaves the value unmoved; try_recv hands it out.
        goro::Chan<std::unique_ptr<int>> full(1);
        CHECK(full.try_send(std::make_unique<int>(1)));
        auto p = std::make_unique<int>(2);
        CHECK_FALSE(full.try_send(std::move(p)));
        REQUIRE(p);
        CHECK(*p == 2);
        auto q = full.try_recv();
        REQUIRE(q);
        REQUIRE(*q);
        CHECK(**q == 1);
        CHECK(full.try_send(std::move(p)));
        CHECK(p == nullptr);
        CHECK(**full.recv() == 2);

        // Unbuffered try_send with no receiver: not moved.
        goro::Chan<std::unique_ptr<int>> u;
        auto r = std::make_unique<int>(3);
        CHECK_FALSE(u.try_send(std::move(r)));
        CHECK(r);

        // Through select, both directions.
        goro::go([u] { u.send(std::make_unique<int>(5)); });
        std::unique_ptr<int> got;
        goro::select(goro::case_recv(u, [&](std::optional<std::unique_ptr<int>> v) { got = std::move(*v); }));
        REQUIRE(got);
        CHECK(*got == 5);
        goro::Chan<int> back;
        goro::go([u, back] { back.send(**u.recv()); });
        goro::select(goro::case_send(u, std::make_unique<int>(6)));
        CHECK(back.recv() == 6);
    });
}

// ---- goroutines and plain threads --------------------------------------------------------------------

namespace {

// send_range/recv_range: the same code on a goroutine or a plain thread.
void send_range(goro::Chan<int> ch, int n, bool close_after) {
    for (int i = 0; i < n; ++i) ch.send(i);
    if (close_after) ch.close();
}

bool recv_range_in_order(goro::Chan<int> ch, int n) {
    bool ok = true;
    for (int i = 0; i < n; ++i) {
        auto v = ch.recv();
        ok = ok && v && *v == i;
    }
    return ok;
}

}  // namespace

TEST_CASE("chan_thread_to_goroutine", "[chan]") {
    const int n = static_cast<int>(scale(20000));
    for_each_maxprocs({1, 2}, [&](int) {
        for (std::size_t cap : {std::size_t(0), std::size_t(8)}) {
            goro::Chan<int> ch(cap);
            std::thread t([=] { send_range(ch, n, true); });
            CHECK(recv_range_in_order(ch, n));
            CHECK_FALSE(ch.recv());
            t.join();
        }
    });
}

TEST_CASE("chan_goroutine_to_thread", "[chan]") {
    const int n = static_cast<int>(scale(20000));
    for_each_maxprocs({1, 2}, [&](int) {
        for (std::size_t cap : {std::size_t(0), std::size_t(8)}) {
            goro::Chan<int> ch(cap);
            std::atomic<bool> ok{false};
            std::thread t([&, ch] { ok = recv_range_in_order(ch, n) && !ch.recv(); });
            // A goroutine sends; the main goroutine meanwhile only waits.
            goro::WaitGroup wg;
            wg.add();
            goro::go([&, ch] {
                send_range(ch, n, true);
                wg.done();
            });
            wg.wait();
            t.join();
            CHECK(ok.load());
        }
    });
}

TEST_CASE("chan_thread_to_thread_without_runtime", "[chan]") {
    const int n = static_cast<int>(scale(20000));
    for (std::size_t cap : {std::size_t(0), std::size_t(1), std::size_t(8)}) {
        goro::Chan<int> ch(cap);
        std::thread producer([=] { send_range(ch, n, true); });
        std::atomic<bool> ok{false};
        std::thread consumer([&, ch] {
            int expect = 0;
            bool in_order = true;
            for (int v : ch) in_order = in_order && v == expect++;
            ok = in_order && expect == n;
        });
        producer.join();
        consumer.join();
        CHECK(ok.load());
    }
    // select from plain threads, ping-pong over two channels.
    goro::Chan<int> ping, pong;
    std::thread a([=] {
        for (int i = 0; i < 1000; ++i) {
            goro::select(goro::case_send(ping, i));
            goro::select(goro::case_recv(pong, [&](std::optional<int> v) { GCHECK(v == i); }));
        }
    });
    std::thread b([=] {
        for (int i = 0; i < 1000; ++i) {
            auto v = ping.recv();
            GCHECK(v == i);
            pong.send(*v);
        }
    });
    a.join();
    b.join();
    check_no_failures();
}

TEST_CASE("chan_mixed_threads_and_goroutines_mpmc", "[chan]") {
    const int per = static_cast<int>(scale(20000));
    for_each_maxprocs({1, 2}, [&](int) {
        goro::Chan<int> ch(4);
        std::vector<std::atomic<std::uint8_t>> seen(static_cast<std::size_t>(per) * 4);
        std::atomic<long> received{0};
        std::atomic<int> dup{0};
        auto consume = [&, ch] {
            for (int v : ch) {
                if (seen[static_cast<std::size_t>(v)].fetch_add(1) != 0) dup.fetch_add(1);
                received.fetch_add(1);
            }
        };
        goro::WaitGroup prod, cons;
        std::vector<std::thread> threads;
        // 2 producers on threads, 2 on goroutines; 2 consumers on threads, 2 on goroutines.
        for (int p = 0; p < 2; ++p)
            threads.emplace_back([=] {
                for (int i = 0; i < per; ++i) ch.send(p * per + i);
            });
        for (int p = 2; p < 4; ++p) {
            prod.add();
            goro::go([=, &prod] {
                for (int i = 0; i < per; ++i) ch.send(p * per + i);
                prod.done();
            });
        }
        std::vector<std::thread> consumers;
        for (int c = 0; c < 2; ++c) consumers.emplace_back(consume);
        for (int c = 0; c < 2; ++c) {
            cons.add();
            goro::go([&] {
                consume();
                cons.done();
            });
        }
        for (auto& t : threads) t.join();
        prod.wait();
        ch.close();
        cons.wait();
        for (auto& t : consumers) t.join();
        CHECK(received.load() == 4L * per);
        CHECK(dup.load() == 0);
    });
}

// ---- after() --------------------------------------------------------------------------------------

TEST_CASE("chan_after_receives_once_never_closes_not_early", "[chan]") {
    auto body = [] {
        for (auto d : {0ms, 1ms, 30ms}) {
            auto t0 = Clock::now();
            auto ch = goro::after(d);
            CHECK(ch.capacity() <= 1);
            auto v = ch.recv();
            auto t1 = Clock::now();
            REQUIRE(v);
            CHECK(t1 - t0 >= d);
            CHECK(*v - t0 >= d);  // the time it carries is not before d either
            CHECK(*v <= t1);
            // Exactly once, and never closed: nothing more arrives, the channel stays open.
            CHECK_FALSE(ch.try_recv());
            CHECK_FALSE(ch.closed());
            goro::sleep_for(20ms);
            CHECK_FALSE(ch.try_recv());
            CHECK_FALSE(ch.closed());
        }
        // Not before d: polled without blocking.
        auto t0 = Clock::now();
        auto ch = goro::after(40ms);
        int polls = 0;
        for (;;) {
            auto v = ch.try_recv();
            if (v) {
                CHECK(Clock::now() - t0 >= 40ms);
                break;
            }
            ++polls;
            goro::sleep_for(1ms);
            if (Clock::now() - t0 > 20s) FAIL("after(40ms) never fired");
        }
        CHECK(polls > 0);
        // Any std::chrono::duration; a negative one fires at once.
        CHECK(goro::after(std::chrono::microseconds(200)).recv());
        CHECK(goro::after(-5ms).recv());
        // Unread after() channels are fine to drop.
        for (int i = 0; i < 100; ++i) (void)goro::after(1ms);
    };
    for_each_maxprocs({1, 2}, [&](int) { body(); });
    body();  // from a plain thread, no runtime
}

TEST_CASE("chan_after_as_select_timeout", "[chan]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Chan<int> never;
        auto t0 = Clock::now();
        bool timed_out = false;
        std::size_t i = goro::select(goro::case_recv(never, [](std::optional<int>) { FAIL("never ready"); }),
                                     goro::case_recv(goro::after(25ms), [&](auto v) { timed_out = v.has_value(); }));
        CHECK(i == 1);
        CHECK(timed_out);
        CHECK(Clock::now() - t0 >= 25ms);
        // The value wins when it comes first.
        goro::Chan<int> soon;
        goro::go([soon] {
            goro::sleep_for(5ms);
            soon.send(1);
        });
        i = goro::select(goro::case_recv(soon), goro::case_recv(goro::after(10s)));
        CHECK(i == 0);
    });
}

// ---- value lifetimes ------------------------------------------------------------------------------------

TEST_CASE("chan_values_are_destroyed_exactly_once", "[chan]") {
    LiveCount lc;
    for_each_maxprocs({1, 2}, [&](int) {
        {
            // Values left buffered in a dropped channel (open or closed) are destroyed with it.
            goro::Chan<Tracked> a(4), b(4);
            for (int i = 0; i < 3; ++i) {
                a.send(Tracked(lc));
                b.send(Tracked(lc));
            }
            b.close();
            CHECK(lc.live.load() == 6);
            auto v = a.recv();
            CHECK(lc.live.load() == 6);
        }
        CHECK(lc.live.load() == 0);
        {
            // A sender's value that never went in (channel closed, or sender cancelled) is destroyed too.
            goro::Chan<Tracked> u, full(1);
            full.send(Tracked(lc));
            auto t1 = goro::spawn([u, &lc] { u.send(Tracked(lc)); });
            auto t2 = goro::spawn([full, &lc] { full.send(Tracked(lc)); });
            CHECK(eventually([&] { return lc.live.load() == 3; }));
            goro::sleep_for(10ms);
            u.close();
            t2.cancel();
            CHECK_THROWS_AS(t1.get(), goro::ChannelClosed);
            CHECK_THROWS_AS(t2.get(), goro::Cancelled);
            CHECK(lc.live.load() == 1);  // the one buffered in full
            CHECK(full.recv());
            CHECK(lc.live.load() == 0);
        }
        {
            // Through select, both ways, buffered and not.
            goro::Chan<Tracked> u, b(2);
            goro::go([u, &lc] { u.send(Tracked(lc)); });
            goro::select(goro::case_recv(u), goro::case_recv(b));
            goro::select(goro::case_send(b, Tracked(lc)), goro::case_send(u, Tracked(lc)));
            while (b.try_recv()) {
            }
        }
        CHECK(eventually([&] { return lc.live.load() == 0; }));
    });
}
