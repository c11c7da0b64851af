// tests/internal/timers_test.cpp: runtime/time/timers.*, the runtime's timer heap (Timers), used without a
// runtime: the tests choose `now`, so nothing here depends on the clock.
//
// Covered: firing order, add()'s "became the earliest" answer, next_deadline() through adds, removals and
// firings, remove() against a node that fired, batches larger than one pass of run_expired(), its limit, the
// destructor's drop of heap-owned nodes, a random walk against a reference model (a std::multiset), and
// the fire-or-cancel protocol with several threads adding, removing and firing at once.
#include "internal/runtime_export.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

using goro_test::rt::TimePoint;
using goro_test::rt::TimerNode;
using goro_test::rt::Timers;

namespace {

using std::chrono::nanoseconds;

TimePoint at(std::int64_t ns) { return TimePoint(nanoseconds(ns)); }

// A node that appends its id to a log when it fires, and checks that the heap let go of it first.
struct LogNode : TimerNode {
    int id = 0;
    std::vector<int>* log = nullptr;
    bool index_was_cleared = true;
    static void fire_fn(TimerNode* n) {
        auto* self = static_cast<LogNode*>(n);
        if (self->index != -1) self->index_was_cleared = false;
        self->log->push_back(self->id);
    }
};

std::vector<LogNode> make_nodes(std::size_t n, std::vector<int>* log) {
    std::vector<LogNode> nodes(n);
    for (std::size_t i = 0; i < n; ++i) {
        nodes[i].id = static_cast<int>(i);
        nodes[i].log = log;
        nodes[i].fire = &LogNode::fire_fn;
    }
    return nodes;
}

}  // namespace

TEST_CASE("timers: an empty heap has no deadline and fires nothing", "[internal][timers]") {
    Timers timers;
    CHECK(timers.empty());
    CHECK(timers.next_deadline() == TimePoint::max());
    CHECK(timers.run_expired(at(1'000'000'000)) == 0);
}

TEST_CASE("timers: nodes fire in deadline order, only once due", "[internal][timers]") {
    std::vector<int> log;
    auto nodes = make_nodes(8, &log);
    // Deadlines 10 * id, added out of order.
    const int order[] = {5, 2, 7, 0, 3, 6, 1, 4};
    Timers timers;
    for (int id : order) {
        nodes[static_cast<std::size_t>(id)].when = at(10 * id);
        timers.add(&nodes[static_cast<std::size_t>(id)]);
        CHECK(nodes[static_cast<std::size_t>(id)].index >= 0);
    }
    CHECK(timers.next_deadline() == at(0));
    CHECK(timers.run_expired(at(-1)) == 0);  // nothing due yet
    CHECK(log.empty());
    CHECK(timers.run_expired(at(35)) == 4);  // 0, 10, 20, 30
    CHECK(log == std::vector<int>{0, 1, 2, 3});
    CHECK(timers.next_deadline() == at(40));
    CHECK(timers.run_expired(at(40)) == 1);  // due exactly at now
    CHECK(timers.run_expired(at(1000)) == 3);
    CHECK(log == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
    CHECK(timers.empty());
    for (auto& n : nodes) {
        CHECK(n.index == -1);
        CHECK(n.index_was_cleared);  // fire() ran after the node left the heap
    }
}

TEST_CASE("timers: add() tells whether the node became the earliest deadline", "[internal][timers]") {
    std::vector<int> log;
    auto nodes = make_nodes(5, &log);
    Timers timers;
    nodes[0].when = at(100);
    CHECK(timers.add(&nodes[0]));  // the first
    nodes[1].when = at(200);
    CHECK_FALSE(timers.add(&nodes[1]));
    nodes[2].when = at(50);
    CHECK(timers.add(&nodes[2]));  // earlier than all
    CHECK(timers.next_deadline() == at(50));
    nodes[3].when = at(50);
    CHECK_FALSE(timers.add(&nodes[3]));  // a tie does not displace the top: nobody need wake earlier
    CHECK(timers.next_deadline() == at(50));
    nodes[4].when = at(49);
    CHECK(timers.add(&nodes[4]));
    CHECK(timers.next_deadline() == at(49));
    CHECK(timers.run_expired(at(1000)) == 5);
    REQUIRE(log.size() == 5);
    CHECK(log[0] == 4);
    CHECK(((log[1] == 2 && log[2] == 3) || (log[1] == 3 && log[2] == 2)));  // a tie fires in either order
    CHECK(log[3] == 0);
    CHECK(log[4] == 1);
}

TEST_CASE("timers: remove() takes a pending node out and says so; a fired or removed node is not found",
          "[internal][timers]") {
    std::vector<int> log;
    auto nodes = make_nodes(4, &log);
    Timers timers;
    for (std::size_t i = 0; i < 4; ++i) {
        nodes[i].when = at(10 * static_cast<std::int64_t>(i + 1));  // 10, 20, 30, 40
        timers.add(&nodes[i]);
    }
    // Not the top: the earliest deadline stays.
    CHECK(timers.remove(&nodes[2]));
    CHECK(nodes[2].index == -1);
    CHECK(timers.next_deadline() == at(10));
    CHECK_FALSE(timers.remove(&nodes[2]));  // twice: already out
    // The top: the earliest deadline moves on.
    CHECK(timers.remove(&nodes[0]));
    CHECK(timers.next_deadline() == at(20));
    // A fired node: remove() loses (the firing won the race of the protocol).
    CHECK(timers.run_expired(at(25)) == 1);
    CHECK(log == std::vector<int>{1});
    CHECK_FALSE(timers.remove(&nodes[1]));
    CHECK(timers.next_deadline() == at(40));
    CHECK(timers.remove(&nodes[3]));
    CHECK(timers.empty());
    CHECK(timers.run_expired(at(1000)) == 0);
    CHECK(log == std::vector<int>{1});
    // A removed node may be added again.
    nodes[0].when = at(5);
    CHECK(timers.add(&nodes[0]));
    CHECK(timers.run_expired(at(5)) == 1);
    CHECK(log == std::vector<int>{1, 0});
}

TEST_CASE("timers: many timers due at once fire in order across batches", "[internal][timers]") {
    const auto n = static_cast<std::size_t>(goro_test::scale(20000));
    std::vector<int> log;
    log.reserve(n);
    auto nodes = make_nodes(n, &log);
    std::vector<std::size_t> perm(n);
    for (std::size_t i = 0; i < n; ++i) perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), std::mt19937(7));
    Timers timers;
    for (std::size_t i : perm) {
        nodes[i].when = at(static_cast<std::int64_t>(i / 3));  // three nodes per deadline
        timers.add(&nodes[i]);
    }
    CHECK(timers.next_deadline() == at(0));
    CHECK(timers.run_expired(at(static_cast<std::int64_t>(n))) == static_cast<int>(n));
    REQUIRE(log.size() == n);
    bool ordered = true;
    for (std::size_t i = 1; i < n; ++i)
        if (nodes[static_cast<std::size_t>(log[i - 1])].when > nodes[static_cast<std::size_t>(log[i])].when)
            ordered = false;
    CHECK(ordered);
    std::vector<int> sorted = log;
    std::sort(sorted.begin(), sorted.end());
    bool each_once = true;
    for (std::size_t i = 0; i < n; ++i)
        if (sorted[i] != static_cast<int>(i)) each_once = false;
    CHECK(each_once);
    CHECK(timers.empty());
}

TEST_CASE("timers: the destructor drops the nodes still pending", "[internal][timers]") {
    struct Owned : TimerNode {
        int* dropped = nullptr;
        bool index_was_cleared = false;
    };
    int dropped = 0;
    std::vector<Owned> nodes(3);
    {
        Timers timers;
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            nodes[i].when = at(static_cast<std::int64_t>(i));
            nodes[i].dropped = &dropped;
            nodes[i].fire = [](TimerNode*) {};
            nodes[i].drop = [](TimerNode* n) {
                auto* self = static_cast<Owned*>(n);
                self->index_was_cleared = self->index == -1;
                ++*self->dropped;
            };
            timers.add(&nodes[i]);
        }
        CHECK(timers.run_expired(at(0)) == 1);  // node 0 fired: no longer the heap's to drop
    }
    CHECK(dropped == 2);
    CHECK_FALSE(nodes[0].index_was_cleared);  // never dropped
    CHECK(nodes[1].index_was_cleared);
    CHECK(nodes[2].index_was_cleared);
}

TEST_CASE("timers: a random walk of adds, removes and firings matches a reference model", "[internal][timers]") {
    const std::size_t kNodes = 300;
    const long steps = goro_test::scale(200000);
    for (std::uint32_t seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        std::mt19937 rng(seed);
        std::vector<int> log;
        auto nodes = make_nodes(kNodes, &log);
        std::multiset<std::pair<std::int64_t, int>> model;  // (deadline, id) of every pending node
        std::vector<bool> pending(kNodes, false);
        Timers timers;
        std::int64_t now = 0;
        long mismatches = 0;
        for (long step = 0; step < steps && mismatches == 0; ++step) {
            auto id = static_cast<std::size_t>(rng() % kNodes);
            LogNode& node = nodes[id];
            switch (rng() % 8) {
                case 0:
                case 1:
                case 2:
                case 3: {  // add (a pending node is removed first, as a re-arm does)
                    if (pending[id]) {
                        if (!timers.remove(&node)) ++mismatches;
                        model.erase(model.find({node.when.time_since_epoch().count(), static_cast<int>(id)}));
                    }
                    // Deadlines cluster around now, some already past, with many ties.
                    std::int64_t when = now + static_cast<std::int64_t>(rng() % 64) - 8;
                    node.when = at(when);
                    bool earliest_before = model.empty() || when < model.begin()->first;
                    if (timers.add(&node) != earliest_before) ++mismatches;
                    model.insert({when, static_cast<int>(id)});
                    pending[id] = true;
                    break;
                }
                case 4:
                case 5: {  // remove
                    if (timers.remove(&node) != pending[id]) ++mismatches;
                    if (pending[id])
                        model.erase(model.find({node.when.time_since_epoch().count(), static_cast<int>(id)}));
                    pending[id] = false;
                    break;
                }
                default: {  // time passes; whatever is due fires, in deadline order
                    now += static_cast<std::int64_t>(rng() % 16);
                    log.clear();
                    int fired = timers.run_expired(at(now));
                    std::vector<std::int64_t> whens;
                    while (!model.empty() && model.begin()->first <= now) {
                        whens.push_back(model.begin()->first);
                        model.erase(model.begin());
                    }
                    if (fired != static_cast<int>(whens.size()) || log.size() != whens.size()) {
                        ++mismatches;
                        break;
                    }
                    for (std::size_t i = 0; i < log.size(); ++i) {
                        auto f = static_cast<std::size_t>(log[i]);
                        // Ties may fire in any order; the deadlines must match the model's, in order.
                        if (!pending[f] || nodes[f].when != at(whens[i]) || nodes[f].index != -1) ++mismatches;
                        pending[f] = false;
                    }
                    break;
                }
            }
            const TimePoint want = model.empty() ? TimePoint::max() : at(model.begin()->first);
            if (timers.next_deadline() != want) ++mismatches;
            for (std::size_t i = 0; i < kNodes && step % 97 == 0; ++i)
                if ((nodes[i].index >= 0) != pending[i]) ++mismatches;
        }
        CHECK(mismatches == 0);
        // Leave nothing in the heap that points at this scope's nodes.
        for (std::size_t i = 0; i < kNodes; ++i)
            if (pending[i]) CHECK(timers.remove(&nodes[i]));
        CHECK(timers.empty());
    }
}

namespace {

// A node of the concurrent test: fire() counts and then sets `fired` (release), after which the timers
// code never touches the node again, the same hand-back a sleeping goroutine's WakeTimer relies on.
struct RaceNode : TimerNode {
    std::atomic<int> fires{0};
    std::atomic<bool> fired{false};
    static void fire_fn(TimerNode* n) {
        auto* self = static_cast<RaceNode*>(n);
        self->fires.fetch_add(1, std::memory_order_relaxed);
        self->fired.store(true, std::memory_order_release);
    }
};

}  // namespace

TEST_CASE("timers: concurrent add, remove and run_expired: each node is removed or fired, once", "[internal][timers]") {
    // Threads arm and cancel their own nodes (as goroutines on several workers do) while others run the
    // expired ones (as idle workers do). now is a shared counter, so some nodes are due at once and
    // others get cancelled first.
    const long rounds = goro_test::scale(20000);
    for (int arming : {1, 2, 3}) {
        INFO(arming << " arming threads, 1 firing thread");
        Timers timers;
        std::atomic<std::int64_t> now{0};
        std::atomic<int> arming_left{arming};
        std::atomic<long> removed{0}, fired_seen{0}, bad{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < arming; ++t) {
            threads.emplace_back([&, t] {
                std::minstd_rand rng(static_cast<std::uint32_t>(t) + 11);
                RaceNode nodes[4];
                for (auto& n : nodes) n.fire = &RaceNode::fire_fn;
                for (long r = 0; r < rounds; ++r) {
                    RaceNode& n = nodes[r % 4];
                    n.fires.store(0, std::memory_order_relaxed);
                    n.fired.store(false, std::memory_order_relaxed);
                    n.when = at(now.load(std::memory_order_relaxed) + static_cast<std::int64_t>(rng() % 4));
                    timers.add(&n);
                    if (rng() % 2 == 0) std::this_thread::yield();
                    if (timers.remove(&n)) {
                        removed.fetch_add(1, std::memory_order_relaxed);
                        if (n.fired.load(std::memory_order_acquire)) bad.fetch_add(1);
                    } else {
                        // Lost to a firing: wait for it to let go of the node before reusing it.
                        while (!n.fired.load(std::memory_order_acquire)) std::this_thread::yield();
                        fired_seen.fetch_add(1, std::memory_order_relaxed);
                    }
                    if (n.fires.load(std::memory_order_relaxed) > 1) bad.fetch_add(1);
                }
                arming_left.fetch_sub(1, std::memory_order_release);
            });
        }
        threads.emplace_back([&] {
            while (arming_left.load(std::memory_order_acquire) > 0) {
                timers.run_expired(at(now.fetch_add(1, std::memory_order_relaxed)));
                (void)timers.next_deadline();
                std::this_thread::yield();
            }
        });
        for (auto& th : threads) th.join();
        CHECK(bad.load() == 0);
        CHECK(removed.load() + fired_seen.load() == arming * rounds);
        CHECK(timers.empty());
    }
}

// ---- shards (one per P, issue 15) -----------------------------------------------------------------

TEST_CASE("timers: shards: next_deadline is the earliest over every shard; run_expired runs them all",
          "[internal][timers]") {
    std::vector<int> log;
    auto nodes = make_nodes(6, &log);
    Timers timers(4);
    timers.add_shard(3);
    CHECK(timers.shards() == 4);
    // (deadline, shard): 30@1, 20@2, 50@3, 10@0, 40@1, 60@2
    const std::pair<int, int> plan[] = {{30, 1}, {20, 2}, {50, 3}, {10, 0}, {40, 1}, {60, 2}};
    const bool lowers[] = {true, true, false, true, false, false};  // the global earliest, not a shard's
    for (std::size_t i = 0; i < 6; ++i) {
        nodes[i].when = at(plan[i].first);
        CHECK(timers.add(&nodes[i], plan[i].second) == lowers[i]);
    }
    CHECK(timers.next_deadline() == at(10));
    // Removing the global earliest (shard 0) moves the deadline to another shard's.
    CHECK(timers.remove(&nodes[3]));
    CHECK(timers.next_deadline() == at(20));
    // A non-top node of shard 1, then the top of shard 2.
    CHECK(timers.remove(&nodes[4]));
    CHECK(timers.next_deadline() == at(20));
    CHECK(timers.remove(&nodes[1]));
    CHECK(timers.next_deadline() == at(30));
    // Run from shard 3's point of view: shard 1's node fires too.
    CHECK(timers.run_expired(at(35), 3) == 1);
    CHECK(log == std::vector<int>{0});
    CHECK(timers.next_deadline() == at(50));
    CHECK_FALSE(timers.remove(&nodes[0]));  // fired
    CHECK(timers.run_expired(at(100), 2) == 2);
    CHECK(timers.empty());
}

TEST_CASE("timers: shards: armed on one thread's shard, removed by another, fired by any: each node once",
          "[internal][timers]") {
    // Arming threads play goroutines on Ps 0..3 (each its own shard); each hands every node to a removing
    // thread (a goroutine that moved to another P, or a channel dropped elsewhere), which takes it out or
    // finds it fired. Two firing threads play workers running every shard's due timers, each from its own
    // shard first. now is a shared counter, so removals and firings race.
    const long rounds = goro_test::scale(20000);
    constexpr int kArming = 4;
    Timers timers(kArming);
    timers.add_shard(kArming - 1);
    std::atomic<std::int64_t> now{0};
    std::atomic<int> arming_left{kArming};
    std::atomic<long> removed{0}, fired_seen{0}, bad{0};
    struct Slot {
        std::atomic<RaceNode*> node{nullptr};  // armed and handed over; the remover clears it when done
    };
    Slot slots[kArming];
    std::vector<std::thread> threads;
    for (int t = 0; t < kArming; ++t) {
        threads.emplace_back([&, t] {  // arms on shard t
            std::minstd_rand rng(static_cast<std::uint32_t>(t) + 5);
            RaceNode node;
            node.fire = &RaceNode::fire_fn;
            for (long r = 0; r < rounds; ++r) {
                node.fires.store(0, std::memory_order_relaxed);
                node.fired.store(false, std::memory_order_relaxed);
                node.when = at(now.load(std::memory_order_relaxed) + static_cast<std::int64_t>(rng() % 4));
                timers.add(&node, t);
                slots[t].node.store(&node, std::memory_order_release);  // the remover's add-before-remove
                while (slots[t].node.load(std::memory_order_acquire) != nullptr) std::this_thread::yield();
                if (node.fires.load(std::memory_order_relaxed) > 1) bad.fetch_add(1);
            }
            arming_left.fetch_sub(1, std::memory_order_release);
        });
    }
    threads.emplace_back([&] {  // removes every arming thread's node, from outside its shard
        std::minstd_rand rng(99);
        while (arming_left.load(std::memory_order_acquire) > 0) {
            for (Slot& s : slots) {
                RaceNode* n = s.node.load(std::memory_order_acquire);
                if (!n) continue;
                if (rng() % 2 == 0) std::this_thread::yield();
                if (timers.remove(n)) {
                    removed.fetch_add(1, std::memory_order_relaxed);
                    if (n->fired.load(std::memory_order_acquire)) bad.fetch_add(1);
                } else {
                    while (!n->fired.load(std::memory_order_acquire)) std::this_thread::yield();
                    fired_seen.fetch_add(1, std::memory_order_relaxed);
                }
                s.node.store(nullptr, std::memory_order_release);
            }
        }
    });
    for (int own : {1, 3}) {
        threads.emplace_back([&, own] {
            while (arming_left.load(std::memory_order_acquire) > 0) {
                timers.run_expired(at(now.fetch_add(1, std::memory_order_relaxed)), own);
                std::this_thread::yield();
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(bad.load() == 0);
    CHECK(removed.load() + fired_seen.load() == kArming * rounds);
    CHECK(timers.empty());
    CHECK(timers.next_deadline() == TimePoint::max());
}

TEST_CASE("timers: shards: the global earliest is exact once adds, removes and firings stop",
          "[internal][timers]") {
    // hint_ (timers.hpp) is lowered by adds and raised by re-computations on other threads at once; a raise
    // that missed an add must be undone by the raiser. After every round the threads stop and the deadline
    // must equal the earliest pending node's, never a later one (a lost wake-up) nor an earlier one.
    const int rounds = static_cast<int>(goro_test::scale(300));
    constexpr int kThreads = 3;
    constexpr int kPerThread = 64;
    Timers timers(kThreads);
    timers.add_shard(kThreads - 1);
    std::vector<std::vector<RaceNode>> nodes(kThreads);
    for (auto& v : nodes) {
        v = std::vector<RaceNode>(kPerThread);
        for (auto& n : v) n.fire = &RaceNode::fire_fn;
    }
    std::vector<std::vector<char>> armed_by(kThreads, std::vector<char>(kPerThread, 0));
    long mismatches = 0;
    std::int64_t base = 0;
    for (int r = 0; r < rounds; ++r) {
        std::atomic<int> go{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                std::minstd_rand rng(static_cast<std::uint32_t>(r * kThreads + t));
                while (go.load(std::memory_order_acquire) == 0) {
                }
                auto& mine = nodes[static_cast<std::size_t>(t)];
                auto& armed = armed_by[static_cast<std::size_t>(t)];
                for (std::size_t i = 0; i < mine.size(); ++i) {
                    RaceNode& n = mine[i];
                    // n.index belongs to the shard's lock: the owner knows its nodes through `armed` and
                    // `fired` (a firing thread may be popping one right now).
                    if (armed[i] && n.fired.load(std::memory_order_acquire)) armed[i] = false;
                    if (armed[i] && rng() % 2 == 0) {  // own nodes only, as a goroutine's disarm
                        if (!timers.remove(&n))
                            while (!n.fired.load(std::memory_order_acquire)) std::this_thread::yield();
                        armed[i] = false;
                    }
                    if (!armed[i] && rng() % 2 == 0) {
                        armed[i] = true;
                        n.fired.store(false, std::memory_order_relaxed);
                        n.when = at(base + static_cast<std::int64_t>(rng() % 1000));
                        timers.add(&n, t);
                    }
                    if (rng() % 8 == 0) timers.run_expired(at(base + static_cast<std::int64_t>(rng() % 50)), t);
                }
            });
        }
        go.store(1, std::memory_order_release);
        for (auto& th : threads) th.join();
        std::int64_t want = TimePoint::max().time_since_epoch().count();
        for (auto& v : nodes)
            for (auto& n : v)
                if (n.index >= 0) want = std::min<std::int64_t>(want, n.when.time_since_epoch().count());
        if (timers.next_deadline().time_since_epoch().count() != want) ++mismatches;
        base += 10;
    }
    CHECK(mismatches == 0);
    for (auto& v : nodes)
        for (auto& n : v)
            if (n.index >= 0) CHECK(timers.remove(&n));
    CHECK(timers.empty());
}

TEST_CASE("timers: shards: two shards' tops removed at once leave no deadline behind", "[internal][timers]") {
    // Shard 0's top A is the global earliest; shard 1's top B is later. A thread that removes A re-computes
    // the hint: it may read shard 1's mirror before B's removal and raise the hint to B's deadline, while
    // the thread removing B read the hint (still A's) before that raise and, B being later than it, left
    // the re-computation to others. The raiser's second look then finds no timer at all: unless it raises
    // again, the hint stays at B's deadline with nothing pending (empty() false: a deadlock reported late,
    // an idle worker woken for nothing). Each round, this thread removes A while a second removes B, and
    // then the heap must be empty. Rounds stop after 200,000 or 2 s, whichever comes first (a loaded
    // machine runs fewer: the race is then less often tried, never falsely reported).
    const long max_rounds = goro_test::scale(200000);
    const auto stop_at = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    Timers timers(2);
    timers.add_shard(1);
    RaceNode a, b;
    a.fire = b.fire = &RaceNode::fire_fn;
    std::atomic<long> round{-1};     // the round the second thread may run; -2 tells it to end
    std::atomic<long> finished{-1};  // the last round the second thread has run
    std::atomic<long> b_not_found{0};  // Catch2's CHECK is for the test's own thread only
    // Spin a little, then yield: two spinning threads may share one CPU with other jobs.
    auto wait_until = [](auto&& cond) {
        for (int spins = 0; !cond(); ++spins)
            if (spins > 200) std::this_thread::yield();
    };
    std::thread remove_b([&] {
        for (long r = 0;; ++r) {
            long now_r;
            wait_until([&] { return (now_r = round.load(std::memory_order_acquire)) == r || now_r == -2; });
            if (now_r == -2) return;
            // A delay that sweeps over the rounds, so that some remove of B meets the window in A's.
            for (long spin = (r * 7) % 97; spin > 0; --spin) std::atomic_signal_fence(std::memory_order_seq_cst);
            if (!timers.remove(&b)) b_not_found.fetch_add(1, std::memory_order_relaxed);
            finished.store(r, std::memory_order_release);
        }
    });
    long rounds = 0, left_behind = 0, a_not_found = 0;
    for (; rounds < max_rounds && (rounds % 256 != 0 || std::chrono::steady_clock::now() < stop_at); ++rounds) {
        a.when = at(2 * rounds + 1);
        b.when = at(2 * rounds + 2);
        timers.add(&a, 0);
        timers.add(&b, 1);
        round.store(rounds, std::memory_order_release);
        if (!timers.remove(&a)) ++a_not_found;
        wait_until([&] { return finished.load(std::memory_order_acquire) == rounds; });
        if (!timers.empty()) {
            ++left_behind;
            timers.run_expired(at(2 * rounds + 2), 0);  // puts the hint right, as the next pass would
        }
    }
    round.store(-2, std::memory_order_release);
    remove_b.join();
    INFO(rounds << " rounds");
    CHECK(a_not_found == 0);
    CHECK(b_not_found == 0);
    CHECK(left_behind == 0);
}

TEST_CASE("timers: run_expired's limit fires the earliest due nodes and leaves the rest due",
          "[internal][timers]") {
    // The scheduler passes the room left in its local queue, so a burst of due
    // timers does not overflow to the global queue (sched/worker.cpp).
    std::vector<int> log;
    auto nodes = make_nodes(300, &log);
    Timers timers(2);
    timers.add_shard(1);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        nodes[i].when = at(static_cast<std::int64_t>(nodes.size() - i));  // the later the node, the earlier
        timers.add(&nodes[i], static_cast<int>(i % 2));
    }
    CHECK(timers.run_expired(at(1000), 0, nullptr, 0) == 0);
    CHECK(timers.run_expired(at(1000), 0, nullptr, 70) == 70);  // more than one batch of a shard
    CHECK(log.size() == 70);
    // Shard 0 (ours) went first, earliest first: its 70 earliest nodes.
    bool own_earliest_first = true;
    for (std::size_t k = 0; k < log.size(); ++k)
        if (log[k] != static_cast<int>(nodes.size()) - 2 - 2 * static_cast<int>(k)) own_earliest_first = false;
    CHECK(own_earliest_first);
    // The rest are still due, and the next looks fire each of them once.
    CHECK(timers.next_deadline() <= at(1000));
    CHECK(timers.run_expired(at(1000), 1, nullptr, 100) == 100);
    CHECK(timers.run_expired(at(1000), 0, nullptr, 1000) == 130);
    CHECK(timers.empty());
    std::vector<int> sorted = log;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted.size() == nodes.size());
    CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
}
