// tests/net/tcp_test.cpp: goro::net (<goro/net.hpp>) on loopback only: echo under load, EOF, timeouts
// (read, write, connect), reset by peer, close waking accept and read, wait_readable on a pipe, a 64 MiB
// transfer, cancellation while parked in I/O, plain threads, fd exhaustion in accept. Every case runs at
// maxprocs 1 and 2. No address other than 127.0.0.1 / ::1 is ever touched.
#include "test_util.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

using namespace goro_test;
using goro::net::TcpListener;
using goro::net::TcpStream;

namespace {

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// read_exactly() reads n bytes (fewer only at EOF).
std::string read_exactly(TcpStream& s, std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
        std::size_t k = s.read(std::as_writable_bytes(std::span(out.data() + got, n - got)));
        if (k == 0) break;
        got += k;
    }
    out.resize(got);
    return out;
}

int errno_of(const std::system_error& e) { return e.code().value(); }

// An echo server: one goroutine per connection, until the listener is closed.
void serve_echo(TcpListener& ln, goro::WaitGroup& wg) {
    wg.add(1);
    goro::go([&ln, &wg] {
        try {
            for (;;) {
                TcpStream c = ln.accept();
                goro::go([c = std::move(c)]() mutable {
                    std::array<std::byte, 4096> buf;
                    try {
                        for (std::size_t n; (n = c.read(buf)) > 0;) c.write_all(std::span(buf.data(), n));
                    } catch (const std::system_error&) {
                    }
                });
            }
        } catch (const std::system_error& e) {
            GCHECK(errno_of(e) == EBADF);  // closed
        }
        wg.done();
    });
}

const std::initializer_list<int> kProcs = {1, 2};

}  // namespace

TEST_CASE("echo_200_clients_x100_messages_all_echoed", "[net]") {
    for_each_maxprocs(kProcs, [](int) {
        auto ln = TcpListener::listen("127.0.0.1", 0);
        REQUIRE(ln.port() != 0);
        goro::WaitGroup server;
        serve_echo(ln, server);
        const int clients = static_cast<int>(scale(200)), msgs = static_cast<int>(scale(100));
        goro::WaitGroup wg;
        std::atomic<long> echoed{0};
        for (int c = 0; c < clients; ++c) {
            wg.add(1);
            goro::go([&, c] {
                try {
                    auto s = TcpStream::connect("127.0.0.1", ln.port(), 10s);
                    for (int i = 0; i < msgs; ++i) {
                        std::string m = "client " + std::to_string(c) + " message " + std::to_string(i) + "\n";
                        s.write_all(bytes(m));
                        GCHECK(read_exactly(s, m.size()) == m);
                        echoed.fetch_add(1);
                    }
                } catch (const std::exception& e) {
                    GCHECK(e.what() == std::string("no exception"));
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(echoed.load() == long(clients) * msgs);
        ln.close();
        server.wait();
    });
}

namespace {

// Opens n connections to `port`, all at once, then each writes its number and
// reads the echo. Returns how many were echoed correctly.
long connect_n_and_echo(long n, std::uint16_t port) {
    goro::WaitGroup connected, wg;
    goro::Event go_on;
    std::atomic<long> ok{0};
    for (long i = 0; i < n; ++i) {
        wg.add(1);
        connected.add(1);
        goro::go([&, i] {
            try {
                auto s = TcpStream::connect("127.0.0.1", port, 30s);
                connected.done();
                go_on.wait();  // every connection is open at once
                std::string m = std::to_string(i);
                s.write_all(bytes(m));
                if (read_exactly(s, m.size()) == m) ok.fetch_add(1);
            } catch (const std::exception& e) {
                GCHECK(e.what() == std::string("no exception"));
                connected.done();
            }
            wg.done();
        });
    }
    connected.wait();
    go_on.set();
    wg.wait();
    return ok.load();
}

}  // namespace

TEST_CASE("ten_thousand_concurrent_connections_all_served", "[net]") {
    // Both ends of 10,000 connections need 20,000 descriptors. When the hard
    // limit allows that, one process holds both ends; otherwise the clients
    // run in a child process (its own runtime), so each side needs 10,000.
    const long n = scale(10000);
    rlimit rl{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &rl) == 0);
    rlimit want = rl;
    const rlim_t need_both = static_cast<rlim_t>(2 * n + 100);
    if (want.rlim_max < need_both) want.rlim_max = need_both;  // succeeds only with CAP_SYS_RESOURCE
    want.rlim_cur = want.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) != 0) {
        want = rl;
        want.rlim_cur = want.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &want);
    }
    ::getrlimit(RLIMIT_NOFILE, &want);
    const bool one_process = want.rlim_cur >= need_both;
    if (!one_process && want.rlim_cur < static_cast<rlim_t>(n + 100)) {
        WARN("skipped: RLIMIT_NOFILE hard limit " << rl.rlim_max << " < " << n + 100);
        ::setrlimit(RLIMIT_NOFILE, &rl);
        return;
    }
    for (int procs : kProcs) {
        INFO("maxprocs = " << procs << (one_process ? ", one process" : ", clients in a child process"));
        // The listener exists before any fork, so the child knows the port.
        std::optional<TcpListener> ln;
        std::atomic<long> live{0}, max_live{0};
        pid_t child = -1;
        long served = goro::run(goro::Config{procs, 0}, [&] {
            ln.emplace(TcpListener::listen("127.0.0.1", 0));
            std::uint16_t port = ln->port();
            if (!one_process) {
                // fork() outside any goroutine work in flight: the child starts
                // its own runtime after this one is gone (see below).
                return 0L;
            }
            goro::WaitGroup server;
            serve_echo(*ln, server);
            long ok = connect_n_and_echo(n, port);
            ln->close();
            server.wait();
            return ok;
        });
        if (!one_process) {
            std::uint16_t port = ln->port();
            child = ::fork();
            REQUIRE(child >= 0);
            if (child == 0) {
                long ok = goro::run(goro::Config{procs, 0}, [&] { return connect_n_and_echo(n, port); });
                std::_Exit(ok == n ? 0 : 1);
            }
            served = goro::run(goro::Config{procs, 0}, [&] {
                // Serve exactly n connections, counting how many are open at
                // once. No connection is served before all are accepted, so the
                // count reaching n shows the server held every one of them.
                goro::WaitGroup conns;
                goro::Event all_accepted;
                std::atomic<long> echoed{0};
                for (long i = 0; i < n; ++i) {
                    TcpStream c = ln->accept();
                    conns.add(1);
                    long now = live.fetch_add(1) + 1;
                    long seen = max_live.load();
                    while (now > seen && !max_live.compare_exchange_weak(seen, now)) {
                    }
                    goro::go([&, c = std::move(c)]() mutable {
                        all_accepted.wait();
                        std::array<std::byte, 64> buf;
                        try {
                            for (;;) {
                                std::size_t got = c.read(buf);
                                if (got == 0) break;
                                c.write_all(std::span<const std::byte>(buf.data(), got));
                                echoed.fetch_add(1);
                            }
                        } catch (const std::exception&) {
                        }
                        live.fetch_sub(1);
                        conns.done();
                    });
                }
                all_accepted.set();
                conns.wait();
                ln->close();
                return echoed.load() >= n ? n : echoed.load();
            });
            int status = 0;
            REQUIRE(::waitpid(child, &status, 0) == child);
            CHECK(WIFEXITED(status));
            CHECK(WEXITSTATUS(status) == 0);
            CHECK(max_live.load() == n);  // all open at once on the server side too
        }
        CHECK(served == n);
    }
    ::setrlimit(RLIMIT_NOFILE, &rl);
}

TEST_CASE("read_returns_zero_at_eof_after_shutdown_write", "[net]") {
    for_each_maxprocs(kProcs, [](int) {
        auto ln = TcpListener::listen("127.0.0.1", 0);
        goro::go([&ln] {
            TcpStream c = ln.accept();
            c.write_all(bytes("bye"));
            c.shutdown_write();
            // The peer may still write to us after our FIN.
            GCHECK(read_exactly(c, 2) == "ok");
        });
        auto s = TcpStream::connect("127.0.0.1", ln.port());
        CHECK(read_exactly(s, 3) == "bye");
        std::array<std::byte, 16> buf;
        CHECK(s.read(buf) == 0);
        CHECK(s.read(buf) == 0);  // and again
        s.write_all(bytes("ok"));
    });
}

// read() waits without asking the kernel when its last recv came back short and no event came
// since (tcp.cpp). Here the peer's next bytes, or its FIN, come right behind a short read, a
// moment later, or in the same segment as the data; each must be seen (a read timeout turns a
// missed one into a failure instead of a hang).
TEST_CASE("reads_after_a_short_read_see_later_data_and_eof", "[net]") {
    for_each_maxprocs(kProcs, [](int) {
        auto ln = TcpListener::listen("127.0.0.1", 0);
        const int rounds = static_cast<int>(scale(60));
        goro::go([&ln, rounds] {
            for (int r = 0; r < rounds; ++r) {
                TcpStream c = ln.accept();
                std::string part(static_cast<std::size_t>(100 + r), static_cast<char>('a' + r % 26));
                c.write_all(bytes(part));
                if (r % 3 == 1) goro::sleep_for(1ms);
                if (r % 3 != 0) c.write_all(bytes(part));  // r % 3 == 0: the FIN right behind the data
                if (r % 3 == 2) goro::sleep_for(1ms);
                c.shutdown_write();
                GCHECK(read_exactly(c, 1) == "k");
            }
        });
        for (int r = 0; r < rounds; ++r) {
            auto s = TcpStream::connect("127.0.0.1", ln.port());
            s.set_read_timeout(5s);
            std::array<std::byte, 4096> buf;
            std::size_t total = 0;
            try {
                for (std::size_t n; (n = s.read(buf)) > 0;) total += n;
            } catch (const goro::Timeout&) {
                FAIL("round " << r << ": a read after " << total << " bytes missed data or the end of the stream");
            }
            CHECK(total == static_cast<std::size_t>(100 + r) * (r % 3 == 0 ? 1 : 2));
            CHECK(s.read(buf) == 0);
            s.write_all(bytes("k"));
        }
    });
}

TEST_CASE("read_timeout_throws_timeout_and_stream_stays_usable", "[net]") {
    for_each_maxprocs(kProcs, [](int) {
        auto ln = TcpListener::listen("127.0.0.1", 0);
        goro::Event send_now;
        goro::go([&] {
            TcpStream c = ln.accept();
            send_now.wait();
            c.write_all(bytes("late"));
            std::array<std::byte, 1> b;
            c.read(b);  // until the client closes
        });
        auto s = TcpStream::connect("127.0.0.1", ln.port());
        s.set_read_timeout(50ms);
        std::array<std::byte, 16> buf;
        auto t0 = Clock::now();
        CHECK_THROWS_AS(s.read(buf), goro::Timeout);
        CHECK(Clock::now() - t0 >= 50ms);
        s.set_read_timeout(std::chrono::duration<double>(5.0));  // any duration type
        send_now.set();
        CHECK(read_exactly(s, 4) == "late");
    });
}

TEST_CASE("write_timeout_throws_timeout_when_peer_does_not_read", "[net]") {
    for_each_maxprocs(kProcs, [](int) {
        auto ln = TcpListener::listen("127.0.0.1", 0);
        goro::Event done;
        goro::go([&] {
            TcpStream c = ln.accept();  // never reads
            done.wait();
        });
        auto s = TcpStream::connect("127.0.0.1", ln.port());
        s.set_write_timeout(100ms);
        std::string chunk(1 << 20, 'x');
        bool timed_out = false;
        try {
            for (int i = 0; i < 1024; ++i) s.write_all(bytes(chunk));
        } catch (const goro::Timeout&) {
            timed_out = true;
        }
        CHECK(timed_out);
        done.set();
    });
}

TEST_CASE("connect_timeout_throws_timeout_when_backlog_is_full", "[net]") {
    for_each_maxprocs(kProcs, [](int) {
        // A timeout of 1 ns has expired before the handshake can be waited for; like a zero timeout it
        // polls once (net.hpp), and a loopback handshake completes within connect(2): connected.
        auto ln1 = TcpListener::listen("127.0.0.1", 0);
        CHECK_NOTHROW(TcpStream::connect("127.0.0.1", ln1.port(), 1ns));
        // A listener that never accepts, with backlog 1: once its queue is full the kernel drops SYNs,
        // and connect stalls.
        auto ln = TcpListener::listen("127.0.0.1", 0, 1);
        std::vector<TcpStream> open;
        bool timed_out = false;
        for (int i = 0; i < 64 && !timed_out; ++i) {
            auto t0 = Clock::now();
            try {
                open.push_back(TcpStream::connect("127.0.0.1", ln.port(), 200ms));
            } catch (const goro::Timeout&) {
                timed_out = true;
                CHECK(Clock::now() - t0 >= 200ms);
                CHECK(Clock::now() - t0 < 5s);
            }
        }
        CHECK(timed_out);
    });
}

TEST_CASE("connect_refused_throws_system_error_econnrefused", "[net]") {
    for_each_maxprocs(kProcs, [](int) {
        std::uint16_t port;
        {
            auto ln = TcpListener::listen("127.0.0.1", 0);
            port = ln.port();
        }  // closed: nobody listens there now
        try {
            TcpStream::connect("127.0.0.1", port, 5s);
            FAIL("connected to a closed port");
        } catch (const std::system_error& e) {
            CHECK(errno_of(e) == ECONNREFUSED);
        }
    });
}

TEST_CASE("connect_by_name_and_ipv6_literal", "[net]") {
    for_each_maxprocs(kProcs, [](int) {
        auto ln = TcpListener::listen("127.0.0.1", 0);
        goro::go([&] {
            for (int i = 0; i < 2; ++i) {
                TcpStream c = ln.accept();
                c.write_all(bytes("hi"));
            }
        });
        // "localhost" goes through getaddrinfo (on a helper thread); it may resolve to ::1 first.
        auto s = TcpStream::connect("localhost", ln.port(), 5s);
        CHECK(read_exactly(s, 2) == "hi");
        auto s2 = TcpStream::connect("127.0.0.1", ln.port());
        CHECK(read_exactly(s2, 2) == "hi");
        // ::1, where the machine has IPv6 loopback.
        std::optional<TcpListener> ln6;
        try {
            ln6.emplace(TcpListener::listen("::1", 0));
        } catch (const std::system_error&) {
        }
        if (ln6) {
            goro::go([&] {
                TcpStream c = ln6->accept();
                c.write_all(bytes("v6"));
            });
            auto s6 = TcpStream::connect("[::1]", ln6->port(), 5s);
            CHECK(read_exactly(s6, 2) == "v6");
        }
    });
}

TEST_CASE("reset_by_peer_throws_econnreset_without_sigpipe", "[net]") {
    for_each_maxprocs(kProcs, [](int) {
        auto ln = TcpListener::listen("127.0.0.1", 0);
        goro::Event reset, connected;
        goro::go([&] {
            TcpStream c = ln.accept();
            connected.wait();  // else connect() itself may see the reset
            linger lg{1, 0};   // close with RST
            ::setsockopt(c.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            c.close();
            reset.set();
        });
        auto s = TcpStream::connect("127.0.0.1", ln.port());
        connected.set();
        reset.wait();
        std::array<std::byte, 16> buf;
        int err = 0;
        try {
            s.read(buf);
        } catch (const std::system_error& e) {
            err = errno_of(e);
        }
        CHECK(err == ECONNRESET);
        // Writing now fails with EPIPE (or ECONNRESET); SIGPIPE would have killed the test.
        int werr = 0;
        try {
            for (int i = 0; i < 4; ++i) s.write_all(bytes("after reset"));
        } catch (const std::system_error& e) {
            werr = errno_of(e);
        }
        CHECK((werr == EPIPE || werr == ECONNRESET));
    });
}

TEST_CASE("close_from_another_goroutine_wakes_accept_and_read", "[net]") {
    for_each_maxprocs(kProcs, [](int) {
        auto ln = TcpListener::listen("127.0.0.1", 0);
        std::atomic<int> accept_err{0}, read_err{0};
        goro::WaitGroup wg;
        wg.add(2);
        goro::go([&] {
            try {
                ln.accept();
            } catch (const std::system_error& e) {
                accept_err = errno_of(e);
            }
            wg.done();
        });
        auto ln2 = TcpListener::listen("127.0.0.1", 0);
        auto c = TcpStream::connect("127.0.0.1", ln2.port());
        goro::go([&] {
            std::array<std::byte, 8> buf;
            try {
                c.read(buf);
            } catch (const std::system_error& e) {
                read_err = errno_of(e);
            }
            wg.done();
        });
        goro::sleep_for(30ms);  // both are parked by now
        ln.close();
        c.close();
        wg.wait();
        CHECK(accept_err.load() == EBADF);
        CHECK(read_err.load() == EBADF);
        CHECK_THROWS_AS(ln.accept(), std::system_error);  // closed stays closed
        CHECK(!ln.is_open());
    });
}

TEST_CASE("wait_readable_on_a_pipe_and_timeout", "[net]") {
    for_each_maxprocs(kProcs, [](int) {
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        CHECK_FALSE(goro::net::wait_readable(p[0], 20ms));
        CHECK(goro::net::wait_writable(p[1], 1s));
        goro::go([w = p[1]] {
            goro::sleep_for(20ms);
            GCHECK(::write(w, "x", 1) == 1);
        });
        auto t0 = Clock::now();
        CHECK(goro::net::wait_readable(p[0]));
        CHECK(Clock::now() - t0 >= 15ms);
        char c;
        CHECK(::read(p[0], &c, 1) == 1);
        // Two goroutines waiting on the same fd at once (the second registers a dup).
        goro::WaitGroup wg;
        std::atomic<int> woke{0};
        for (int i = 0; i < 2; ++i) {
            wg.add(1);
            goro::go([&] {
                if (goro::net::wait_readable(p[0], 5s)) woke.fetch_add(1);
                wg.done();
            });
        }
        goro::sleep_for(20ms);
        CHECK(::write(p[1], "y", 1) == 1);
        wg.wait();
        CHECK(woke.load() == 2);
        ::close(p[0]);
        ::close(p[1]);
    });
}

// Every worker busy with goroutines that keep yielding: no worker ever runs
// out of work and sleeps in epoll_wait, yet readiness must still be seen (the
// scheduler polls now and then on its own, as Go's sysmon does).
TEST_CASE("io_readiness_is_seen_while_every_worker_stays_busy", "[net]") {
    for_each_maxprocs(kProcs, [](int procs) {
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        std::atomic<bool> stop{false};
        std::atomic<bool> woke{false};
        goro::WaitGroup wg;
        for (int i = 0; i < 2 * procs; ++i) {
            wg.add(1);
            goro::go([&] {
                while (!stop.load(std::memory_order_relaxed)) goro::yield();
                wg.done();
            });
        }
        wg.add(1);
        goro::go([&, r = p[0]] {
            woke = goro::net::wait_readable(r, 5s);  // false only if the timeout came first
            stop = true;
            wg.done();
        });
        std::thread writer([w = p[1]] {
            std::this_thread::sleep_for(30ms);
            GCHECK(::write(w, "x", 1) == 1);
        });
        auto t0 = Clock::now();
        wg.wait();
        writer.join();
        CHECK(woke.load());
        CHECK(Clock::now() - t0 < 4s);
        ::close(p[0]);
        ::close(p[1]);
    });
}

TEST_CASE("transfer_64MiB_through_one_socket_checksum_matches", "[net]") {
    for_each_maxprocs(kProcs, [](int) {
        const std::size_t total = static_cast<std::size_t>(scale(64)) << 20;
        auto ln = TcpListener::listen("127.0.0.1", 0);
        auto fnv = [](std::uint64_t h, const std::byte* p, std::size_t n) {
            for (std::size_t i = 0; i < n; ++i) h = (h ^ std::to_integer<std::uint64_t>(p[i])) * 0x100000001b3ull;
            return h;
        };
        std::uint64_t sent_sum = 0xcbf29ce484222325ull;
        goro::WaitGroup wg;
        wg.add(1);
        goro::go([&] {
            TcpStream c = ln.accept();
            std::vector<std::byte> chunk(1 << 20);
            std::uint32_t x = 12345;
            for (std::size_t off = 0; off < total; off += chunk.size()) {
                for (auto& b : chunk) b = std::byte((x = x * 1103515245u + 12345u) >> 8);
                sent_sum = fnv(sent_sum, chunk.data(), chunk.size());
                c.write_all(chunk);
            }
            c.shutdown_write();
            wg.done();
        });
        auto s = TcpStream::connect("127.0.0.1", ln.port());
        std::vector<std::byte> buf(200000);  // not a divisor of the chunk: partial reads everywhere
        std::uint64_t got_sum = 0xcbf29ce484222325ull;
        std::size_t got = 0;
        for (std::size_t n; (n = s.read(buf)) > 0;) {
            got_sum = fnv(got_sum, buf.data(), n);
            got += n;
        }
        wg.wait();
        CHECK(got == total);
        CHECK(got_sum == sent_sum);
    });
}

TEST_CASE("cancel_while_parked_in_read_and_accept_is_prompt_and_socket_stays_usable", "[net]") {
    for_each_maxprocs(kProcs, [](int) {
        auto ln = TcpListener::listen("127.0.0.1", 0);
        goro::Task<void> acceptor = goro::spawn([&] { ln.accept(); });
        goro::sleep_for(20ms);
        auto t0 = Clock::now();
        acceptor.cancel();
        CHECK_THROWS_AS(acceptor.get(), goro::Cancelled);
        CHECK(Clock::now() - t0 < 1s);

        // The listener still works; a reader cancelled mid-wait reads normally afterwards.
        goro::go([&] {
            TcpStream c = ln.accept();
            goro::sleep_for(50ms);
            c.write_all(bytes("data"));
            std::array<std::byte, 1> b;
            c.read(b);
        });
        auto s = TcpStream::connect("127.0.0.1", ln.port());
        std::atomic<bool> saw_cancel{false};
        goro::Task<std::string> reader = goro::spawn([&] {
            std::array<std::byte, 4> buf;
            try {
                s.read(buf);
            } catch (const goro::Cancelled&) {
                saw_cancel = true;
            }
            return read_exactly(s, 4);  // the request was delivered once: this read works
        });
        goro::sleep_for(10ms);
        reader.cancel();
        CHECK(reader.get() == "data");
        CHECK(saw_cancel.load());

        // wait_readable and connect are cancellation points too.
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        goro::Task<bool> waiter = goro::spawn([&] { return goro::net::wait_readable(p[0]); });
        goro::sleep_for(10ms);
        waiter.cancel();
        CHECK_THROWS_AS(waiter.get(), goro::Cancelled);
        ::close(p[0]);
        ::close(p[1]);
    });
}

TEST_CASE("plain_threads_use_blocking_calls_with_and_without_runtime", "[net]") {
    // No runtime at all: listener, accept, connect, read, write on plain threads.
    {
        auto ln = TcpListener::listen("127.0.0.1", 0);
        std::thread server([&] {
            TcpStream c = ln.accept();
            std::array<std::byte, 64> buf;
            for (std::size_t n; (n = c.read(buf)) > 0;) c.write_all(std::span(buf.data(), n));
        });
        {
            auto s = TcpStream::connect("127.0.0.1", ln.port(), 5s);
            s.write_all(bytes("thread"));
            CHECK(read_exactly(s, 6) == "thread");
            s.set_read_timeout(20ms);
            std::array<std::byte, 4> b;
            CHECK_THROWS_AS(s.read(b), goro::Timeout);
        }
        server.join();
        // close() from another thread wakes a thread blocked in accept.
        std::atomic<int> err{0};
        std::thread acceptor([&] {
            try {
                ln.accept();
            } catch (const std::system_error& e) {
                err = errno_of(e);
            }
        });
        std::this_thread::sleep_for(30ms);
        ln.close();
        acceptor.join();
        CHECK(err.load() == EBADF);
    }
    // A plain thread talking to goroutines while a runtime runs.
    for_each_maxprocs(kProcs, [](int) {
        auto ln = TcpListener::listen("127.0.0.1", 0);
        goro::WaitGroup server;
        serve_echo(ln, server);
        std::string got;
        std::atomic<bool> done{false};
        std::thread client([&] {
            auto s = TcpStream::connect("127.0.0.1", ln.port(), 5s);
            s.write_all(bytes("from a thread"));
            got = read_exactly(s, 13);
            done = true;
        });
        // Park the main goroutine (join() would block a worker, and at maxprocs 1 nobody would serve).
        CHECK(eventually([&] { return done.load(); }));
        client.join();
        CHECK(got == "from a thread");
        ln.close();
        server.wait();
    });
}

// Lowers the soft fd limit to the next free fd, so that accept4 fails with EMFILE; returns the limits to
// put back.
static rlimit limit_fds_to_those_open() {
    rlimit old{};
    ::getrlimit(RLIMIT_NOFILE, &old);
    int probe = ::dup(0);
    ::close(probe);
    rlimit low = old;
    low.rlim_cur = static_cast<rlim_t>(probe);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    return old;
}

TEST_CASE("accept_backs_off_on_emfile_and_recovers", "[net]") {
    for_each_maxprocs(kProcs, [](int) {
        auto ln = TcpListener::listen("127.0.0.1", 0);
        std::vector<TcpStream> clients;
        for (int i = 0; i < 3; ++i) clients.push_back(TcpStream::connect("127.0.0.1", ln.port()));
        const rlimit old = limit_fds_to_those_open();
        std::atomic<int> accepted{0};
        goro::Task<void> acceptor = goro::spawn([&] {
            for (int i = 0; i < 3; ++i) {
                TcpStream c = ln.accept();
                accepted.fetch_add(1);
            }
        });
        auto cpu0 = process_cpu_time();
        goro::sleep_for(300ms);
        auto cpu = process_cpu_time() - cpu0;
        int during = accepted.load();
        ::setrlimit(RLIMIT_NOFILE, &old);
        CHECK(during == 0);
        CHECK(cpu < 150ms);  // backing off, not spinning
        acceptor.get();      // recovers once fds are available again (within the 1 s backoff cap)
        CHECK(accepted.load() == 3);
    });
}

TEST_CASE("accept_backoff_does_not_spin_while_connections_keep_arriving", "[net]") {
    // Out of fds, accept() sleeps between tries (pd_sleep). A new connection wakes that sleep early, and
    // when the woken goroutine ran just after its deadline the sleep used to go on looking (poll) at a
    // listener that stays readable, without end: a worker pinned at 100% and deaf to close(). Here another
    // process (its own fd table) keeps connecting while this one is out of fds.
    for_each_maxprocs(kProcs, [](int) {
        auto ln = TcpListener::listen("127.0.0.1", 0);
        const int port = ln.port();
        // A first connection made and taken before the fds run out (the netpoller's own fds too).
        TcpStream first = TcpStream::connect("127.0.0.1", ln.port());
        TcpStream first_in = ln.accept();
        std::atomic<int> accepted{0};
        std::atomic<bool> closed_seen{false};
        std::atomic<int> other_error{0};
        const rlimit old = limit_fds_to_those_open();
        pid_t connector = ::fork();
        if (connector == 0) {  // only system calls from here: the parent's other threads are not copied
            ::setrlimit(RLIMIT_NOFILE, &old);
            sockaddr_in to{};
            to.sin_family = AF_INET;
            to.sin_port = htons(static_cast<std::uint16_t>(port));
            to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            for (int i = 0; i < 3000; ++i) {  // ~300 ms at one connection per 100 us
                // Kept open (closed when the process ends): a connection closed before its handshake ends
                // leaves the listener's queue again.
                int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
                if (fd >= 0) ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to);
                timespec pause{0, 100000};
                ::nanosleep(&pause, nullptr);
            }
            ::_exit(0);
        }
        REQUIRE(connector > 0);
        goro::Task<void> acceptor = goro::spawn([&] {
            try {
                for (;;) {
                    TcpStream c = ln.accept();
                    accepted.fetch_add(1);
                }
            } catch (const std::system_error& e) {
                if (e.code().value() == EBADF) closed_seen = true;  // close() below
                else other_error = e.code().value();
            }
        });
        // The connections arrive while the acceptor backs off; each may wake it early. Then, with no more
        // arriving and the fds still out, a quiet 200 ms: an acceptor that sleeps uses next to no CPU, one
        // that spins uses all of it.
        int status = 0;
        CHECK(eventually([&] { return ::waitpid(connector, &status, WNOHANG) == connector; }, 20s));
        auto cpu0 = process_cpu_time();
        goro::sleep_for(200ms);
        auto cpu = process_cpu_time() - cpu0;
        ::setrlimit(RLIMIT_NOFILE, &old);
        CHECK(other_error.load() == 0);
        CHECK(cpu < 100ms);  // backing off, not spinning
        CHECK(eventually([&] { return accepted.load() > 0; }, 5s));  // takes connections again
        ln.close();
        CHECK(eventually([&] { return closed_seen.load(); }, 5s));  // and hears close()
        if (closed_seen) acceptor.get();
    });
}
