// tests/sync/rwmutex_test.cpp: goro::RWMutex (runtime/sync/rwmutex.cpp): readers together, a writer alone,
// Go's fairness (a waiting writer blocks new readers; a writer's unlock lets the queued readers in before
// the next writer), cancellation of a queued writer and reader, plain threads, and std::shared_lock.
#include "test_util.hpp"

#include <atomic>
#include <shared_mutex>
#include <thread>
#include <vector>

using namespace goro_test;

TEST_CASE("rwmutex_readers_share_writers_exclude", "[sync][rwmutex]") {
    const long rounds = scale(2000);
    for_each_maxprocs([&](int) {
        goro::RWMutex mu;
        long value = 0;  // plain: only the RWMutex orders it (TSan checks)
        std::atomic<int> readers_in{0}, writers_in{0};
        std::atomic<long> bad{0}, max_readers{0};
        goro::WaitGroup wg;
        for (int w = 0; w < 4; ++w) {
            wg.add();
            goro::go([&] {
                for (long i = 0; i < rounds; ++i) {
                    std::unique_lock lk(mu);
                    if (writers_in.fetch_add(1) != 0 || readers_in.load() != 0) ++bad;
                    ++value;
                    if (i % 17 == 0) goro::yield();  // hold it across a switch: others queue
                    writers_in.fetch_sub(1);
                }
                wg.done();
            });
        }
        for (int r = 0; r < 8; ++r) {
            wg.add();
            goro::go([&] {
                for (long i = 0; i < rounds; ++i) {
                    std::shared_lock lk(mu);
                    long n = readers_in.fetch_add(1) + 1;
                    if (writers_in.load() != 0) ++bad;
                    long m = max_readers.load();
                    while (n > m && !max_readers.compare_exchange_weak(m, n)) {
                    }
                    (void)value;
                    if (i % 5 == 0) goro::yield();
                    readers_in.fetch_sub(1);
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(bad.load() == 0);
        CHECK(value == 4 * rounds);
        CHECK(max_readers.load() >= 2);  // readers did hold it together
    });
}

// Go's rule: once a writer waits, a new reader waits behind it, so a stream of readers that always
// overlap cannot keep the writer out for ever.
TEST_CASE("rwmutex_waiting_writer_blocks_new_readers", "[sync][rwmutex]") {
    for_each_maxprocs([](int) {
        goro::RWMutex mu;
        mu.rlock();  // the first reader
        goro::Event writer_in;
        std::atomic<int> order{0}, writer_at{-1}, late_reader_at{-1};
        goro::WaitGroup others_done;  // mu must outlive the writer's unlock() and the late reader's runlock()
        others_done.add(2);
        goro::go([&] {
            mu.lock();
            writer_at = order.fetch_add(1);
            writer_in.set();
            mu.unlock();
            others_done.done();
        });
        while (mu.try_lock()) mu.unlock();  // never succeeds: we hold a read lock
        goro::sleep_for(20ms);               // the writer is queued by now
        CHECK_FALSE(mu.try_rlock());         // a waiting writer keeps readers out
        goro::go([&] {
            mu.rlock();
            late_reader_at = order.fetch_add(1);
            mu.runlock();
            others_done.done();
        });
        goro::sleep_for(20ms);
        CHECK(late_reader_at.load() == -1);  // queued behind the writer
        mu.runlock();                        // the last reader out lets the writer in
        writer_in.wait();
        others_done.wait();
        CHECK(writer_at.load() == 0);
        CHECK(late_reader_at.load() == 1);
    });
}

// A writer's unlock lets every reader queued meanwhile in before the next writer.
TEST_CASE("rwmutex_writer_unlock_admits_queued_readers_before_next_writer", "[sync][rwmutex]") {
    for_each_maxprocs([](int) {
        goro::RWMutex mu;
        mu.lock();
        std::atomic<int> order{0};
        std::vector<int> reader_at(3, -1);
        int writer2_at = -1;
        goro::WaitGroup wg;
        wg.add(4);
        for (int r = 0; r < 3; ++r)
            goro::go([&, r] {
                mu.rlock();
                reader_at[static_cast<std::size_t>(r)] = order.fetch_add(1);
                goro::sleep_for(5ms);  // the readers overlap; the second writer waits for all of them
                mu.runlock();
                wg.done();
            });
        goro::sleep_for(20ms);  // the readers are queued
        goro::go([&] {
            mu.lock();
            writer2_at = order.fetch_add(1);
            mu.unlock();
            wg.done();
        });
        goro::sleep_for(20ms);  // the second writer is queued too
        mu.unlock();
        wg.wait();
        for (int at : reader_at) CHECK((at >= 0 && at < 3));
        CHECK(writer2_at == 3);
    });
}

// A queued writer that is cancelled must not leave the readers queued behind it waiting for ever.
TEST_CASE("rwmutex_cancelled_writer_lets_queued_readers_in", "[sync][rwmutex][cancel]") {
    for_each_maxprocs([](int) {
        goro::RWMutex mu;
        mu.rlock();
        auto writer = goro::spawn([&] { std::unique_lock lk(mu); });
        goro::sleep_for(20ms);
        std::atomic<bool> reader_done{false};
        auto reader = goro::spawn([&] {
            mu.rlock();
            reader_done = true;
            mu.runlock();
        });
        goro::sleep_for(20ms);
        CHECK_FALSE(reader_done.load());  // behind the writer
        writer.cancel();
        CHECK_THROWS_AS(writer.get(), goro::Cancelled);
        reader.get();  // hung here before the cancelled writer let the readers in
        CHECK(reader_done.load());
        mu.runlock();
        CHECK(mu.try_lock());  // nothing is left held
        mu.unlock();
    });
}

TEST_CASE("rwmutex_cancelled_reader_takes_nothing", "[sync][rwmutex][cancel]") {
    for_each_maxprocs([](int) {
        goro::RWMutex mu;
        mu.lock();
        auto reader = goro::spawn([&] { std::shared_lock lk(mu); });
        goro::sleep_for(10ms);
        reader.cancel();
        CHECK_THROWS_AS(reader.get(), goro::Cancelled);
        mu.unlock();
        CHECK(mu.try_lock());  // a reader counted in by mistake would make this fail
        mu.unlock();
    });
}

TEST_CASE("rwmutex_plain_threads_and_goroutines_mix", "[sync][rwmutex]") {
    const long rounds = scale(5000);
    goro::RWMutex mu;
    long value = 0;
    std::atomic<long> seen_torn{0};
    long pair[2] = {0, 0};  // written together under the write lock, read under the read lock
    std::thread plain_writer([&] {
        for (long i = 0; i < rounds; ++i) {
            std::unique_lock lk(mu);
            ++pair[0];
            ++pair[1];
            ++value;
        }
    });
    run_at(2, [&] {
        goro::WaitGroup wg;
        for (int r = 0; r < 4; ++r) {
            wg.add();
            goro::go([&] {
                for (long i = 0; i < rounds; ++i) {
                    std::shared_lock lk(mu);
                    if (pair[0] != pair[1]) ++seen_torn;
                }
                wg.done();
            });
        }
        wg.add();
        goro::go([&] {
            for (long i = 0; i < rounds; ++i) {
                std::unique_lock lk(mu);
                ++pair[0];
                ++pair[1];
                ++value;
            }
            wg.done();
        });
        wg.wait();
    });
    plain_writer.join();
    CHECK(seen_torn.load() == 0);
    CHECK(value == 2 * rounds);
}

TEST_CASE("rwmutex_copies_share_the_lock", "[sync][rwmutex]") {
    goro::RWMutex a;
    goro::RWMutex b = a;
    a.lock();
    CHECK_FALSE(b.try_rlock());
    CHECK_FALSE(b.try_lock());
    a.unlock();
    CHECK(b.try_rlock());
    CHECK(a.try_rlock());  // readers share
    CHECK_FALSE(a.try_lock());
    a.runlock();
    b.runlock();
}
