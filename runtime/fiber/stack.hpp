// fiber/stack.hpp — goroutine stacks (the contract).
//
// Stacks are carved from large mmap'd slabs (MAP_NORESERVE: a page costs
// memory only once touched), so a million stacks need a few thousand
// mappings, not a million: vm.max_map_count (Debian default 65530) stays far
// away. A guard page (PROT_NONE below the stack) splits a slab mapping in two,
// so guard pages are given to the first kGuardedStacksBudget stacks only;
// later ones are unguarded (documented in README; raise the budget with care).
// Stacks are never unmapped while the process lives: they are recycled
// through a pool (free stacks keep their touched pages; a goroutine's stack is
// usually hot in cache when reused).
#pragma once

#include <cstddef>

namespace goro::rt {

struct Stack {
    void* base = nullptr;  // lowest usable address
    std::size_t size = 0;  // usable bytes
    void* top() const noexcept { return static_cast<char*>(base) + size; }
    explicit operator bool() const noexcept { return base != nullptr; }
};

inline constexpr std::size_t kDefaultStackSize = 64 * 1024;
// 4096 guarded stacks use 8192 mappings. Each guard page costs an mprotect
// that takes the kernel's memory-map lock for writing, which stalls the other
// workers' page faults: beyond this budget, new stacks are unguarded.
inline constexpr std::size_t kGuardedStacksBudget = 4096;

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

private:
    // Maps and prepares a slab without holding the pool's lock (mmap and
    // mprotect take the kernel's memory-map lock, which is slow enough to
    // serialise every worker behind ours).
    void add_slab();

    std::size_t stack_size_;
    struct Impl;
    Impl* impl_;
};

}  // namespace goro::rt
