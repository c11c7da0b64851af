// tests/net/zero_timeout_test.cpp: a zero (or negative) timeout means one thing, a poll, on goroutines and
// plain threads alike (net.hpp's file comment). Before: on a goroutine wait_readable(fd, 0ms) returned false
// for a ready fd (the deadline was reported before the netpoller could report the fd) while a plain thread
// said true; connect(..., 0ms) threw Timeout even to a live listener; set_read_timeout(0ms) meant "no
// timeout", so a read with nothing there blocked. Every case runs on a plain thread and at maxprocs 1 and 2.
// Loopback only.
#include "test_util.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <optional>
#include <string>
#include <thread>

using namespace goro_test;
using goro::net::TcpListener;
using goro::net::TcpStream;

namespace {

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// on_every_side() runs body on a plain thread (no runtime) and as the main goroutine at maxprocs 1 and 2.
template <class F>
void on_every_side(F body) {
    body();
    for_each_maxprocs({1, 2}, [&](int) { body(); });
}

// A connected loopback pair: `client` from connect(), `server` from accept() (made on a plain thread, so
// that it works on either side).
struct Pair {
    TcpStream client;
    TcpStream server;
};
Pair connected_pair() {
    TcpListener ln = TcpListener::listen("127.0.0.1", 0);
    Pair p;
    std::thread t([&] { p.server = ln.accept(); });
    p.client = TcpStream::connect("127.0.0.1", ln.port(), 10s);
    t.join();
    return p;
}

}  // namespace

TEST_CASE("wait_readable_with_zero_timeout_reports_readiness_now", "[net][zero_timeout]") {
    on_every_side([] {
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        for (auto zero : {std::chrono::nanoseconds(0), std::chrono::nanoseconds(-5'000'000)}) {
            CHECK_FALSE(goro::net::wait_readable(p[0], zero));  // empty
            CHECK(goro::net::wait_writable(p[1], zero));        // room
        }
        CHECK(goro::net::wait_writable(p[1], 0ms));
        CHECK(goro::net::wait_writable(p[1], std::optional(0s)));
        REQUIRE(::write(p[1], "x", 1) == 1);
        auto t0 = Clock::now();
        CHECK(goro::net::wait_readable(p[0], 0ms));  // was false on a goroutine
        CHECK(goro::net::wait_readable(p[0], -1s));
        CHECK(goro::net::wait_readable(p[0], std::optional(0ms)));
        CHECK(Clock::now() - t0 < 5s);  // no wait (generous: a noisy VM)
        char c;
        CHECK(::read(p[0], &c, 1) == 1);
        CHECK_FALSE(goro::net::wait_readable(p[0], 0ms));
        ::close(p[1]);
        CHECK(goro::net::wait_readable(p[0], 0ms));  // a hang-up counts as ready
        ::close(p[0]);
    });
}

TEST_CASE("connect_with_zero_timeout_to_a_live_loopback_listener_connects", "[net][zero_timeout]") {
    on_every_side([] {
        TcpListener ln = TcpListener::listen("127.0.0.1", 0);
        for (int i = 0; i < 20; ++i) {
            TcpStream c = TcpStream::connect("127.0.0.1", ln.port(), 0ms);  // threw Timeout on a goroutine
            CHECK(c.is_open());
            TcpStream s = ln.accept();
            c.write_all(bytes("z"));
            std::array<std::byte, 1> b{};
            CHECK(s.read(b) == 1);
        }
        CHECK(TcpStream::connect("127.0.0.1", ln.port(), -1s).is_open());
        ln.accept();
        // A name would need a lookup, which a zero timeout does not wait for: Timeout on both sides.
        CHECK_THROWS_AS(TcpStream::connect("localhost", ln.port(), 0ms), goro::Timeout);
    });
}

TEST_CASE("read_with_zero_timeout_returns_what_is_there_else_timeout", "[net][zero_timeout]") {
    on_every_side([] {
        Pair p = connected_pair();
        // The peer closes after a while, so that a read that wrongly waits ends (and fails the check)
        // instead of hanging.
        std::atomic<bool> finished{false};
        std::thread closer([&finished, fd = p.server.native_handle()] {
            auto until = Clock::now() + 3s;
            while (!finished.load() && Clock::now() < until) std::this_thread::sleep_for(5ms);
            if (!finished.load()) ::shutdown(fd, SHUT_RDWR);
        });
        p.client.set_read_timeout(0ms);
        std::array<std::byte, 64> buf{};
        auto t0 = Clock::now();
        CHECK_THROWS_AS(p.client.read(buf), goro::Timeout);  // nothing there: was a blocking read
        CHECK(Clock::now() - t0 < 2s);
        for (int round = 0; round < 3; ++round) {
            // The previous read found the socket empty; data that came since must be seen by a poll
            // even before the netpoller has reported it.
            p.server.write_all(bytes("hello"));
            CHECK(goro::net::wait_readable(p.client.native_handle(), 10s));
            CHECK(p.client.read(buf) == 5);
            CHECK_THROWS_AS(p.client.read(buf), goro::Timeout);
        }
        // std::nullopt removes the timeout: the read waits for the peer.
        p.client.set_read_timeout(std::nullopt);
        std::thread late([&] {
            std::this_thread::sleep_for(20ms);
            p.server.write_all(bytes("late"));
        });
        CHECK(p.client.read(buf) == 4);
        late.join();
        finished = true;
        closer.join();
    });
}

TEST_CASE("write_with_zero_timeout_writes_what_fits_then_times_out", "[net][zero_timeout]") {
    on_every_side([] {
        Pair p = connected_pair();
        p.client.set_write_timeout(0ms);
        std::string chunk(64 * 1024, 'w');
        CHECK(p.client.write(bytes(chunk)) > 0);  // an empty buffer has room
        // Nobody reads: the buffers fill, and a write then times out at once instead of waiting.
        std::size_t total = 0;
        bool timed_out = false;
        auto t0 = Clock::now();
        for (int i = 0; i < 100000 && !timed_out; ++i) {
            try {
                total += p.client.write(bytes(chunk));
            } catch (const goro::Timeout&) {
                timed_out = true;
            }
        }
        CHECK(timed_out);
        CHECK(total > 0);
        CHECK(Clock::now() - t0 < 10s);
        CHECK_THROWS_AS(p.client.write_all(bytes(chunk)), goro::Timeout);
    });
}
