// tests/sync/goroutine_local_test.cpp — GoroutineLocal<T> (goro/local.hpp):
// each goroutine sees its own value, also across migrations between
// workers; values are made on first use by the factory and destroyed on
// their goroutine when it ends (destructors may park and use other
// GoroutineLocals); per thread on plain threads; a destroyed key's slot is
// reused without handing out the old values; reset(); a throwing factory.
#include "test_util.hpp"

#include <goro/local.hpp>

#include <atomic>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using goro_test::eventually;
using goro_test::run_at;

namespace {

struct Counted {
    static inline std::atomic<int> live{0};
    static inline std::atomic<int> destroyed{0};
    std::uint64_t owner = 0;
    int uses = 0;
    Counted() { live.fetch_add(1); }
    ~Counted() {
        live.fetch_sub(1);
        destroyed.fetch_add(1);
    }
};

}  // namespace

TEST_CASE("GoroutineLocal: one value per goroutine, kept across migrations, destroyed at its end", "[sync][local]") {
    for (int procs : {1, 2, 4}) {
        INFO("maxprocs " << procs);
        Counted::destroyed = 0;
        goro::GoroutineLocal<Counted> local;
        constexpr int kGoroutines = 200;
        std::atomic<int> mixed{0};
        run_at(procs, [&] {
            goro::WaitGroup wg;
            for (int i = 0; i < kGoroutines; ++i) {
                wg.add();
                goro::go([&, i, wg] {
                    const auto me = static_cast<std::uint64_t>(i) + 1;
                    local->owner = me;
                    for (int k = 0; k < 50; ++k) {
                        local->uses++;
                        goro::yield();  // other goroutines run here, on this and other workers
                        if (local->owner != me || local->uses != k + 1) mixed.fetch_add(1);
                    }
                    wg.done();
                });
            }
            wg.wait();
            // Every goroutine's value has been destroyed by the time it ended.
            GCHECK(eventually([&] { return Counted::destroyed.load() == kGoroutines; }));
        });
        CHECK(mixed.load() == 0);
        CHECK(Counted::destroyed.load() >= kGoroutines);  // plus the main goroutine's, if it made one
        CHECK(Counted::live.load() == 0);
    }
}

TEST_CASE("GoroutineLocal: a factory, get_if_present, reset, and a factory that throws", "[sync][local]") {
    run_at(2, [] {
        int made = 0;
        bool fail = true;
        goro::GoroutineLocal<std::string> name([&] {
            ++made;
            if (fail) {
                fail = false;
                throw std::runtime_error("not yet");
            }
            return std::string("session-") + std::to_string(made);
        });
        GCHECK(name.get_if_present() == nullptr);
        bool threw = false;
        try {
            (void)name.get();
        } catch (const std::runtime_error&) {
            threw = true;
        }
        GCHECK(threw);
        GCHECK(name.get_if_present() == nullptr);  // no value left behind by the failure
        GCHECK(*name == "session-2");
        GCHECK(name->size() == 9);
        GCHECK(made == 2);
        name.reset();
        GCHECK(name.get_if_present() == nullptr);
        GCHECK(*name == "session-3");
        goro::spawn([&] { GCHECK(*name == "session-4"); }).get();
    });
}

TEST_CASE("GoroutineLocal: destructors run on the goroutine, may park and see the values not yet destroyed", "[sync][local]") {
    run_at(2, [] {
        goro::Chan<std::string> log(16);
        struct Noisy {
            goro::Chan<std::string>* log = nullptr;
            goro::GoroutineLocal<Noisy>* peer = nullptr;
            std::string what;
            ~Noisy() {
                if (!log) return;
                goro::sleep_for(1ms);  // parks: allowed, it runs on its goroutine
                Noisy* other = peer->get_if_present();
                log->send(what + " saw " + (other ? other->what : std::string("none")));
            }
        };
        goro::GoroutineLocal<Noisy> first;
        goro::GoroutineLocal<Noisy> second;
        goro::go([&] {
            // Set field by field: a Noisy temporary would log as it goes.
            first->log = &log;
            first->peer = &second;
            first->what = "first";
            second->log = &log;
            second->peer = &first;
            second->what = "second";
        });
        std::set<std::string> seen;
        seen.insert(log.recv().value_or(""));
        seen.insert(log.recv().value_or(""));
        // One is destroyed first and still sees the other; the other then sees none.
        GCHECK((seen == std::set<std::string>{"first saw second", "second saw none"} ||
                seen == std::set<std::string>{"second saw first", "first saw none"}));
    });
}

TEST_CASE("GoroutineLocal: per thread on plain threads; a destroyed key's slot does not leak values", "[sync][local]") {
    Counted::destroyed = 0;
    {
        goro::GoroutineLocal<Counted> local;
        std::thread a([&] { local->uses = 1; });
        std::thread b([&] {
            local->uses = 2;
            CHECK_NOFAIL(local->uses == 2);
        });
        a.join();
        b.join();
        CHECK(Counted::destroyed.load() == 2);  // at each thread's exit
        local->uses = 7;                        // this thread's own
        CHECK(local->uses == 7);
    }
    // The key is gone; this thread's value lives on until the slot's next
    // user stores (or the thread ends). A new key on the same slot starts empty.
    goro::GoroutineLocal<Counted> reused;
    CHECK(reused.get_if_present() == nullptr);
    CHECK(reused->uses == 0);
    CHECK(Counted::live.load() == 1);  // the stale value was destroyed when `reused` stored
    reused.reset();
    CHECK(Counted::live.load() == 0);
}
