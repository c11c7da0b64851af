// tests/sync/once_test.cpp: goro::Once (runtime/sync/once.cpp): exactly once under contention from
// goroutines and plain threads, callers that come meanwhile wait for the result, a throwing fn leaves it
// not done (std::call_once's rule) and a waiting caller retries, and waiting is cancellable.
#include "test_util.hpp"

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace goro_test;

TEST_CASE("once_runs_exactly_once_and_callers_see_its_result", "[sync][once]") {
    for_each_maxprocs([](int) {
        for (int round = 0; round < static_cast<int>(scale(50)); ++round) {
            goro::Once once;
            std::atomic<int> runs{0};
            long value = 0;  // plain: Once's acquire/release must order it (TSan checks)
            std::atomic<long> wrong{0};
            goro::WaitGroup wg;
            for (int g = 0; g < 16; ++g) {
                wg.add();
                goro::go([&] {
                    once.call([&] {
                        runs.fetch_add(1);
                        goro::yield();  // others arrive while it runs, and park
                        value = 42;
                    });
                    if (value != 42) ++wrong;  // every caller returns after the fn has finished
                    wg.done();
                });
            }
            wg.wait();
            CHECK(runs.load() == 1);
            CHECK(wrong.load() == 0);
            CHECK(once.done());
        }
    });
}

TEST_CASE("once_from_plain_threads_and_goroutines", "[sync][once]") {
    goro::Once once;
    std::atomic<int> runs{0};
    long value = 0;
    std::atomic<long> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
        threads.emplace_back([&] {
            once.call([&] {
                runs.fetch_add(1);
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                value = 7;
            });
            if (value != 7) ++wrong;
        });
    run_at(2, [&] {
        goro::WaitGroup wg;
        for (int g = 0; g < 8; ++g) {
            wg.add();
            goro::go([&] {
                once.call([&] {
                    runs.fetch_add(1);
                    value = 7;
                });
                if (value != 7) ++wrong;
                wg.done();
            });
        }
        wg.wait();
    });
    for (auto& t : threads) t.join();
    CHECK(runs.load() == 1);
    CHECK(wrong.load() == 0);
}

TEST_CASE("once_fn_that_throws_leaves_it_not_done_and_a_waiter_retries", "[sync][once]") {
    for_each_maxprocs([](int) {
        goro::Once once;
        std::atomic<int> attempts{0};
        goro::Event first_started;
        auto first = goro::spawn([&] {
            once.call([&] {
                attempts.fetch_add(1);
                first_started.set();
                goro::sleep_for(20ms);  // the second caller parks meanwhile
                throw std::runtime_error("first attempt fails");
            });
        });
        first_started.wait();
        auto second = goro::spawn([&] { once.call([&] { attempts.fetch_add(1); }); });
        CHECK_THROWS_AS(first.get(), std::runtime_error);
        second.get();  // woken when the first failed, and ran its own fn
        CHECK(attempts.load() == 2);
        CHECK(once.done());
        once.call([&] { attempts.fetch_add(1); });  // done: never again
        CHECK(attempts.load() == 2);
    });
}

TEST_CASE("once_waiting_is_cancellable", "[sync][once][cancel]") {
    for_each_maxprocs([](int) {
        goro::Once once;
        goro::Event release, started;
        auto runner = goro::spawn([&] {
            once.call([&] {
                started.set();
                release.wait();
            });
        });
        started.wait();
        auto waiter = goro::spawn([&] { once.call([] {}); });
        goro::sleep_for(10ms);
        waiter.cancel();
        CHECK_THROWS_AS(waiter.get(), goro::Cancelled);
        CHECK_FALSE(once.done());
        release.set();
        runner.get();
        CHECK(once.done());
    });
}
