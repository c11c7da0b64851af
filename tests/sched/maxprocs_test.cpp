// tests/sched/maxprocs_test.cpp: set_maxprocs() while goroutines run keeps every goroutine running and
// correct, and maxprocs bounds how many goroutines run in parallel.
#include "test_util.hpp"

#include <sched.h>

#include <set>
#include <thread>

using namespace goro_test;

namespace {

// busy_for() spins without yielding: a goroutine that holds its worker.
void busy_for(std::chrono::microseconds d) {
    auto until = Clock::now() + d;
    while (Clock::now() < until) {
    }
}

// Parallelism measures how many goroutines are inside a busy section at once.
struct Parallelism {
    std::atomic<int> running{0};
    std::atomic<int> max{0};
    void section(std::chrono::microseconds d) {
        int now = running.fetch_add(1) + 1;
        int m = max.load();
        while (now > m && !max.compare_exchange_weak(m, now)) {
        }
        busy_for(d);
        running.fetch_sub(1);
    }
};

}  // namespace

TEST_CASE("set_maxprocs_while_10k_goroutines_spin_yield", "[sched]") {
    const long n = scale_alive(10000);
    const int iters = 100;
    for (int start : {1, 2, 4}) {
        INFO("starting maxprocs = " << start);
        run_at(start, [&] {
            std::unique_ptr<std::atomic<int>[]> per(new std::atomic<int>[static_cast<std::size_t>(n)]);
            for (long i = 0; i < n; ++i) per[i] = 0;
            std::atomic<long> total{0};
            goro::WaitGroup wg;
            wg.add(n);
            for (long i = 0; i < n; ++i) {
                goro::go([&, i] {
                    for (int k = 0; k < iters; ++k) {
                        per[i].fetch_add(1, std::memory_order_relaxed);
                        total.fetch_add(1, std::memory_order_relaxed);
                        goro::yield();
                    }
                    wg.done();
                });
            }
            int expect_prev = start;
            for (int next : {4, 2, 1, 3, 1, 4, 2}) {
                goro::sleep_for(3ms);
                CHECK(goro::set_maxprocs(next) == expect_prev);
                CHECK(goro::maxprocs() == next);
                expect_prev = next;
            }
            wg.wait();
            CHECK(total.load() == n * iters);
            long wrong = 0;
            for (long i = 0; i < n; ++i) wrong += per[i].load() != iters;
            CHECK(wrong == 0);
            CHECK(eventually([] { return goro::num_goroutines() == 1; }));
        });
    }
}

// A runtime started with one worker keeps that worker's queue to itself (no thief can exist, so it is
// popped without atomic read-modify-writes). Growing it from a plain thread, while the only worker sits in
// a blocking call, must still open that queue: once the worker schedules again, the new one steals from
// it. The yielders below only ever run from that queue, so a second thread among them proves a steal; and
// each must still run exactly its number of rounds.
TEST_CASE("growing_from_one_worker_on_a_plain_thread_opens_its_queue_to_thieves", "[sched]") {
    const int yielders = 200;
    const long rounds = 2000;
    run_at(1, [&] {
        std::mutex mu;
        std::set<std::thread::id> threads;
        std::unique_ptr<std::atomic<long>[]> done_rounds(new std::atomic<long>[yielders]);
        for (int i = 0; i < yielders; ++i) done_rounds[i] = 0;
        std::atomic<bool> two_seen{false};
        goro::WaitGroup wg;
        wg.add(yielders);
        for (int i = 0; i < yielders; ++i) {
            goro::go([&, i] {
                for (long r = 0; r < rounds; ++r) {
                    done_rounds[i].fetch_add(1, std::memory_order_relaxed);
                    if (!two_seen.load(std::memory_order_relaxed)) {
                        std::lock_guard lk(mu);
                        threads.insert(current_thread());
                        if (threads.size() >= 2) two_seen = true;
                    }
                    goro::yield();
                }
                wg.done();
            });
        }
        goro::yield();  // the yielders are running on the one worker
        // This blocks the only worker until set_maxprocs has returned on the other thread.
        std::thread grower([] { GCHECK(goro::set_maxprocs(2) == 1); });
        grower.join();
        CHECK(goro::maxprocs() == 2);
        CHECK(eventually([&] { return two_seen.load(); }, 10s));
        wg.wait();
        long wrong = 0;
        for (int i = 0; i < yielders; ++i) wrong += done_rounds[i].load() != rounds;
        CHECK(wrong == 0);
    });
}

TEST_CASE("set_maxprocs_from_goroutines_concurrently", "[sched]") {
    // Several goroutines change maxprocs at once while others work: nothing is lost, and the final value
    // is one of those asked for.
    run_at(2, [] {
        std::atomic<long> work{0};
        goro::WaitGroup wg;
        for (int i = 0; i < 200; ++i) {
            wg.add();
            goro::go([&] {
                for (int k = 0; k < 200; ++k) {
                    work.fetch_add(1);
                    goro::yield();
                }
                wg.done();
            });
        }
        for (int c = 0; c < 4; ++c) {
            wg.add();
            goro::go([&, c] {
                for (int k = 0; k < 20; ++k) {
                    int prev = goro::set_maxprocs(1 + (c + k) % 4);
                    GCHECK(prev >= 1 && prev <= 4);
                    goro::sleep_for(100us);
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(work.load() == 200 * 200);
        int now = goro::maxprocs();
        CHECK(now >= 1);
        CHECK(now <= 4);
    });
}

TEST_CASE("maxprocs_1_runs_one_goroutine_at_a_time", "[sched]") {
    run_at(1, [] {
        Parallelism p;
        goro::WaitGroup wg;
        for (int i = 0; i < 32; ++i) {
            wg.add();
            goro::go([&] {
                for (int k = 0; k < 5; ++k) {
                    p.section(200us);
                    goro::yield();
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(p.max.load() == 1);
    });
}

TEST_CASE("set_maxprocs_bounds_parallelism", "[sched]") {
    // Down to 1: from then on, only one goroutine runs at a time. Up to 4: more than one does.
    run_at(4, [] {
        std::atomic<bool> stop{false};
        Parallelism p;
        goro::WaitGroup wg;
        for (int i = 0; i < 16; ++i) {
            wg.add();
            goro::go([&] {
                while (!stop.load()) {
                    p.section(100us);
                    goro::yield();
                }
                wg.done();
            });
        }
        CHECK(goro::set_maxprocs(1) == 4);
        goro::sleep_for(20ms);  // let workers beyond the first finish their current section and stand down
        p.max = 0;
        goro::sleep_for(100ms);
        int max_at_1 = p.max.load();
        CHECK(goro::set_maxprocs(4) == 1);
        goro::sleep_for(20ms);
        p.max = 0;
        goro::sleep_for(100ms);
        int max_at_4 = p.max.load();
        stop = true;
        wg.wait();
        INFO("most goroutines running at once: " << max_at_1 << " at maxprocs 1, " << max_at_4 << " at maxprocs 4");
        CHECK(max_at_1 == 1);
        CHECK(max_at_4 >= 2);
        CHECK(max_at_4 <= 4);
    });
}

TEST_CASE("set_maxprocs_up_then_down_with_parked_goroutines", "[sched]") {
    // Goroutines parked while workers come and go are still woken and finish.
    for (int start : {1, 4}) {
        INFO("starting maxprocs = " << start);
        run_at(start, [] {
            goro::Event go_on;
            goro::WaitGroup wg;
            std::atomic<int> finished{0};
            for (int i = 0; i < 1000; ++i) {
                wg.add();
                goro::go([&, i] {
                    if (i % 2) go_on.wait();
                    else goro::sleep_for(std::chrono::milliseconds(i % 20));
                    finished.fetch_add(1);
                    wg.done();
                });
            }
            goro::set_maxprocs(8);
            goro::sleep_for(5ms);
            goro::set_maxprocs(1);
            goro::sleep_for(5ms);
            go_on.set();
            goro::set_maxprocs(2);
            wg.wait();
            CHECK(finished.load() == 1000);
        });
    }
}

// New workers are nudged onto another CPU at start (scheduler.cpp, place_new_worker) and then given
// the whole allowed set back: every worker must end up with exactly the CPU mask its creator had,
// the full one or one narrowed by taskset/sched_setaffinity, and goroutines must still run on
// several workers when more than one CPU is allowed.
TEST_CASE("workers_keep_the_creators_cpu_affinity", "[sched]") {
    cpu_set_t original;
    REQUIRE(::sched_getaffinity(0, sizeof original, &original) == 0);
    auto check_masks = [](const cpu_set_t& want, int procs) {
        std::mutex mu;
        std::set<std::thread::id> threads;
        long mismatched = 0;
        goro::run(goro::Config{.maxprocs = procs}, [&] {
            // Rounds until a second worker has run some (new threads may take a while to get a CPU on
            // a loaded machine; one worker doing everything is legal, just not what this checks).
            auto give_up = Clock::now() + 5s;
            do {
                goro::WaitGroup wg;
                for (int i = 0; i < 400; ++i) {
                    wg.add();
                    goro::go([&] {
                        cpu_set_t mine;
                        bool same = ::sched_getaffinity(0, sizeof mine, &mine) == 0 && CPU_EQUAL(&mine, &want);
                        {
                            std::lock_guard lk(mu);
                            threads.insert(std::this_thread::get_id());
                            if (!same) ++mismatched;
                        }
                        goro::sleep_for(std::chrono::microseconds(200));  // let the other workers pick some up
                        wg.done();
                    });
                }
                wg.wait();
            } while (procs > 1 && threads.size() < 2 && Clock::now() < give_up);
        });
        CHECK(mismatched == 0);
        return threads.size();
    };
    // The whole set, at 8 workers: more workers than CPUs here, so several of them get nudged.
    std::size_t used = check_masks(original, 8);
    if (CPU_COUNT(&original) > 1) CHECK(used > 1);
    // Narrowed to one CPU by the thread that starts the runtime: every worker inherits it and keeps it.
    int first = 0;
    while (!CPU_ISSET(first, &original)) ++first;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    REQUIRE(::sched_setaffinity(0, sizeof one, &one) == 0);
    check_masks(one, 2);
    REQUIRE(::sched_setaffinity(0, sizeof original, &original) == 0);
}
