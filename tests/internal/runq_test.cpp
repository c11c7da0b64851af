// tests/internal/runq_test.cpp: runtime/sched/runq.hpp, a P's local run queue (RunQueue<N>).
//
// One owner pushes and pops at its ends, thieves take half from the head. Tiny capacities (2, 4) make
// every other push meet a full queue and every steal race the owner for the same slots. The
// concurrent tests check that every item is taken exactly once (a count per item, plus totals and a
// checksum), and that what the owner wrote into a G before pushing it is what its taker reads (under
// TSan: the queue orders those plain writes before the taker's reads).
#include "internal/runtime_export.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

using goro_test::rt::G;
using goro_test::rt::RunQueue;

namespace {

// Items: n distinct descriptors, numbered by their position.
struct Items {
    explicit Items(std::size_t n) : n(n), gs(new G[n]) {}
    G* at(std::size_t i) const { return &gs[i]; }
    std::size_t index(const G* g) const { return static_cast<std::size_t>(g - gs.get()); }
    std::size_t n;
    std::unique_ptr<G[]> gs;
};

template <std::uint32_t N>
void check_fifo_fill_and_drain() {
    Items items(N + 1);
    RunQueue<N> q;
    CHECK(q.empty());
    CHECK(q.pop() == nullptr);
    for (std::uint32_t i = 0; i < N; ++i) REQUIRE(q.push(items.at(i)));
    CHECK(q.size() == N);
    CHECK_FALSE(q.push(items.at(N)));  // full: the caller moves half elsewhere
    CHECK(q.size() == N);
    for (std::uint32_t i = 0; i < N; ++i) CHECK(q.pop() == items.at(i));
    CHECK(q.pop() == nullptr);
    CHECK(q.empty());
}

}  // namespace

TEST_CASE("runq: a full queue refuses a push and gives its items back in FIFO order", "[internal][runq]") {
    check_fifo_fill_and_drain<2>();
    check_fifo_fill_and_drain<4>();
    check_fifo_fill_and_drain<256>();
#ifdef GORO_RUNQ_CAPACITY
    check_fifo_fill_and_drain<GORO_RUNQ_CAPACITY>();  // the capacity the library was built with
#endif
}

TEST_CASE("runq: the ring wraps around many times without losing order", "[internal][runq]") {
    Items items(3);
    RunQueue<4> q;
    for (int round = 0; round < 10000; ++round) {
        for (std::size_t i = 0; i < 3; ++i) REQUIRE(q.push(items.at(i)));
        for (std::size_t i = 0; i < 3; ++i) REQUIRE(q.pop() == items.at(i));
        REQUIRE(q.empty());
    }
    // The same through pop_unshared() (a one-worker runtime's pop).
    for (int round = 0; round < 10000; ++round) {
        for (std::size_t i = 0; i < 3; ++i) REQUIRE(q.push(items.at(i)));
        for (std::size_t i = 0; i < 3; ++i) REQUIRE(q.pop_unshared() == items.at(i));
        REQUIRE(q.pop_unshared() == nullptr);
    }
    CHECK(q.empty());
}

TEST_CASE("runq: pop_batch takes up to max from the head", "[internal][runq]") {
    Items items(4);
    RunQueue<4> q;
    G* out[4] = {};
    CHECK(q.pop_batch(out, 4) == 0);
    for (std::size_t i = 0; i < 4; ++i) REQUIRE(q.push(items.at(i)));
    REQUIRE(q.pop_batch(out, 3) == 3);
    CHECK(out[0] == items.at(0));
    CHECK(out[1] == items.at(1));
    CHECK(out[2] == items.at(2));
    CHECK(q.size() == 1);
    // The freed slots take pushes again.
    REQUIRE(q.push(items.at(0)));
    REQUIRE(q.push(items.at(1)));
    REQUIRE(q.pop_batch(out, 4) == 3);
    CHECK(out[0] == items.at(3));
    CHECK(out[1] == items.at(0));
    CHECK(out[2] == items.at(1));
    CHECK(q.pop_batch(out, 4) == 0);
}

TEST_CASE("runq: steal_into moves the older half, rounded up, keeping the order", "[internal][runq]") {
    Items items(4);
    RunQueue<4> victim;
    RunQueue<4> thief;
    CHECK(victim.steal_into(thief) == 0);  // nothing to take
    CHECK(thief.empty());

    // Move the thief's ring away from slot 0 first: a steal writes at its tail, wherever that is.
    REQUIRE(thief.push(items.at(0)));
    REQUIRE(thief.pop() == items.at(0));

    for (std::size_t i = 0; i < 4; ++i) REQUIRE(victim.push(items.at(i)));
    REQUIRE(victim.steal_into(thief) == 2);
    CHECK(victim.size() == 2);
    CHECK(thief.size() == 2);
    CHECK(thief.pop() == items.at(0));
    CHECK(thief.pop() == items.at(1));
    CHECK(thief.pop() == nullptr);

    // A steal frees room for the owner's pushes.
    REQUIRE(victim.push(items.at(0)));  // victim: 2, 3, 0
    REQUIRE(victim.steal_into(thief) == 2);
    CHECK(thief.pop() == items.at(2));
    CHECK(thief.pop() == items.at(3));
    REQUIRE(victim.steal_into(thief) == 1);  // one left: a thief takes it
    CHECK(thief.pop() == items.at(0));
    CHECK(victim.empty());
    CHECK(victim.steal_into(thief) == 0);

    // Capacity 2: a full queue gives one.
    RunQueue<2> small_victim;
    RunQueue<2> small_thief;
    REQUIRE(small_victim.push(items.at(0)));
    REQUIRE(small_victim.push(items.at(1)));
    CHECK_FALSE(small_victim.push(items.at(2)));
    REQUIRE(small_victim.steal_into(small_thief) == 1);
    CHECK(small_thief.pop() == items.at(0));
    CHECK(small_victim.pop() == items.at(1));
}

namespace {

// A short busy wait: the racing threads stay on their CPUs, so that on a machine with spare cores their
// operations overlap (a yield would mostly serialise them).
void spin_a_little() {
    for (int i = 0; i < 64; ++i) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#else
        std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
    }
}

// What one taker saw.
struct Tally {
    long count = 0;
    std::uint64_t sum = 0;     // of the indices
    std::uint64_t sq_sum = 0;  // of their squares: a second checksum
};

// owner_vs_thieves: one owner pushes `n` items, popping (one at a time or in batches) whenever the queue
// is full and now and then in between; `thieves` threads steal from it, and from each other's queues,
// into their own queue and pop from there. Every item must come out exactly once.
template <std::uint32_t N>
void owner_vs_thieves(int thieves, std::size_t n, std::uint32_t seed) {
    INFO("capacity " << N << ", " << thieves << " thieves, " << n << " items, seed " << seed);
    Items items(n);
    std::unique_ptr<std::atomic<int>[]> taken(new std::atomic<int>[n]);
    for (std::size_t i = 0; i < n; ++i) taken[i].store(0, std::memory_order_relaxed);
    std::atomic<long> total{0};  // items taken so far, by anyone

    RunQueue<N> owner_q;
    std::vector<std::unique_ptr<RunQueue<N>>> thief_qs;
    for (int t = 0; t < thieves; ++t) thief_qs.push_back(std::make_unique<RunQueue<N>>());

    auto take = [&](G* g, Tally& tally) {
        std::size_t i = items.index(g);
        GCHECK(i < n);
        if (i >= n) return;
        // Written by the owner before its push, read here with plain loads: the queue must order them.
        GCHECK(g->id == i + 1);
        taken[i].fetch_add(1, std::memory_order_relaxed);
        ++tally.count;
        tally.sum += i;
        tally.sq_sum += static_cast<std::uint64_t>(i) * i;
        total.fetch_add(1, std::memory_order_release);
    };

    std::vector<Tally> tallies(static_cast<std::size_t>(thieves) + 1);
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < thieves; ++t) {
        threads.emplace_back([&, t] {
            Tally& tally = tallies[static_cast<std::size_t>(t) + 1];
            RunQueue<N>& mine = *thief_qs[static_cast<std::size_t>(t)];
            std::minstd_rand rng(seed + 1 + static_cast<std::uint32_t>(t));
            unsigned misses = 0;
            ready.fetch_add(1, std::memory_order_release);
            while (total.load(std::memory_order_acquire) < static_cast<long>(n)) {
                // mine is empty here (drained below), as steal_into requires.
                std::uint32_t got = owner_q.steal_into(mine);
                if (got == 0 && thieves > 1) {
                    auto other = static_cast<std::size_t>(rng() % static_cast<std::uint32_t>(thieves));
                    if (other != static_cast<std::size_t>(t)) got = thief_qs[other]->steal_into(mine);
                }
                GCHECK(got <= N / 2);  // a steal takes at most half
                while (G* g = mine.pop()) take(g, tally);
                if (got != 0) {
                    misses = 0;
                } else if (++misses % 64 != 0) {
                    spin_a_little();
                } else {
                    std::this_thread::yield();  // the owner may need this CPU
                }
            }
        });
    }

    {
        Tally& tally = tallies[0];
        std::minstd_rand rng(seed);
        // Start once every thief runs: else the owner may be done before the first steal.
        while (ready.load(std::memory_order_acquire) < thieves) std::this_thread::yield();
        G* batch[N];
        for (std::size_t i = 0; i < n; ++i) {
            G* g = items.at(i);
            g->id = i + 1;  // a plain write the taker checks
            for (int full = 1; !owner_q.push(g); ++full) {
                // Full: leave the thieves a few turns, then take work back, the way a worker moves half
                // of its queue away.
                if (full % 16 != 0) {
                    spin_a_little();
                    continue;
                }
                if (rng() % 2 == 0) {
                    if (G* h = owner_q.pop()) take(h, tally);
                } else {
                    std::uint32_t k = owner_q.pop_batch(batch, N / 2);
                    for (std::uint32_t j = 0; j < k; ++j) take(batch[j], tally);
                }
            }
            if (rng() % 8 == 0)
                if (G* h = owner_q.pop()) take(h, tally);
        }
        while (G* h = owner_q.pop()) take(h, tally);
    }
    for (auto& th : threads) th.join();
    goro_test::check_no_failures();

    long count = 0;
    std::uint64_t sum = 0, sq_sum = 0;
    for (const Tally& t : tallies) {
        count += t.count;
        sum += t.sum;
        sq_sum += t.sq_sum;
    }
    std::uint64_t want_sum = 0, want_sq_sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        want_sum += i;
        want_sq_sum += static_cast<std::uint64_t>(i) * i;
    }
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < n; ++i)
        if (taken[i].load(std::memory_order_relaxed) != 1) ++wrong;
    CHECK(wrong == 0);  // no item lost, none taken twice
    CHECK(count == static_cast<long>(n));
    CHECK(total.load() == static_cast<long>(n));
    CHECK(sum == want_sum);
    CHECK(sq_sum == want_sq_sum);
    CHECK(owner_q.empty());
    for (auto& q : thief_qs) CHECK(q->empty());
}

}  // namespace

TEST_CASE("runq: owner push/pop against 1-3 thieves takes every item exactly once", "[internal][runq]") {
    const auto n = static_cast<std::size_t>(goro_test::scale(40000));
    std::uint32_t seed = 1;
    for (int thieves = 1; thieves <= 3; ++thieves) {
        owner_vs_thieves<2>(thieves, n, seed++);
        owner_vs_thieves<4>(thieves, n, seed++);
        owner_vs_thieves<8>(thieves, n, seed++);
        owner_vs_thieves<256>(thieves, n, seed++);
#ifdef GORO_RUNQ_CAPACITY
        owner_vs_thieves<GORO_RUNQ_CAPACITY>(thieves, n, seed++);
#endif
    }
}
