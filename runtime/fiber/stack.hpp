// fiber/stack.hpp — goroutine stacks (the contract).
//
// Stacks are carved from large mmap'd slabs (MAP_NORESERVE: a page costs
// memory only once touched), so a million stacks need a few thousand
// mappings, not a million. Below every stack lies a kGuardSize region, made
// one of two ways, chosen once per process (guard_regions_in_use()):
//  * a guard region (MADV_GUARD_INSTALL, Linux >= 6.13), on every stack:
//    page-table markers inside the slab's one mapping that fault on any
//    access. It does not split the mapping, so it costs none of
//    vm.max_map_count's mappings and needs no budget; trimming
//    (MADV_DONTNEED) keeps it. A batch's guards are installed with one
//    process_madvise call when its stacks are first handed out.
//  * where the kernel refuses guard regions (EINVAL), the older scheme: a
//    PROT_NONE guard for as many stacks as the process's mapping budget
//    allows (an mprotect splits the slab's mapping: two of
//    vm.max_map_count's mappings per guarded stack, half of what is left
//    when the first pool is made, about 16,000 guarded stacks at Debian's
//    65530), and beyond it a moat: the same bytes left readable and
//    writable and never used, so an overflow of up to kGuardSize lands
//    there and not in a neighbour's stack. Such a stack's lowest
//    kCanaryBytes must stay zero; the scheduler checks them when its
//    goroutine exits (stack_intact_at_exit below) and stops the process if
//    they are not.
// An overflow faults in a guard; fiber/guard.cpp names it. The stack
// pointer is also checked at every switch away from a goroutine.
// The top page of every stack is faulted in with its batch (one
// MADV_POPULATE_WRITE for the batch) when the stack is first handed out or
// comes back from a trim: a first run then takes no page fault.
// Free stacks are recycled through a pool; beyond kWarmStacks free stacks
// (plus the workers' own caches) their pages go back to the kernel
// (MADV_DONTNEED), so a spike of goroutines leaves no lasting RSS behind.
//
// Reservations. A goroutine gets its stack at its first run (binding it at
// spawn faulted in a stack per queued goroutine: spawn_join 50x slower), but
// the capacity for it is reserved at spawn, in the spawner: reserve() maps
// what is missing there, so an mmap that fails is a std::system_error from
// go()/spawn() in the goroutine that spawned, and a first run can no longer
// fail (allocate_batch is noexcept). Workers reserve in batches
// (P::stack_credits, sched/scheduler.hpp) and settle what their first runs
// consumed in batches, so the pool's count may run ahead of the truth by a
// few batches per worker, never behind it.
// Invariant (asserted under the pool's lock): free stacks in the pool (warm
// plus cold) plus the uncarved stacks of mapped slabs >= outstanding
// reservations. Slabs are carved lazily, at a stack's first allocate_batch,
// so a reservation costs an mmap per slab and nothing per stack (its guard
// and its top page come at the carving). A trim never takes a stack a
// reservation needs.
#pragma once

#include <goro/detail/clock.hpp>

#include <chrono>

#include <cstddef>
#include <cstdint>

namespace goro::rt {

struct Stack {
    void* base = nullptr;     // lowest usable address
    std::uint32_t size = 0;   // usable bytes: at most 1 GiB (env/config.hpp), and 4 bytes keep G at 192
    bool guarded = false;  // a guard lies below base (else a moat: fallback only)
    bool region = false;   // that guard is a guard region (MADV_GUARD_INSTALL), not a PROT_NONE mapping
    void* top() const noexcept { return static_cast<char*>(base) + size; }
    explicit operator bool() const noexcept { return base != nullptr; }
};

inline constexpr std::size_t kDefaultStackSize = 64 * 1024;
// The guard (or moat) below every stack. Address space only: it costs no
// memory (a guard region's markers cost page-table entries), and at most
// one mapping whatever its size. 64 KiB: a function with a
// 64 KiB local array that writes its low end from a shallow depth still
// faults in it, even when not built with -fstack-clash-protection.
inline constexpr std::size_t kGuardSize = 64 * 1024;
// The lowest bytes of an unguarded stack, which must stay zero (fresh and
// MADV_DONTNEED'd pages are zero; a stack is only handed out again after
// its exit check passed).
inline constexpr std::size_t kCanaryBytes = 64;
// Free stacks the pool keeps with their pages; beyond twice this many, the
// oldest are given back to the kernel down to this many, once the pool has
// settled: no demand beyond its warm stacks for kTrimSettle.
inline constexpr std::size_t kWarmStacks = 256;
inline constexpr std::chrono::milliseconds kTrimSettle{1000};

// Whether slabs mapped from now on get guard regions on every stack (the
// kernel accepts MADV_GUARD_INSTALL: probed once per process, on a scratch
// mapping) rather than PROT_NONE guards within the budget below.
bool guard_regions_in_use() noexcept;
// For tests: true makes slabs mapped from now on use the fallback
// (mprotect guards within the budget, moats and canaries beyond it) as on a
// kernel without guard regions; false undoes it. Slabs already mapped keep
// their kind.
void force_mprotect_guards(bool on) noexcept;
// How many PROT_NONE-guarded stacks the process may have (the fallback),
// from vm.max_map_count and the mappings in use when first asked (computed
// once per process).
std::size_t guarded_stacks_budget() noexcept;

// The stack pointer where this is inlined (an address in the caller's frame).
[[gnu::always_inline]] inline const void* current_sp() noexcept {
#if defined(__x86_64__)
    const void* sp;
    asm volatile("mov %%rsp, %0" : "=r"(sp));
    return sp;
#else
    return __builtin_frame_address(0);
#endif
}

// The checks the scheduler makes. At every switch away from a goroutine:
// its stack pointer lies inside its stack (one compare). At its exit, for
// an unguarded stack (the fallback, beyond the budget), also: the canary
// bytes are still zero. The canary is not read at switches: its page is
// usually untouched, and reading it maps a page (counted in RSS on the
// kernel measured; bench/RESULTS.md), which would double what a parked
// goroutine costs beyond the guard budget. Even at exit that read faults in
// the bottom page of every unguarded stack (part of the sleep_many
// regression, bench/RESULTS.md): with guard regions no stack has a canary.
inline bool stack_pointer_inside(const Stack& s, const void* sp) noexcept { return sp >= s.base; }
[[gnu::no_sanitize_address]] inline bool stack_intact_at_exit(const Stack& s, const void* sp) noexcept {
    if (sp < s.base) [[unlikely]]
        return false;
    if (s.guarded) return true;
    const auto* w = static_cast<const volatile std::uint64_t*>(s.base);
    std::uint64_t any = 0;
    for (std::size_t i = 0; i < kCanaryBytes / 8; ++i) any |= w[i];
    return any == 0;
}

// Thread-safe pool of stacks of one size. Workers keep their own small caches
// on top (see sched/scheduler.hpp) and come here in batches.
class StackPool {
public:
    explicit StackPool(std::size_t stack_size);
    ~StackPool();
    StackPool(const StackPool&) = delete;
    StackPool& operator=(const StackPool&) = delete;

    std::size_t stack_size() const noexcept { return stack_size_; }
    // Reserves up to `want` stacks (> 0) and returns how many (>= 1): all of
    // them when the pool has them or can map a slab for them, else what it
    // has. Throws std::system_error when it has none and cannot map a slab
    // (the pool is then as it was). `settle` consumed reservations are
    // settled first (see settle()).
    std::size_t reserve(std::size_t want, std::size_t settle = 0);
    // Ends n reservations: unused ones given back (a retiring worker's
    // credits, an abandoned spawn's), or ones consumed by first runs served
    // from a worker's own cache.
    void settle(std::size_t n) noexcept;
    // A first run's stacks: ends `consumed` (>= 1) reservations, one of them
    // the caller's own, and fills out[0..k), k in [1, n], with stacks no
    // other reservation needs. Cannot fail: the reservation guarantees one.
    std::size_t allocate_batch(Stack* out, std::size_t n, std::size_t consumed) noexcept;
    void release_batch(const Stack* s, std::size_t n) noexcept;

    // Giving memory back waits until the pool has settled (kTrimSettle
    // without demand beyond its warm stacks): a program that spawns in
    // waves (skynet) would otherwise give pages back between waves and
    // fault them in again, at half its speed. trim_due() is when the
    // surplus may go (TimePoint::max() when there is none): an idle worker
    // sleeps no longer than that and then calls trim_if_settled(), which the
    // find-work loop calls too. Only from a worker's own stack (g0).
    detail::TimePoint trim_due() const noexcept;
    void trim_if_settled(detail::TimePoint now) noexcept;

    // For tests and bench/: free stacks held with their pages (warm) and
    // given back to the kernel (cold), and stacks of all slabs (total).
    // guarded: carved stacks that got a guard; regions: of those, guard
    // regions (with guard regions in use: every carved stack).
    // reserved: outstanding reservations as the pool counts them (settled
    // in batches: it may exceed the true number by what workers have not
    // settled yet).
    // uncarved: stacks of mapped slabs never handed out yet (carved, with
    // their guards, at their first allocate_batch); total counts them too.
    struct Counts {
        std::size_t warm = 0, cold = 0, total = 0, guarded = 0, regions = 0, reserved = 0, uncarved = 0;
    };
    Counts counts() const noexcept;

    // For tests: after `slabs` more slabs, mapping one fails as an mmap out
    // of memory would (ENOMEM). SIZE_MAX (the default): never.
    void fail_slabs_after(std::size_t slabs) noexcept;

private:
    // Maps a slab without holding the pool's lock (mmap takes the kernel's
    // memory-map lock, which is slow enough to serialise every worker
    // behind ours). Throws std::system_error.
    void add_slab();
    struct Slab;
    std::size_t carve_locked(Stack* out, std::size_t n) noexcept;  // REQUIRES(impl_->mu)
    // Outside the lock, for a batch out[0..n) of warm stacks, then cold ones
    // from out[cold_from], then fresh ones from out[fresh_from]: the fresh
    // ones' guards, then the top pages of the cold and fresh ones.
    void prepare(Stack* out, std::size_t cold_from, std::size_t fresh_from, std::size_t n) noexcept;
    // Gives the pages of the oldest warm stacks back to the kernel, outside
    // the lock, then files them as cold.
    void trim() noexcept;

    std::size_t stack_size_;
    struct Impl;
    Impl* impl_;
};

}  // namespace goro::rt
