// tests/regress/condvar_relock_ownership_test.cpp: CondVar::wait() relocked the Mutex behind the
// unique_lock's back (mutex()->lock...), leaving lk.owns_lock() false: the unique_lock's destructor then never
// unlocked, so the Mutex stayed locked forever (every producer/consumer hung, and leftovers cancelled in
// CondVar::wait at the end of run() hung run()). After wait() -- normal or cancelled -- the unique_lock must
// own the Mutex again, and releasing it must free the Mutex.
#include "test_util.hpp"

#include <mutex>

using namespace goro_test;

TEST_CASE("condvar_wait_returns_with_unique_lock_owning", "[regress][condvar]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Mutex mu;
        goro::CondVar cv;
        bool ready = false;  // guarded by mu
        std::atomic<int> owned_after_wait{-1};
        goro::WaitGroup wg;
        wg.add();
        goro::go([&] {
            {
                std::unique_lock<goro::Mutex> lk(mu);
                cv.wait(lk, [&] { return ready; });
                owned_after_wait = lk.owns_lock() ? 1 : 0;
                if (!lk.owns_lock()) mu.unlock();  // keep the test from hanging on the bug
            }
            wg.done();
        });
        goro::sleep_for(2ms);
        {
            std::lock_guard<goro::Mutex> g(mu);
            ready = true;
        }
        cv.notify_all();
        wg.wait();
        CHECK(owned_after_wait.load() == 1);
        // The unique_lock's destructor released it.
        CHECK(mu.try_lock());
        mu.unlock();
    });
}

TEST_CASE("condvar_cancelled_wait_leaves_unique_lock_owning", "[regress][condvar][cancel]") {
    goro::Mutex mu;
    goro::CondVar cv;
    std::atomic<int> owned{0}, not_owned{0}, parked{0};
    run_at(1, [&] {
        for (int i = 0; i < 2; ++i) {  // two waiters: the second needs the first to release the Mutex
            goro::go([&] {
                std::unique_lock<goro::Mutex> lk(mu);
                parked.fetch_add(1);
                try {
                    cv.wait(lk);
                } catch (const goro::Cancelled&) {
                    if (lk.owns_lock()) owned.fetch_add(1);
                    else {
                        not_owned.fetch_add(1);
                        mu.unlock();
                    }  // keep the test from hanging on the bug
                    throw;
                }
            });
        }
        CHECK(eventually([&] { return parked.load() == 2; }));
        goro::sleep_for(2ms);
    });
    CHECK(owned.load() == 2);
    CHECK(not_owned.load() == 0);
    CHECK(mu.try_lock());
    mu.unlock();
}
