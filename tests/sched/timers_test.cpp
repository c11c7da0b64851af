// tests/sched/timers_test.cpp — per-P timers (runtime/time/timers.*, issue 15) seen from goroutines.
//
// Each P keeps the timers its goroutines arm; any worker runs any P's due timers. These tests fail when a
// P's timers wait for that P's own worker:
//  * a worker that hogs its thread (a busy loop with no goro call) or blocks it in plain code
//    (::usleep) for 300 ms: the 30-65 ms sleeps armed on it must end while it is still stuck (at
//    maxprocs 2 the other worker fires them; at maxprocs 1 the monitor's hand-off brings in a spare);
//  * a P retired by set_maxprocs: the sleeps armed on it still end, on time;
//  * a timer armed on one worker and stopped from another (a task's wait_for whose task completes on
//    another worker near the deadline; an after() channel dropped or read on another worker): each ends
//    exactly once, consistently (a Timeout only after the deadline, a value exactly once);
//  * a burst of due timers: the goroutines it wakes run before most of a flood of spawns queued ahead of
//    them (a guard: see the case for what it does not reproduce);
//  * 100,000 sleeps spread over the workers ([stress]): all end, none before its deadline, and they wake
//    in order of deadline within 250 ms (deadlines 1-500 ms after a common base, after the spawning).
// Timing checks are a window (300 ms) far wider than the deadlines they guard (30-65 ms), never a tight
// absolute figure: the test machine is a shared 2-vCPU VM.
#include "test_util.hpp"

#include <goro/goro.hpp>
#include <goro/task.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <random>
#include <set>
#include <thread>
#include <vector>

using namespace goro_test;

namespace {

enum class Stall { Spin, Usleep };
constexpr auto kStall = 300ms;

// Holds the calling goroutine's thread for kStall without a goro call.
void stall(Stall how) {
    if (how == Stall::Usleep) {
        ::usleep(static_cast<useconds_t>(std::chrono::microseconds(kStall).count()));
        return;
    }
    const auto until = Clock::now() + kStall;
    while (Clock::now() < until) {
    }
}

}  // namespace

TEST_CASE("timers armed on a worker fire while it hogs or blocks its thread", "[sched][timers]") {
    for (Stall how : {Stall::Spin, Stall::Usleep}) {
        for (int procs : {2, 1}) {
            INFO((how == Stall::Spin ? "busy loop" : "usleep") << ", maxprocs " << procs);
            constexpr int K = 64;
            std::vector<std::thread::id> armed_on(K);
            std::vector<char> woke_in_time(K, 0);
            std::atomic<int> armed{0}, early{0};
            std::atomic<bool> stall_over{false};
            std::thread::id staller;
            run_at(procs, [&] {
                goro::WaitGroup wg;
                wg.add(K + 1);
                goro::go([&] {
                    // Our own sleepers: queued on this worker's P, most of them run (and arm) here.
                    for (int i = 0; i < K; ++i) {
                        goro::go([&, i] {
                            armed_on[static_cast<std::size_t>(i)] = current_thread();
                            const auto deadline = Clock::now() + 30ms + (i % 8) * 5ms;
                            armed.fetch_add(1);
                            goro::sleep_until(deadline);  // arms on this thread's P
                            if (Clock::now() < deadline) early.fetch_add(1);
                            woke_in_time[static_cast<std::size_t>(i)] = !stall_over.load() ? 1 : 0;
                            wg.done();
                        });
                    }
                    while (armed.load() < K) goro::yield();
                    staller = current_thread();
                    stall(how);
                    stall_over = true;
                    wg.done();
                });
                wg.wait();
            });
            int local = 0, local_in_time = 0;
            for (int i = 0; i < K; ++i) {
                if (armed_on[static_cast<std::size_t>(i)] != staller) continue;
                ++local;
                local_in_time += woke_in_time[static_cast<std::size_t>(i)];
            }
            INFO(local << " of " << K << " sleepers armed on the stalled worker");
            CHECK(local > 0);  // else the test proved nothing (at maxprocs 1 all of them are)
            CHECK(local_in_time == local);
            CHECK(early.load() == 0);
        }
    }
}

TEST_CASE("timers armed on a P that set_maxprocs retires still fire, on time", "[sched][timers][maxprocs]") {
    int trials_with_both = 0;
    for (int trial = 0; trial < 6; ++trial) {
        INFO("trial " << trial);
        constexpr int K = 200;
        std::atomic<int> armed{0}, woke{0}, early{0}, late{0};
        std::atomic<bool> watchdog_fired{false};
        std::set<std::thread::id> threads;
        std::mutex threads_mu;
        run_at(2, [&] {
            goro::Event all_woke;
            for (int i = 0; i < K; ++i) {
                goro::go([&, i] {
                    // Spread them over both workers (and so over both Ps' timers): 20 us of work
                    // each makes the batch last ~4 ms, and the second worker, woken by the first
                    // go(), takes its share. Without it the first worker could run all 200 before
                    // the second ran its first (~0.1-0.3 ms on the 2-vCPU VM: stacks for the batch
                    // it stole, on fresh pages), and in ~1 run in 5 no trial armed a timer on P 1.
                    const auto busy_until = Clock::now() + 20us;
                    while (Clock::now() < busy_until) {
                    }
                    goro::yield();
                    {
                        std::lock_guard lk(threads_mu);
                        threads.insert(current_thread());
                    }
                    const auto deadline = Clock::now() + 80ms + (i % 20) * 1ms;
                    armed.fetch_add(1);
                    goro::sleep_until(deadline);
                    const auto now = Clock::now();
                    if (now < deadline) early.fetch_add(1);
                    if (now > deadline + kStall * ratio_slack()) late.fetch_add(1);
                    if (woke.fetch_add(1) + 1 == K) all_woke.set();
                });
            }
            // Retire P 1 once every sleeper has armed (most of them well before their deadlines).
            GCHECK(eventually([&] { return armed.load() == K; }, 20s));
            goro::set_maxprocs(1);
            // Waited for without a goroutine timer of ours: a plain-thread watchdog bounds the wait.
            std::atomic<bool> stop{false};
            std::thread watchdog([&] {
                for (int ms = 0; ms < 10000 && !stop.load(); ++ms) std::this_thread::sleep_for(1ms);
                if (!stop.load()) {
                    watchdog_fired = true;
                    all_woke.set();
                }
            });
            all_woke.wait();
            stop = true;
            watchdog.join();
        });
        CHECK_FALSE(watchdog_fired.load());
        CHECK(woke.load() == K);
        CHECK(early.load() == 0);
        CHECK(late.load() == 0);
        if (threads.size() >= 2) ++trials_with_both;
    }
    CHECK(trials_with_both > 0);  // sleepers armed on P 1 in at least one trial (else nothing was retired)
}

TEST_CASE("a timer armed on one worker and stopped from another ends exactly once", "[sched][timers]") {
    SECTION("wait_for: the task completes on another worker near the deadline") {
        // The waiter arms its timed park on its worker's P; the task's completion readies it on the
        // completer's worker, which then takes the timer out of the other P's shard, racing with a fire
        // there. Either outcome is fine; each must be consistent and nothing may hang or crash.
        const int n = static_cast<int>(scale(4000));
        std::atomic<int> in_time{0}, timed_out{0}, cross{0};
        run_at(2, [&] {
            goro::WaitGroup wg;
            wg.add(n);
            for (int i = 0; i < n; ++i) {
                goro::go([&, i] {
                    const auto d = std::chrono::microseconds(2000);
                    const auto jitter = std::chrono::microseconds((i * 7919) % 1200) - 600us;
                    auto t = goro::spawn([d, jitter, i] {
                        goro::sleep_for(d + jitter);
                        return i;
                    });
                    const auto armed_on = current_thread();
                    const auto t0 = Clock::now();
                    try {
                        const int r = goro::wait_for(std::move(t), d);
                        GCHECK(r == i);
                        in_time.fetch_add(1);
                    } catch (const goro::Timeout&) {
                        GCHECK(Clock::now() - t0 >= d);
                        timed_out.fetch_add(1);
                    }
                    if (current_thread() != armed_on) cross.fetch_add(1);
                    wg.done();
                });
                if (i % 64 == 63) goro::sleep_for(1ms);  // waves, so that both outcomes occur
            }
            wg.wait();
        });
        INFO(in_time.load() << " in time, " << timed_out.load() << " timed out, " << cross.load()
                            << " stopped from another worker");
        CHECK(in_time.load() + timed_out.load() == n);
        CHECK(cross.load() > 0);
    }
    SECTION("after(): the channel is dropped or read on another worker") {
        // An after() channel's timer lives in its creator's P; dropping the last handle elsewhere takes it
        // out of that shard (or finds it fired). A channel that is read gets exactly one value.
        const int n = static_cast<int>(scale(20000));
        std::atomic<int> dropped{0}, received{0}, cross{0};
        run_at(2, [&] {
            using Tp = std::chrono::steady_clock::time_point;
            struct Armed {
                goro::Chan<Tp> ch;
                std::thread::id on;
            };
            goro::Chan<std::shared_ptr<Armed>> handoff(128);
            goro::WaitGroup wg;
            wg.add(2);
            goro::go([&] {
                for (int i = 0; i < n; ++i) {
                    auto a = std::make_shared<Armed>(
                        Armed{goro::after(std::chrono::microseconds((i * 7919) % 3000)), current_thread()});
                    handoff.send(std::move(a));
                }
                handoff.close();
                wg.done();
            });
            goro::go([&] {
                std::minstd_rand rng(7);
                while (auto a = handoff.recv()) {
                    if (rng() % 4 == 0) goro::yield();
                    if ((*a)->on != current_thread()) cross.fetch_add(1);
                    if (rng() % 2 == 0) {
                        (*a)->ch = goro::Chan<Tp>();  // the last handle: the timer is stopped (or fired)
                        dropped.fetch_add(1);
                    } else {
                        GCHECK((*a)->ch.recv().has_value());
                        GCHECK(!(*a)->ch.try_recv().has_value());  // exactly one value
                        received.fetch_add(1);
                    }
                }
                wg.done();
            });
            wg.wait();
        });
        INFO(dropped.load() << " dropped, " << received.load() << " read, " << cross.load()
                            << " on another worker than their creator's");
        CHECK(dropped.load() + received.load() == n);
    }
}

TEST_CASE("goroutines woken by a burst of timers run before a flood of spawns queued ahead of them",
          "[sched][timers]") {
    // 2,000 sleepers come due while the workers work through a flood of
    // 20,000 spawned goroutines (10 us each, 100 ms in all at 2 workers), most
    // of them on the global queue. A look at the timers fires only as many as
    // the local queue has room for (sched/worker.cpp) and the woken run next,
    // early in the flood. This test guards that outcome; it does not
    // reproduce the failure the limit fixed: with every due timer fired at
    // once it passed too (the global queue's order across producer threads
    // let the woken through here). The failure showed in bench/ sleep_many
    // at 2 workers, where a spawner keeps the global queue full: sleepers
    // overslept by 185-620 ms at p90 (bench/RESULTS.md). The limit itself is
    // tested in tests/internal/timers_test.cpp.
    constexpr int kSleepers = 2000;
    const int flood = static_cast<int>(scale(20000));
    // Each flood goroutine works longer when the flood is scaled down (100 us
    // under the sanitizers), so that the flood still lasts ~100 ms at 2 workers,
    // far past the sleepers' 20 ms: a 2,000-goroutine flood of 10 us each was
    // over before they came due under ASan on a fast VM, and the check failed.
    const auto work = std::chrono::microseconds(10 * 20000 / flood);
    std::vector<int> woke_after(kSleepers, -1);
    run_at(2, [&] {
        std::atomic<int> ran{0};    // flood goroutines that have run
        std::atomic<int> armed{0};  // sleepers about to sleep
        goro::WaitGroup wg;
        wg.add(kSleepers + flood);
        for (int i = 0; i < kSleepers; ++i)
            goro::go([&, i] {
                armed.fetch_add(1, std::memory_order_relaxed);
                goro::sleep_for(20ms);
                woke_after[static_cast<std::size_t>(i)] = ran.load(std::memory_order_relaxed);
                wg.done();
            });
        while (armed.load(std::memory_order_relaxed) < kSleepers) goro::yield();
        for (int i = 0; i < flood; ++i)
            goro::go([&] {
                const auto until = Clock::now() + work;
                while (Clock::now() < until) {
                }
                ran.fetch_add(1, std::memory_order_relaxed);
                wg.done();
            });
        wg.wait();
    });
    // On the test's thread: std::sort's recursion overflowed the main
    // goroutine's 64 KiB under ASan (its frames are several KiB there).
    std::sort(woke_after.begin(), woke_after.end());
    const int median = woke_after[kSleepers / 2];
    INFO("flood " << flood << "; sleepers woke after " << woke_after.front() << " (first), " << median << " (median), "
                  << woke_after.back() << " (last) of the flood had run");
    CHECK(woke_after.front() >= 0);
    CHECK(median < flood / 2);
}

TEST_CASE("100k sleeps spread over the workers all end, none before its deadline, in deadline order",
          "[stress][timers]") {
    using std::chrono::microseconds;
    const long n = scale_alive(100000);
    const long sample_every = std::max(1L, n / 100);  // 100 samples of the thread, whatever n is (4,000 under TSan)
    // The sleepers arm their timers while main spawns them; the deadlines all come after the spawning
    // is done (base + 1-500 ms; 1-2000 ms in sanitized builds), so that what is checked is the order in
    // which the timers fire and their goroutines run, not how long a woken sleeper waits behind a flood
    // of first runs. "In order" within the timers' precision under this load: no sleeper may wake after
    // another whose deadline is more than kOrderSlack later than its own. A wake-up runs a little after
    // its timer fires (the woken goroutines wait in run queues, one per worker), so wakes of close
    // deadlines may swap; a heap that fired out of order, or a P's timers left behind, swaps deadlines
    // tens or hundreds of milliseconds apart (a 4-ary heap whose sift-down always took the first child
    // failed here with a 499 ms swap over 500 ms of deadlines; the checks before this one passed it).
    // Under a heavy load (a build on both CPUs) swaps of ~50 ms were seen; a sleeper stalled between its
    // wake-up and its clock read swaps by as long as the stall. The slack is 250 ms, half the span.
    const auto kOrderSlack = std::chrono::milliseconds(250) * (kSanitized ? 3 : 1);
    const auto kSpawnBudget = std::chrono::milliseconds(1000) * (kSanitized ? 2 : 1);
    // Sanitized builds spread the deadlines 4x wider: a wake-up there costs so much more that 4,000 of
    // them in 250 ms saturated both workers, and a backlog on one worker's queue but not the other's
    // swaps wake-ups by hundreds of milliseconds (seen under TSan) without any timer firing late.
    constexpr long kSpanUs = 499000L * (kSanitized ? 4 : 1);
    auto deadline_offset = [](long i) { return microseconds(1000 + (i * 7919) % kSpanUs); };
    for (int procs : {1, 2}) {
        INFO("maxprocs " << procs);
        std::atomic<long> early{0}, completed{0}, armed_late{0};
        std::set<std::thread::id> threads;
        std::mutex threads_mu;
        std::vector<Clock::time_point> deadline(static_cast<std::size_t>(n)), woke(static_cast<std::size_t>(n));
        run_at(procs, [&] {
            const auto base = Clock::now() + kSpawnBudget;
            goro::WaitGroup wg;
            wg.add(n);
            for (long i = 0; i < n; ++i) {
                goro::go([&, i] {
                    if (i % sample_every == 0) {
                        std::lock_guard lk(threads_mu);
                        threads.insert(current_thread());
                    }
                    const auto d = base + deadline_offset(i);
                    if (Clock::now() >= base) armed_late.fetch_add(1);
                    goro::sleep_until(d);
                    const auto now = Clock::now();
                    if (now < d) early.fetch_add(1);
                    deadline[static_cast<std::size_t>(i)] = d;  // each sleeper its own slots; read after run()
                    woke[static_cast<std::size_t>(i)] = now;
                    completed.fetch_add(1);
                    wg.done();
                });
            }
            wg.wait();
        });
        CHECK(completed.load() == n);
        CHECK(early.load() == 0);
        if (procs > 1) CHECK(threads.size() >= 2);  // armed on both workers' Ps

        // In order of waking, the latest deadline seen so far must not run ahead of each new one by more
        // than the slack.
        std::vector<std::size_t> by_wake(static_cast<std::size_t>(n));
        for (std::size_t i = 0; i < by_wake.size(); ++i) by_wake[i] = i;
        std::sort(by_wake.begin(), by_wake.end(), [&](std::size_t a, std::size_t b) { return woke[a] < woke[b]; });
        long out_of_order = 0;
        Clock::duration worst{0};
        Clock::time_point latest_deadline = deadline[by_wake.front()];
        for (std::size_t i : by_wake) {
            if (latest_deadline - deadline[i] > kOrderSlack) ++out_of_order;
            worst = std::max(worst, latest_deadline - deadline[i]);
            latest_deadline = std::max(latest_deadline, deadline[i]);
        }
        INFO(armed_late.load() << " sleepers armed after the spawning budget (the machine was slow)");
        Clock::duration latest_wake{0};
        for (std::size_t i = 0; i < woke.size(); ++i) latest_wake = std::max(latest_wake, woke[i] - deadline[i]);
        INFO("the latest wake-up came " << std::chrono::duration_cast<microseconds>(latest_wake).count()
                                        << " us after its deadline");
        INFO("worst swap: a sleeper woke after one whose deadline was "
             << std::chrono::duration_cast<microseconds>(worst).count() << " us later than its own");
        if (armed_late.load() == 0) {
            CHECK(out_of_order == 0);
        } else {
            WARN("the wake order is not checked: the first runs were still going on at the first deadlines");
        }
    }
}
