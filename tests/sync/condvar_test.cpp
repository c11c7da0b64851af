// tests/sync/condvar_test.cpp: goro::CondVar (runtime/sync/condvar): producer/consumer, notify_one wakes
// exactly one waiter, notify_all wakes all, wait(lock, pred), no spurious wake-ups, notifications are not
// stored, and plain threads mix with goroutines.
#include "test_util.hpp"

#include <deque>
#include <thread>

using namespace goro_test;

namespace {

// BoundedQueue: the classic two-condition bounded buffer.
struct BoundedQueue {
    explicit BoundedQueue(std::size_t cap) : cap(cap) {}
    goro::Mutex mu;
    goro::CondVar not_full, not_empty;
    std::deque<long> items;  // guarded by mu
    std::size_t cap;
    bool closed = false;  // guarded by mu

    void push(long v) {
        std::unique_lock<goro::Mutex> lk(mu);
        not_full.wait(lk, [&] { return items.size() < cap; });
        items.push_back(v);
        not_empty.notify_one();
    }
    // pop() returns -1 once closed and drained.
    long pop() {
        std::unique_lock<goro::Mutex> lk(mu);
        not_empty.wait(lk, [&] { return !items.empty() || closed; });
        if (items.empty()) return -1;
        long v = items.front();
        items.pop_front();
        not_full.notify_one();
        return v;
    }
    void close() {
        std::lock_guard<goro::Mutex> g(mu);
        closed = true;
        not_empty.notify_all();
    }
};

// Waiters counts goroutines (or threads) parked in cv.wait(lk) without a predicate.
struct Waiters {
    goro::Mutex mu;
    goro::CondVar cv;
    int waiting = 0;  // guarded by mu: incremented just before wait()
    std::atomic<int> woken{0};

    void wait_once() {
        std::unique_lock<goro::Mutex> lk(mu);
        ++waiting;
        cv.wait(lk);  // no predicate: each return must come from a notify (no spurious wake-ups)
        woken.fetch_add(1);
    }
    // all_waiting() is true once n callers are inside wait() (they got there under mu).
    bool all_waiting(int n) {
        std::lock_guard<goro::Mutex> g(mu);
        return waiting == n;
    }
};

}  // namespace

TEST_CASE("condvar_producer_consumer", "[sync][condvar]") {
    const long per_producer = scale(5000);
    for_each_maxprocs([&](int) {
        BoundedQueue q(4);
        const int producers = 3, consumers = 3;
        std::unique_ptr<std::atomic<int>[]> seen(new std::atomic<int>[producers * per_producer]);
        for (long i = 0; i < producers * per_producer; ++i) seen[i] = 0;
        std::atomic<long> sum{0};
        goro::WaitGroup prod, cons;
        prod.add(producers);
        cons.add(consumers);
        for (int p = 0; p < producers; ++p) {
            goro::go([&, p] {
                for (long i = 0; i < per_producer; ++i) q.push(p * per_producer + i);
                prod.done();
            });
        }
        for (int c = 0; c < consumers; ++c) {
            goro::go([&] {
                for (long v; (v = q.pop()) >= 0;) {
                    seen[v].fetch_add(1);
                    sum.fetch_add(v);
                }
                cons.done();
            });
        }
        prod.wait();
        q.close();
        cons.wait();
        const long n = producers * per_producer;
        CHECK(sum.load() == n * (n - 1) / 2);
        long wrong = 0;
        for (long i = 0; i < n; ++i) wrong += seen[i].load() != 1;
        CHECK(wrong == 0);
    });
}

TEST_CASE("condvar_producer_consumer_plain_threads_and_goroutines", "[sync][condvar]") {
    const long per = scale(3000);
    for_each_maxprocs({1, 2, 4}, [&](int) {
        BoundedQueue q(2);
        std::atomic<long> sum{0}, count{0};
        goro::WaitGroup cons;
        cons.add(2);
        // Consumers: one goroutine, one plain thread. Producers: one plain thread, the main goroutine.
        goro::go([&] {
            for (long v; (v = q.pop()) >= 0;) {
                sum.fetch_add(v);
                count.fetch_add(1);
            }
            cons.done();
        });
        std::thread ct([&] {
            for (long v; (v = q.pop()) >= 0;) {
                sum.fetch_add(v);
                count.fetch_add(1);
            }
            cons.done();
        });
        std::atomic<bool> pt_done{false};
        std::thread pt([&] {
            for (long i = 0; i < per; ++i) q.push(i);
            pt_done = true;
        });
        for (long i = per; i < 2 * per; ++i) q.push(i);
        CHECK(eventually([&] { return pt_done.load(); }, 60s));
        q.close();
        cons.wait();
        pt.join();
        ct.join();
        CHECK(count.load() == 2 * per);
        CHECK(sum.load() == (2 * per) * (2 * per - 1) / 2);
    });
}

TEST_CASE("condvar_notify_one_wakes_exactly_one", "[sync][condvar]") {
    for_each_maxprocs([](int) {
        Waiters w;
        const int n = 5;
        goro::WaitGroup wg;
        wg.add(n);
        for (int i = 0; i < n; ++i) {
            goro::go([&] {
                w.wait_once();
                wg.done();
            });
        }
        REQUIRE(eventually([&] { return w.all_waiting(n); }));
        for (int k = 1; k <= n; ++k) {
            {
                std::lock_guard<goro::Mutex> g(w.mu);
                w.cv.notify_one();
            }
            INFO("after notify_one number " << k);
            CHECK(eventually([&] { return w.woken.load() >= k; }));
            CHECK(stays([&] { return w.woken.load() == k; }, 20ms));
        }
        wg.wait();
        CHECK(w.woken.load() == n);
    });
}

TEST_CASE("condvar_notify_one_without_lock_held", "[sync][condvar]") {
    for_each_maxprocs({1, 2, 4}, [](int) {
        Waiters w;
        goro::WaitGroup wg;
        wg.add(3);
        for (int i = 0; i < 3; ++i) {
            goro::go([&] {
                w.wait_once();
                wg.done();
            });
        }
        REQUIRE(eventually([&] { return w.all_waiting(3); }));
        w.cv.notify_one();
        CHECK(eventually([&] { return w.woken.load() == 1; }));
        CHECK(stays([&] { return w.woken.load() == 1; }, 20ms));
        w.cv.notify_all();
        wg.wait();
        CHECK(w.woken.load() == 3);
    });
}

TEST_CASE("condvar_notify_all_wakes_all", "[sync][condvar]") {
    for_each_maxprocs([](int) {
        Waiters w;
        const int goroutines = 200, threads = 3;
        goro::WaitGroup wg;
        wg.add(goroutines + threads);
        for (int i = 0; i < goroutines; ++i) {
            goro::go([&] {
                w.wait_once();
                wg.done();
            });
        }
        std::vector<std::thread> ts;
        for (int i = 0; i < threads; ++i) {
            ts.emplace_back([&] {
                w.wait_once();
                wg.done();
            });
        }
        REQUIRE(eventually([&] { return w.all_waiting(goroutines + threads); }));
        CHECK(stays([&] { return w.woken.load() == 0; }, 10ms));
        {
            std::lock_guard<goro::Mutex> g(w.mu);
            w.cv.notify_all();
        }
        wg.wait();
        CHECK(w.woken.load() == goroutines + threads);
        for (auto& t : ts) t.join();
    });
}

TEST_CASE("condvar_notify_is_not_stored", "[sync][condvar]") {
    // A notify with nobody waiting is lost: a later wait() still waits for the next notify.
    for_each_maxprocs({1, 2, 4}, [](int) {
        Waiters w;
        w.cv.notify_one();
        w.cv.notify_all();
        goro::WaitGroup wg;
        wg.add();
        goro::go([&] {
            w.wait_once();
            wg.done();
        });
        REQUIRE(eventually([&] { return w.all_waiting(1); }));
        CHECK(stays([&] { return w.woken.load() == 0; }, 30ms));
        w.cv.notify_one();
        wg.wait();
        CHECK(w.woken.load() == 1);
    });
}

TEST_CASE("condvar_wait_with_predicate", "[sync][condvar]") {
    for_each_maxprocs({1, 2, 4}, [](int) {
        goro::Mutex mu;
        goro::CondVar cv;
        int value = 0;  // guarded by mu
        std::atomic<int> seen_at_return{-1};
        std::atomic<int> pred_calls{0};
        goro::WaitGroup wg;
        wg.add();
        goro::go([&] {
            std::unique_lock<goro::Mutex> lk(mu);
            cv.wait(lk, [&] {
                pred_calls.fetch_add(1);
                return value >= 3;
            });
            seen_at_return = value;
            GCHECK(lk.owns_lock());
            lk.unlock();  // before done(): `mu` dies with the main goroutine's frame
            wg.done();
        });
        for (int v = 1; v <= 3; ++v) {
            goro::sleep_for(2ms);
            std::lock_guard<goro::Mutex> g(mu);
            value = v;
            cv.notify_all();
        }
        wg.wait();
        CHECK(seen_at_return.load() == 3);
        CHECK(pred_calls.load() >= 1);
        CHECK(pred_calls.load() <= 4);  // once at first, then once per notify at most (no spurious wakes)
        // Already true: no wait at all.
        std::unique_lock<goro::Mutex> lk(mu);
        auto t0 = Clock::now();
        cv.wait(lk, [&] { return value == 3; });
        CHECK(Clock::now() - t0 < 1s);
    });
}

TEST_CASE("condvar_lock_reacquired_after_wait", "[sync][condvar]") {
    // wait() returns with the mutex held again: another goroutine cannot take it until we release it.
    for_each_maxprocs({1, 2, 4}, [](int) {
        goro::Mutex mu;
        goro::CondVar cv;
        bool ready = false;
        std::atomic<int> held_after_wait{0};
        goro::WaitGroup wg;
        for (int i = 0; i < 20; ++i) {
            wg.add();
            goro::go([&] {
                std::unique_lock<goro::Mutex> lk(mu);
                cv.wait(lk, [&] { return ready; });
                std::atomic<int> other{-1};
                std::thread t([&] { other = mu.try_lock() ? 1 : 0; });  // a probe from outside
                t.join();
                if (other.load() == 0) {
                    held_after_wait.fetch_add(1);
                    lk.unlock();
                } else {
                    lk.release();  // not held by us after all: the probe took it
                    mu.unlock();
                }
                wg.done();  // after the unlock: `mu` dies with the main goroutine's frame
            });
        }
        goro::sleep_for(5ms);
        {
            std::lock_guard<goro::Mutex> g(mu);
            ready = true;
        }
        cv.notify_all();
        wg.wait();
        CHECK(held_after_wait.load() == 20);
    });
}
