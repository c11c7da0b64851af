// tests/fiber/guard_regions_test.cpp: the guards below goroutine stacks (runtime/fiber/stack.*), probed in
// a StackPool used without a runtime (the overflow cases with a runtime are in stack_safety_test.cpp).
//
//  * Guard regions (Linux >= 6.13, MADV_GUARD_INSTALL): every carved stack gets one, 20,000 stacks and
//    more (past the ~16,000 the mprotect budget allowed), and the process's mapping count does not grow
//    with them (an mprotect guard costs two mappings). On a kernel that has them, guard_regions_in_use()
//    must say so: a refused probe fails the test rather than skipping it.
//  * A guard faults at both of its ends, and the stack above it does not: each probe is a read in a forked
//    child that counts its SIGSEGVs (a guard region raises SIGSEGV like a PROT_NONE page).
//  * A trim (MADV_DONTNEED over runs of stacks and their guards) gives the pages back and keeps the guard
//    regions.
//  * The top page of a fresh stack, and of a stack back from a trim, is resident when the stack is handed
//    out (one MADV_POPULATE_WRITE per batch, through process_madvise on our own process: Linux >= 6.14).
//  * The mprotect fallback, forced (force_mprotect_guards): guards within the budget, no guard regions,
//    and the guards fault too.
#include "internal/runtime_export.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

using goro_test::rt::kDefaultStackSize;
using goro_test::rt::kGuardSize;
using goro_test::rt::kWarmStacks;
using goro_test::rt::Stack;
using goro_test::rt::StackPool;

namespace {

constexpr std::size_t kPage = 4096;

// The running kernel as 100 * major + minor (6.18 -> 618).
int kernel_version() {
    utsname u{};
    if (::uname(&u) != 0) return 0;
    int major = 0, minor = 0;
    if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return 0;
    return major * 100 + minor;
}

std::size_t count_mappings() {
    std::FILE* f = std::fopen("/proc/self/maps", "re");
    REQUIRE(f);
    std::size_t n = 0;
    for (int c; (c = std::fgetc(f)) != EOF;) n += c == '\n';
    std::fclose(f);
    return n;
}

sigjmp_buf g_probe_jump;
void on_probe_fault(int) { siglongjmp(g_probe_jump, 1); }

// How many of the addresses fault when read, in a forked child (a fault there ends nothing here).
std::size_t faulting_reads(const std::vector<const char*>& addrs) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::fflush(stdout);
    std::fflush(stderr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(fds[0]);
        struct sigaction sa {};
        sa.sa_handler = &on_probe_fault;
        sigemptyset(&sa.sa_mask);
        ::sigaction(SIGSEGV, &sa, nullptr);
        ::sigaction(SIGBUS, &sa, nullptr);
        // volatile: a value changed between sigsetjmp and siglongjmp.
        volatile std::size_t faults = 0;
        for (std::size_t i = 0; i < addrs.size(); ++i) {
            if (sigsetjmp(g_probe_jump, 1) == 0) {
                (void)*static_cast<const volatile char*>(addrs[i]);
            } else {
                faults = faults + 1;
            }
        }
        std::size_t n = faults;
        (void)!::write(fds[1], &n, sizeof n);
        ::_exit(0);
    }
    ::close(fds[1]);
    std::size_t n = SIZE_MAX;
    REQUIRE(::read(fds[0], &n, sizeof n) == static_cast<ssize_t>(sizeof n));
    ::close(fds[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    return n;
}

// Both ends of each stack's guard.
std::vector<const char*> guard_ends(const std::vector<Stack>& stacks) {
    std::vector<const char*> a;
    for (const Stack& s : stacks) {
        a.push_back(static_cast<const char*>(s.base) - 1);
        a.push_back(static_cast<const char*>(s.base) - kGuardSize);
    }
    return a;
}
// Each stack's lowest and highest byte.
std::vector<const char*> stack_ends(const std::vector<Stack>& stacks) {
    std::vector<const char*> a;
    for (const Stack& s : stacks) {
        a.push_back(static_cast<const char*>(s.base));
        a.push_back(static_cast<const char*>(s.top()) - 1);
    }
    return a;
}

bool resident(const void* page) {
    unsigned char v = 0;
    REQUIRE(::mincore(const_cast<void*>(page), kPage, &v) == 0);
    return (v & 1) != 0;
}
std::size_t top_pages_resident(const std::vector<Stack>& stacks) {
    std::size_t n = 0;
    for (const Stack& s : stacks) n += resident(static_cast<const char*>(s.top()) - kPage);
    return n;
}

// n first runs, as workers take them: batches of 32, each settling the reservations its batch serves.
std::vector<Stack> take(StackPool& pool, std::size_t n) {
    REQUIRE(pool.reserve(n) == n);
    std::vector<Stack> out;
    while (out.size() < n) {
        Stack batch[32];
        std::size_t got = pool.allocate_batch(batch, std::min<std::size_t>(32, n - out.size()), 1);
        REQUIRE(got >= 1);
        out.insert(out.end(), batch, batch + got);
        pool.settle(got - 1);
    }
    return out;
}

// Guard regions are expected on this kernel; false (with a warning) where it predates them.
bool expect_guard_regions() {
    if (kernel_version() < 613) {
        WARN("kernel older than 6.13: no guard regions; the fallback is tested below");
        CHECK_FALSE(goro_test::rt::guard_regions_in_use());
        return false;
    }
    REQUIRE(goro_test::rt::guard_regions_in_use());
    return true;
}

struct ForceMprotect {
    ForceMprotect() { goro_test::rt::force_mprotect_guards(true); }
    ~ForceMprotect() { goro_test::rt::force_mprotect_guards(false); }
};

}  // namespace

TEST_CASE("every_stack_gets_a_guard_region_past_the_old_budget_without_new_mappings", "[fiber][guard]") {
    if (!expect_guard_regions()) return;
    const std::size_t n = 20000;  // the mprotect budget was ~16,300 at vm.max_map_count 65530
    const std::size_t maps_before = count_mappings();
    StackPool pool(kDefaultStackSize);
    std::vector<Stack> stacks = take(pool, n);
    const std::size_t maps_after = count_mappings();
    INFO("mappings before " << maps_before << ", after " << maps_after);

    auto c = pool.counts();
    CHECK(c.total - c.uncarved == n);
    CHECK(c.guarded == n);
    CHECK(c.regions == n);
    CHECK(std::all_of(stacks.begin(), stacks.end(), [](const Stack& s) { return s.guarded && s.region; }));
    // One mapping per slab at most (adjacent slabs usually merge into one); mprotect guards: 2 * n.
    CHECK(maps_after <= maps_before + 2 + c.total / 512);

    CHECK(faulting_reads(guard_ends(stacks)) == 2 * n);  // every guard, at both ends
    CHECK(faulting_reads(stack_ends(stacks)) == 0);      // and never the stack above it

    pool.release_batch(stacks.data(), stacks.size());
}

TEST_CASE("a_trim_gives_the_pages_back_and_keeps_the_guard_regions", "[fiber][guard]") {
    if (!expect_guard_regions()) return;
    const std::size_t n = 4 * kWarmStacks;
    StackPool pool(kDefaultStackSize);
    std::vector<Stack> stacks = take(pool, n);
    for (const Stack& s : stacks) static_cast<volatile char*>(s.top())[-1] = 1;  // a page of each in use
    pool.release_batch(stacks.data(), stacks.size());
    pool.trim_if_settled(goro::detail::Clock::now() + std::chrono::hours(1));
    auto c = pool.counts();
    REQUIRE(c.cold >= n - 2 * kWarmStacks);

    // The cold ones: the oldest released, the front of `stacks`.
    std::vector<Stack> cold(stacks.begin(), stacks.begin() + static_cast<std::ptrdiff_t>(c.cold));
    CHECK(top_pages_resident(cold) == 0);                        // MADV_DONTNEED ran over them
    CHECK(faulting_reads(guard_ends(cold)) == 2 * cold.size());  // and their guards are still there
    CHECK(faulting_reads(stack_ends(cold)) == 0);
}

TEST_CASE("fresh_and_trimmed_stacks_come_with_their_top_page_resident", "[fiber][guard]") {
    if (kernel_version() < 614) {
        WARN("kernel older than 6.14: no process_madvise(PIDFD_SELF), pages fault in at first use");
        SUCCEED("skipped");
        return;
    }
    const std::size_t n = 4 * kWarmStacks;
    StackPool pool(kDefaultStackSize);
    std::vector<Stack> stacks = take(pool, n);
    CHECK(top_pages_resident(stacks) == n);  // populated with their batch, never touched here
    std::size_t below = 0;                   // and only the top page
    for (const Stack& s : stacks) below += resident(static_cast<const char*>(s.top()) - 2 * kPage);
    CHECK(below == 0);

    pool.release_batch(stacks.data(), stacks.size());
    pool.trim_if_settled(goro::detail::Clock::now() + std::chrono::hours(1));
    auto c = pool.counts();
    REQUIRE(c.cold >= n - 2 * kWarmStacks);
    std::vector<Stack> again = take(pool, n);  // the warm ones, then the cold ones
    CHECK(pool.counts().cold == 0);
    CHECK(top_pages_resident(again) == n);
    pool.release_batch(again.data(), again.size());
}

TEST_CASE("the_forced_mprotect_fallback_guards_within_its_budget", "[fiber][guard]") {
    ForceMprotect force;
    REQUIRE_FALSE(goro_test::rt::guard_regions_in_use());
    const std::size_t n = 64;  // well within the budget (thousands)
    REQUIRE(goro::rt::guarded_stacks_budget() >= 1000);
    const std::size_t maps_before = count_mappings();
    StackPool pool(kDefaultStackSize);
    std::vector<Stack> stacks = take(pool, n);
    const std::size_t maps_after = count_mappings();
    auto c = pool.counts();
    CHECK(c.guarded == n);
    CHECK(c.regions == 0);
    CHECK(std::all_of(stacks.begin(), stacks.end(), [](const Stack& s) { return s.guarded && !s.region; }));
    CHECK(maps_after >= maps_before + n);  // each PROT_NONE guard splits its slab's mapping
    CHECK(faulting_reads(guard_ends(stacks)) == 2 * n);
    CHECK(faulting_reads(stack_ends(stacks)) == 0);
    pool.release_batch(stacks.data(), stacks.size());
}
