// tests/stress/soak_test.cpp: everything at once, for a while, and nothing may be lost, duplicated or
// leaked. Each round starts a loopback echo server and moves a known set of messages
//   producers --select{send | after(timeout)}--> work channel --> workers and couriers --> results
// where workers send every fourth message through a TCP round trip to the echo server first, and
// couriers are tasks that the collector cancels while they run (a courier holding a message when the
// Cancelled arrives hands it on before it ends). Beside the flow, victim tasks block in a socket read,
// a select with a long timeout and a sleep, and are all cancelled; timeout probes check that a select
// on a silent channel takes its after() case. Rounds cycle maxprocs 1, 2, 4 and the collector moves it
// again mid-round with set_maxprocs.
//
// Checked every round: each message received exactly once (a bitmap), the count and a checksum (sum
// and xor of a mix of every value) against what was sent, every victim Cancelled, the echoed values
// intact, and afterwards num_goroutines() back to 1 (the main goroutine) and the process's open fds
// back to their count after the first round (the runtime's netpoller exists from then on). After
// run(): the fds back to their count before it. The stack pool is not reachable from a test (its
// stacks are recycled, never freed, inside a runtime); goroutines that ended leave their stacks there,
// so a goroutine count back to 1 is what stands for "no stack held".
//
// The short version (~3 s, at least one round per maxprocs) always runs; GORO_SOAK=1 runs it for 60 s
// (GORO_SOAK_SECONDS=N for N seconds) and prints the totals.
#include "test_util.hpp"

#include <goro/net.hpp>

#include <dirent.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

using namespace goro_test;
using goro::net::TcpListener;
using goro::net::TcpStream;

namespace {

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// open_fds() counts the entries of /proc/self/fd, less the directory's own descriptor.
long open_fds() {
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) return -1;
    long n = 0;
    while (dirent* e = ::readdir(d))
        if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    return n - 1;
}

struct Totals {
    long rounds = 0;
    long messages = 0;
    long socket_round_trips = 0;
    long send_timeouts = 0;      // a producer's select took after() (the work channel stayed full)
    long idle_timeouts = 0;      // a worker's select took after() (the work channel stayed empty)
    long courier_cancels = 0;    // couriers that saw Cancelled
    long courier_handovers = 0;  // of those, how many held a message then
    long victim_cancels = 0;
    long timeout_probes = 0;
    long maxprocs_changes = 0;
};

void read_full(TcpStream& s, std::byte* p, std::size_t n) {
    while (n > 0) {
        std::size_t got = s.read(std::span<std::byte>(p, n));
        if (got == 0) throw std::runtime_error("soak: echo server closed early");
        p += got;
        n -= got;
    }
}

// One round at `procs` workers (set before it starts); adds to `t`.
void soak_round(int procs, long round, long per_producer, std::uint64_t seed, Totals& t) {
    constexpr int kProducers = 8, kWorkers = 4, kCouriers = 4, kVictims = 12;
    const long total = kProducers * per_producer;
    goro::set_maxprocs(procs);

    // The loopback echo server: an accept loop and a goroutine per connection.
    TcpListener ln = TcpListener::listen("127.0.0.1", 0);
    const std::uint16_t port = ln.port();
    goro::WaitGroup server;
    server.add(1);
    goro::go([&] {
        try {
            for (;;) {
                TcpStream c = ln.accept();
                server.add(1);
                goro::go([&server, c = std::move(c)]() mutable {
                    std::array<std::byte, 256> buf;
                    try {
                        for (std::size_t n; (n = c.read(buf)) > 0;)
                            c.write_all(std::span<const std::byte>(buf.data(), n));
                    } catch (const std::system_error&) {
                    }
                    server.done();
                });
            }
        } catch (const std::system_error&) {  // the listener was closed
        }
        server.done();
    });

    const std::size_t cap = static_cast<std::size_t>(mix(seed) % 17);  // 0 (unbuffered) to 16
    goro::Chan<std::uint64_t> work(cap);
    goro::Chan<std::uint64_t> results(64);
    std::atomic<long> send_timeouts{0}, idle_timeouts{0}, round_trips{0}, handovers{0}, courier_cancels{0};

    // Producers: message = round | producer | sequence number.
    goro::WaitGroup producers;
    producers.add(kProducers);
    for (int p = 0; p < kProducers; ++p) {
        goro::go([&, p] {
            for (long i = 0; i < per_producer;) {
                std::uint64_t v = (static_cast<std::uint64_t>(round) << 48) | (static_cast<std::uint64_t>(p) << 32) |
                                  static_cast<std::uint64_t>(i);
                bool sent = false;
                goro::select(goro::case_send(work, v, [&] { sent = true; }),
                             goro::case_recv(goro::after(std::chrono::milliseconds(2))));
                if (sent) ++i;
                else send_timeouts.fetch_add(1, std::memory_order_relaxed);
                if ((i & 63) == 0) goro::yield();
            }
            producers.done();
        });
    }
    goro::go([&] {  // closes the work channel once every producer is done
        producers.wait();
        work.close();
    });

    // Workers: every fourth message (by its mix) makes a round trip through the echo server.
    goro::WaitGroup workers;
    workers.add(kWorkers);
    for (int w = 0; w < kWorkers; ++w) {
        goro::go([&] {
            TcpStream s = TcpStream::connect("127.0.0.1", port, std::chrono::seconds(10));
            for (;;) {
                std::optional<std::uint64_t> v;
                bool closed = false, idle = false;
                goro::select(goro::case_recv(work,
                                             [&](std::optional<std::uint64_t> x) {
                                                 v = x;
                                                 closed = !x;
                                             }),
                             goro::case_recv(goro::after(std::chrono::milliseconds(5)), [&] { idle = true; }));
                if (closed) break;
                if (idle) {
                    idle_timeouts.fetch_add(1, std::memory_order_relaxed);
                    continue;
                }
                if (mix(*v) % 4 == 0) {
                    std::uint64_t back = 0;
                    s.write_all(std::as_bytes(std::span(&*v, 1)));
                    read_full(s, reinterpret_cast<std::byte*>(&back), sizeof back);
                    GCHECK(back == *v);
                    round_trips.fetch_add(1, std::memory_order_relaxed);
                }
                results.send(*v);
            }
            s.close();
            workers.done();
        });
    }

    // Couriers: tasks moving messages as the workers do (no sockets), cancelled by the collector below.
    std::vector<goro::Task<void>> couriers;
    for (int c = 0; c < kCouriers; ++c) {
        couriers.push_back(goro::spawn([&] {
            std::optional<std::uint64_t> held;
            try {
                for (;;) {
                    bool closed = false;
                    goro::select(goro::case_recv(work,
                                                 [&](std::optional<std::uint64_t> x) {
                                                     held = x;
                                                     closed = !x;
                                                 }),
                                 goro::case_recv(goro::after(std::chrono::milliseconds(5))));
                    if (closed) return;
                    if (held) {
                        goro::yield();  // a cancellation may land while a message is held
                        results.send(*held);
                        held.reset();
                    }
                }
            } catch (const goro::Cancelled&) {
                courier_cancels.fetch_add(1, std::memory_order_relaxed);
                if (held) {  // the request was delivered: blocking calls work again
                    handovers.fetch_add(1, std::memory_order_relaxed);
                    results.send(*held);
                }
                throw;
            }
        }));
    }

    // Victims: blocked where only a cancellation ends them.
    std::vector<TcpStream> victim_conns;
    for (int v = 0; v < kVictims / 3; ++v)
        victim_conns.push_back(TcpStream::connect("127.0.0.1", port, std::chrono::seconds(10)));
    std::vector<goro::Task<void>> victims;
    goro::Chan<int> silent;
    for (int v = 0; v < kVictims; ++v) {
        switch (v % 3) {
            case 0:
                victims.push_back(goro::spawn([&, v] {
                    std::array<std::byte, 8> b;
                    victim_conns[static_cast<std::size_t>(v / 3)].read(b);
                    GCHECK(false);  // nobody writes to it
                }));
                break;
            case 1:
                victims.push_back(goro::spawn([&] {
                    goro::select(goro::case_recv(silent), goro::case_recv(goro::after(std::chrono::hours(1))));
                    GCHECK(false);
                }));
                break;
            default:
                victims.push_back(goro::spawn([] {
                    goro::sleep_for(std::chrono::hours(1));
                    GCHECK(false);
                }));
        }
    }

    // The collector (this goroutine): every message once; cancels the couriers along the way and moves
    // maxprocs.
    std::vector<std::uint8_t> seen(static_cast<std::size_t>(total), 0);
    std::uint64_t sum = 0, x = 0;
    long got = 0, duplicates = 0, foreign = 0;
    const int kProcsCycle[] = {1, 2, 4};
    auto stall = goro::after(std::chrono::seconds(30));  // a new one every 1000 messages
    for (; got < total; ++got) {
        if (got % 1000 == 0) stall = goro::after(std::chrono::seconds(30));
        std::uint64_t v = 0;
        bool stalled = false;
        goro::select(goro::case_recv(results, [&](std::optional<std::uint64_t> r) { v = *r; }),
                     goro::case_recv(stall, [&] { stalled = true; }));
        if (stalled) {  // lost messages: report, and let the round end (its goroutines use this frame)
            FAIL_CHECK("round " << round << ": 1000 messages not in within 30 s; " << got << " of " << total);
            break;
        }
        long p = static_cast<long>((v >> 32) & 0xffff), i = static_cast<long>(v & 0xffffffff);
        if ((v >> 48) != static_cast<std::uint64_t>(round) || p >= kProducers || i >= per_producer) {
            ++foreign;
            continue;
        }
        std::uint8_t& s = seen[static_cast<std::size_t>(p * per_producer + i)];
        if (s++) ++duplicates;
        sum += mix(v);
        x ^= mix(v);
        // Cancel courier k when a (k+1)/(kCouriers+1) share of the messages is in.
        for (int k = 0; k < kCouriers; ++k)
            if (got == total * (k + 1) / (kCouriers + 1)) couriers[static_cast<std::size_t>(k)].cancel();
        if (got % 1000 == 999) {
            goro::set_maxprocs(kProcsCycle[(got / 1000 + round) % 3]);
            ++t.maxprocs_changes;
        }
    }
    // Timeout probes: nothing is ever sent on `silent`.
    for (int k = 0; k < 3; ++k) {
        std::size_t which =
            goro::select(goro::case_recv(silent), goro::case_recv(goro::after(std::chrono::milliseconds(1))));
        CHECK(which == 1);
        ++t.timeout_probes;
    }

    // The expected count and checksum, computed from what the producers were told to send.
    std::uint64_t want_sum = 0, want_x = 0;
    for (long p = 0; p < kProducers; ++p)
        for (long i = 0; i < per_producer; ++i) {
            std::uint64_t v = (static_cast<std::uint64_t>(round) << 48) | (static_cast<std::uint64_t>(p) << 32) |
                              static_cast<std::uint64_t>(i);
            want_sum += mix(v);
            want_x ^= mix(v);
        }
    INFO("round " << round << " at maxprocs " << procs << ", work capacity " << cap);
    CHECK(foreign == 0);
    CHECK(duplicates == 0);
    CHECK(std::count(seen.begin(), seen.end(), std::uint8_t{1}) == total);
    CHECK(sum == want_sum);
    CHECK(x == want_x);

    workers.wait();
    for (auto& c : couriers) {
        try {
            c.get();
        } catch (const goro::Cancelled&) {
        }
    }
    CHECK(results.try_recv() == std::nullopt);  // nothing extra after the last expected message
    for (auto& v : victims) v.cancel();
    for (auto& v : victims) {
        try {
            v.get();
        } catch (const goro::Cancelled&) {
        }
        CHECK(v.cancelled());
    }
    victim_conns.clear();
    ln.close();
    server.wait();

    t.rounds += 1;
    t.messages += total;
    t.socket_round_trips += round_trips.load();
    t.send_timeouts += send_timeouts.load();
    t.idle_timeouts += idle_timeouts.load();
    t.courier_cancels += courier_cancels.load();
    t.courier_handovers += handovers.load();
    t.victim_cancels += kVictims;
}

void soak(std::chrono::seconds budget, bool report) {
    const long per_producer = scale(2000);
    const long fds_before = open_fds();
    Totals t;
    run_at(4, [&] {
        const auto deadline = Clock::now() + budget;
        const int kProcsCycle[] = {1, 2, 4};
        long fds_after_first = -1;
        std::uint64_t seed = 0x5eed;
        for (long round = 0; round < 3 || Clock::now() < deadline; ++round) {
            seed = mix(seed);
            soak_round(kProcsCycle[round % 3], round, per_producer, seed, t);
            // Leak checks: every goroutine of the round has ended, and every fd it opened is closed.
            INFO("after round " << round);
            REQUIRE(eventually([] { return goro::num_goroutines() == 1; }));
            // The monitor opens /proc/self/task/TID/stat for a moment when a
            // worker runs one goroutine for a while: a single count can see
            // that descriptor (it once did, at round 50: 6 == 5). A leak
            // stays; the monitor's descriptor goes.
            if (round == 0) {
                fds_after_first = open_fds();
                for (int i = 0; i < 5; ++i, goro::sleep_for(1ms)) fds_after_first = std::min(fds_after_first, open_fds());
            }
            CHECK(eventually([&] { return open_fds() == fds_after_first; }, 2s));
        }
        goro::set_maxprocs(4);
    });
    CHECK(open_fds() == fds_before);
    CHECK(t.victim_cancels == t.rounds * 12);
    if (report)
        std::printf(
            "soak: %lds, %ld rounds, %ld messages (%ld through TCP round trips), %ld send timeouts, "
            "%ld idle timeouts, %ld couriers cancelled (%ld holding a message), %ld victims cancelled, "
            "%ld timeout probes, %ld set_maxprocs moves\n",
            static_cast<long>(budget.count()), t.rounds, t.messages, t.socket_round_trips, t.send_timeouts,
            t.idle_timeouts, t.courier_cancels, t.courier_handovers, t.victim_cancels, t.timeout_probes,
            t.maxprocs_changes + t.rounds);
}

long soak_seconds() {
    const char* on = ::getenv("GORO_SOAK");
    if (!on || std::string(on) != "1") return 0;
    if (const char* s = ::getenv("GORO_SOAK_SECONDS"); s && std::atol(s) > 0) return std::atol(s);
    return 60;
}

}  // namespace

TEST_CASE("soak_short", "[stress][soak]") { soak(std::chrono::seconds(3), false); }

TEST_CASE("soak_long_when_GORO_SOAK_is_1", "[stress][soak]") {
    long seconds = soak_seconds();
    if (seconds == 0) {
        SUCCEED("GORO_SOAK is not 1: the long soak is skipped");
        return;
    }
    soak(std::chrono::seconds(seconds), true);
}
