// tests/sched/migration_test.cpp: per-goroutine state that the C++ runtime keeps per thread survives a
// goroutine moving between worker threads: the exception being handled (std::current_exception(), `throw;`),
// std::uncaught_exceptions() while unwinding, and errno.
#include "test_util.hpp"

#include <cerrno>
#include <thread>

using namespace goro_test;

namespace {

struct Tagged {
    long id;
    int round;
};

// park_somehow() parks (and so may migrate) in one of the ways a goroutine can.
void park_somehow(long salt) {
    switch (salt % 3) {
        case 0: goro::yield(); break;
        case 1: goro::sleep_for(0s); break;
        default: goro::sleep_for(1us); break;
    }
}

// errno is `(*__errno_location())` and glibc declares __errno_location() const, so within one function the
// compiler may keep the address from before a park and read the old thread's errno after a migration (the
// thread_local caveat of goro/runtime.hpp). These accessors take the address afresh on each call, which is
// what code in another function (or after any non-inlined call) sees; the runtime must carry the value.
#if defined(__GNUC__) && !defined(__clang__)
#define GORO_TEST_OPAQUE __attribute__((noipa))
#else
#define GORO_TEST_OPAQUE __attribute__((noinline))
#endif
GORO_TEST_OPAQUE int get_errno() { return errno; }
GORO_TEST_OPAQUE void set_errno(int v) { errno = v; }

}  // namespace

TEST_CASE("exceptions_survive_migration_inside_catch", "[sched][migration]") {
    const long goroutines = scale(400);
    const int rounds = 20;
    for_each_maxprocs({1, 2, 4}, [&](int procs) {
        std::atomic<long> completed{0};
        std::atomic<long> moved{0};  // parks after which the goroutine resumed on another thread
        goro::WaitGroup wg;
        wg.add(goroutines);
        for (long g = 0; g < goroutines; ++g) {
            goro::go([&, g] {
                for (int r = 0; r < rounds; ++r) {
                    try {
                        throw Tagged{g, r};
                    } catch (Tagged& e) {
                        std::exception_ptr p = std::current_exception();
                        GCHECK(p != nullptr);
                        for (int k = 0; k < 3; ++k) {
                            auto before = current_thread();
                            park_somehow(g + r + k);
                            if (current_thread() != before) moved.fetch_add(1);
                            GCHECK(std::current_exception() == p);
                            GCHECK(std::uncaught_exceptions() == 0);
                        }
                        GCHECK(e.id == g);
                        GCHECK(e.round == r);
                        try {
                            throw;  // rethrows the exception this goroutine is handling, not another's
                        } catch (Tagged& again) {
                            GCHECK(&again == &e);
                            GCHECK(again.id == g && again.round == r);
                            park_somehow(g + r + 1);
                            GCHECK(std::current_exception() == p);
                        }
                        GCHECK(std::current_exception() == p);  // the outer handler is current again
                        park_somehow(g + r + 2);
                        GCHECK(std::current_exception() == p);
                    }
                    GCHECK(std::current_exception() == nullptr);
                    GCHECK(std::uncaught_exceptions() == 0);
                    park_somehow(g + r);
                    GCHECK(std::current_exception() == nullptr);
                }
                completed.fetch_add(1);
                wg.done();
            });
        }
        wg.wait();
        CHECK(completed.load() == goroutines);
        // No thread is left believing it handles an exception.
        CHECK(std::current_exception() == nullptr);
        CHECK(std::uncaught_exceptions() == 0);
        if (procs > 1)
            WARN("maxprocs " << procs << ": " << moved.load() << " parks inside catch resumed on another thread");
    });
}

TEST_CASE("exception_ptr_rethrown_after_migration", "[sched][migration]") {
    for_each_maxprocs({2, 4}, [](int) {
        goro::WaitGroup wg;
        std::atomic<long> ok{0};
        for (int g = 0; g < 200; ++g) {
            wg.add();
            goro::go([&, g] {
                std::exception_ptr saved;
                try {
                    throw std::runtime_error("e" + std::to_string(g));
                } catch (...) {
                    saved = std::current_exception();
                }
                park_somehow(g);
                try {
                    std::rethrow_exception(saved);
                } catch (const std::runtime_error& e) {
                    park_somehow(g + 1);
                    if (std::string(e.what()) == "e" + std::to_string(g) && std::current_exception() == saved) {
                        ok.fetch_add(1);
                    }
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(ok.load() == 200);
    });
}

namespace {

// Unwinder parks in its destructor while an exception unwinds the goroutine's stack.
struct Unwinder {
    long salt;
    std::atomic<long>* good;
    ~Unwinder() {
        int before = std::uncaught_exceptions();
        park_somehow(salt);
        park_somehow(salt + 1);
        int after = std::uncaught_exceptions();
        if (before == 1 && after == 1) good->fetch_add(1);
    }
};

}  // namespace

TEST_CASE("uncaught_exceptions_survives_migration_during_unwinding", "[sched][migration]") {
    for_each_maxprocs({1, 2, 4}, [](int) {
        const long n = 300;
        std::atomic<long> good{0}, caught{0};
        goro::WaitGroup wg;
        wg.add(n);
        for (long g = 0; g < n; ++g) {
            goro::go([&, g] {
                try {
                    Unwinder u{g, &good};
                    throw Tagged{g, 0};
                } catch (const Tagged& t) {
                    if (t.id == g && std::uncaught_exceptions() == 0) caught.fetch_add(1);
                }
                GCHECK(std::uncaught_exceptions() == 0);
                wg.done();
            });
        }
        wg.wait();
        CHECK(good.load() == n);
        CHECK(caught.load() == n);
    });
}

TEST_CASE("errno_preserved_across_yield", "[sched][migration]") {
    for_each_maxprocs({1, 2, 4}, [](int) {
        const long n = 300;
        std::atomic<long> wrong{0};
        goro::WaitGroup wg;
        wg.add(n);
        for (long g = 0; g < n; ++g) {
            goro::go([&, g] {
                for (int r = 0; r < 10; ++r) {
                    int mine = 1234 + static_cast<int>(g) * 16 + r;
                    set_errno(mine);
                    park_somehow(g + r);
                    if (get_errno() != mine) wrong.fetch_add(1);
                    goro::yield();
                    if (get_errno() != mine) wrong.fetch_add(1);
                }
                wg.done();
            });
        }
        wg.wait();
        CHECK(wrong.load() == 0);
        // The main goroutine's own errno, across a park.
        set_errno(1234);
        goro::yield();
        goro::sleep_for(1ms);
        goro::yield();
        CHECK(get_errno() == 1234);
    });
}
