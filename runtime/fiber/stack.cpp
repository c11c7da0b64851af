// fiber/stack.cpp — slab allocation, guards, pooling and trimming of
// goroutine stacks.
//
// Owns: the mappings behind every goroutine stack of one runtime. A slab is
// one mmap of kStacksPerSlab strides of [kGuardSize guard or moat][usable
// bytes]; a slab within the guard budget gets one mprotect(PROT_NONE) per
// guard, a slab beyond it one (its lowest stack's; its other moats stay
// plain, never-touched memory). A slab's stacks are carved in order, each
// with its guard, when first handed out (allocate_batch, carve_locked).
// Invariants: every Stack handed out lies inside one slab; a stack is either
// uncarved, handed out, on warm or cold, or being trimmed (never two at
// once); slabs are unmapped only by ~StackPool, when no goroutine of the
// runtime is left; an unguarded stack that is not handed out has zero canary
// bytes (fresh and trimmed pages are zero, and the scheduler stops the
// process at the exit of a goroutine whose canary is not);
// warm.size() + cold.size() + uncarved >= reserved (checked at every change
// of either side), so a first run always finds a stack.
//
// Reservations (stack.hpp): reserve() runs in the spawner and is the only
// caller of add_slab() (so the only place a mapping can fail); it maps while
// the free stacks do not cover the outstanding reservations plus the batch
// plus kReserveHeadroom (room for first runs to take whole batches),
// and when mapping fails it grants what is spare, or throws if nothing is.
// allocate_batch() (a first run) ends its caller's reservation and hands out
// only stacks beyond the other reservations; trim() gives back only such
// stacks too. The count runs ahead of the truth by what workers have not
// settled yet (sched/: P::stack_binds), which only makes the check stricter.
//
// Giving memory back: released stacks go to `warm` (LIFO: the next spawn
// gets the most recently used, cache-hot stack). When warm holds more than
// 2 * kWarmStacks and the pool has settled (no allocation has eaten into
// that surplus for kTrimSettle), the oldest ones down to kWarmStacks are
// taken out, sorted by address, and each run of adjacent stacks (their
// guards included) is given back with one madvise(MADV_DONTNEED), outside
// the lock; they then go to `cold`, used after warm and before uncarved ones.
// The trim runs on a worker's own stack (g0), never a goroutine's: in the
// find-work loop, or from the idle worker whose sleep ends at trim_due()
// (sched/worker.cpp, sched/idle.cpp). Without the wait, skynet (spawning in waves)
// gave pages back between waves and faulted them in again: 1.5x slower.
// MADV_FREE would be cheaper but leaves the pages counted in RSS until the
// kernel needs them.
//
// Synchronisation: one SpinLock (Impl::mu) guards the lists and the slab
// list, held only to copy a batch; slabs are mapped and stacks trimmed
// outside it. The workers' own caches (sched/) make it rare on the hot path.
//
// Rejected: one mmap per stack (a million goroutines would need a million
// mappings, over vm.max_map_count); malloc'd stacks (no guard pages at all,
// and glibc would hand the memory back and forth with the heap); holes
// (unmapped gaps) as guards: one mapping per stack instead of two, but any
// later mmap of the process may land in a hole.
#include "fiber/stack.hpp"

#include "debug/assert.hpp"

#include <goro/detail/park.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <new>
#include <optional>
#include <system_error>
#include <vector>

namespace goro::rt {
namespace {

constexpr std::size_t kPage = 4096;
// 32 stacks a guarded slab: 4 MiB of address space at the default size
// (guards included). An unguarded slab is about kUnguardedSlabBytes, at
// most kMaxUnguardedSlab stacks (1024 at the default size).
constexpr std::size_t kStacksPerSlab = 32;
constexpr std::size_t kUnguardedSlabBytes = std::size_t{128} << 20;
constexpr std::size_t kMaxUnguardedSlab = 1024;
// reserve() maps until this many free stacks lie beyond the reservations
// (when it can): a first run on a worker whose cache is empty may then take
// a whole batch (allocate_batch hands out only spare stacks). Without it,
// goroutines that all park (sleepers_100k at two workers) were bound one
// pool round trip each: the spare was eaten as soon as it was mapped.
constexpr std::size_t kReserveHeadroom = 64;

// Guarded stacks handed out by all pools of the process (mappings are a
// process-wide resource).
std::atomic<std::size_t> g_guarded_stacks{0};

std::size_t read_number(const char* path, std::size_t fallback) noexcept {
    std::FILE* f = std::fopen(path, "re");
    if (!f) return fallback;
    unsigned long long v = 0;
    int ok = std::fscanf(f, "%llu", &v);
    std::fclose(f);
    return ok == 1 ? static_cast<std::size_t>(v) : fallback;
}

std::size_t count_mappings() noexcept {
    std::FILE* f = std::fopen("/proc/self/maps", "re");
    if (!f) return 0;
    std::size_t n = 0;
    for (int c; (c = std::fgetc(f)) != EOF;) n += c == '\n';
    std::fclose(f);
    return n;
}

}  // namespace

// Half of the mappings the process has left may go to guards, two per
// guarded stack (the guard, and the stack it splits off). The other half
// stays for the program: its heap arenas, threads, libraries and files.
std::size_t guarded_stacks_budget() noexcept {
    static const std::size_t budget = [] {
        std::size_t max_maps = read_number("/proc/sys/vm/max_map_count", 65530);
        std::size_t used = count_mappings();
        std::size_t spare = max_maps > used ? max_maps - used : 0;
        return spare / 2 / 2;
    }();
    return budget;
}

struct StackPool::Slab {
    char* base;           // the mapping: count strides of [guard or moat][stack]
    std::size_t len;      // bytes mapped
    std::size_t count;    // stacks in it
    std::size_t carved;   // stacks [0, carved) have been handed out at least once
    bool guard_all;       // within the guard budget: every stack gets a guard (else only the lowest)
};

struct StackPool::Impl {
    goro::detail::SpinLock mu{
        goro::detail::LockRank::StackPool};  // held for a batch copy; slabs are mapped and stacks trimmed outside it
    std::vector<Stack> warm;                 // guarded by mu: free, pages possibly resident
    std::vector<Stack> cold;                 // guarded by mu: free, pages given back
    std::vector<Slab> slabs;                           // guarded by mu: in mapping order
    std::size_t carve_next = 0;                        // guarded by mu: slabs before it are carved whole
    std::size_t uncarved = 0;                          // guarded by mu: stacks of slabs not yet carved
    std::size_t guarded = 0;                           // guarded by mu
    std::size_t total = 0;                             // guarded by mu: stacks of all slabs, carved or not
    std::size_t reserved = 0;                          // guarded by mu: <= warm.size() + cold.size()
    bool trimming = false;                             // guarded by mu: one trim at a time
    // When the pool last had to hand out more than its warm stacks (a cold
    // stack or a new slab): the surplus goes kTrimSettle after that. Relaxed:
    // a hint read by idle workers for their sleep's deadline.
    std::atomic<std::int64_t> last_demand_ns{0};
    std::atomic<bool> surplus{false};  // warm holds more than 2 * kWarmStacks
    // Test hook (fail_slabs_after): slabs that may still be mapped.
    std::atomic<std::size_t> slabs_left{SIZE_MAX};

    std::size_t free_count() const noexcept { return warm.size() + cold.size() + uncarved; }  // REQUIRES(mu)
    void check_invariant() const noexcept {                                         // REQUIRES(mu)
        GORO_ASSERT(free_count() >= reserved, "stack pool: %zu free stacks for %zu reservations", free_count(),
                    reserved);
    }
    void settle_locked(std::size_t n) noexcept {  // REQUIRES(mu)
        GORO_ASSERT(reserved >= n, "stack pool: %zu reservations settled of %zu", n, reserved);
        reserved -= n;
    }
};

namespace {
std::int64_t ns_of(goro::detail::TimePoint t) noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
}  // namespace

StackPool::StackPool(std::size_t stack_size) : stack_size_((stack_size + kPage - 1) / kPage * kPage), impl_(new Impl) {
    (void)guarded_stacks_budget();  // counted before this runtime adds mappings of its own
}

StackPool::~StackPool() {
    impl_->check_invariant();
    for (const Slab& slab : impl_->slabs) ::munmap(slab.base, slab.len);
    g_guarded_stacks.fetch_sub(impl_->guarded, std::memory_order_relaxed);  // a plain counter
    delete impl_;
}

void StackPool::add_slab() {
    for (std::size_t left = impl_->slabs_left.load(std::memory_order_relaxed); left != SIZE_MAX;) {
        if (left == 0) throw std::system_error(ENOMEM, std::generic_category(), "goro: mmap of goroutine stacks");
        if (impl_->slabs_left.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) break;  // a counter
    }
    const std::size_t stride = kGuardSize + stack_size_;
    std::size_t have = g_guarded_stacks.fetch_add(kStacksPerSlab, std::memory_order_relaxed);  // a budget counter
    const bool guard_all = have + kStacksPerSlab <= guarded_stacks_budget();
    if (!guard_all) g_guarded_stacks.fetch_sub(kStacksPerSlab, std::memory_order_relaxed);
    // Beyond the budget, bigger slabs with only their lowest stack guarded:
    // a runaway recursion on an unguarded stack then faults at the latest at
    // its slab's bottom (and never runs into a thread's stack or TLS below),
    // for two mappings per kMaxUnguardedSlab stacks.
    const std::size_t count =
        guard_all ? kStacksPerSlab : std::clamp(kUnguardedSlabBytes / stride, kStacksPerSlab, kMaxUnguardedSlab);
    const std::size_t len = stride * count;
    void* mem =
        ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mem == MAP_FAILED) {
        int err = errno;
        if (guard_all) g_guarded_stacks.fetch_sub(kStacksPerSlab, std::memory_order_relaxed);
        throw std::system_error(err, std::generic_category(), "goro: mmap of goroutine stacks");
    }
    const std::size_t want_guards = guard_all ? kStacksPerSlab : 0;
    // Its stacks are carved (and their guards made) only when first handed
    // out (carve_locked): a reservation for a million queued goroutines that
    // run on a few recycled stacks costs one mmap per slab, not a guard and
    // a list entry per stack.
    try {
        std::lock_guard lk(impl_->mu);
        // Room first (what may throw), then the non-throwing filing.
        const std::size_t total = impl_->total + count;
        for (auto* list : {&impl_->warm, &impl_->cold})  // geometric growth: amortised O(1) per stack
            if (list->capacity() < total) list->reserve(std::max(total, 2 * list->capacity()));
        if (impl_->slabs.size() == impl_->slabs.capacity()) impl_->slabs.reserve(2 * impl_->slabs.size() + 16);
        impl_->slabs.push_back(Slab{static_cast<char*>(mem), len, count, 0, guard_all});
        impl_->guarded += want_guards;
        impl_->total = total;
        impl_->uncarved += count;
    } catch (const std::bad_alloc&) {
        ::munmap(mem, len);
        if (guard_all) g_guarded_stacks.fetch_sub(kStacksPerSlab, std::memory_order_relaxed);
        throw std::system_error(ENOMEM, std::generic_category(), "goro: no memory to list goroutine stacks");
    }
}

// Takes up to n stacks never handed out before from the slabs, in order.
// Each is marked guarded when it should get a guard; the caller makes the
// guards outside the lock (make_guards).
std::size_t StackPool::carve_locked(Stack* out, std::size_t n) noexcept {
    const std::size_t stride = kGuardSize + stack_size_;
    std::size_t take = 0;
    while (take < n && impl_->uncarved > 0) {
        Slab& slab = impl_->slabs[impl_->carve_next];
        if (slab.carved == slab.count) {
            ++impl_->carve_next;
            continue;
        }
        const std::size_t i = slab.carved++;
        --impl_->uncarved;
        out[take++] = Stack{slab.base + i * stride + kGuardSize, stack_size_, slab.guard_all || i == 0};
    }
    return take;
}

void StackPool::make_guards(Stack* fresh, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        // A failed mprotect (out of mappings after all) leaves a moat:
        // the stack is then checked like any unguarded one.
        if (fresh[i].guarded)
            fresh[i].guarded = ::mprotect(static_cast<char*>(fresh[i].base) - kGuardSize, kGuardSize, PROT_NONE) == 0;
    }
}

std::size_t StackPool::reserve(std::size_t want, std::size_t settle) {
    GORO_ASSERT(want > 0, "stack pool: a reservation of 0");
    std::optional<std::system_error> failure;  // mapping a slab failed: grant what is spare, if anything
    for (;;) {
        {
            std::lock_guard lk(impl_->mu);
            if (settle) {
                impl_->settle_locked(settle);
                settle = 0;
            }
            impl_->check_invariant();
            const std::size_t spare = impl_->free_count() - impl_->reserved;
            if (spare >= want + kReserveHeadroom || (failure && spare > 0)) {
                const std::size_t take = std::min(want, spare);
                impl_->reserved += take;
                return take;
            }
            if (failure) break;  // nothing spare and no slab: the pool is as it was
        }
        try {
            add_slab();  // outside the lock, like every mapping
        } catch (const std::system_error& e) {
            failure.emplace(e);
        }
    }
    throw *failure;
}

void StackPool::settle(std::size_t n) noexcept {
    if (n == 0) return;
    std::lock_guard lk(impl_->mu);
    impl_->settle_locked(n);
}

std::size_t StackPool::allocate_batch(Stack* out, std::size_t n, std::size_t consumed) noexcept {
    GORO_ASSERT(n > 0 && consumed > 0, "stack pool: a batch of %zu for %zu reservations", n, consumed);
    std::unique_lock lk(impl_->mu);
    impl_->check_invariant();
    impl_->settle_locked(consumed);
    // What the other reservations leave: at least `consumed` (the invariant
    // held before), so at least the caller's own stack.
    n = std::min(n, impl_->free_count() - impl_->reserved);
    std::size_t take = 0;
    while (take < n && !impl_->warm.empty()) {
        out[take++] = impl_->warm.back();
        impl_->warm.pop_back();
    }
    // Eating into what a trim would keep means the surplus is in use:
    // the pool has not settled (a program spawning in waves).
    if (impl_->warm.size() <= 2 * kWarmStacks)
        impl_->last_demand_ns.store(ns_of(goro::detail::Clock::now()), std::memory_order_relaxed);
    while (take < n && !impl_->cold.empty()) {
        out[take++] = impl_->cold.back();
        impl_->cold.pop_back();
    }
    const std::size_t carved_from = take;
    take += carve_locked(out + take, n - take);
    impl_->check_invariant();
    lk.unlock();
    make_guards(out + carved_from, take - carved_from);
    return take;
}

void StackPool::release_batch(const Stack* s, std::size_t n) noexcept {
    {
        std::lock_guard lk(impl_->mu);
        // No allocation here (nor in trim's filing): add_slab reserved room
        // in both lists for every stack ever carved.
        impl_->warm.insert(impl_->warm.end(), s, s + n);
        if (impl_->warm.size() > 2 * kWarmStacks) impl_->surplus.store(true, std::memory_order_relaxed);
    }
    // No trim here: release_batch runs on a goroutine's stack (the exiting
    // one's successor), too small for sorting thousands of stacks under a
    // sanitizer's frames. Workers trim from their own stacks (trim_if_settled).
}

goro::detail::TimePoint StackPool::trim_due() const noexcept {
    if (!impl_->surplus.load(std::memory_order_relaxed)) return goro::detail::TimePoint::max();
    return goro::detail::TimePoint(std::chrono::nanoseconds(impl_->last_demand_ns.load(std::memory_order_relaxed))) +
           kTrimSettle;
}

void StackPool::trim_if_settled(goro::detail::TimePoint now) noexcept {
    if (!impl_->surplus.load(std::memory_order_relaxed) || now < trim_due()) return;
    {
        std::lock_guard lk(impl_->mu);
        if (impl_->trimming) return;
        impl_->trimming = true;
    }
    trim();
}

void StackPool::trim() noexcept {
    std::vector<Stack> out;
    for (;;) {
        {
            std::lock_guard lk(impl_->mu);
            // Never a stack an outstanding reservation needs: while it is
            // being trimmed it is in neither list.
            const std::size_t spare = impl_->free_count() - impl_->reserved;
            if (impl_->warm.size() <= 2 * kWarmStacks || spare == 0) {
                impl_->trimming = false;
                impl_->surplus.store(false, std::memory_order_relaxed);
                return;
            }
            // The oldest (front) ones: the newest are the cache-hot ones.
            const std::size_t count = std::min(impl_->warm.size() - kWarmStacks, spare);
            auto end = impl_->warm.begin() + static_cast<std::ptrdiff_t>(count);
            try {
                out.assign(impl_->warm.begin(), end);
            } catch (const std::bad_alloc&) {
                impl_->trimming = false;  // no memory to sort them in: they stay warm for now
                return;
            }
            impl_->warm.erase(impl_->warm.begin(), end);
            impl_->check_invariant();
        }
        std::sort(out.begin(), out.end(), [](const Stack& a, const Stack& b) { return a.base < b.base; });
        for (std::size_t i = 0; i < out.size();) {
            char* lo = static_cast<char*>(out[i].base) - kGuardSize;
            char* hi = static_cast<char*>(out[i].top());
            std::size_t j = i + 1;
            while (j < out.size() && static_cast<char*>(out[j].base) - kGuardSize == hi)
                hi = static_cast<char*>(out[j++].top());
            // Guards are PROT_NONE and hold no pages; moats may (a harmless
            // overflow): both go back with their stacks.
            ::madvise(lo, static_cast<std::size_t>(hi - lo), MADV_DONTNEED);
            i = j;
        }
        std::lock_guard lk(impl_->mu);
        impl_->cold.insert(impl_->cold.end(), out.begin(), out.end());  // room reserved in add_slab
    }
}

StackPool::Counts StackPool::counts() const noexcept {
    std::lock_guard lk(impl_->mu);
    return Counts{impl_->warm.size(), impl_->cold.size(),     impl_->total,
                  impl_->guarded,     impl_->reserved,        impl_->uncarved};
}

void StackPool::fail_slabs_after(std::size_t slabs) noexcept {
    impl_->slabs_left.store(slabs, std::memory_order_relaxed);
}

}  // namespace goro::rt
