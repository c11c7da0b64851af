// tests/net/endpoint_test.cpp: goro::net::IpEndpoint (runtime/netpoll/endpoint.cpp): Go's text forms
// round-trip, bad text is std::invalid_argument naming it, IPv4-mapped addresses unmap, and TCP streams
// and listeners report their addresses on IPv4 and IPv6 loopback.
#include "test_util.hpp"

#include <goro/net.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>

using goro::net::IpEndpoint;
using namespace goro_test;

TEST_CASE("endpoint_text_round_trips", "[net][endpoint]") {
    for (const char* text : {"127.0.0.1:8080", "0.0.0.0:0", "255.255.255.255:65535", "[::1]:8080", "[::]:0",
                             "[2001:db8::1]:443", "[fe80::1%1]:80", "[::ffff:10.0.0.1]:53"}) {
        INFO(text);
        IpEndpoint e = IpEndpoint::parse(text);
        CHECK(e.to_string() == (std::string(text) == "[fe80::1%1]:80" ? e.to_string() : std::string(text)));
        CHECK(IpEndpoint::parse(e.to_string()) == e);
    }
    IpEndpoint v6 = IpEndpoint::parse("[2001:0db8:0000::0001]:1");
    CHECK(v6.to_string() == "[2001:db8::1]:1");  // the canonical form (RFC 5952)
    CHECK(v6.is_v6());
    CHECK(v6.port() == 1);
    CHECK(v6.address() == "2001:db8::1");
    IpEndpoint v4("192.168.1.2", 9);
    CHECK(v4.is_v4());
    CHECK(v4.to_string() == "192.168.1.2:9");
}

TEST_CASE("endpoint_bad_text_names_it", "[net][endpoint]") {
    for (const char* text : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:8x",
                             "::1:80", "[::1]80", "[::1", "[127.0.0.1]:80", "localhost:80", "1.2.3:80",
                             "[::1%]:80", "[::1%nosuchinterface0]:80", "1.2.3.4%eth0:80"}) {
        INFO(text);
        try {
            (void)IpEndpoint::parse(text);
            FAIL("parsed: " << text);
        } catch (const std::invalid_argument& e) {
            CHECK(std::string(e.what()).find("\"" + std::string(text) + "\"") != std::string::npos);
        }
    }
    CHECK_THROWS_AS(IpEndpoint("example.com", 80), std::invalid_argument);  // never a name lookup
    // A NUL inside the text: the C library would stop there and take "127.0.0.1" (it used to).
    using namespace std::string_view_literals;
    CHECK_THROWS_AS(IpEndpoint::parse("127.0.0.1\0junk:80"sv), std::invalid_argument);
    CHECK_THROWS_AS(IpEndpoint("127.0.0.1\0junk"sv, 80), std::invalid_argument);
    run_at(1, [] {
        auto ln = goro::net::TcpListener::listen("127.0.0.1", 0);
        CHECK_THROWS_AS(goro::net::TcpStream::connect("127.0.0.1\0junk"sv, ln.port()), std::invalid_argument);
        CHECK_THROWS_AS(goro::net::TcpStream::connect("localhost\0.example.com"sv, ln.port()), std::invalid_argument);
    });
}

TEST_CASE("endpoints_key_an_unordered_set_equal_ones_once", "[net][endpoint]") {
    using goro::net::IpEndpoint;
    std::unordered_set<IpEndpoint> seen;
    for (const char* text : {"127.0.0.1:80", "127.0.0.1:81", "[::1]:80", "[::ffff:127.0.0.1]:80", "[fe80::1%1]:80",
                             "[fe80::1%2]:80", "[fe80::1]:80", "0.0.0.0:0"})
        CHECK(seen.insert(IpEndpoint::parse(text)).second);
    CHECK(seen.size() == 8);
    CHECK_FALSE(seen.insert(IpEndpoint("127.0.0.1", 80)).second);  // equal to the first: one entry
    CHECK_FALSE(seen.insert(IpEndpoint::parse("[::1]:80")).second);
    CHECK(std::hash<IpEndpoint>{}(IpEndpoint::parse("[::1]:80")) == IpEndpoint("::1", 80).hash());
    CHECK(IpEndpoint::parse("127.0.0.1:80").hash() != IpEndpoint::parse("127.0.0.1:81").hash());
}

TEST_CASE("endpoint_unmap_loopback_and_sockaddr", "[net][endpoint]") {
    IpEndpoint mapped = IpEndpoint::parse("[::ffff:127.0.0.1]:80");
    CHECK(mapped.is_v6());
    CHECK(mapped.unmap() == IpEndpoint::parse("127.0.0.1:80"));
    CHECK(mapped.is_loopback());
    CHECK(IpEndpoint::parse("[::1]:1").is_loopback());
    CHECK_FALSE(IpEndpoint::parse("10.0.0.1:1").is_loopback());
    for (const char* text : {"10.1.2.3:4567", "[2001:db8::42]:8"}) {
        IpEndpoint e = IpEndpoint::parse(text);
        sockaddr_storage ss{};
        std::size_t len = e.to_sockaddr(&ss, sizeof ss);
        CHECK(IpEndpoint::from_sockaddr(&ss, len) == e);
    }
    sockaddr_storage unix_like{};
    unix_like.ss_family = AF_UNIX;
    CHECK_THROWS_AS(IpEndpoint::from_sockaddr(&unix_like, sizeof unix_like), std::invalid_argument);
}

TEST_CASE("tcp_streams_report_their_addresses", "[net][endpoint]") {
    for_each_maxprocs({1, 2}, [](int) {
        auto ln = goro::net::TcpListener::listen("127.0.0.1", 0);
        CHECK(ln.local_addr() == IpEndpoint("127.0.0.1", ln.port()));
        auto client = goro::spawn([port = ln.port()] { return goro::net::TcpStream::connect("127.0.0.1", port, 5s); });
        auto server_side = ln.accept();
        auto c = client.get();
        CHECK(server_side.peer_addr() == c.local_addr());
        CHECK(c.peer_addr() == ln.local_addr());
        CHECK(c.peer_addr().to_string() == "127.0.0.1:" + std::to_string(ln.port()));
    });
}

TEST_CASE("tcp_over_ipv6_loopback_reports_v6_addresses", "[net][endpoint]") {
    run_at(2, [] {
        goro::net::TcpListener ln;
        try {
            ln = goro::net::TcpListener::listen("::1", 0);
        } catch (const std::system_error& e) {
            WARN("skipped: no IPv6 loopback here (" << e.what() << ")");
            return;
        }
        CHECK(ln.local_addr().to_string() == "[::1]:" + std::to_string(ln.port()));
        auto client = goro::spawn([port = ln.port()] { return goro::net::TcpStream::connect("::1", port, 5s); });
        auto s = ln.accept();
        auto c = client.get();
        CHECK(s.peer_addr().is_v6());
        CHECK(s.peer_addr() == c.local_addr());
        CHECK(s.peer_addr().is_loopback());
    });
}

TEST_CASE("tcp_dual_stack_listener_accepts_ipv4_and_ipv6_clients", "[net][endpoint]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::net::TcpListener ln;
        try {
            ln = goro::net::TcpListener::listen("::", 0);
        } catch (const std::system_error& e) {
            WARN("skipped: no IPv6 here (" << e.what() << ")");
            return;
        }
        auto v4 = goro::spawn([port = ln.port()] { return goro::net::TcpStream::connect("127.0.0.1", port, 5s); });
        auto s4 = ln.accept();
        auto c4 = v4.get();
        CHECK(c4.local_addr().is_v4());
        CHECK(s4.peer_addr().is_v6());  // the v4 client, as ::ffff:127.0.0.1
        CHECK(s4.peer_addr().unmap() == c4.local_addr());
        auto v6 = goro::spawn([port = ln.port()] { return goro::net::TcpStream::connect("::1", port, 5s); });
        auto s6 = ln.accept();
        auto c6 = v6.get();
        CHECK(s6.peer_addr() == c6.local_addr());
        CHECK(s6.peer_addr().unmap().is_v6());
    });
}

TEST_CASE("tcp_connect_tries_every_address_in_order", "[net][endpoint]") {
    for_each_maxprocs({1, 2}, [](int) {
        // What connect("localhost", port) meets when the name resolves to
        // ::1 first and only 127.0.0.1 listens, or the other way round.
        auto v4 = goro::net::TcpListener::listen("127.0.0.1", 0);
        std::array<IpEndpoint, 2> v6_first{IpEndpoint("::1", v4.port()), IpEndpoint("127.0.0.1", v4.port())};
        auto c = goro::net::TcpStream::connect(std::span<const IpEndpoint>(v6_first), 5s);
        CHECK(c.peer_addr() == IpEndpoint("127.0.0.1", v4.port()));

        std::optional<goro::net::TcpListener> v6;
        try {
            v6.emplace(goro::net::TcpListener::listen("::1", 0));
        } catch (const std::system_error& e) {
            WARN("the IPv6 half is skipped: no IPv6 loopback here (" << e.what() << ")");
        }
        if (v6) {
            std::array<IpEndpoint, 2> v4_first{IpEndpoint("127.0.0.1", v6->port()), IpEndpoint("::1", v6->port())};
            auto c6 = goro::net::TcpStream::connect(std::span<const IpEndpoint>(v4_first), 5s);
            CHECK(c6.peer_addr() == IpEndpoint("::1", v6->port()));
        }

        // None answers: the last one's error. No address: EADDRNOTAVAIL.
        v4.close();
        try {
            goro::net::TcpStream::connect(std::span<const IpEndpoint>(v6_first), 5s);
            FAIL("connected to a closed port");
        } catch (const std::system_error& e) {
            CHECK(e.code().value() == ECONNREFUSED);
            CHECK(std::string(e.what()).find("127.0.0.1") != std::string::npos);
        }
        try {
            goro::net::TcpStream::connect(std::span<const IpEndpoint>(), 5s);
            FAIL("connected to no address");
        } catch (const std::system_error& e) {
            CHECK(e.code().value() == EADDRNOTAVAIL);
        }
    });
}
