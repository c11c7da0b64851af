// tests/sync/mutex_test.cpp: goro::Mutex (runtime/sync/mutex): mutual exclusion under heavy contention,
// try_lock, the standard lock wrappers, goroutines and plain threads together, parking (not blocking the
// worker), and destruction right after the hand-off.
#include "test_util.hpp"

#include <memory>
#include <mutex>
#include <thread>

using namespace goro_test;

TEST_CASE("mutex_1000_goroutines_x_1000_increments_exact", "[sync][mutex]") {
    const long goroutines = 1000;
    const long increments = scale(1000);
    for_each_maxprocs([&](int) {
        goro::Mutex mu;
        long counter = 0;  // plain: only the Mutex orders the increments (TSan checks it)
        long inside = 0;   // goroutines inside the critical section; must stay 0 or 1
        long overlap = 0;
        goro::WaitGroup wg;
        wg.add(goroutines);
        for (long g = 0; g < goroutines; ++g) {
            goro::go([&, g] {
                for (long i = 0; i < increments; ++i) {
                    std::lock_guard<goro::Mutex> lock(mu);
                    if (++inside != 1) ++overlap;
                    ++counter;
                    // Now and then hold the lock across a yield, so that others park on it.
                    if ((i + g) % 97 == 0) goro::yield();
                    --inside;
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(counter == goroutines * increments);
        CHECK(overlap == 0);
    });
}

TEST_CASE("mutex_held_across_sleep_excludes", "[sync][mutex]") {
    for_each_maxprocs({1, 2, 4}, [](int) {
        goro::Mutex mu;
        long counter = 0;
        goro::WaitGroup wg;
        for (int g = 0; g < 50; ++g) {
            wg.add();
            goro::go([&] {
                for (int i = 0; i < 5; ++i) {
                    mu.lock();
                    long seen = counter;
                    goro::sleep_for(50us);
                    counter = seen + 1;  // a lost update if anyone else got in meanwhile
                    mu.unlock();
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(counter == 250);
    });
}

TEST_CASE("mutex_try_lock", "[sync][mutex]") {
    auto body = [] {
        goro::Mutex mu;
        CHECK(mu.try_lock());
        CHECK_FALSE(mu.try_lock());  // not recursive
        std::atomic<int> other{-1};
        std::thread t([&] { other = mu.try_lock() ? 1 : 0; });
        t.join();
        CHECK(other.load() == 0);
        mu.unlock();
        CHECK(mu.try_lock());
        mu.unlock();
    };
    body();  // plain thread
    for_each_maxprocs({1, 2, 4}, [&](int) {
        body();
        // From another goroutine, while the main one holds it.
        goro::Mutex mu;
        mu.lock();
        std::atomic<int> got{-1};
        goro::WaitGroup wg;
        wg.add();
        goro::go([&] {
            got = mu.try_lock() ? 1 : 0;
            wg.done();
        });
        wg.wait();
        CHECK(got.load() == 0);
        mu.unlock();
        wg.add();
        goro::go([&] {
            got = mu.try_lock() ? 1 : 0;
            if (got.load() == 1) mu.unlock();
            wg.done();
        });
        wg.wait();
        CHECK(got.load() == 1);
    });
}

TEST_CASE("mutex_with_lock_guard_and_unique_lock", "[sync][mutex]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Mutex mu;
        {
            std::lock_guard<goro::Mutex> g(mu);
            CHECK_FALSE(mu.try_lock());
        }
        CHECK(mu.try_lock());
        mu.unlock();
        {
            std::unique_lock<goro::Mutex> lk(mu);
            CHECK(lk.owns_lock());
            lk.unlock();
            CHECK(mu.try_lock());
            mu.unlock();
            lk.lock();
            CHECK_FALSE(mu.try_lock());
        }
        {
            std::unique_lock<goro::Mutex> lk(mu, std::try_to_lock);
            CHECK(lk.owns_lock());
            std::atomic<int> other{-1};
            goro::WaitGroup wg;
            wg.add();
            goro::go([&] {
                std::unique_lock<goro::Mutex> lk2(mu, std::try_to_lock);
                other = lk2.owns_lock() ? 1 : 0;
                wg.done();
            });
            wg.wait();
            CHECK(other.load() == 0);
        }
        {
            std::unique_lock<goro::Mutex> lk(mu, std::defer_lock);
            CHECK_FALSE(lk.owns_lock());
            lk.lock();
            CHECK(lk.owns_lock());
        }
        goro::Mutex a, b;
        {
            std::scoped_lock both(a, b);  // std::lock's try_lock/lock dance
            CHECK_FALSE(a.try_lock());
            CHECK_FALSE(b.try_lock());
        }
        CHECK(a.try_lock());
        CHECK(b.try_lock());
        a.unlock();
        b.unlock();
    });
}

TEST_CASE("mutex_plain_threads_and_goroutines_contend", "[sync][mutex]") {
    const long per = scale(20000);
    for_each_maxprocs([&](int) {
        goro::Mutex mu;
        long counter = 0;
        goro::WaitGroup wg;
        wg.add(8 + 2);
        std::vector<std::thread> ts;
        for (int t = 0; t < 2; ++t) {
            ts.emplace_back([&] {
                for (long i = 0; i < per; ++i) {
                    std::lock_guard<goro::Mutex> g(mu);
                    ++counter;
                }
                wg.done();
            });
        }
        for (int g = 0; g < 8; ++g) {
            goro::go([&, g] {
                for (long i = 0; i < per; ++i) {
                    std::lock_guard<goro::Mutex> lock(mu);
                    ++counter;
                    if ((i + g) % 500 == 0) goro::yield();
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(counter == 10 * per);
        for (auto& t : ts) t.join();
    });
}

TEST_CASE("mutex_lock_parks_goroutine_not_worker", "[sync][mutex]") {
    // At one worker: while a goroutine waits in lock(), another keeps running.
    run_at(1, [] {
        goro::Mutex mu;
        std::atomic<bool> holder_in{false}, waiter_got{false};
        std::atomic<long> progress_while_waiting{0};
        goro::WaitGroup wg;
        wg.add(3);
        goro::go([&] {
            {
                std::lock_guard<goro::Mutex> g(mu);
                holder_in = true;
                goro::sleep_for(30ms);
            }
            wg.done();  // after the unlock: `mu` dies with the main goroutine's frame
        });
        goro::go([&] {
            while (!holder_in.load()) goro::yield();
            mu.lock();
            waiter_got = true;
            mu.unlock();
            wg.done();
        });
        goro::go([&] {
            while (!holder_in.load()) goro::yield();
            while (!waiter_got.load()) {
                progress_while_waiting.fetch_add(1);
                goro::yield();
            }
            wg.done();
        });
        wg.wait();
        CHECK(waiter_got.load());
        CHECK(progress_while_waiting.load() > 0);
    });
}

TEST_CASE("mutex_waiter_is_not_starved", "[sync][mutex]") {
    // Goroutines re-locking in a tight loop must not keep a parked waiter out forever.
    for_each_maxprocs({1, 2, 4}, [](int) {
        goro::Mutex mu;
        std::atomic<bool> stop{false};
        goro::WaitGroup wg;
        for (int g = 0; g < 4; ++g) {
            wg.add();
            goro::go([&] {
                while (!stop.load()) {
                    mu.lock();
                    goro::yield();
                    mu.unlock();
                }
                wg.done();
            });
        }
        goro::sleep_for(2ms);
        auto t0 = Clock::now();
        mu.lock();
        auto waited = Clock::now() - t0;
        mu.unlock();
        stop = true;
        wg.wait();
        INFO("the main goroutine waited " << ms(waited) << " ms for the lock");
        CHECK(waited < 5s);
    });
}

TEST_CASE("mutex_destroyed_right_after_handoff", "[sync][mutex]") {
    // <goro/sync.hpp>: a Mutex may be destroyed as soon as the lock() it released returns (and is unlocked).
    const long rounds = scale(2000);
    for_each_maxprocs([&](int) {
        long done_rounds = 0;
        for (long r = 0; r < rounds; ++r) {
            auto* mu = new goro::Mutex;
            mu->lock();
            std::atomic<bool> started{false};
            goro::go([mu, &started] {
                started = true;
                mu->unlock();  // hands off to the main goroutine, which may be parked in lock() already
            });
            if (r % 2) {
                while (!started.load()) goro::yield();
            }
            // The main goroutine holds the lock, so this lock() waits for the goroutine's unlock().
            mu->lock();
            mu->unlock();
            delete mu;
            ++done_rounds;
        }
        CHECK(done_rounds == rounds);
        CHECK(eventually([] { return goro::num_goroutines() == 1; }));
    });
}

TEST_CASE("mutex_plain_threads_only", "[sync][mutex]") {
    goro::Mutex mu;
    long counter = 0;
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t) {
        ts.emplace_back([&] {
            for (int i = 0; i < 20000; ++i) {
                std::lock_guard<goro::Mutex> g(mu);
                ++counter;
            }
        });
    }
    for (auto& t : ts) t.join();
    CHECK(counter == 80000);
}
