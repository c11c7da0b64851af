// tests/sync/waitgroup_test.cpp: goro::WaitGroup (runtime/sync/sync.cpp): counting, reuse, waking every
// waiter, misuse, and destruction as soon as wait() returns.
#include "test_util.hpp"

#include <limits>

#include <memory>
#include <stdexcept>
#include <thread>

using namespace goro_test;

TEST_CASE("waitgroup_waits_for_all", "[sync][waitgroup]") {
    for_each_maxprocs([](int) {
        goro::WaitGroup wg;
        std::atomic<int> finished{0};
        for (int i = 0; i < 200; ++i) {
            wg.add();
            goro::go([&, i] {
                if (i % 4 == 0) goro::sleep_for(std::chrono::microseconds(i * 10));
                else if (i % 4 == 1) goro::yield();
                finished.fetch_add(1);
                wg.done();
            });
        }
        wg.wait();
        CHECK(finished.load() == 200);
        CHECK(wg.count() == 0);
    });
}

TEST_CASE("waitgroup_add_many_at_once", "[sync][waitgroup]") {
    for_each_maxprocs({1, 2, 4}, [](int) {
        goro::WaitGroup wg;
        std::atomic<int> finished{0};
        wg.add(50);
        CHECK(wg.count() == 50);
        for (int i = 0; i < 50; ++i) {
            goro::go([&] {
                finished.fetch_add(1);
                wg.done();
            });
        }
        wg.wait();
        CHECK(finished.load() == 50);
        // A positive add() after a negative one nets out; add(0) changes nothing.
        wg.add(3);
        wg.add(-2);
        wg.add(0);
        CHECK(wg.count() == 1);
        wg.done();
        wg.wait();
    });
}

TEST_CASE("waitgroup_reuse", "[sync][waitgroup]") {
    for_each_maxprocs([](int) {
        goro::WaitGroup wg;
        std::atomic<long> finished{0};
        long expected = 0;
        for (int round = 0; round < 100; ++round) {
            int k = 1 + round % 7;
            wg.add(k);
            for (int i = 0; i < k; ++i) {
                goro::go([&] {
                    finished.fetch_add(1);
                    wg.done();
                });
            }
            expected += k;
            wg.wait();
            CHECK(finished.load() == expected);
        }
    });
}

TEST_CASE("waitgroup_wait_with_zero_count_returns_at_once", "[sync][waitgroup]") {
    auto check_fast = [](goro::WaitGroup& wg) {
        auto t0 = Clock::now();
        wg.wait();
        return Clock::now() - t0 < 1s;
    };
    goro::WaitGroup fresh;
    CHECK(check_fast(fresh));  // plain thread, no runtime
    for_each_maxprocs({1, 2, 4}, [&](int) {
        goro::WaitGroup wg;
        CHECK(check_fast(wg));
        wg.add(2);
        wg.done();
        wg.done();
        CHECK(check_fast(wg));
        std::atomic<bool> ok{false};
        std::thread t([&] { ok = check_fast(wg); });
        t.join();
        CHECK(ok.load());
    });
}

TEST_CASE("waitgroup_below_zero_throws_logic_error_counter_unchanged", "[sync][waitgroup]") {
    auto body = [] {
        goro::WaitGroup wg;
        CHECK_THROWS_AS(wg.done(), std::logic_error);
        CHECK(wg.count() == 0);
        CHECK_THROWS_AS(wg.add(-1), std::logic_error);
        CHECK(wg.count() == 0);
        wg.add(2);
        CHECK_THROWS_AS(wg.add(-3), std::logic_error);
        CHECK(wg.count() == 2);  // unchanged by the failed call
        wg.done();
        CHECK(wg.count() == 1);
        wg.done();
        CHECK(wg.count() == 0);
        CHECK_THROWS_AS(wg.done(), std::logic_error);
        CHECK(wg.count() == 0);
        // Still usable afterwards.
        wg.add(1);
        wg.done();
        wg.wait();
    };
    body();  // plain thread
    for_each_maxprocs({1, 2}, [&](int) { body(); });
}

TEST_CASE("waitgroup_counter_past_int32_max_throws_overflow_error_counter_unchanged", "[sync][waitgroup]") {
    goro::WaitGroup wg;
    constexpr std::int64_t kMax = std::numeric_limits<std::int32_t>::max();
    wg.add(kMax);
    CHECK(wg.count() == kMax);
    CHECK_THROWS_AS(wg.add(1), std::overflow_error);
    CHECK_THROWS_AS(wg.add(std::int64_t{1} << 40), std::overflow_error);
    CHECK(wg.count() == kMax);
    wg.add(-kMax);
    CHECK(wg.count() == 0);
    wg.wait();
}

// A waiter cancelled while parked leaves; the others are still woken by the
// zero, and the WaitGroup works as before afterwards.
TEST_CASE("waitgroup_cancelled_waiter_leaves_the_others_waiting_and_woken", "[sync][waitgroup]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::WaitGroup wg;
        wg.add(1);
        auto leaver = goro::spawn([&] { wg.wait(); });
        auto stayer = goro::spawn([&] { wg.wait(); });
        goro::sleep_for(10ms);
        CHECK(leaver.cancel());
        CHECK_THROWS_AS(goro::wait_for(leaver, 5s), goro::Cancelled);
        CHECK_FALSE(stayer.done());
        wg.done();
        goro::wait_for(stayer, 5s);
        CHECK(stayer.state() == goro::TaskState::Finished);
        // Reused: a new round of waiters, all woken.
        wg.add(2);
        std::vector<goro::Task<void>> round;
        for (int i = 0; i < 3; ++i) round.push_back(goro::spawn([&] { wg.wait(); }));
        goro::sleep_for(5ms);
        wg.done();
        wg.done();
        for (auto& t : round) goro::wait_for(t, 5s);
    });
}

TEST_CASE("waitgroup_below_zero_with_waiters_keeps_them_waiting", "[sync][waitgroup]") {
    for_each_maxprocs({1, 2, 4}, [](int) {
        goro::WaitGroup wg;
        wg.add(1);
        std::atomic<bool> woke{false};
        goro::WaitGroup waiter_done;
        waiter_done.add();
        goro::go([&] {
            wg.wait();
            woke = true;
            waiter_done.done();
        });
        goro::sleep_for(2ms);
        CHECK_THROWS_AS(wg.add(-2), std::logic_error);
        CHECK(stays([&] { return !woke.load(); }, 20ms));
        wg.done();
        waiter_done.wait();
        CHECK(woke.load());
    });
}

TEST_CASE("waitgroup_many_waiters_woken", "[sync][waitgroup]") {
    for_each_maxprocs([](int) {
        goro::WaitGroup wg;
        wg.add(1);
        goro::WaitGroup waiters;
        std::atomic<int> woke{0};
        std::atomic<int> early{0};
        std::atomic<bool> released{false};
        for (int i = 0; i < 500; ++i) {
            waiters.add();
            goro::go([&] {
                wg.wait();
                if (!released.load()) early.fetch_add(1);
                woke.fetch_add(1);
                waiters.done();
            });
        }
        std::vector<std::thread> ts;
        for (int i = 0; i < 3; ++i) {
            waiters.add();
            ts.emplace_back([&] {
                wg.wait();
                if (!released.load()) early.fetch_add(1);
                woke.fetch_add(1);
                waiters.done();
            });
        }
        goro::sleep_for(10ms);
        CHECK(woke.load() == 0);
        released = true;
        wg.done();
        waiters.wait();
        CHECK(woke.load() == 503);
        CHECK(early.load() == 0);
        for (auto& t : ts) t.join();
    });
}

TEST_CASE("waitgroup_destroyed_right_after_wait_heap", "[sync][waitgroup]") {
    // <goro/sync.hpp>: a WaitGroup may be destroyed as soon as the wait() it released returns. Under ASan a done()
    // that touches the WaitGroup after waking the waiter is a use-after-free.
    const long rounds = scale(2000);
    for_each_maxprocs([&](int) {
        for (long r = 0; r < rounds; ++r) {
            auto* wg = new goro::WaitGroup;
            int k = 1 + static_cast<int>(r % 3);
            wg->add(k);
            for (int i = 0; i < k; ++i) goro::go([wg] { wg->done(); });
            wg->wait();
            delete wg;
        }
        CHECK(eventually([] { return goro::num_goroutines() == 1; }));
    });
}

TEST_CASE("waitgroup_destroyed_right_after_wait_plain_thread_done", "[sync][waitgroup]") {
    const long rounds = scale(300);
    for_each_maxprocs({1, 2, 4}, [&](int) {
        long completed = 0;
        for (long r = 0; r < rounds; ++r) {
            auto wg = std::make_unique<goro::WaitGroup>();
            wg->add(1);
            goro::WaitGroup* raw = wg.get();
            std::thread t([raw] { raw->done(); });
            wg->wait();
            CHECK(wg->count() == 0);
            wg.reset();
            t.join();
            ++completed;
        }
        CHECK(completed == rounds);
    });
}

TEST_CASE("waitgroup_on_goroutine_stack", "[sync][waitgroup]") {
    // Go's pattern: each goroutine keeps a WaitGroup on its own stack for its children.
    const long parents = scale(2000);
    for_each_maxprocs([&](int) {
        std::atomic<long> children_ran{0};
        goro::WaitGroup all;
        all.add(parents);
        for (long p = 0; p < parents; ++p) {
            goro::go([&] {
                for (int round = 0; round < 3; ++round) {
                    goro::WaitGroup mine;  // a new one in the same stack slot each round
                    mine.add(3);
                    for (int c = 0; c < 3; ++c) {
                        goro::go([&mine, &children_ran] {
                            children_ran.fetch_add(1);
                            mine.done();
                        });
                    }
                    mine.wait();
                }
                all.done();
            });
        }
        all.wait();
        CHECK(children_ran.load() == parents * 9);
    });
}

TEST_CASE("waitgroup_plain_threads_only", "[sync][waitgroup]") {
    goro::WaitGroup wg;
    std::atomic<int> done_count{0};
    wg.add(8);
    std::vector<std::thread> ts;
    for (int i = 0; i < 8; ++i) {
        ts.emplace_back([&] {
            std::this_thread::sleep_for(1ms);
            done_count.fetch_add(1);
            wg.done();
        });
    }
    wg.wait();
    CHECK(done_count.load() == 8);
    for (auto& t : ts) t.join();
}
