// tests/api/interop_test.cpp: every blocking operation parks a goroutine and blocks the calling OS thread
// when called from a plain thread, and the two mix (<goro/sync.hpp>, <goro/chan.hpp>, <goro/task.hpp>).
// Plain threads and goroutines wait on each other through every primitive, and plain threads start goroutines.
#include "test_util.hpp"

#include <csignal>
#include <pthread.h>
#include <thread>

using namespace goro_test;

TEST_CASE("plain_thread_waits_on_waitgroup_goroutines_release", "[api][interop]") {
    for_each_maxprocs([](int) {
        goro::WaitGroup wg;
        std::atomic<int> done_count{0};
        std::atomic<bool> released{false};
        wg.add(20);
        std::thread t([&] {
            wg.wait();
            released = done_count.load() == 20;
        });
        for (int i = 0; i < 20; ++i) {
            goro::go([&, i] {
                goro::sleep_for(std::chrono::microseconds(100 * i));
                done_count.fetch_add(1);
                wg.done();
            });
        }
        CHECK(eventually([&] { return released.load(); }));
        t.join();
        CHECK(released.load());
    });
}

TEST_CASE("goroutine_waits_on_waitgroup_plain_threads_release", "[api][interop]") {
    for_each_maxprocs([](int) {
        goro::WaitGroup wg;
        std::atomic<int> done_count{0};
        wg.add(4);
        std::vector<std::thread> ts;
        for (int i = 0; i < 4; ++i) {
            ts.emplace_back([&, i] {
                std::this_thread::sleep_for(std::chrono::milliseconds(2 + 3 * i));
                done_count.fetch_add(1);
                wg.done();
            });
        }
        wg.wait();
        CHECK(done_count.load() == 4);
        for (auto& t : ts) t.join();
    });
}

TEST_CASE("plain_thread_and_goroutines_wait_on_event_both_ways", "[api][interop]") {
    for_each_maxprocs([](int) {
        // A goroutine sets, a plain thread waits.
        goro::Event from_g;
        std::atomic<bool> thread_woke{false};
        std::thread t([&] {
            from_g.wait();
            thread_woke = true;
        });
        goro::go([&] {
            goro::sleep_for(5ms);
            from_g.set();
        });
        CHECK(eventually([&] { return thread_woke.load(); }));
        t.join();
        // A plain thread sets, goroutines wait.
        goro::Event from_t;
        goro::WaitGroup wg;
        std::atomic<int> woke{0};
        for (int i = 0; i < 10; ++i) {
            wg.add();
            goro::go([&] {
                from_t.wait();
                woke.fetch_add(1);
                wg.done();
            });
        }
        std::thread setter([&] {
            std::this_thread::sleep_for(5ms);
            from_t.set();
        });
        wg.wait();
        CHECK(woke.load() == 10);
        setter.join();
    });
}

TEST_CASE("plain_thread_and_goroutine_contend_for_mutex_both_ways", "[api][interop]") {
    for_each_maxprocs([](int) {
        goro::Mutex mu;
        // A plain thread holds it; a goroutine parks in lock() until the thread unlocks.
        std::atomic<bool> thread_holds{false}, thread_released{false};
        std::atomic<bool> g_got_it_after_release{false};
        std::thread holder([&] {
            mu.lock();
            thread_holds = true;
            std::this_thread::sleep_for(20ms);
            thread_released = true;
            mu.unlock();
        });
        CHECK(eventually([&] { return thread_holds.load(); }));
        goro::WaitGroup wg;
        wg.add();
        goro::go([&] {
            mu.lock();
            g_got_it_after_release = thread_released.load();
            mu.unlock();
            wg.done();
        });
        wg.wait();
        CHECK(g_got_it_after_release.load());
        holder.join();

        // A goroutine holds it across a sleep; a plain thread blocks in lock() until the goroutine unlocks.
        std::atomic<bool> g_holds{false}, g_released{false}, t_got_it_after_release{false}, t_done{false};
        goro::go([&] {
            std::lock_guard<goro::Mutex> g(mu);
            g_holds = true;
            goro::sleep_for(20ms);
            g_released = true;
        });
        CHECK(eventually([&] { return g_holds.load(); }));
        std::thread waiter([&] {
            mu.lock();
            t_got_it_after_release = g_released.load();
            mu.unlock();
            t_done = true;
        });
        CHECK(eventually([&] { return t_done.load(); }));
        waiter.join();
        CHECK(t_got_it_after_release.load());
    });
}

TEST_CASE("go_from_plain_thread_while_runtime_runs", "[api][interop]") {
    for_each_maxprocs([](int) {
        goro::WaitGroup wg;
        std::atomic<int> ran{0};
        wg.add(400);
        std::vector<std::thread> ts;
        for (int t = 0; t < 4; ++t) {
            ts.emplace_back([&] {
                for (int i = 0; i < 100; ++i) {
                    goro::go([&] {
                        goro::yield();
                        ran.fetch_add(1);
                        wg.done();
                    });
                }
            });
        }
        wg.wait();
        CHECK(ran.load() == 400);
        for (auto& t : ts) t.join();
    });
}

TEST_CASE("plain_thread_waits_while_only_worker_is_busy_elsewhere", "[api][interop]") {
    // At one worker, the plain thread's wait must not need the worker: goroutines keep running meanwhile.
    run_at(1, [] {
        goro::Event ev;
        std::atomic<bool> woke{false};
        std::thread t([&] {
            ev.wait();
            woke = true;
        });
        std::atomic<long> spins{0};
        goro::WaitGroup wg;
        wg.add();
        goro::go([&] {
            for (int i = 0; i < 1000; ++i) {
                spins.fetch_add(1);
                goro::yield();
            }
            ev.set();
            wg.done();
        });
        wg.wait();
        CHECK(spins.load() == 1000);
        CHECK(eventually([&] { return woke.load(); }));
        t.join();
    });
}

TEST_CASE("primitives_work_with_no_runtime_at_all", "[api][interop]") {
    // Only plain threads: every primitive blocks the thread.
    goro::WaitGroup wg;
    goro::Mutex mu;
    goro::Event ev;
    goro::Semaphore sem(1);
    long counter = 0;
    long in_sem = 0, max_in_sem = 0;
    wg.add(4);
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t) {
        ts.emplace_back([&] {
            ev.wait();
            for (int i = 0; i < 2000; ++i) {
                std::lock_guard<goro::Mutex> g(mu);
                ++counter;
            }
            for (int i = 0; i < 200; ++i) {
                sem.acquire();
                long now = ++in_sem;  // guarded by sem (one unit)
                max_in_sem = std::max(max_in_sem, now);
                --in_sem;
                sem.release();
            }
            wg.done();
        });
    }
    std::this_thread::sleep_for(5ms);
    ev.set();
    wg.wait();
    CHECK(counter == 8000);
    CHECK(max_in_sem == 1);
    for (auto& t : ts) t.join();
}

// A plain thread blocks on a futex; a signal (EINTR) or a stale wake returns it without a permit. The
// parker used to clear its permit with a plain store after such a return: a permit granted in between (the
// channel's hand-off) was erased, the thread's read of "signalled" could still come before the hand-off's
// write (x86 lets a load pass an earlier store), and it parked again with nothing left to wake it. Here a
// thread receives every value of a goroutine's sends while another thread interrupts it with signals
// thousands of times. (The window is a few instructions: this test exercises the EINTR path on every
// wait, but did not catch the old store in the runs made; the fix, an exchange, is argued in park.cpp.)
TEST_CASE("plain_thread_receives_every_value_under_a_storm_of_signals", "[api][interop]") {
    struct sigaction act {}, old {};
    act.sa_handler = [](int) {};
    sigemptyset(&act.sa_mask);
    act.sa_flags = 0;  // no SA_RESTART: a blocked futex wait returns EINTR
    REQUIRE(sigaction(SIGUSR2, &act, &old) == 0);
    for_each_maxprocs([](int) {
        const long n = goro_test::scale(20000);
        goro::Chan<long> ch;  // unbuffered: every value is a hand-off to a parked or arriving receiver
        std::atomic<long> received{0}, out_of_order{0};
        std::atomic<bool> done{false};
        std::thread receiver([&] {
            for (long i = 0; i < n; ++i) {
                auto v = ch.recv();
                if (!v) return;  // closed by the test after a hang
                if (*v != i) out_of_order.fetch_add(1);
                received.fetch_add(1);
            }
            done = true;
        });
        std::thread interrupter([&, target = receiver.native_handle()] {
            while (!done.load()) {
                pthread_kill(target, SIGUSR2);
                std::this_thread::sleep_for(std::chrono::microseconds(20));
            }
        });
        goro::go([&] {
            try {
                for (long i = 0; i < n; ++i) {
                    if (i % 16 == 0) goro::sleep_for(std::chrono::microseconds(50));  // let the receiver park
                    ch.send(i);
                }
            } catch (const goro::ChannelClosed&) {
            }
        });
        const bool finished = eventually([&] { return done.load(); }, std::chrono::seconds(60));
        INFO("received " << received.load() << " of " << n);
        CHECK(finished);
        if (!finished) {
            done = true;
            ch.close();  // the sender throws; a receiver lost in park stays lost: leave it
            interrupter.join();
            receiver.detach();
            return;
        }
        interrupter.join();
        receiver.join();
        CHECK(received.load() == n);
        CHECK(out_of_order.load() == 0);
    });
    sigaction(SIGUSR2, &old, nullptr);
}
