// tests/sched/spawn_test.cpp: the scheduler runs every spawned goroutine exactly once, whoever spawns it
// (goroutines, the main goroutine, plain threads), at every worker count.
#include "test_util.hpp"

#include <memory>
#include <thread>

using namespace goro_test;

namespace {

// RunLog counts, per index, how many times goroutine i ran.
struct RunLog {
    explicit RunLog(long n) : runs(new std::atomic<int>[static_cast<std::size_t>(n)]), n(n) {
        for (long i = 0; i < n; ++i) runs[i].store(0, std::memory_order_relaxed);
    }
    std::unique_ptr<std::atomic<int>[]> runs;
    long n;
    std::atomic<long> total{0};

    void ran(long i) {
        runs[i].fetch_add(1, std::memory_order_relaxed);
        total.fetch_add(1, std::memory_order_relaxed);
    }
    long not_exactly_once() const {
        long bad = 0;
        for (long i = 0; i < n; ++i) bad += runs[i].load() != 1;
        return bad;
    }
};

}  // namespace

TEST_CASE("spawn_100k_from_goroutines_each_runs_once", "[sched]") {
    const long n = scale_alive(100000);
    for_each_maxprocs([&](int) {
        RunLog log(n);
        goro::WaitGroup wg;
        wg.add(n);
        const int spawners = 8;
        for (int s = 0; s < spawners; ++s) {
            goro::go([&, s] {
                for (long i = s; i < n; i += spawners) {
                    goro::go([&, i] {
                        log.ran(i);
                        wg.done();
                    });
                    if (i % 1024 == 0) goro::yield();
                }
            });
        }
        wg.wait();
        // Everything has ended once only the main goroutine is left; then nothing may run twice later.
        CHECK(eventually([] { return goro::num_goroutines() == 1; }));
        CHECK(log.total.load() == n);
        CHECK(log.not_exactly_once() == 0);
    });
}

TEST_CASE("spawn_100k_from_main_goroutine_each_runs_once", "[sched]") {
    const long n = scale_alive(100000);
    for_each_maxprocs([&](int) {
        RunLog log(n);
        goro::WaitGroup wg;
        wg.add(n);
        for (long i = 0; i < n; ++i) {
            goro::go([&, i] {
                log.ran(i);
                wg.done();
            });
        }
        wg.wait();
        CHECK(eventually([] { return goro::num_goroutines() == 1; }));
        CHECK(log.total.load() == n);
        CHECK(log.not_exactly_once() == 0);
    });
}

TEST_CASE("spawn_100k_from_plain_threads_each_runs_once", "[sched]") {
    const long n = scale_alive(100000);
    const int threads = 4;
    for (int procs : default_procs()) {
        INFO("maxprocs = " << procs);
        RunLog log(n);
        goro::WaitGroup wg;
        wg.add(n);
        std::atomic<bool> up{false};
        std::atomic<long> spawn_errors{0};
        std::vector<std::thread> ts;
        // The threads exist before the runtime and outlive it; they spawn only while it runs.
        for (int t = 0; t < threads; ++t) {
            ts.emplace_back([&, t] {
                while (!up.load()) std::this_thread::yield();
                for (long i = t; i < n; i += threads) {
                    try {
                        goro::go([&, i] {
                            log.ran(i);
                            wg.done();
                        });
                    } catch (...) {
                        spawn_errors.fetch_add(1);
                        wg.done();
                    }
                }
            });
        }
        run_at(procs, [&] {
            up = true;
            wg.wait();
            CHECK(eventually([] { return goro::num_goroutines() == 1; }));
        });
        for (auto& t : ts) t.join();
        CHECK(spawn_errors.load() == 0);
        CHECK(log.total.load() == n);
        CHECK(log.not_exactly_once() == 0);
    }
}

TEST_CASE("spawn_from_goroutines_and_plain_threads_at_once", "[sched]") {
    const long n = scale_alive(40000) / 2;  // 2n goroutines in all
    for_each_maxprocs([&](int) {
        RunLog log(2 * n);
        goro::WaitGroup wg;
        wg.add(2 * n);
        std::thread t([&] {
            for (long i = 0; i < n; ++i) {
                goro::go([&, i] {
                    log.ran(i);
                    wg.done();
                });
            }
        });
        for (long i = n; i < 2 * n; ++i) {
            goro::go([&, i] {
                log.ran(i);
                wg.done();
            });
        }
        wg.wait();
        t.join();
        CHECK(log.total.load() == 2 * n);
        CHECK(log.not_exactly_once() == 0);
    });
}

TEST_CASE("spawned_goroutines_spread_over_workers", "[sched]") {
    // At 4 workers, busy goroutines (no yield) run on more than one thread: the work is shared.
    run_at(4, [] {
        std::mutex mu;
        std::vector<std::thread::id> seen;
        goro::WaitGroup wg;
        for (int i = 0; i < 64; ++i) {
            wg.add();
            goro::go([&] {
                auto until = Clock::now() + 2ms;
                while (Clock::now() < until) {
                }
                {
                    std::lock_guard<std::mutex> g(mu);
                    auto id = std::this_thread::get_id();
                    if (std::find(seen.begin(), seen.end(), id) == seen.end()) seen.push_back(id);
                }
                wg.done();  // last: once the count is zero the test may return and destroy mu
            });
        }
        wg.wait();
        INFO("worker threads seen: " << seen.size());
        CHECK(seen.size() >= 2);
        CHECK(seen.size() <= 4 + 1);  // the workers, plus the thread that called run() if it works too
    });
}

TEST_CASE("goroutine_chain_spawn_depth_10k", "[sched]") {
    // Each goroutine spawns the next and ends: a long chain of short lives.
    const long depth = scale(10000);
    for_each_maxprocs([&](int) {
        std::atomic<long> reached{0};
        goro::Event end;
        std::function<void(long)> step = [&](long i) {
            reached.fetch_add(1);
            if (i + 1 < depth) goro::go([&, i] { step(i + 1); });
            else end.set();
        };
        goro::go([&] { step(0); });
        end.wait();
        CHECK(reached.load() == depth);
        CHECK(eventually([] { return goro::num_goroutines() == 1; }));
    });
}

TEST_CASE("a loop of go() is paced: the spawner yields behind what it queued", "[sched][spawn_slice]") {
    // The spawn slice (runtime/sched/scheduler.hpp, kSpawnsPerRun = the local queue's 256): a goroutine
    // that starts 256 goroutines without a switch goes to the back of the global queue, so the
    // goroutines it queued start before it spawns more. Before it, a loop of go() never parked and its
    // goroutines piled up unstarted (at one worker, all of them until the loop ended).
    const long n = scale_alive(40000);
    for_each_maxprocs([&](int procs) {
        std::atomic<long> started{0};
        goro::WaitGroup wg;
        wg.add(n);
        long most_waiting = 0;  // spawned but not yet started, as the spawner saw it after each go()
        for (long i = 0; i < n; ++i) {
            goro::go([&] {
                started.fetch_add(1, std::memory_order_relaxed);
                wg.done();
            });
            most_waiting = std::max(most_waiting, i + 1 - started.load(std::memory_order_relaxed));
        }
        wg.wait();
        CHECK(started.load() == n);
        // Each worker's local queue (256) may hold unstarted goroutines when the spawner resumes,
        // and the spawner queues one slice more.
        const long bound = (procs + 2) * 256L;
        INFO("most goroutines waiting to start: " << most_waiting << " (bound " << bound << ", n " << n << ")");
        CHECK(most_waiting <= bound);
    });
}
