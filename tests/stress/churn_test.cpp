// tests/stress/churn_test.cpp: long mixed workloads. A skynet-style spawn tree with a WaitGroup on every
// node's stack, and a churn of goroutines and plain threads through every primitive while maxprocs changes,
// checking each primitive's invariant all along (lost wake-ups show up as a hang, caught by eventually()).
#include "test_util.hpp"

#include <deque>
#include <random>
#include <thread>

using namespace goro_test;

namespace {

// skynet() spawns `fanout` children per node down to `depth`, each with the WaitGroup on its parent's stack,
// and returns the sum of the leaf numbers below `num`.
long skynet(long num, int depth, int fanout) {
    if (depth == 0) return num;
    goro::WaitGroup wg;
    std::atomic<long> sum{0};
    long width = 1;
    for (int d = 1; d < depth; ++d) width *= fanout;
    for (int i = 0; i < fanout; ++i) {
        wg.add();
        goro::go([&, i] {
            sum.fetch_add(skynet(num + i * width, depth - 1, fanout));
            wg.done();
        });
    }
    wg.wait();
    return sum.load();
}

}  // namespace

TEST_CASE("skynet_tree_sum_exact", "[stress]") {
    // 10^5 leaves (111,111 goroutines); 10^4 under sanitizers.
    const int depth = kSanitized || scale_divisor() > 1 ? 4 : 5;
    long leaves = 1;
    for (int d = 0; d < depth; ++d) leaves *= 10;
    for_each_maxprocs([&](int procs) {
        auto t0 = Clock::now();
        long sum = skynet(0, depth, 10);
        INFO("maxprocs " << procs << ": skynet depth " << depth << " in " << ms(Clock::now() - t0) << " ms");
        CHECK(sum == leaves * (leaves - 1) / 2);
        CHECK(eventually([] { return goro::num_goroutines() == 1; }));
    });
}

namespace {

// Churn holds every primitive and the invariant it protects.
struct Churn {
    goro::Mutex mu;
    long counter = 0;  // guarded by mu
    long inside = 0;   // guarded by mu
    long overlap = 0;  // guarded by mu
    goro::Semaphore sem{3};
    std::atomic<int> sem_holders{0};
    std::atomic<int> sem_overflow{0};
    goro::Mutex qmu;
    goro::CondVar qcv;
    std::deque<long> queue;  // guarded by qmu
    std::atomic<long> produced{0}, consumed{0};
    goro::Event tick;
    std::atomic<long> ops{0};

    void mutex_op() {
        std::lock_guard<goro::Mutex> g(mu);
        if (++inside != 1) ++overlap;
        ++counter;
        --inside;
    }
    void sem_op(bool yield_inside) {
        sem.acquire();
        if (sem_holders.fetch_add(1) + 1 > 3) sem_overflow.fetch_add(1);
        if (yield_inside) goro::yield();
        sem_holders.fetch_sub(1);
        sem.release();
    }
    void produce(long v) {
        {
            std::lock_guard<goro::Mutex> g(qmu);
            queue.push_back(v);
        }
        qcv.notify_one();
        produced.fetch_add(1);
    }
    // consume() takes one item, waiting for it.
    void consume() {
        std::unique_lock<goro::Mutex> lk(qmu);
        qcv.wait(lk, [&] { return !queue.empty(); });
        queue.pop_front();
        consumed.fetch_add(1);
    }
};

}  // namespace

TEST_CASE("churn_all_primitives_while_maxprocs_changes", "[stress]") {
    const long workers = scale_alive(2000);
    const int rounds = 30;
    for (int start : {1, 4}) {
        INFO("starting maxprocs = " << start);
        run_at(start, [&] {
            Churn c;
            goro::WaitGroup wg;
            wg.add(workers + 2);
            // Each worker goroutine produces one item per round and consumes one: every consume is matched.
            for (long w = 0; w < workers; ++w) {
                goro::go([&, w] {
                    std::minstd_rand rng(static_cast<unsigned>(w + 1));
                    for (int r = 0; r < rounds; ++r) {
                        switch (rng() % 5) {
                            case 0: c.mutex_op(); break;
                            case 1: c.sem_op(rng() % 2 == 0); break;
                            case 2: goro::sleep_for(std::chrono::microseconds(rng() % 200)); break;
                            case 3: goro::yield(); break;
                            default:
                                if (c.tick.is_set()) c.tick.wait();
                                break;
                        }
                        c.produce(w * rounds + r);
                        c.consume();
                        c.ops.fetch_add(1);
                    }
                    wg.done();
                });
            }
            // Two plain threads do the same kind of work from outside the runtime.
            std::vector<std::thread> ts;
            for (int t = 0; t < 2; ++t) {
                ts.emplace_back([&] {
                    for (int r = 0; r < 200; ++r) {
                        c.mutex_op();
                        c.sem_op(false);
                        c.produce(-1);
                        c.consume();
                    }
                    wg.done();
                });
            }
            // Meanwhile the main goroutine toggles the Event and changes maxprocs.
            int next = start;
            for (int k = 0; k < 20; ++k) {
                goro::sleep_for(1ms);
                next = next % 4 + 1;
                goro::set_maxprocs(next);
                c.tick.set();
                c.tick.clear();
            }
            c.tick.set();
            CHECK(eventually([&] { return wg.count() == 0; }, 120s));
            wg.wait();
            for (auto& t : ts) t.join();
            CHECK(c.ops.load() == workers * rounds);
            CHECK(c.produced.load() == workers * rounds + 400);
            CHECK(c.consumed.load() == c.produced.load());
            CHECK(c.sem_overflow.load() == 0);
            CHECK(c.sem.available() == 3);
            std::lock_guard<goro::Mutex> g(c.mu);
            CHECK(c.overlap == 0);
            CHECK(c.queue.empty());
        });
    }
}

// A runtime started with one worker pops its queue without atomic read-modify-writes until a second worker
// exists; the hand-over happens at the first worker's next schedule. Growing such runtimes from a plain thread
// at random moments (while goroutines spawn, yield, hand a mutex around and sleep) must lose or repeat
// nothing: each goroutine counts its own rounds, and a round run twice or never shows up in the totals.
TEST_CASE("one_worker_runtimes_grown_from_plain_threads_at_random_moments", "[stress]") {
    const int runtimes = static_cast<int>(std::max(3L, scale(30)));
    const long goroutines = scale_alive(300);
    const int rounds = 200;
    std::minstd_rand rng(12345);
    std::atomic<long> moved{0};  // goroutines that ended on another thread than they started on
    for (int iter = 0; iter < runtimes; ++iter) {
        const int grow_to = 2 + iter % 3;
        const auto grow_after = std::chrono::microseconds(rng() % 1500);
        INFO("runtime " << iter << ": grown to " << grow_to << " after " << grow_after.count() << " us");
        run_at(1, [&] {
            std::unique_ptr<std::atomic<int>[]> per(new std::atomic<int>[static_cast<std::size_t>(goroutines)]);
            for (long i = 0; i < goroutines; ++i) per[i] = 0;
            goro::Mutex mu;
            long guarded = 0;  // guarded by mu
            goro::WaitGroup wg;
            wg.add(goroutines);
            for (long i = 0; i < goroutines; ++i) {
                goro::go([&, i] {
                    auto first_thread = current_thread();
                    for (int r = 0; r < rounds; ++r) {
                        per[i].fetch_add(1, std::memory_order_relaxed);
                        switch ((i + r) % 4) {
                            case 0: goro::yield(); break;
                            case 1: {
                                std::lock_guard<goro::Mutex> g(mu);
                                ++guarded;
                                break;
                            }
                            case 2:
                                if (r % 50 == 2) goro::sleep_for(std::chrono::microseconds(50));
                                break;
                            default: {
                                goro::WaitGroup child;  // a short-lived goroutine, spawned and joined
                                child.add();
                                goro::go([&child] { child.done(); });
                                child.wait();
                            }
                        }
                    }
                    if (current_thread() != first_thread) moved.fetch_add(1);
                    wg.done();
                });
            }
            std::thread grower([&] {
                std::this_thread::sleep_for(grow_after);
                GCHECK(goro::set_maxprocs(grow_to) == 1);
            });
            wg.wait();
            grower.join();
            long wrong = 0;
            for (long i = 0; i < goroutines; ++i) wrong += per[i].load() != rounds;
            CHECK(wrong == 0);
            std::lock_guard<goro::Mutex> g(mu);
            long want = 0;  // rounds whose (i + r) % 4 == 1
            for (long i = 0; i < goroutines; ++i)
                for (int r = 0; r < rounds; ++r) want += (i + r) % 4 == 1;
            CHECK(guarded == want);
        });
    }
    // The growth came while they ran: some goroutines were stolen by the new workers.
    CHECK(moved.load() > 0);
}

TEST_CASE("spawn_churn_short_lived_goroutines_for_a_while", "[stress]") {
    // Generations of goroutines that spawn the next and die, from several roots, for ~300 ms.
    for_each_maxprocs({1, 2, 4}, [](int) {
        std::atomic<bool> stop{false};
        std::atomic<long> lives{0};
        goro::WaitGroup roots;
        std::function<void(goro::WaitGroup*)> life = [&](goro::WaitGroup* root) {
            lives.fetch_add(1);
            if (stop.load()) {
                root->done();
                return;
            }
            goro::go([&, root] { life(root); });
            if (lives.load() % 64 == 0) goro::go([&] { lives.fetch_add(1); });  // an extra short one
        };
        for (int r = 0; r < 16; ++r) {
            roots.add();
            goro::go([&] { life(&roots); });
        }
        goro::sleep_for(300ms);
        stop = true;
        roots.wait();
        INFO(lives.load() << " goroutine lives");
        CHECK(lives.load() > 16);
        CHECK(eventually([] { return goro::num_goroutines() == 1; }));
    });
}
