// tests/sched/wakeup_test.cpp: the permit protocol of park()/Waker::wake() (include/goro/detail/park.hpp,
// runtime/sched/g.hpp) when several wakers meet one goroutine.
//
// Every blocking call parks in a loop on its own condition: the waker sets the condition, then wakes.
// A waker may find the goroutine already runnable (queued, running, switching out) because another
// waker (a cancellation, a timer, a stale wake from an earlier wait) got there first. Its condition
// must still be seen before the goroutine parks again. Before the fix in g.hpp ("Why queued and
// running share one state") such a waker did nothing, and the goroutine could miss the condition and
// park for good (seen as a rare false Deadlock in chan_cancel_select_races_with_delivery, about once
// in 15-40 runs of [chan]). The window is a cache miss wide: this test, 30 million rounds of it, did
// not hit it on the 2-vCPU VM before the fix. It guards the protocol (a waker that finds the
// goroutine runnable must leave a permit), not the timing of one machine.
#include "test_util.hpp"

#include <goro/detail/park.hpp>

#include <atomic>
#include <chrono>

using namespace goro_test;

// One waiter, one waker that sets a round number and wakes, and one that only wakes (a spurious
// permit, as a cancellation or a stale waker gives), all racing on two workers. A lost wake-up leaves
// the waiter parked with its round already set: the setter notices after a long grace (no progress
// for 5 s: a hang detector, not a timing check), counts it and wakes the waiter again so that the
// test ends.
TEST_CASE("park_sees_the_condition_of_a_waker_that_found_it_runnable", "[sched][stress]") {
    const int rounds = static_cast<int>(scale(200000));
    for_each_maxprocs({1, 2}, [&](int) {
        std::atomic<int> wanted{0}, seen{0}, lost{0};
        std::atomic<bool> done{false};
        std::atomic<goro::detail::G*> waiter_g{nullptr};
        goro::WaitGroup wg;
        wg.add(3);
        goro::go([&] {  // the waiter
            waiter_g.store(goro::detail::current_g(), std::memory_order_release);
            for (int r = 1; r <= rounds; ++r) {
                while (wanted.load(std::memory_order_acquire) < r) goro::detail::park();
                seen.store(r, std::memory_order_release);
            }
            done.store(true, std::memory_order_release);
            wg.done();
        });
        auto waiter = [&] {
            goro::detail::G* g;
            while (!(g = waiter_g.load(std::memory_order_acquire))) goro::yield();
            return goro::detail::Waker{g, nullptr};
        };
        goro::go([&] {  // the setter: the condition, then the wake
            goro::detail::Waker w = waiter();
            for (int r = 1; r <= rounds; ++r) {
                wanted.store(r, std::memory_order_release);
                w.wake();
                auto since = std::chrono::steady_clock::now();
                while (seen.load(std::memory_order_acquire) < r) {
                    goro::yield();
                    if (std::chrono::steady_clock::now() - since > 5s) {
                        lost.fetch_add(1);
                        w.wake();
                        since = std::chrono::steady_clock::now();
                    }
                }
            }
            wg.done();
        });
        goro::go([&] {  // the other waker: permits only
            goro::detail::Waker w = waiter();
            while (!done.load(std::memory_order_acquire)) {
                w.wake();
                goro::yield();
            }
            wg.done();
        });
        wg.wait();
        CHECK(lost.load() == 0);
        CHECK(seen.load() == rounds);
    });
}
