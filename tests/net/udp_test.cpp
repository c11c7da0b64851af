// tests/net/udp_test.cpp: goro::net::UdpSocket (runtime/netpoll/udp.cpp): ping-pong between goroutines,
// truncation reported, read timeouts, 10,000 paced datagrams counted and checksummed, a dual-stack socket
// talking to an IPv4 peer, connect + ECONNREFUSED, cancellation of a parked recv, and plain threads.
#include "test_util.hpp"

#include <goro/net.hpp>

#include <array>
#include <cstring>
#include <string>
#include <thread>

using goro::net::IpEndpoint;
using goro::net::UdpSocket;
using namespace goro_test;

namespace {
std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }
std::string text_of(std::span<const std::byte> b, std::size_t n) { return std::string(reinterpret_cast<const char*>(b.data()), n); }
}  // namespace

TEST_CASE("udp_ping_pong_between_goroutines", "[net][udp]") {
    for_each_maxprocs({1, 2}, [](int) {
        UdpSocket server = UdpSocket::bind("127.0.0.1", 0);
        IpEndpoint where = server.local_addr();
        CHECK(where.port() != 0);
        auto echo = goro::spawn([&server] {
            std::array<std::byte, 64> buf;
            for (int i = 0; i < 100; ++i) {
                goro::net::Datagram d = server.recv_from(buf);
                server.send_to(std::span(buf.data(), d.size), d.from);
            }
        });
        UdpSocket client = UdpSocket::bind("127.0.0.1", 0);
        client.set_read_timeout(5s);
        std::array<std::byte, 64> buf;
        for (int i = 0; i < 100; ++i) {
            std::string msg = "ping " + std::to_string(i);
            CHECK(client.send_to(bytes_of(msg), where) == msg.size());
            goro::net::Datagram d = client.recv_from(buf);
            CHECK_FALSE(d.truncated);
            CHECK(d.from == where);
            CHECK(text_of(buf, d.size) == msg);
        }
        echo.get();
    });
}

TEST_CASE("udp_truncation_is_reported", "[net][udp]") {
    run_at(2, [] {
        UdpSocket a = UdpSocket::bind("127.0.0.1", 0);
        UdpSocket b = UdpSocket::bind("127.0.0.1", 0);
        std::string big(1000, 'x');
        b.send_to(bytes_of(big), a.local_addr());
        std::array<std::byte, 100> small;
        goro::net::Datagram d = a.recv_from(small);
        CHECK(d.truncated);
        CHECK(d.size == small.size());
        b.send_to(bytes_of("fits"), a.local_addr());  // the next datagram is whole
        d = a.recv_from(small);
        CHECK_FALSE(d.truncated);
        CHECK(text_of(small, d.size) == "fits");
    });
}

TEST_CASE("udp_read_timeout_and_cancellation", "[net][udp]") {
    for_each_maxprocs({1, 2}, [](int) {
        UdpSocket s = UdpSocket::bind("127.0.0.1", 0);
        s.set_read_timeout(20ms);
        std::array<std::byte, 16> buf;
        auto t0 = std::chrono::steady_clock::now();
        CHECK_THROWS_AS(s.recv_from(buf), goro::Timeout);
        CHECK(std::chrono::steady_clock::now() - t0 >= 20ms);
        s.set_read_timeout(std::nullopt);
        auto parked = goro::spawn([&s, &buf] { return s.recv_from(buf).size; });
        goro::sleep_for(10ms);
        parked.cancel();
        CHECK_THROWS_AS(parked.get(), goro::Cancelled);
        // Still usable after the cancelled wait.
        UdpSocket other = UdpSocket::bind("127.0.0.1", 0);
        other.send_to(bytes_of("after"), s.local_addr());
        CHECK(text_of(buf, s.recv_from(buf).size) == "after");
        // close() wakes a parked recv with EBADF.
        auto closing = goro::spawn([&s, &buf] { return s.recv_from(buf).size; });
        goro::sleep_for(10ms);
        s.close();
        CHECK_THROWS_AS(closing.get(), std::system_error);
    });
}

// 10,000 datagrams between two goroutines, paced by acknowledgements every 100 so that loopback's
// buffers never overflow: none lost, checksum equal.
TEST_CASE("udp_10000_datagrams_none_lost", "[net][udp]") {
    const int n = static_cast<int>(scale(10000));
    for_each_maxprocs({1, 2}, [n](int) {
        UdpSocket rx = UdpSocket::bind("127.0.0.1", 0);
        UdpSocket tx = UdpSocket::bind("127.0.0.1", 0);
        rx.set_read_timeout(5s);
        tx.set_read_timeout(5s);
        auto receiver = goro::spawn([&] {
            std::uint64_t sum = 0;
            std::array<std::byte, 16> buf;
            for (int i = 0; i < n; ++i) {
                goro::net::Datagram d = rx.recv_from(buf);
                std::uint64_t v = 0;
                std::memcpy(&v, buf.data(), sizeof v);
                sum += v * 2654435761u;
                if ((i + 1) % 100 == 0) rx.send_to(bytes_of("ack"), d.from);
            }
            return sum;
        });
        std::uint64_t want = 0;
        std::array<std::byte, 8> out;
        std::array<std::byte, 8> ack;
        for (int i = 0; i < n; ++i) {
            std::uint64_t v = static_cast<std::uint64_t>(i) * 7919 + 1;
            std::memcpy(out.data(), &v, sizeof v);
            tx.send_to(out, rx.local_addr());
            want += v * 2654435761u;
            if ((i + 1) % 100 == 0) tx.recv_from(ack);
        }
        CHECK(receiver.get() == want);
    });
}

TEST_CASE("udp_dual_stack_socket_talks_to_ipv4", "[net][udp]") {
    run_at(2, [] {
        UdpSocket v6;
        try {
            v6 = UdpSocket::bind("::", 0);
        } catch (const std::system_error& e) {
            WARN("skipped: no IPv6 here (" << e.what() << ")");
            return;
        }
        v6.set_read_timeout(5s);
        UdpSocket v4 = UdpSocket::bind("127.0.0.1", 0);
        v4.set_read_timeout(5s);
        v4.send_to(bytes_of("from v4"), IpEndpoint("127.0.0.1", v6.local_addr().port()));
        std::array<std::byte, 32> buf;
        goro::net::Datagram d = v6.recv_from(buf);
        CHECK(text_of(buf, d.size) == "from v4");
        CHECK(d.from.is_v6());
        CHECK(d.from.unmap() == v4.local_addr());
        v6.send_to(bytes_of("to v4"), v4.local_addr());  // an IPv4 endpoint on a dual-stack socket
        d = v4.recv_from(buf);
        CHECK(text_of(buf, d.size) == "to v4");
    });
}

TEST_CASE("udp_connected_send_recv_and_refused", "[net][udp]") {
    run_at(1, [] {
        UdpSocket a = UdpSocket::bind("127.0.0.1", 0);
        UdpSocket b = UdpSocket::bind("127.0.0.1", 0);
        a.connect(b.local_addr());
        b.connect(a.local_addr());
        CHECK(a.peer_addr() == b.local_addr());
        a.send(bytes_of("hi"));
        std::array<std::byte, 8> buf;
        CHECK(text_of(buf, b.recv(buf).size) == "hi");
        // A peer with no socket: Linux reports the ICMP error on the next call.
        IpEndpoint gone;
        {
            UdpSocket tmp = UdpSocket::bind("127.0.0.1", 0);
            gone = tmp.local_addr();
        }
        UdpSocket c = UdpSocket::bind("127.0.0.1", 0);
        c.connect(gone);
        c.set_read_timeout(2s);
        c.send(bytes_of("anyone?"));
        try {
            (void)c.recv(buf);
            FAIL("recv from a closed port returned");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::connection_refused);
        }
    });
}

TEST_CASE("udp_from_plain_threads", "[net][udp]") {
    UdpSocket a = UdpSocket::bind("127.0.0.1", 0);
    UdpSocket b = UdpSocket::bind("127.0.0.1", 0);
    a.set_read_timeout(5s);
    std::thread t([&] { b.send_to(bytes_of("plain"), a.local_addr()); });
    std::array<std::byte, 16> buf;
    goro::net::Datagram d = a.recv_from(buf);
    t.join();
    CHECK(text_of(buf, d.size) == "plain");
    CHECK_THROWS_AS(UdpSocket::bind("not-an-ip", 0), std::invalid_argument);
    UdpSocket closed;
    CHECK_THROWS_AS(closed.recv_from(buf), std::system_error);
}
