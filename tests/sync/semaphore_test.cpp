// tests/sync/semaphore_test.cpp: goro::Semaphore (runtime/sync/semaphore): never more than n holders,
// try_acquire, release(n) admitting exactly n waiters, and plain threads beside goroutines.
#include "test_util.hpp"

#include <thread>

using namespace goro_test;

namespace {

struct Holders {
    std::atomic<int> now{0};
    std::atomic<int> max{0};
    void enter() {
        int n = now.fetch_add(1) + 1;
        int m = max.load();
        while (n > m && !max.compare_exchange_weak(m, n)) {
        }
    }
    void leave() { now.fetch_sub(1); }
};

}  // namespace

TEST_CASE("semaphore_never_more_than_n_holders", "[sync][semaphore]") {
    for (int units : {1, 3}) {
        INFO("units = " << units);
        for_each_maxprocs([&](int) {
            goro::Semaphore sem(units);
            Holders h;
            goro::WaitGroup wg;
            const int goroutines = 300;
            wg.add(goroutines);
            for (int g = 0; g < goroutines; ++g) {
                goro::go([&, g] {
                    for (int i = 0; i < 10; ++i) {
                        sem.acquire();
                        h.enter();
                        if ((g + i) % 3 == 0) goro::yield();
                        else if ((g + i) % 3 == 1) goro::sleep_for(10us);
                        h.leave();
                        sem.release();
                    }
                    wg.done();
                });
            }
            wg.wait();
            CHECK(h.max.load() <= units);
            CHECK(h.max.load() >= 1);
            CHECK(h.now.load() == 0);
            CHECK(sem.available() == units);
        });
    }
}

TEST_CASE("semaphore_all_units_get_used", "[sync][semaphore]") {
    // Holders that sleep while holding: with enough of them, all n units are in use at once.
    for_each_maxprocs({1, 2, 4}, [](int) {
        goro::Semaphore sem(4);
        Holders h;
        goro::WaitGroup wg;
        for (int g = 0; g < 16; ++g) {
            wg.add();
            goro::go([&] {
                sem.acquire();
                h.enter();
                goro::sleep_for(20ms);
                h.leave();
                sem.release();
                wg.done();
            });
        }
        wg.wait();
        CHECK(h.max.load() == 4);
    });
}

TEST_CASE("semaphore_try_acquire", "[sync][semaphore]") {
    auto body = [] {
        goro::Semaphore sem(2);
        CHECK(sem.try_acquire());
        CHECK(sem.try_acquire());
        CHECK_FALSE(sem.try_acquire());
        CHECK(sem.available() == 0);
        sem.release();
        CHECK(sem.available() == 1);
        CHECK(sem.try_acquire());
        CHECK_FALSE(sem.try_acquire());
        sem.release(2);
        CHECK(sem.available() == 2);
        goro::Semaphore none(0);
        CHECK_FALSE(none.try_acquire());
    };
    body();
    for_each_maxprocs({1, 2}, [&](int) { body(); });
}

TEST_CASE("semaphore_release_n_admits_exactly_n", "[sync][semaphore]") {
    for_each_maxprocs([](int) {
        goro::Semaphore sem(0);
        std::atomic<int> started{0}, acquired{0};
        goro::WaitGroup wg;
        const int n = 6;
        wg.add(n);
        for (int i = 0; i < n; ++i) {
            goro::go([&] {
                started.fetch_add(1);
                sem.acquire();
                acquired.fetch_add(1);
                wg.done();
            });
        }
        CHECK(eventually([&] { return started.load() == n; }));
        CHECK(stays([&] { return acquired.load() == 0; }, 20ms));
        sem.release(3);
        CHECK(eventually([&] { return acquired.load() == 3; }));
        CHECK(stays([&] { return acquired.load() == 3; }, 20ms));
        sem.release(1);
        CHECK(eventually([&] { return acquired.load() == 4; }));
        CHECK(stays([&] { return acquired.load() == 4; }, 20ms));
        sem.release(2);
        wg.wait();
        CHECK(acquired.load() == n);
        CHECK(sem.available() == 0);
        sem.release(5);  // with nobody waiting, units accumulate
        CHECK(sem.available() == 5);
    });
}

TEST_CASE("semaphore_plain_threads_and_goroutines", "[sync][semaphore]") {
    for_each_maxprocs({1, 2, 4}, [](int) {
        goro::Semaphore sem(2);
        Holders h;
        goro::WaitGroup wg;
        wg.add(8 + 3);
        for (int g = 0; g < 8; ++g) {
            goro::go([&] {
                for (int i = 0; i < 50; ++i) {
                    sem.acquire();
                    h.enter();
                    goro::yield();
                    h.leave();
                    sem.release();
                }
                wg.done();
            });
        }
        std::vector<std::thread> ts;
        for (int t = 0; t < 3; ++t) {
            ts.emplace_back([&] {
                for (int i = 0; i < 50; ++i) {
                    sem.acquire();
                    h.enter();
                    std::this_thread::yield();
                    h.leave();
                    sem.release();
                }
                wg.done();
            });
        }
        wg.wait();
        for (auto& t : ts) t.join();
        CHECK(h.max.load() <= 2);
        CHECK(sem.available() == 2);
    });
}

TEST_CASE("semaphore_plain_thread_waits_goroutine_releases", "[sync][semaphore]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Semaphore sem(0);
        std::atomic<bool> got{false};
        std::thread t([&] {
            sem.acquire();
            got = true;
        });
        goro::sleep_for(5ms);
        CHECK_FALSE(got.load());
        goro::go([&] { sem.release(); });
        CHECK(eventually([&] { return got.load(); }));
        t.join();
    });
}
