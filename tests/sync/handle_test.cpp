// tests/sync/handle_test.cpp: <goro/sync.hpp>'s handles — WaitGroup, Mutex, CondVar, Semaphore and Event are cheap
// handles like Chan: copies share one state, so lambdas may capture them by copy (also in lambdas that are
// not mutable: every member is const) as well as by reference; the last copy may be the one a released
// waiter drops right after its wait returns.
#include "test_util.hpp"

#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

using namespace goro_test;

static_assert(std::is_copy_constructible_v<goro::WaitGroup> && std::is_copy_assignable_v<goro::WaitGroup>);
static_assert(std::is_copy_constructible_v<goro::Mutex> && std::is_copy_assignable_v<goro::Mutex>);
static_assert(std::is_copy_constructible_v<goro::CondVar> && std::is_copy_assignable_v<goro::CondVar>);
static_assert(std::is_copy_constructible_v<goro::Semaphore> && std::is_copy_assignable_v<goro::Semaphore>);
static_assert(std::is_copy_constructible_v<goro::Event> && std::is_copy_assignable_v<goro::Event>);

TEST_CASE("sync_handles_captured_by_copy_share_one_state", "[sync][handle]") {
    for_each_maxprocs([](int) {
        constexpr int kN = 200;
        goro::WaitGroup wg;
        goro::Mutex mu;
        goro::Semaphore slots(3);
        goro::Event go_on;
        auto counter = std::make_shared<long>(0);
        auto inside = std::make_shared<std::atomic<int>>(0);
        auto most_inside = std::make_shared<std::atomic<int>>(0);
        for (int i = 0; i < kN; ++i) {
            wg.add();
            // Everything by copy, and the lambda is not mutable.
            goro::go([wg, mu, slots, go_on, counter, inside, most_inside] {
                go_on.wait();
                slots.acquire();
                int now = inside->fetch_add(1) + 1;
                int seen = most_inside->load();
                while (now > seen && !most_inside->compare_exchange_weak(seen, now)) {
                }
                goro::yield();
                inside->fetch_sub(1);
                slots.release();
                {
                    std::lock_guard lk(mu);  // lock_guard<const goro::Mutex>: lock() and unlock() are const
                    long v = *counter;
                    goro::yield();  // a lost update shows if the copies did not share the mutex
                    *counter = v + 1;
                }
                wg.done();
            });
        }
        CHECK(wg.count() == kN);
        goro::Event copy = go_on;
        copy.set();  // setting a copy releases the waiters of the original
        CHECK(go_on.is_set());
        wg.wait();
        CHECK(*counter == kN);
        CHECK(most_inside->load() <= 3);
        CHECK(slots.available() == 3);
        // Assignment rebinds a handle to the other's state.
        goro::WaitGroup other;
        other.add(2);
        goro::WaitGroup alias;
        alias = other;
        CHECK(alias.count() == 2);
        alias.done();
        CHECK(other.count() == 1);
        other.done();
    });
}

TEST_CASE("condvar_and_mutex_copies_in_a_producer_consumer", "[sync][handle]") {
    for_each_maxprocs([](int) {
        goro::Mutex mu;
        goro::CondVar cv;
        auto queue = std::make_shared<std::vector<int>>();
        constexpr int kItems = 500;
        auto consumer = goro::spawn([mu, cv, queue] {
            long sum = 0;
            for (int got = 0; got < kItems; ++got) {
                goro::Mutex m = mu;  // the capture is const; a copy of a handle is not
                std::unique_lock lk(m);
                cv.wait(lk, [&] { return !queue->empty(); });
                sum += queue->back();
                queue->pop_back();
            }
            return sum;
        });
        goro::go([mu, cv, queue] {
            for (int i = 1; i <= kItems; ++i) {
                {
                    goro::Mutex m = mu;  // yet another copy of the same mutex
                    std::lock_guard lk(m);
                    queue->push_back(i);
                }
                cv.notify_one();
                if (i % 7 == 0) goro::yield();
            }
        });
        CHECK(consumer.get() == long(kItems) * (kItems + 1) / 2);
    });
}

// The waiter holds the only copy and drops it as soon as wait() returns, while the waker, which captured
// it by reference, is still inside done()/set(): the state must outlive neither call's last touch.
TEST_CASE("last_copy_dropped_right_after_the_wait_it_released", "[sync][handle]") {
    for_each_maxprocs([](int) {
        const int rounds = static_cast<int>(scale(3000));
        for (int i = 0; i < rounds; ++i) {
            auto wg = std::make_unique<goro::WaitGroup>();
            wg->add();
            goro::go([&w = *wg] { w.done(); });
            wg->wait();
            wg.reset();
            auto ev = std::make_unique<goro::Event>();
            goro::go([&e = *ev] { e.set(); });
            ev->wait();
            ev.reset();
        }
        // The same from plain threads.
        for (int i = 0; i < rounds / 10; ++i) {
            auto wg = std::make_unique<goro::WaitGroup>();
            wg->add();
            std::thread t([&w = *wg] { w.done(); });
            wg->wait();
            wg.reset();
            t.join();
        }
    });
}
