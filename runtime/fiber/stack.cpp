// fiber/stack.cpp — slab allocation and pooling of goroutine stacks.
//
// Owns: the mappings behind every goroutine stack of one runtime. A slab is
// one mmap of kStacksPerSlab stacks; each stack is [guard page][usable bytes]
// when it is within the guard budget, else just [usable bytes]. Invariants:
// every Stack handed out lies inside one slab; a Stack is either handed out
// or on free_ (never both); slabs are unmapped only by ~StackPool, when no
// goroutine of the runtime is left.
//
// Synchronisation: one SpinLock (Impl::mu) guards the free list and the slab
// list, held only to copy a batch; slabs are mapped outside it. The workers'
// own caches (sched/) make it rare on the hot path.
//
// Rejected: one mmap per stack (a million goroutines would need a million
// mappings, over vm.max_map_count); malloc'd stacks (no guard pages at all,
// and glibc would hand the memory back and forth with the heap).
#include "fiber/stack.hpp"

#include "debug/assert.hpp"

#include <goro/detail/park.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <new>
#include <system_error>
#include <vector>

namespace goro::rt {
namespace {

constexpr std::size_t kPage = 4096;
// 32 stacks a slab: 2 MiB at the default size, few mappings, small waste.
constexpr std::size_t kStacksPerSlab = 32;

// Guarded stacks handed out by all pools of the process (mappings are a
// process-wide resource).
std::atomic<std::size_t> g_guarded_stacks{0};

}  // namespace

struct StackPool::Impl {
    goro::detail::SpinLock mu{goro::detail::LockRank::StackPool};  // held for a batch copy; slabs are mapped outside it
    std::vector<Stack> free;                          // guarded by mu
    std::vector<std::pair<void*, std::size_t>> slabs; // guarded by mu
    std::size_t guarded = 0;                          // guarded by mu
};

StackPool::StackPool(std::size_t stack_size)
    : stack_size_((stack_size + kPage - 1) / kPage * kPage), impl_(new Impl) {}

StackPool::~StackPool() {
    for (auto [addr, len] : impl_->slabs) ::munmap(addr, len);
    g_guarded_stacks.fetch_sub(impl_->guarded, std::memory_order_relaxed);  // a plain counter
    delete impl_;
}

void StackPool::add_slab() {
    std::size_t want_guards = 0;
    std::size_t have = g_guarded_stacks.fetch_add(kStacksPerSlab, std::memory_order_relaxed);  // a budget counter
    if (have + kStacksPerSlab <= kGuardedStacksBudget) want_guards = kStacksPerSlab;
    else g_guarded_stacks.fetch_sub(kStacksPerSlab, std::memory_order_relaxed);
    const std::size_t stride = stack_size_ + (want_guards ? kPage : 0);
    const std::size_t len = stride * kStacksPerSlab;
    void* mem = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mem == MAP_FAILED) {
        if (want_guards) g_guarded_stacks.fetch_sub(kStacksPerSlab, std::memory_order_relaxed);
        throw std::system_error(errno, std::generic_category(), "goro: mmap of goroutine stacks");
    }
    Stack fresh[kStacksPerSlab];
    char* p = static_cast<char*>(mem);
    for (std::size_t i = 0; i < kStacksPerSlab; ++i, p += stride) {
        // A failed mprotect (out of mappings) leaves the stack unguarded
        // rather than failing the spawn.
        bool guarded = want_guards && ::mprotect(p, kPage, PROT_NONE) == 0;
        fresh[i] = Stack{guarded ? p + kPage : p, stack_size_};
    }
    std::lock_guard lk(impl_->mu);
    impl_->slabs.emplace_back(mem, len);
    if (want_guards) impl_->guarded += kStacksPerSlab;
    impl_->free.insert(impl_->free.end(), fresh, fresh + kStacksPerSlab);
}

std::size_t StackPool::allocate_batch(Stack* out, std::size_t n) {
    for (;;) {
        {
            std::lock_guard lk(impl_->mu);
            std::size_t have = impl_->free.size();
            if (have > 0) {
                std::size_t take = have < n ? have : n;
                for (std::size_t i = 0; i < take; ++i) {
                    out[i] = impl_->free.back();
                    impl_->free.pop_back();
                }
                return take;
            }
        }
        add_slab();
    }
}

void StackPool::release_batch(const Stack* s, std::size_t n) noexcept {
    std::lock_guard lk(impl_->mu);
    impl_->free.insert(impl_->free.end(), s, s + n);
}

}  // namespace goro::rt
