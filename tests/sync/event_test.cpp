// tests/sync/event_test.cpp: goro::Event (runtime/sync/event), asyncio.Event: set/clear/is_set, wait before
// and after set, many waiters, and destruction right after wait() returns.
#include "test_util.hpp"

#include <memory>
#include <thread>

using namespace goro_test;

TEST_CASE("event_set_clear_is_set", "[sync][event]") {
    auto body = [] {
        goro::Event ev;
        CHECK_FALSE(ev.is_set());
        ev.set();
        CHECK(ev.is_set());
        ev.set();  // idempotent
        CHECK(ev.is_set());
        ev.clear();
        CHECK_FALSE(ev.is_set());
        ev.clear();
        CHECK_FALSE(ev.is_set());
    };
    body();
    for_each_maxprocs({1, 2}, [&](int) { body(); });
}

TEST_CASE("event_wait_after_set_returns_at_once", "[sync][event]") {
    goro::Event plain;
    plain.set();
    auto t0 = Clock::now();
    plain.wait();  // plain thread
    CHECK(Clock::now() - t0 < 1s);
    for_each_maxprocs({1, 2, 4}, [](int) {
        goro::Event ev;
        ev.set();
        auto t1 = Clock::now();
        ev.wait();
        ev.wait();
        CHECK(Clock::now() - t1 < 1s);
        CHECK(ev.is_set());  // wait() does not consume it
    });
}

TEST_CASE("event_wait_before_set_wakes_on_set", "[sync][event]") {
    for_each_maxprocs([](int) {
        goro::Event ev;
        std::atomic<bool> set_done{false};
        std::atomic<int> woke{0}, early{0};
        goro::WaitGroup wg;
        for (int i = 0; i < 10; ++i) {
            wg.add();
            goro::go([&] {
                ev.wait();
                if (!set_done.load()) early.fetch_add(1);
                woke.fetch_add(1);
                wg.done();
            });
        }
        CHECK(stays([&] { return woke.load() == 0; }, 20ms));
        set_done = true;
        ev.set();
        wg.wait();
        CHECK(woke.load() == 10);
        CHECK(early.load() == 0);
    });
}

TEST_CASE("event_many_waiters", "[sync][event]") {
    const int goroutines = static_cast<int>(scale_alive(5000));
    for_each_maxprocs([&](int) {
        goro::Event ev;
        std::atomic<int> waiting{0}, woke{0};
        goro::WaitGroup wg;
        wg.add(goroutines + 4);
        for (int i = 0; i < goroutines; ++i) {
            goro::go([&] {
                waiting.fetch_add(1);
                ev.wait();
                woke.fetch_add(1);
                wg.done();
            });
        }
        std::vector<std::thread> ts;
        for (int i = 0; i < 4; ++i) {
            ts.emplace_back([&] {
                waiting.fetch_add(1);
                ev.wait();
                woke.fetch_add(1);
                wg.done();
            });
        }
        CHECK(eventually([&] { return waiting.load() == goroutines + 4; }));
        goro::sleep_for(2ms);
        CHECK(woke.load() == 0);
        ev.set();
        wg.wait();
        CHECK(woke.load() == goroutines + 4);
        for (auto& t : ts) t.join();
    });
}

TEST_CASE("event_clear_makes_wait_block_again", "[sync][event]") {
    for_each_maxprocs({1, 2, 4}, [](int) {
        goro::Event ev;
        ev.set();
        ev.clear();
        std::atomic<bool> woke{false};
        goro::WaitGroup wg;
        wg.add();
        goro::go([&] {
            ev.wait();
            woke = true;
            wg.done();
        });
        CHECK(stays([&] { return !woke.load(); }, 30ms));
        ev.set();
        wg.wait();
        CHECK(woke.load());
    });
}

TEST_CASE("event_set_then_clear_quickly_still_wakes_parked_waiters", "[sync][event]") {
    // asyncio: set() wakes every waiter parked at that moment, even if clear() follows at once.
    for_each_maxprocs({1, 2, 4}, [](int) {
        goro::Event ev;
        std::atomic<int> waiting{0}, woke{0};
        goro::WaitGroup wg;
        for (int i = 0; i < 20; ++i) {
            wg.add();
            goro::go([&] {
                waiting.fetch_add(1);
                ev.wait();
                woke.fetch_add(1);
                wg.done();
            });
        }
        CHECK(eventually([&] { return waiting.load() == 20; }));
        goro::sleep_for(5ms);
        ev.set();
        ev.clear();
        wg.wait();
        CHECK(woke.load() == 20);
    });
}

TEST_CASE("event_destroyed_right_after_wait", "[sync][event]") {
    const long rounds = scale(2000);
    for_each_maxprocs([&](int) {
        long completed = 0;
        for (long r = 0; r < rounds; ++r) {
            auto* ev = new goro::Event;
            goro::go([ev, r] {
                if (r % 2) goro::yield();
                ev->set();  // the waiter may delete ev as soon as its wait() returns
            });
            ev->wait();
            delete ev;
            ++completed;
        }
        CHECK(completed == rounds);
        CHECK(eventually([] { return goro::num_goroutines() == 1; }));
    });
}

TEST_CASE("event_destroyed_right_after_wait_set_from_plain_thread", "[sync][event]") {
    const long rounds = scale(200);
    for_each_maxprocs({1, 2, 4}, [&](int) {
        long completed = 0;
        for (long r = 0; r < rounds; ++r) {
            auto ev = std::make_unique<goro::Event>();
            goro::Event* raw = ev.get();
            std::thread t([raw] { raw->set(); });
            ev->wait();
            ev.reset();  // before the setter thread is known to have left set()
            t.join();
            ++completed;
        }
        CHECK(completed == rounds);
    });
}
