// bench/net_local.cpp: round trips per second over UDP and over a Unix-domain
// stream socket on loopback (issue 20), for bench/net_local.sh, which runs Go's
// version (bench/go/net_local.go) beside it. P pairs (1, then 16) each make
// NET_N / P round trips (NET_N default 200,000) of a 32-byte message: a client
// goroutine sends, its server goroutine reads and sends it back. Each line:
// "goro net_local METRIC VALUE rt/s", METRIC udp_P or unix_P (higher is better).
// Loopback only; every pair stops after its count.
#include <goro/goro.hpp>

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

long env_long(const char* name, long def) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtol(v, nullptr, 10) : def;
}

constexpr std::size_t kMsg = 32;

double udp_round_trips(int pairs, long per_pair) {
    using goro::net::UdpSocket;
    std::vector<UdpSocket> servers, clients;
    for (int p = 0; p < pairs; ++p) {
        servers.push_back(UdpSocket::bind("127.0.0.1", 0));
        clients.push_back(UdpSocket::bind("127.0.0.1", 0));
        clients.back().connect(servers.back().local_addr());
    }
    goro::WaitGroup wg;
    auto t0 = std::chrono::steady_clock::now();
    for (int p = 0; p < pairs; ++p) {
        wg.add(2);
        goro::go([&, p] {
            std::array<std::byte, 64> buf;
            for (long i = 0; i < per_pair; ++i) {
                auto d = servers[p].recv_from(buf);
                servers[p].send_to(std::span(buf.data(), d.size), d.from);
            }
            wg.done();
        });
        goro::go([&, p] {
            std::array<std::byte, kMsg> msg{};
            std::array<std::byte, 64> buf;
            for (long i = 0; i < per_pair; ++i) {
                clients[p].send(msg);
                clients[p].recv(buf);
            }
            wg.done();
        });
    }
    wg.wait();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return static_cast<double>(pairs) * static_cast<double>(per_pair) / s;
}

void read_full(goro::net::Stream& s, std::span<std::byte> buf) {
    for (std::size_t got = 0; got < buf.size();) {
        std::size_t n = s.read(buf.subspan(got));
        if (n == 0) std::abort();  // the peer never closes before the count
        got += n;
    }
}

double unix_round_trips(int pairs, long per_pair) {
    using goro::net::UnixListener;
    using goro::net::UnixStream;
    std::string name = "@goro-bench-" + std::to_string(::getpid());
    UnixListener ln = UnixListener::listen(name);
    goro::WaitGroup wg;
    auto t0 = std::chrono::steady_clock::now();
    for (int p = 0; p < pairs; ++p) {
        wg.add(1);
        goro::go([&] {
            UnixStream c = UnixStream::connect(name);
            std::array<std::byte, kMsg> msg{}, buf;
            for (long i = 0; i < per_pair; ++i) {
                c.write_all(msg);
                read_full(c, buf);
            }
            wg.done();
        });
        UnixStream s = ln.accept();
        wg.add(1);
        goro::go([&wg, per_pair, s = std::move(s)]() mutable {
            std::array<std::byte, kMsg> buf;
            for (long i = 0; i < per_pair; ++i) {
                read_full(s, buf);
                s.write_all(buf);
            }
            wg.done();
        });
    }
    wg.wait();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return static_cast<double>(pairs) * static_cast<double>(per_pair) / s;
}

}  // namespace

int main() {
    long n = env_long("NET_N", 200000);
    return goro::run([n] {
        for (int pairs : {1, 16}) {
            std::printf("goro net_local udp_%d %.0f rt/s\n", pairs, udp_round_trips(pairs, n / pairs));
            std::printf("goro net_local unix_%d %.0f rt/s\n", pairs, unix_round_trips(pairs, n / pairs));
        }
        return 0;
    });
}
