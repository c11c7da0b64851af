// tests/sched/lock_rank_test.cpp: the lock-rank check (runtime/DESIGN.md "Lock order") fires on a
// deliberate inversion, on select's locks taken against address order, and on a context switch with a
// lock held; and stays quiet on the allowed orders. Only in builds with GORO_LOCK_RANK (meson
// -Dlock_rank=true); each violation runs in a child process, which must abort with the check's message.
#include "test_util.hpp"

#ifdef GORO_LOCK_RANK

#include <goro/detail/park.hpp>

using goro::detail::LockRank;
using goro::detail::SpinLock;
using goro_test::ChildResult;
using goro_test::in_child;

TEST_CASE("lock_rank_aborts_on_an_inverted_acquire", "[sched][lock_rank]") {
    if (goro_test::skip_fork_under_tsan()) return;
    // Allowed: a primitive's lock, then the timers' lock.
    {
        SpinLock prim;
        SpinLock timers{LockRank::Timers};
        prim.lock();
        timers.lock();
        timers.unlock();
        prim.unlock();
    }
    // Inverted: the timers' lock, then a primitive's.
    ChildResult r = in_child([] {
        SpinLock prim;
        SpinLock timers{LockRank::Timers};
        timers.lock();
        prim.lock();
    });
    INFO(r.err);
    CHECK(r.aborted());
    CHECK(r.err.find("lock order violation") != std::string::npos);
    CHECK(r.err.find("Timers::mu_") != std::string::npos);
    CHECK(r.err.find("Primitive") != std::string::npos);
}

TEST_CASE("lock_rank_aborts_on_one_level_nested", "[sched][lock_rank]") {
    if (goro_test::skip_fork_under_tsan()) return;
    ChildResult r = in_child([] {
        SpinLock pool{LockRank::GPool};
        SpinLock stacks{LockRank::StackPool};
        pool.lock();
        stacks.lock();
    });
    INFO(r.err);
    CHECK(r.aborted());
    CHECK(r.err.find("lock order violation") != std::string::npos);
}

TEST_CASE("lock_rank_holds_primitives_to_address_order", "[sched][lock_rank]") {
    if (goro_test::skip_fork_under_tsan()) return;
    // select's order: ascending addresses, released in any order.
    {
        SpinLock chans[3];
        for (auto& c : chans) c.lock();
        chans[1].unlock();
        chans[0].unlock();
        chans[2].unlock();
    }
    ChildResult r = in_child([] {
        SpinLock chans[2];
        chans[1].lock();
        chans[0].lock();
    });
    INFO(r.err);
    CHECK(r.aborted());
    CHECK(r.err.find("lock order violation") != std::string::npos);
}

TEST_CASE("lock_rank_aborts_on_a_switch_with_a_lock_held", "[sched][lock_rank]") {
    if (goro_test::skip_fork_under_tsan()) return;
    ChildResult r = in_child([] {
        goro::run(goro::Config{1, 0}, [] {
            SpinLock l;
            l.lock();
            goro::yield();
            l.unlock();
        });
    });
    INFO(r.err);
    CHECK(r.aborted());
    CHECK(r.err.find("context switch") != std::string::npos);
}

#endif  // GORO_LOCK_RANK
