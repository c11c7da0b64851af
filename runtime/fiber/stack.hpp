// fiber/stack.hpp — goroutine stacks (the contract).
//
// Stacks are carved from large mmap'd slabs (MAP_NORESERVE: a page costs
// memory only once touched), so a million stacks need a few thousand
// mappings, not a million. Below every stack lies a kGuardSize region:
//  * a guard (PROT_NONE) for as many stacks as the process's mapping budget
//    allows: a guard splits a slab's mapping, so each guarded stack costs two
//    of vm.max_map_count's mappings, and the guards may use half of what is
//    left when the first pool is made (about 16,000 guarded stacks at
//    Debian's 65530). An overflow faults in it; fiber/guard.cpp names it.
//  * beyond the budget, a moat: the same bytes left readable and writable
//    and never used, so an overflow of up to kGuardSize lands there and not
//    in a neighbour's stack. Such a stack's lowest kCanaryBytes must stay
//    zero; the scheduler checks them when its goroutine exits (and the
//    stack pointer at every switch; see stack_intact_at_exit below) and
//    stops the process if they are not.
// Free stacks are recycled through a pool; beyond kWarmStacks free stacks
// (plus the workers' own caches) their pages go back to the kernel
// (MADV_DONTNEED), so a spike of goroutines leaves no lasting RSS behind.
#pragma once

#include <goro/detail/clock.hpp>

#include <chrono>

#include <cstddef>
#include <cstdint>

namespace goro::rt {

struct Stack {
    void* base = nullptr;  // lowest usable address
    std::size_t size = 0;  // usable bytes
    bool guarded = false;  // a PROT_NONE guard lies below base (else a moat)
    void* top() const noexcept { return static_cast<char*>(base) + size; }
    explicit operator bool() const noexcept { return base != nullptr; }
};

inline constexpr std::size_t kDefaultStackSize = 64 * 1024;
// The guard (or moat) below every stack. Address space only: it costs no
// memory, and one mapping whatever its size. 64 KiB: a function with a
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

// How many guarded stacks the process may have, from vm.max_map_count and
// the mappings in use when first asked (computed once per process).
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
// an unguarded stack, also: the canary bytes are still zero. The canary is
// not read at switches: its page is usually untouched, and reading it maps
// a page (counted in RSS on the kernel measured; bench/RESULTS.md), which
// would double what a parked goroutine costs beyond the guard budget.
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
    // Fills out[0..n) and returns n (> 0); throws std::system_error when
    // the system has no memory for a new slab.
    std::size_t allocate_batch(Stack* out, std::size_t n);
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
    // given back to the kernel (cold), and stacks ever carved.
    struct Counts {
        std::size_t warm = 0, cold = 0, total = 0, guarded = 0;
    };
    Counts counts() const noexcept;

private:
    // Maps and prepares a slab without holding the pool's lock (mmap and
    // mprotect take the kernel's memory-map lock, which is slow enough to
    // serialise every worker behind ours).
    void add_slab();
    // Gives the pages of the oldest warm stacks back to the kernel, outside
    // the lock, then files them as cold.
    void trim() noexcept;

    std::size_t stack_size_;
    struct Impl;
    Impl* impl_;
};

}  // namespace goro::rt
