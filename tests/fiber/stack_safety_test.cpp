// tests/fiber/stack_safety_test.cpp: runtime/fiber/stack.* and guard.* (issue 13, defects 1, 4, 5; issue 15's
// guard regions).
//
//  * Every stack overflow stops the process with "goro: goroutine N (name) overflowed its 64 KiB stack;
//    raise GORO_STACK_SIZE". On both kinds of guard (guard regions where the kernel has them, and the
//    mprotect fallback, forced with force_mprotect_guards in the child): a guarded stack's runaway
//    recursion, a 64 KiB local array. With guard regions, a stack past the old ~16,000-stack mprotect
//    budget is guarded too, and its overflow is named at the fault (the process's mappings do not grow
//    with the stacks). In the fallback, a stack beyond the budget (a moat and a canary): a bounded
//    overflow that returns, caught at the goroutine's exit; runaway recursion. Each runs in a child
//    process, at maxprocs 1 and 2. Under ASan the frames and fault handling differ: the child must still
//    die abnormally, with goro's message or ASan's report.
//  * Memory comes back: after a spike of goroutines that each touched a few stack pages, RSS falls back
//    near where it was, while the runtime still runs.
//  * Out of memory (RLIMIT_AS in a child) is a std::system_error from go() in the spawning goroutine, and
//    the program ends normally. Not under sanitizers (their allocators abort instead of failing). Before
//    stacks were reserved at spawn (fiber/stack.hpp) it failed: the mmap failed at the new goroutine's
//    first run, as a panic of whichever goroutine switched to it.
#include "test_util.hpp"

#include "internal/runtime_export.hpp"

#include <goro/detail/park.hpp>
#include <goro/detail/spawn.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <system_error>
#include <vector>

using namespace goro_test;

namespace {

// The checks every overflow case makes on its child.
void expect_overflow_named(const ChildResult& r, const std::string& who) {
    INFO("child stderr: " << r.err);
    const std::string msg = "goro: goroutine " + who + " overflowed its 64 KiB stack; raise GORO_STACK_SIZE";
    if (!kSanitized) {
        CHECK(r.aborted());
        CHECK(r.err.find(msg) != std::string::npos);
    } else {
        // ASan's own handler may report first; either way the child must not run on.
        CHECK(!r.exited_ok());
        CHECK((r.err.find(msg) != std::string::npos || r.err.find("AddressSanitizer") != std::string::npos));
    }
}

// Frames that write all their bytes, so an overflow leaves its traces. noipa: no inlining, cloning or
// tail calls: each level is a real frame.
inline void escape(void* p) { asm volatile("" : : "r"(p) : "memory"); }
#if defined(__clang__)  // clang has no noipa: no inlining and no tail calls give the same real frames
#define GORO_TEST_NOIPA [[gnu::noinline, clang::disable_tail_calls]]
#else
#define GORO_TEST_NOIPA [[gnu::noipa]]
#endif

GORO_TEST_NOIPA long recurse(long depth, long limit) {
    char frame[512];
    std::memset(frame, static_cast<int>(depth) | 1, sizeof frame);
    escape(frame);
    if (depth >= limit) return frame[7];
    return recurse(depth + 1, limit) + frame[depth % 512];
}

// A 64 KiB local array whose low end is written (as a read() into it would).
GORO_TEST_NOIPA long big_frame() {
    char buf[65536];
    std::memset(buf, 1, 4096);
    escape(buf);
    return buf[100];
}

std::uint64_t current_id() { return goro::detail::current_g()->id; }
bool current_stack_guarded() { return goro::detail::current_g()->stack.guarded; }
bool current_stack_region() { return goro::detail::current_g()->stack.region; }

// The guard kinds a case runs on: guard regions where the kernel has them (a kernel >= 6.13 without
// them fails guard_regions_test.cpp), and the mprotect fallback, forced in the child before run().
struct GuardKind {
    const char* name;
    bool mprotect;
};
std::vector<GuardKind> guard_kinds() {
    std::vector<GuardKind> k;
    if (goro_test::rt::guard_regions_in_use()) k.push_back({"guard regions", false});
    k.push_back({"mprotect fallback", true});
    return k;
}
// In the goroutine: its stack has the guard the case is about (else the child exits 3).
void require_guard(const GuardKind& kind) {
    if (!current_stack_guarded() || current_stack_region() == kind.mprotect) ::_exit(3);
}

std::size_t count_mappings() {
    std::size_t n = 0;
    if (std::FILE* f = std::fopen("/proc/self/maps", "re")) {
        for (int c; (c = std::fgetc(f)) != EOF;) n += c == '\n';
        std::fclose(f);
    }
    return n;
}

// Enough live goroutines that the next stack is past the guard budget: they park on `release`.
void fill_guard_budget(goro::Event& release, goro::WaitGroup& wg) {
    const long n = static_cast<long>(goro::rt::guarded_stacks_budget()) + 256;
    wg.add(n);
    for (long i = 0; i < n; ++i) {
        goro::go([&] {
            release.wait();
            wg.done();
        });
        if (i % 64 == 0) goro::yield();
    }
}

}  // namespace

TEST_CASE("overflow_of_a_guarded_stack_is_named", "[fiber][overflow]") {
    if (goro_test::skip_fork_under_tsan()) return;
    for (const GuardKind& kind : guard_kinds())
        for (int procs : {1, 2}) {
            INFO(kind.name << ", maxprocs " << procs);
            std::uint64_t id = 0;
            int fds[2];
            REQUIRE(::pipe(fds) == 0);
            ChildResult r = in_child([&] {
                goro_test::rt::force_mprotect_guards(kind.mprotect);
                goro::run(goro::Config{procs, 0}, [&] {
                    goro::Event done;
                    goro::go([&] {
                        require_guard(kind);
                        std::uint64_t me = current_id();
                        (void)!::write(fds[1], &me, sizeof me);
                        recurse(0, 1L << 40);  // never returns
                        done.set();
                    });
                    done.wait();
                });
            });
            ::close(fds[1]);
            INFO("child stderr: " << r.err);
            REQUIRE(::read(fds[0], &id, sizeof id) == static_cast<ssize_t>(sizeof id));
            ::close(fds[0]);
            expect_overflow_named(r, std::to_string(id));
        }
}

TEST_CASE("overflow_names_a_named_goroutine", "[fiber][overflow]") {
    if (goro_test::skip_fork_under_tsan()) return;
    ChildResult r = in_child([] {
        goro::run(goro::Config{1, 0}, [] {
            static const std::string name = "deep-thought";
            goro::Event done;
            goro::detail::spawn_goroutine(
                [&] {
                    recurse(0, 1L << 40);
                    done.set();
                },
                &name);
            done.wait();
        });
    });
    INFO("child stderr: " << r.err);
    if (!kSanitized) {
        CHECK(r.aborted());
        CHECK(r.err.find(" (deep-thought) overflowed its 64 KiB stack; raise GORO_STACK_SIZE") != std::string::npos);
    } else {
        CHECK(!r.exited_ok());
    }
}

TEST_CASE("a_64k_local_array_does_not_jump_the_guard", "[fiber][overflow]") {
    if (goro_test::skip_fork_under_tsan()) return;
    for (const GuardKind& kind : guard_kinds())
        for (int procs : {1, 2}) {
            INFO(kind.name << ", maxprocs " << procs);
            ChildResult r = in_child([&] {
                goro_test::rt::force_mprotect_guards(kind.mprotect);
                goro::run(goro::Config{procs, 0}, [&] {
                    goro::Event done;
                    goro::go([&] {
                        require_guard(kind);
                        big_frame();
                        done.set();
                    });
                    done.wait();
                });
            });
            INFO("stderr: " << r.err);
            CHECK(!r.exited_ok());
            CHECK(!(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3));
            if (!kSanitized) {
                CHECK(r.aborted());
                CHECK(r.err.find("overflowed its 64 KiB stack; raise GORO_STACK_SIZE") != std::string::npos);
            }
        }
}

TEST_CASE("a_bounded_overflow_beyond_the_guard_budget_is_caught_at_exit", "[fiber][overflow]") {
    if (goro_test::skip_fork_under_tsan()) return;
    for (int procs : {1, 2}) {
        INFO("maxprocs " << procs);
        std::uint64_t id = 0;
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        ChildResult r = in_child([&] {
            goro_test::rt::force_mprotect_guards(true);  // the fallback: moats beyond its budget
            goro::run(goro::Config{procs, 0}, [&] {
                goro::Event release, done;
                goro::WaitGroup wg;
                fill_guard_budget(release, wg);
                goro::go([&] {
                    if (current_stack_guarded()) ::_exit(3);  // the test's premise failed
                    std::uint64_t me = current_id();
                    (void)!::write(fds[1], &me, sizeof me);
                    // 64 KiB of stack plus ~12 KiB: into the moat below it, then back.
                    recurse(0, (64 + 12) * 1024 / 560);
                    goro::yield();  // a switch after it: the moat took it, nobody is hurt yet
                    // The check at this goroutine's exit must stop the process: done is never set.
                    goro::go([&] {
                        goro::sleep_for(50ms);
                        done.set();
                    });
                });
                done.wait();
                release.set();
                wg.wait();
            });
        });
        ::close(fds[1]);
        REQUIRE(::read(fds[0], &id, sizeof id) == static_cast<ssize_t>(sizeof id));
        ::close(fds[0]);
        CHECK(!(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3));
        expect_overflow_named(r, std::to_string(id));
    }
}

TEST_CASE("runaway_recursion_beyond_the_guard_budget_is_named", "[fiber][overflow]") {
    if (goro_test::skip_fork_under_tsan()) return;
    for (int procs : {1, 2}) {
        INFO("maxprocs " << procs);
        std::uint64_t id = 0;
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        ChildResult r = in_child([&] {
            goro_test::rt::force_mprotect_guards(true);  // the fallback: moats beyond its budget
            goro::run(goro::Config{procs, 0}, [&] {
                goro::Event release, done;
                goro::WaitGroup wg;
                fill_guard_budget(release, wg);
                goro::go([&] {
                    if (current_stack_guarded()) ::_exit(3);
                    std::uint64_t me = current_id();
                    (void)!::write(fds[1], &me, sizeof me);
                    recurse(0, 1L << 40);
                    done.set();
                });
                done.wait();
                release.set();
                wg.wait();
            });
        });
        ::close(fds[1]);
        REQUIRE(::read(fds[0], &id, sizeof id) == static_cast<ssize_t>(sizeof id));
        ::close(fds[0]);
        CHECK(!(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3));
        expect_overflow_named(r, std::to_string(id));
    }
}

// Guard regions split no mapping, so the stacks past the old mprotect budget are guarded too: a runaway
// recursion there faults in its own guard and is named at once (the fallback named it only when it reached
// its slab's lowest guard, writing over its neighbours on the way), and the process's mappings do not grow
// with the goroutines.
TEST_CASE("overflow_past_the_old_guard_budget_hits_a_guard_region", "[fiber][overflow]") {
    if (goro_test::skip_fork_under_tsan()) return;
    if (!goro_test::rt::guard_regions_in_use()) {
        WARN("no guard regions on this kernel (guard_regions_test.cpp fails if it should have them)");
        SUCCEED("skipped");
        return;
    }
    for (int procs : {1, 2}) {
        INFO("maxprocs " << procs);
        std::uint64_t id = 0;
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        ChildResult r = in_child([&] {
            goro::run(goro::Config{procs, 0}, [&] {
                goro::Event release, done;
                goro::WaitGroup wg;
                const std::size_t maps_before = count_mappings();
                fill_guard_budget(release, wg);  // the budget's worth of live goroutines, and 256 more
                if (count_mappings() > maps_before + 64) ::_exit(4);
                goro::go([&] {
                    require_guard(GuardKind{"guard regions", false});
                    std::uint64_t me = current_id();
                    (void)!::write(fds[1], &me, sizeof me);
                    recurse(0, 1L << 40);
                    done.set();
                });
                done.wait();
                release.set();
                wg.wait();
            });
        });
        ::close(fds[1]);
        INFO("child stderr: " << r.err);
        REQUIRE(::read(fds[0], &id, sizeof id) == static_cast<ssize_t>(sizeof id));
        ::close(fds[0]);
        CHECK(!(WIFEXITED(r.status) && (WEXITSTATUS(r.status) == 3 || WEXITSTATUS(r.status) == 4)));
        expect_overflow_named(r, std::to_string(id));
    }
}

TEST_CASE("stack_memory_is_given_back_after_a_spike", "[fiber][memory]") {
    // Each goroutine touches 16 KiB of its stack and parks; at the peak they hold n * 16 KiB. After they
    // all end, the pool keeps at most 2 * kWarmStacks + the workers' caches with their pages.
    const long n = 10000;  // not scaled down under sanitizers: the bound needs n well above the caches
    for (int procs : {1, 2}) {
        INFO("maxprocs " << procs);
        long long before = 0, peak = 0, after = 0;
        run_at(procs, [&] {
            before = rss_bytes();
            goro::Event release;
            goro::WaitGroup parked, finished;
            parked.add(n);
            finished.add(n);
            for (long i = 0; i < n; ++i) {
                goro::go([&] {
                    char use[16 * 1024];
                    std::memset(use, 1, sizeof use);
                    escape(use);
                    parked.done();
                    release.wait();
                    finished.done();
                });
                if (i % 64 == 0) goro::yield();
            }
            parked.wait();
            peak = rss_bytes();
            release.set();
            finished.wait();
            CHECK(eventually([] { return goro::num_goroutines() == 1; }, 60s));
            // A worker may still be giving pages back (madvise outside the pool's lock, behind the last
            // exits): wait for RSS to settle below the bound, or time out and report what is left.
            const long long spike = peak - before;
            eventually([&] { return rss_bytes() - before < spike / 4 + (8 << 20); }, 20s);
            after = rss_bytes();
        });
        const long long spike = peak - before, left = after - before;
        std::printf("stack memory: %ld goroutines x 16 KiB touched: RSS %+lld MiB at the peak, %+lld MiB after\n", n,
                    spike >> 20, left >> 20);
        CHECK(spike > n * 12 * 1024);  // the spike is real
        // What may stay: 2 * kWarmStacks + caches (~600 stacks x 20 KiB) plus the descriptors (192 B
        // each, type-stable) and allocator slack: well under a quarter of the spike at n = 10,000.
        CHECK(left < spike / 4 + (8 << 20));
    }
}

// Stacks are bound at a goroutine's first run, but reserved at its spawn: the mmap that fails is the
// spawner's (issue 13, defect 4). Every goroutine spawned before the failure still gets its stack.
TEST_CASE("out_of_memory_is_a_system_error_in_the_spawner", "[fiber][memory]") {
    if (goro_test::skip_fork_under_tsan()) return;
    if (kSanitized) {
        WARN("skipped under sanitizers: their allocators abort when the address space runs out");
        SUCCEED("skipped");  // an assertion, for --warn NoAssertions
        return;
    }
    for (int procs : {1, 2}) {
        INFO("maxprocs " << procs);
        ChildResult r = in_child([&] {
            long spawned = 0;
            std::string what;
            goro::run(goro::Config{procs, 0}, [&] {
                // Address space in use now, plus 512 MiB: room for a few thousand stacks (128 KiB each,
                // guard included) and then no more.
                long pages = 0;
                if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
                    if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
                    std::fclose(f);
                }
                rlimit lim{};
                lim.rlim_cur = lim.rlim_max = static_cast<rlim_t>(pages) * 4096 + (512ull << 20);
                if (pages == 0 || ::setrlimit(RLIMIT_AS, &lim) != 0) ::_exit(4);
                goro::Event release;
                goro::WaitGroup wg;
                for (;;) {
                    try {
                        wg.add(1);
                        goro::go([&] {
                            release.wait();
                            wg.done();
                        });
                    } catch (const std::system_error& e) {
                        what = e.what();
                        wg.done();
                        break;
                    }
                    if (++spawned % 64 == 0) goro::yield();
                    if (spawned > 10'000'000) ::_exit(5);  // the limit did not bite
                }
                release.set();
                wg.wait();
            });
            std::fprintf(stderr, "spawned %ld, then: %s\n", spawned, what.c_str());
            ::_exit(what.empty() ? 6 : 0);
        });
        INFO("child stderr: " << r.err);
        CHECK(r.exited_ok());
        CHECK(r.err.find("spawned ") != std::string::npos);
        CHECK(r.err.find("terminate called") == std::string::npos);
        CHECK(r.err.find("panic") == std::string::npos);
    }
}
