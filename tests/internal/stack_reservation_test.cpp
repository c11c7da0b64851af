// tests/internal/stack_reservation_test.cpp: the stack pool's reservations (runtime/fiber/stack.hpp), used
// without a runtime, as the scheduler uses them: a spawn reserves (a worker a batch at a time), a first
// run ends one reservation and takes stacks (allocate_batch), a worker settles the first runs it served
// from its own cache, and unused reservations go back (settle).
//
//  * Accounting: reserve maps what it needs; allocate_batch ends the reservations it is told of and hands
//    out only stacks no other reservation needs; settle gives reservations back.
//  * Slabs are carved lazily: a reservation maps, a first run carves (a million queued goroutines that run
//    on a few recycled stacks must not cost a guard and a list entry each).
//  * The invariant, free stacks (warm + cold + uncarved) >= outstanding reservations, after every step of a random
//    walk of reserves, first runs, releases, settles and trims, against a model of who holds what; no
//    stack is handed out twice.
//  * A reservation that cannot map a slab throws std::system_error and leaves the pool as it was; with a
//    little spare capacity it grants that instead; the pool works again once mapping does.
//  * A trim never gives back a stack a reservation needs, also while other threads reserve and bind.
#include "internal/runtime_export.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using goro_test::rt::kWarmStacks;
using goro_test::rt::Stack;
using goro_test::rt::StackPool;

namespace {

constexpr std::size_t kStack = 16 * 1024;  // small stacks: the tests map many and touch none

std::size_t free_of(const StackPool::Counts& c) { return c.warm + c.cold + c.uncarved; }

// The pool's invariant, and that it counts exactly `reserved`.
void check_pool(const StackPool& pool, std::size_t reserved) {
    auto c = pool.counts();
    INFO("warm " << c.warm << " cold " << c.cold << " total " << c.total << " reserved " << c.reserved);
    REQUIRE(c.reserved == reserved);
    REQUIRE(free_of(c) >= c.reserved);
}

// A first run: ends one reservation and takes one stack (a batch of one, as a worker with an empty cache
// takes kLocalCacheMax / 2 when the pool can spare them).
Stack bind_one(StackPool& pool) {
    Stack s;
    REQUIRE(pool.allocate_batch(&s, 1, 1) == 1);
    REQUIRE(s);
    return s;
}

// Reserves what the pool has spare, so that the next reservation must map. (reserve() itself would map
// more, to keep some headroom for first runs' batches: with mapping failing, it grants what is spare.)
std::size_t reserve_spare(StackPool& pool) {
    auto c = pool.counts();
    std::size_t spare = free_of(c) - c.reserved;
    if (spare == 0) return 0;
    pool.fail_slabs_after(0);
    REQUIRE(pool.reserve(spare) == spare);
    pool.fail_slabs_after(SIZE_MAX);
    CHECK(pool.counts().total == c.total);
    return spare;
}

}  // namespace

TEST_CASE("stack reservation: reserve maps, a first run consumes, settle gives back", "[internal][stack_reservation]") {
    StackPool pool(kStack);
    check_pool(pool, 0);
    CHECK(pool.counts().total == 0);  // nothing mapped before the first reservation

    REQUIRE(pool.reserve(32) == 32);  // maps a slab (32 stacks or more)
    auto c = pool.counts();
    CHECK(c.total >= 32);
    CHECK(c.uncarved == c.total);  // a fresh slab's stacks are carved only when first handed out
    CHECK(c.cold == 0);
    check_pool(pool, 32);

    // A first run takes a batch for its worker's cache, but only what the other 31 reservations leave.
    std::vector<Stack> batch(32);
    std::size_t got = pool.allocate_batch(batch.data(), batch.size(), 1);
    CHECK(got == std::min<std::size_t>(32, c.total - 31));
    check_pool(pool, 31);
    std::set<void*> bases;
    for (std::size_t i = 0; i < got; ++i) CHECK(bases.insert(batch[i].base).second);

    // Ten more first runs, served from the worker's cache: the pool learns of them in one settle.
    pool.settle(10);
    check_pool(pool, 21);
    // The rest were never used (a retiring worker's credits).
    pool.settle(21);
    check_pool(pool, 0);

    pool.release_batch(batch.data(), got);
    c = pool.counts();
    CHECK(c.warm == got);
    CHECK(free_of(c) == c.total);  // every stack is back
}

TEST_CASE("stack reservation: a large reservation maps slabs but carves nothing", "[internal][stack_reservation]") {
    StackPool pool(kStack);
    const std::size_t n = 5000;
    REQUIRE(pool.reserve(n) == n);
    auto c = pool.counts();
    CHECK(c.total >= n);
    CHECK(c.uncarved == c.total);
    CHECK(c.warm + c.cold == 0);
    // The first runs of all n, on one worker that recycles its stacks: a handful are ever carved.
    std::vector<Stack> cache;
    for (std::size_t i = 0; i < n; ++i) {
        if (cache.empty()) {
            Stack batch[32];
            std::size_t got = pool.allocate_batch(batch, 32, 1);
            REQUIRE(got >= 1);
            cache.assign(batch, batch + got);
        } else {
            pool.settle(1);
        }
        Stack s = cache.back();  // runs, and exits back to the cache
        REQUIRE(s);
    }
    c = pool.counts();
    CHECK(c.total - c.uncarved <= 32);
    check_pool(pool, 0);
    pool.release_batch(cache.data(), cache.size());
    CHECK(free_of(pool.counts()) == c.total);
}

TEST_CASE("stack reservation: a first run never takes a stack another reservation needs",
          "[internal][stack_reservation]") {
    StackPool pool(kStack);
    REQUIRE(pool.reserve(1) == 1);
    std::size_t held = 1 + reserve_spare(pool);  // every free stack is promised
    check_pool(pool, held);
    std::set<void*> bases;
    std::vector<Stack> out;
    // Each first run asks for a whole batch but gets only its own stack, down to the last reservation.
    while (held > 0) {
        Stack batch[32];
        REQUIRE(pool.allocate_batch(batch, 32, 1) == 1);
        CHECK(bases.insert(batch[0].base).second);
        out.push_back(batch[0]);
        --held;
        check_pool(pool, held);
    }
    CHECK(free_of(pool.counts()) == 0);
    pool.release_batch(out.data(), out.size());
    check_pool(pool, 0);
}

TEST_CASE("stack reservation: a reservation that cannot map throws and leaves the pool as it was",
          "[internal][stack_reservation]") {
    StackPool pool(kStack);
    REQUIRE(pool.reserve(32) == 32);
    std::size_t reserved = 32 + reserve_spare(pool);
    const auto before = pool.counts();

    pool.fail_slabs_after(0);
    // Nothing spare and no slab: the spawner gets the error, the pool is unchanged.
    try {
        pool.reserve(32);
        FAIL("reserve() did not throw");
    } catch (const std::system_error& e) {
        CHECK(e.code().value() == ENOMEM);
        CHECK(std::string(e.what()).find("goro: mmap of goroutine stacks") != std::string::npos);
    }
    REQUIRE_THROWS_AS(pool.reserve(1), std::system_error);
    auto after = pool.counts();
    CHECK(after.warm == before.warm);
    CHECK(after.cold == before.cold);
    CHECK(after.total == before.total);
    CHECK(after.reserved == before.reserved);
    check_pool(pool, reserved);

    // A worker settles five first runs as it asks for a batch: no slab for 32, so it is granted the five
    // instead of an error.
    CHECK(pool.reserve(32, 5) == 5);
    check_pool(pool, reserved);

    // Every reservation made before the failure is still good: each first run gets its stack.
    std::vector<Stack> out;
    for (std::size_t i = 0; i < 40 && reserved > 0; ++i, --reserved) out.push_back(bind_one(pool));
    check_pool(pool, reserved);

    // Mapping works again: a full batch, from a new slab.
    pool.fail_slabs_after(SIZE_MAX);
    REQUIRE(pool.reserve(32) == 32);
    reserved += 32;
    CHECK(pool.counts().total > before.total);
    check_pool(pool, reserved);
    pool.settle(reserved);
    pool.release_batch(out.data(), out.size());
    auto end = pool.counts();
    CHECK(end.reserved == 0);
    CHECK(free_of(end) == end.total);
}

TEST_CASE("stack reservation: the invariant holds through a random walk of spawns, runs, exits and trims",
          "[internal][stack_reservation]") {
    StackPool pool(kStack);
    // The model: workers with credits (reserved, unused), spawned goroutines not yet run (one reservation
    // each), first runs served from a cache not yet settled, and stacks handed out.
    struct Worker {
        std::size_t credits = 0, unsettled = 0;
        std::vector<Stack> cache;
    };
    std::vector<Worker> workers(3);
    std::size_t queued = 0;  // spawned, not yet run
    std::vector<Stack> running;
    std::set<void*> out;  // bases handed out (running or in a cache)
    std::mt19937_64 rng(20261205);
    const int steps = static_cast<int>(goro_test::scale(20000));
    for (int step = 0; step < steps; ++step) {
        Worker& w = workers[rng() % workers.size()];
        switch (rng() % 8) {
            case 0:
            case 1:  // a spawn
                if (w.credits == 0) {
                    w.credits = pool.reserve(32, w.unsettled);
                    w.unsettled = 0;
                }
                --w.credits;
                ++queued;
                break;
            case 2:
            case 3:  // a first run
                if (queued == 0) break;
                --queued;
                if (w.cache.empty()) {
                    Stack batch[32];
                    std::size_t n = pool.allocate_batch(batch, 32, w.unsettled + 1);
                    REQUIRE(n >= 1);
                    w.unsettled = 0;
                    for (std::size_t i = 0; i < n; ++i) {
                        REQUIRE(out.insert(batch[i].base).second);
                        w.cache.push_back(batch[i]);
                    }
                } else if (++w.unsettled >= 64) {
                    pool.settle(w.unsettled);
                    w.unsettled = 0;
                }
                running.push_back(w.cache.back());
                w.cache.pop_back();
                break;
            case 4:
            case 5:  // an exit: to the worker's cache, half of it to the pool when full
                if (running.empty()) break;
                {
                    std::size_t i = rng() % running.size();
                    w.cache.push_back(running[i]);
                    running[i] = running.back();
                    running.pop_back();
                }
                if (w.cache.size() > 64) {
                    for (std::size_t i = 32; i < w.cache.size(); ++i) out.erase(w.cache[i].base);
                    pool.release_batch(w.cache.data() + 32, w.cache.size() - 32);
                    w.cache.resize(32);
                }
                break;
            case 6:  // a worker retires: its credits and unsettled runs go back
                pool.settle(w.credits + w.unsettled);
                w.credits = w.unsettled = 0;
                break;
            case 7:  // a settled pool gives its surplus back
                pool.trim_if_settled(goro::detail::Clock::now() + std::chrono::hours(1));
                break;
        }
        std::size_t reserved = queued;
        for (auto& x : workers) reserved += x.credits + x.unsettled;
        check_pool(pool, reserved);
    }
    // Everything runs and ends: the pool is back to no reservations and every stack free.
    while (queued > 0) {
        --queued;
        Stack s = bind_one(pool);  // settles one each
        REQUIRE(out.insert(s.base).second);
        running.push_back(s);
    }
    for (auto& x : workers) {
        pool.settle(x.credits + x.unsettled);
        running.insert(running.end(), x.cache.begin(), x.cache.end());
    }
    pool.release_batch(running.data(), running.size());
    auto c = pool.counts();
    CHECK(c.reserved == 0);
    CHECK(free_of(c) == c.total);
}

TEST_CASE("stack reservation: a trim keeps the stacks reservations need, also against concurrent first runs",
          "[internal][stack_reservation]") {
    StackPool pool(kStack);
    // A spike: 2 * kWarmStacks + 200 stacks handed out and released, so warm holds a surplus.
    const std::size_t spike = 2 * kWarmStacks + 200;
    REQUIRE(pool.reserve(spike) == spike);
    std::vector<Stack> out;
    while (out.size() < spike) {
        Stack batch[32];
        std::size_t n = pool.allocate_batch(batch, std::min<std::size_t>(32, spike - out.size()), 1);
        out.insert(out.end(), batch, batch + n);
        pool.settle(n - 1);  // the first runs a worker's cache served from the rest of the batch
    }
    check_pool(pool, 0);
    pool.release_batch(out.data(), out.size());
    // Then almost everything is promised again: 10 spare.
    std::size_t reserved = reserve_spare(pool);
    REQUIRE(reserved >= 10);
    pool.settle(10);
    reserved -= 10;
    check_pool(pool, reserved);

    // Two threads bind and release under the reservations while the main thread trims.
    std::atomic<std::size_t> to_bind{reserved};
    std::atomic<bool> failed{false};
    auto binder = [&] {
        std::vector<Stack> mine;
        for (;;) {
            std::size_t left = to_bind.load();
            if (left == 0) break;
            if (!to_bind.compare_exchange_weak(left, left - 1)) continue;
            Stack s;
            if (pool.allocate_batch(&s, 1, 1) != 1 || !s) failed = true;
            mine.push_back(s);
            if (mine.size() == 50) {
                pool.release_batch(mine.data(), mine.size());
                mine.clear();
            }
        }
        pool.release_batch(mine.data(), mine.size());
    };
    std::thread a(binder), b(binder);
    while (to_bind.load() > 0) pool.trim_if_settled(goro::detail::Clock::now() + std::chrono::hours(1));
    a.join();
    b.join();
    CHECK_FALSE(failed);
    check_pool(pool, 0);
    pool.trim_if_settled(goro::detail::Clock::now() + std::chrono::hours(1));
    auto c = pool.counts();
    CHECK(c.warm <= 2 * kWarmStacks);  // the surplus went back
    CHECK(free_of(c) == c.total);
}
