// tests/regress/waiting_select_always_took_first_case_test.cpp: a select that had to park queued its
// cases in argument order, so when two of its cases waited on the same channel, the partner that came
// later always completed the first one: a select over `c <- 1` and `c <- 0` on an unbuffered channel sent
// 1 in 100 of 100 rounds. A parked select must queue its cases in its random order, so that every case
// can win. The first test is Go's TestPseudoRandomSend (runtime/chan_test.go): the receiver yields before
// each receive, so the sender's select finds nobody and parks; with capacity n it polls instead.
#include "test_util.hpp"

#include <array>

using namespace goro_test;

namespace {

// Rounds of `select { c <- 1; c <- 0 }` against a receiver that yields first; returns the number of ones
// received.
int pseudo_random_send(std::size_t capacity, int rounds) {
    goro::Chan<int> c(capacity);
    goro::Chan<bool> done;
    int ones = 0;
    goro::go([&] {
        for (int i = 0; i < rounds; ++i) {
            goro::yield();
            ones += *c.recv();
        }
        done.send(true);
    });
    for (int i = 0; i < rounds; ++i) goro::select(goro::case_send(c, 1), goro::case_send(c, 0));
    done.recv();
    return ones;
}

}  // namespace

TEST_CASE("waiting_select_send_cases_win_in_random_order", "[regress][chan][select]") {
    const int n = 100;
    for_each_maxprocs({1, 2}, [&](int) {
        for (std::size_t capacity : {std::size_t{0}, std::size_t{100}}) {
            int ones = pseudo_random_send(capacity, n);
            INFO("capacity " << capacity << ": " << ones << " ones of " << n);
            // Go's bound: each outcome more than n/10 times (a fair coin fails it with p ~ 1e-17).
            CHECK(ones > n / 10);
            CHECK(n - ones > n / 10);
        }
    });
}

TEST_CASE("waiting_select_recv_cases_win_in_random_order", "[regress][chan][select]") {
    // The mirror image: a select of three receives on one channel parks before the sender comes; every
    // case must be the one that receives in some rounds.
    const int n = 300;
    for_each_maxprocs({1, 2}, [&](int) {
        goro::Chan<int> c;
        goro::Chan<bool> done;
        goro::go([&] {
            for (int i = 0; i < n; ++i) {
                goro::yield();
                c.send(i);
            }
            done.send(true);
        });
        std::array<int, 3> wins{};
        long sum = 0;
        for (int i = 0; i < n; ++i) {
            auto take = [&](std::optional<int> v) { sum += *v; };
            std::size_t k = goro::select(goro::case_recv(c, take), goro::case_recv(c, take), goro::case_recv(c, take));
            REQUIRE(k < 3);
            ++wins[k];
        }
        done.recv();
        INFO("wins " << wins[0] << " / " << wins[1] << " / " << wins[2]);
        CHECK(sum == static_cast<long>(n) * (n - 1) / 2);
        // A fair three-way choice gives each case ~100; under 20 happens with p < 1e-20.
        for (int w : wins) CHECK(w >= 20);
    });
}
