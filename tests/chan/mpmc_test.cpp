// tests/chan/mpmc_test.cpp: many producers and many consumers on one channel. 8 producers x 8 consumers
// move 1M distinct values (scaled down under sanitizers); every value must be received exactly once (count,
// sum and a per-value seen bitmap), and each consumer sees each producer's values in increasing order (the
// channel is a FIFO). Plain send/recv, select on both sides, and several capacities, at maxprocs 1 and 2.
#include "test_util.hpp"

#include <vector>

using namespace goro_test;

namespace {

struct MpmcResult {
    long received = 0;
    long long sum = 0;
    long duplicates = 0;
    long missing = 0;
    long out_of_order = 0;
};

MpmcResult run_mpmc(std::size_t capacity, long total, bool use_select) {
    constexpr int P = 8, C = 8;
    const long per = total / P;
    goro::Chan<long> ch(capacity);
    goro::Chan<long> never;  // a second case that is never ready
    std::vector<std::atomic<std::uint8_t>> seen(static_cast<std::size_t>(per * P));
    std::atomic<long> received{0}, out_of_order{0}, duplicates{0};
    std::atomic<long long> sum{0};

    goro::WaitGroup producers, consumers;
    producers.add(P);
    consumers.add(C);
    for (int p = 0; p < P; ++p) {
        goro::go([&, p] {
            const bool sel = use_select && p % 2 == 1;
            for (long i = 0; i < per; ++i) {
                long v = p * per + i;
                if (sel) goro::select(goro::case_send(ch, v), goro::case_recv(never));
                else ch.send(v);
            }
            producers.done();
        });
    }
    for (int c = 0; c < C; ++c) {
        goro::go([&, c] {
            const bool sel = use_select && c % 2 == 1;
            std::vector<long> last(P, -1);
            long n = 0;
            long long s = 0;
            for (;;) {
                std::optional<long> v;
                if (sel) {
                    goro::select(goro::case_recv(ch, [&](std::optional<long> x) { v = x; }), goro::case_recv(never));
                } else {
                    v = ch.recv();
                }
                if (!v) break;
                ++n;
                s += *v;
                std::size_t idx = static_cast<std::size_t>(*v);
                if (idx >= seen.size() || seen[idx].fetch_add(1) != 0) {
                    duplicates.fetch_add(1);
                    continue;
                }
                long prod = *v / per;
                if (*v <= last[static_cast<std::size_t>(prod)]) out_of_order.fetch_add(1);
                last[static_cast<std::size_t>(prod)] = *v;
            }
            received.fetch_add(n);
            sum.fetch_add(s);
            consumers.done();
        });
    }
    producers.wait();
    ch.close();
    consumers.wait();

    MpmcResult r;
    r.received = received.load();
    r.sum = sum.load();
    r.duplicates = duplicates.load();
    r.out_of_order = out_of_order.load();
    for (auto& s : seen)
        if (s.load() != 1) ++r.missing;
    return r;
}

void check_mpmc(std::size_t capacity, long total, bool use_select) {
    INFO("capacity = " << capacity << ", select = " << use_select << ", values = " << total);
    const long n = total / 8 * 8;
    auto t0 = Clock::now();
    MpmcResult r = run_mpmc(capacity, total, use_select);
    INFO("took " << ms(Clock::now() - t0) << " ms");
    CHECK(r.received == n);
    CHECK(r.sum == static_cast<long long>(n) * (n - 1) / 2);
    CHECK(r.duplicates == 0);
    CHECK(r.missing == 0);
    CHECK(r.out_of_order == 0);
}

}  // namespace

TEST_CASE("chan_mpmc_8x8_1m_unbuffered", "[chan][mpmc]") {
    for_each_maxprocs({1, 2}, [](int) { check_mpmc(0, scale(1000000), false); });
}

TEST_CASE("chan_mpmc_8x8_1m_buffered", "[chan][mpmc]") {
    for_each_maxprocs({1, 2}, [](int) {
        check_mpmc(1, scale(1000000), false);
        check_mpmc(128, scale(1000000), false);
    });
}

TEST_CASE("chan_mpmc_8x8_1m_select", "[chan][mpmc]") {
    for_each_maxprocs({1, 2}, [](int) {
        check_mpmc(0, scale(1000000), true);
        check_mpmc(16, scale(1000000), true);
    });
}
