// fiber/stack.cpp — slab allocation, guards, pooling and trimming of
// goroutine stacks.
//
// Owns: the mappings behind every goroutine stack of one runtime. A slab is
// one mmap of `count` strides of [kGuardSize guard or moat][usable bytes].
// A slab's stacks are carved in order when first handed out
// (allocate_batch, carve_locked); their guards are made then, outside the
// lock (prepare), in one of two ways fixed when the slab is mapped:
//  * Guard regions (guard_regions_in_use(): the kernel accepted
//    MADV_GUARD_INSTALL on a scratch mapping, once per process). Every
//    stack's guard is a guard region: markers in the page tables of the
//    slab's one mapping. An mprotect(PROT_NONE) guard splits the mapping
//    (two of vm.max_map_count's mappings per stack, and an mprotect takes
//    the memory-map lock for writing); a guard region splits nothing, so
//    there is no budget, no moat and no canary. Slabs are big
//    (kRegionSlabBytes) since they cost no mapping each. A batch's guards
//    go in with one process_madvise(PIDFD_SELF, iovec[], MADV_GUARD_INSTALL)
//    (accepted on the caller's own process since Linux 6.13, PIDFD_SELF
//    since 6.14: no pidfd to keep, and a forked child names itself); when
//    the kernel refuses that call, one madvise per guard, and a guard the
//    kernel refuses even so becomes an mprotect guard (else a moat).
//  * The fallback (kernels without guard regions, or forced by a test:
//    force_mprotect_guards): a slab within the guard budget is kStacksPerSlab
//    stacks with one mprotect(PROT_NONE) per guard; a slab beyond it is
//    bigger and only its lowest stack gets one (so a runaway recursion
//    faults inside its slab at the latest, never in a thread's stack below
//    it); its other stacks have moats and canaries (stack.hpp).
// The top page of each stack of a batch that is fresh or back from a trim
// is faulted in by one process_madvise(MADV_POPULATE_WRITE) (Linux 5.14's
// advice, on the caller's process since 6.13): sleep_many's 100,000 first
// runs took a page fault each before. Without process_madvise on self the
// pages fault in at first use as before (a madvise per stack would cost
// what the fault costs).
// Invariants: every Stack handed out lies inside one slab; a stack is either
// uncarved, handed out, on warm or cold, or being trimmed (never two at
// once); slabs are unmapped only by ~StackPool, when no goroutine of the
// runtime is left; guards are never removed before that (MADV_DONTNEED
// keeps guard regions, and PROT_NONE guards hold no pages); an unguarded
// stack that is not handed out has zero canary bytes (fresh and trimmed
// pages are zero, and the scheduler stops the process at the exit of a
// goroutine whose canary is not);
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
// Guards are made at carving, not at mapping: a reservation for a million
// queued goroutines that run on a few recycled stacks maps slabs (address
// space) but must not install a million guards (a page of page table per
// 16 stacks: 256 MiB of page tables for a million, and the time to write
// them).
//
// Giving memory back: released stacks go to `warm` (LIFO: the next spawn
// gets the most recently used, cache-hot stack). When warm holds more than
// 2 * kWarmStacks and the pool has settled (no allocation has eaten into
// that surplus for kTrimSettle), the oldest ones down to kWarmStacks are
// taken out, sorted by address, and each run of adjacent stacks (their
// guards included: guard regions survive MADV_DONTNEED) is given back with
// one madvise(MADV_DONTNEED), outside the lock; they then go to `cold`,
// used after warm and before uncarved ones.
// The trim runs on a worker's own stack (g0), never a goroutine's: in the
// find-work loop, or from the idle worker whose sleep ends at trim_due()
// (sched/worker.cpp, sched/idle.cpp). Without the wait, skynet (spawning in waves)
// gave pages back between waves and faulted them in again: 1.5x slower.
// MADV_FREE would be cheaper but leaves the pages counted in RSS until the
// kernel needs them.
//
// Synchronisation: one SpinLock (Impl::mu) guards the lists and the slab
// list, held only to copy a batch; slabs are mapped, guards made, pages
// populated and stacks trimmed outside it. The workers' own caches (sched/)
// make it rare on the hot path. The process-wide switches (guard kind,
// whether process_madvise works) are relaxed atomics: each is a hint that
// any value of is safe.
//
// Rejected: one mmap per stack (a million goroutines would need a million
// mappings, over vm.max_map_count); malloc'd stacks (no guard pages at all,
// and glibc would hand the memory back and forth with the heap); holes
// (unmapped gaps) as guards: one mapping per stack instead of two, but any
// later mmap of the process may land in a hole; installing guards or
// populating pages per slab at mapping time (see Reservations); a pidfd
// from pidfd_open kept for process_madvise (a forked child would hold its
// parent's, and PIDFD_SELF needs none).
#include "fiber/stack.hpp"

#include "debug/assert.hpp"

#include <goro/detail/park.hpp>

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
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

// Linux 6.13's guard regions and 6.14's pidfd sentinel, for headers older
// than the kernel (glibc 2.36 has neither; the values are the kernel's ABI).
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef PIDFD_SELF_THREAD_GROUP
#define PIDFD_SELF_THREAD_GROUP (-10001)
#endif

namespace goro::rt {
namespace {

constexpr std::size_t kPage = 4096;
// Fallback slabs: 32 stacks a guarded slab, 4 MiB of address space at the
// default size (guards included). An unguarded slab is about
// kUnguardedSlabBytes, at most kMaxUnguardedSlab stacks (1024 at the
// default size). Guard-region slabs have the unguarded slabs' size: a slab
// costs an mmap and nothing per stack until carved.
constexpr std::size_t kStacksPerSlab = 32;
constexpr std::size_t kUnguardedSlabBytes = std::size_t{128} << 20;
constexpr std::size_t kMaxUnguardedSlab = 1024;
// reserve() maps until this many free stacks lie beyond the reservations
// (when it can): a first run on a worker whose cache is empty may then take
// a whole batch (allocate_batch hands out only spare stacks). Without it,
// goroutines that all park (sleepers_100k at two workers) were bound one
// pool round trip each: the spare was eaten as soon as it was mapped.
constexpr std::size_t kReserveHeadroom = 64;
// What prepare() faults in at the top of a fresh stack: the first frames
// of a goroutine (its entry, the function, a park) fit in one page.
constexpr std::size_t kPrefaultBytes = kPage;
// iovecs per process_madvise call (the kernel takes up to UIO_MAXIOV, 1024).
constexpr std::size_t kIovBatch = 64;

// PROT_NONE-guarded stacks handed out by all pools of the process
// (mappings are a process-wide resource). The fallback's budget counter.
std::atomic<std::size_t> g_guarded_stacks{0};

// Guard regions: -1 not probed yet, 0 refused, 1 accepted.
std::atomic<int> g_regions{-1};
std::atomic<bool> g_force_mprotect{false};  // test switch
// process_madvise on our own process works (cleared at its first refusal).
std::atomic<bool> g_process_madvise{true};

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

// Does the kernel install guard regions? Asked on a scratch mapping of our
// own, so that the answer costs no stack anything. EINVAL (an advice it
// does not know) is the usual no; any failure counts as one.
bool probe_guard_regions() noexcept {
    void* p = ::mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    const bool ok = ::madvise(p, kPage, MADV_GUARD_INSTALL) == 0;
    ::munmap(p, 2 * kPage);
    return ok;
}

// One advice over every range of iov[0..n), in one process_madvise call on
// our own process. False when that call did not cover them all: refused
// (the kernel predates process_madvise on self, or a seccomp filter forbids
// it; then never asked again), or stopped part way (the caller retries
// range by range: both advices used here may be given twice).
bool advise_ranges(iovec* iov, std::size_t n, int advice) noexcept {
    if (n == 0) return true;
    if (!g_process_madvise.load(std::memory_order_relaxed)) return false;
    std::size_t want = 0;
    for (std::size_t i = 0; i < n; ++i) want += iov[i].iov_len;
    long done = ::syscall(SYS_process_madvise, PIDFD_SELF_THREAD_GROUP, iov, n, advice, 0u);
    if (done < 0 && (errno == EINVAL || errno == EBADF || errno == ENOSYS || errno == EPERM || errno == ESRCH))
        g_process_madvise.store(false, std::memory_order_relaxed);
    return done >= 0 && static_cast<std::size_t>(done) == want;
}

}  // namespace

bool guard_regions_in_use() noexcept {
    if (g_force_mprotect.load(std::memory_order_relaxed)) return false;
    int r = g_regions.load(std::memory_order_relaxed);
    if (r < 0) {  // two first callers may both probe: same answer
        r = probe_guard_regions() ? 1 : 0;
        g_regions.store(r, std::memory_order_relaxed);
    }
    return r == 1;
}

void force_mprotect_guards(bool on) noexcept { g_force_mprotect.store(on, std::memory_order_relaxed); }

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
    char* base;          // the mapping: count strides of [guard or moat][stack]
    std::size_t len;     // bytes mapped
    std::size_t count;   // stacks in it
    std::size_t carved;  // stacks [0, carved) have been handed out at least once
    bool regions;        // every stack gets a guard region (else the fallback's kinds)
    bool guard_all;      // fallback within the budget: every stack gets an mprotect guard (else only the lowest)
};

struct StackPool::Impl {
    goro::detail::SpinLock mu{
        goro::detail::LockRank::StackPool};  // held for a batch copy; slabs are mapped and stacks trimmed outside it
    std::vector<Stack> warm;                 // guarded by mu: free, pages possibly resident
    std::vector<Stack> cold;                 // guarded by mu: free, pages given back
    std::vector<Slab> slabs;                 // guarded by mu: in mapping order
    std::size_t carve_next = 0;              // guarded by mu: slabs before it are carved whole
    std::size_t uncarved = 0;                // guarded by mu: stacks of slabs not yet carved
    std::size_t budget_taken = 0;            // guarded by mu: g_guarded_stacks slots our slabs hold
    std::size_t total = 0;                   // guarded by mu: stacks of all slabs, carved or not
    std::size_t reserved = 0;                // guarded by mu: <= warm.size() + cold.size()
    bool trimming = false;                   // guarded by mu: one trim at a time
    // When the pool last had to hand out more than its warm stacks (a cold
    // stack or a new slab): the surplus goes kTrimSettle after that. Relaxed:
    // a hint read by idle workers for their sleep's deadline.
    std::atomic<std::int64_t> last_demand_ns{0};
    std::atomic<bool> surplus{false};  // warm holds more than 2 * kWarmStacks
    // Carved stacks that got a guard, and those of them that are guard
    // regions (counts(); relaxed counters, written outside the lock).
    std::atomic<std::size_t> guards_made{0};
    std::atomic<std::size_t> regions_made{0};
    // Test hook (fail_slabs_after): slabs that may still be mapped.
    std::atomic<std::size_t> slabs_left{SIZE_MAX};

    std::size_t free_count() const noexcept { return warm.size() + cold.size() + uncarved; }  // REQUIRES(mu)
    void check_invariant() const noexcept {                                                   // REQUIRES(mu)
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
    // The fallback's budget is counted before this runtime adds mappings of its own.
    if (!guard_regions_in_use()) (void)guarded_stacks_budget();
}

StackPool::~StackPool() {
    impl_->check_invariant();
    for (const Slab& slab : impl_->slabs) ::munmap(slab.base, slab.len);
    g_guarded_stacks.fetch_sub(impl_->budget_taken, std::memory_order_relaxed);  // a plain counter
    delete impl_;
}

void StackPool::add_slab() {
    for (std::size_t left = impl_->slabs_left.load(std::memory_order_relaxed); left != SIZE_MAX;) {
        if (left == 0) throw std::system_error(ENOMEM, std::generic_category(), "goro: mmap of goroutine stacks");
        if (impl_->slabs_left.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) break;  // a counter
    }
    const std::size_t stride = kGuardSize + stack_size_;
    const std::size_t big = std::clamp(kUnguardedSlabBytes / stride, kStacksPerSlab, kMaxUnguardedSlab);
    const bool regions = guard_regions_in_use();
    bool guard_all = false;  // the fallback within its budget
    if (!regions) {
        std::size_t have = g_guarded_stacks.fetch_add(kStacksPerSlab, std::memory_order_relaxed);  // a budget counter
        guard_all = have + kStacksPerSlab <= guarded_stacks_budget();
        if (!guard_all) g_guarded_stacks.fetch_sub(kStacksPerSlab, std::memory_order_relaxed);
    }
    const std::size_t budget_slots = guard_all ? kStacksPerSlab : 0;
    // Beyond the budget, bigger slabs with only their lowest stack guarded:
    // a runaway recursion on an unguarded stack then faults at the latest at
    // its slab's bottom (and never runs into a thread's stack or TLS below),
    // for two mappings per kMaxUnguardedSlab stacks.
    const std::size_t count = guard_all ? kStacksPerSlab : big;
    const std::size_t len = stride * count;
    void* mem =
        ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mem == MAP_FAILED) {
        int err = errno;
        g_guarded_stacks.fetch_sub(budget_slots, std::memory_order_relaxed);
        throw std::system_error(err, std::generic_category(), "goro: mmap of goroutine stacks");
    }
    // Its stacks are carved (their guards made, their top pages populated)
    // only when first handed out (carve_locked, prepare): a reservation for
    // a million queued goroutines that run on a few recycled stacks costs
    // one mmap per slab, not a guard and a list entry per stack.
    try {
        std::lock_guard lk(impl_->mu);
        // Room first (what may throw), then the non-throwing filing.
        const std::size_t total = impl_->total + count;
        for (auto* list : {&impl_->warm, &impl_->cold})  // geometric growth: amortised O(1) per stack
            if (list->capacity() < total) list->reserve(std::max(total, 2 * list->capacity()));
        if (impl_->slabs.size() == impl_->slabs.capacity()) impl_->slabs.reserve(2 * impl_->slabs.size() + 16);
        impl_->slabs.push_back(Slab{static_cast<char*>(mem), len, count, 0, regions, guard_all});
        impl_->budget_taken += budget_slots;
        impl_->total = total;
        impl_->uncarved += count;
    } catch (const std::bad_alloc&) {
        ::munmap(mem, len);
        g_guarded_stacks.fetch_sub(budget_slots, std::memory_order_relaxed);
        throw std::system_error(ENOMEM, std::generic_category(), "goro: no memory to list goroutine stacks");
    }
}

// Takes up to n stacks never handed out before from the slabs, in order.
// Each is marked with the guard it should get; the caller makes the guards
// outside the lock (prepare).
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
        Stack s{slab.base + i * stride + kGuardSize, static_cast<std::uint32_t>(stack_size_)};
        s.guarded = slab.regions || slab.guard_all || i == 0;
        s.region = slab.regions;
        out[take++] = s;
    }
    return take;
}

namespace {

// A PROT_NONE guard below s (the fallback), or a moat when even that fails
// (out of mappings after all): the stack is then checked like any
// unguarded one.
void protect_guard(Stack& s) noexcept {
    s.region = false;
    s.guarded = ::mprotect(static_cast<char*>(s.base) - kGuardSize, kGuardSize, PROT_NONE) == 0;
}

}  // namespace

void StackPool::prepare(Stack* out, std::size_t cold_from, std::size_t fresh_from, std::size_t n) noexcept {
    iovec iov[kIovBatch];
    // Guard regions of the fresh stacks: one call per kIovBatch of them.
    for (std::size_t i = fresh_from; i < n;) {
        std::size_t k = 0, first = i;
        for (; i < n && k < kIovBatch; ++i)
            if (out[i].region) iov[k++] = iovec{static_cast<char*>(out[i].base) - kGuardSize, kGuardSize};
        if (advise_ranges(iov, k, MADV_GUARD_INSTALL)) continue;
        // Refused or cut short: guard by guard (installing one twice is
        // harmless); one the kernel will not take becomes an mprotect guard
        // below (two mappings, outside the budget: a rare failure's cost).
        for (std::size_t j = first; j < i; ++j)
            if (out[j].region &&
                ::madvise(static_cast<char*>(out[j].base) - kGuardSize, kGuardSize, MADV_GUARD_INSTALL) != 0)
                out[j].region = false;
    }
    std::size_t guards = 0, regions = 0;
    for (std::size_t i = fresh_from; i < n; ++i) {
        if (out[i].guarded && !out[i].region) protect_guard(out[i]);  // the fallback's guards
        guards += out[i].guarded;
        regions += out[i].region;
    }
    impl_->guards_made.fetch_add(guards, std::memory_order_relaxed);  // counters for counts()
    impl_->regions_made.fetch_add(regions, std::memory_order_relaxed);
    // The top pages of every stack that has none resident: the cold ones
    // (back from a trim) and the fresh ones, out[cold_from..n). Best effort:
    // a refusal leaves the pages to fault in at first use.
    for (std::size_t i = cold_from; i < n;) {
        std::size_t k = 0;
        for (; i < n && k < kIovBatch; ++i)
            iov[k++] = iovec{static_cast<char*>(out[i].top()) - kPrefaultBytes, kPrefaultBytes};
        if (!advise_ranges(iov, k, MADV_POPULATE_WRITE) && !g_process_madvise.load(std::memory_order_relaxed)) break;
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
    const std::size_t cold_from = take;
    while (take < n && !impl_->cold.empty()) {
        out[take++] = impl_->cold.back();
        impl_->cold.pop_back();
    }
    const std::size_t carved_from = take;
    take += carve_locked(out + take, n - take);
    impl_->check_invariant();
    lk.unlock();
    prepare(out, cold_from, carved_from, take);
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
            // Guards hold no pages (guard regions keep their markers through
            // MADV_DONTNEED; PROT_NONE guards were never touched); moats may
            // (a harmless overflow): they go back with their stacks.
            ::madvise(lo, static_cast<std::size_t>(hi - lo), MADV_DONTNEED);
            i = j;
        }
        std::lock_guard lk(impl_->mu);
        impl_->cold.insert(impl_->cold.end(), out.begin(), out.end());  // room reserved in add_slab
    }
}

StackPool::Counts StackPool::counts() const noexcept {
    std::lock_guard lk(impl_->mu);
    Counts c;
    c.warm = impl_->warm.size();
    c.cold = impl_->cold.size();
    c.total = impl_->total;
    c.guarded = impl_->guards_made.load(std::memory_order_relaxed);
    c.regions = impl_->regions_made.load(std::memory_order_relaxed);
    c.reserved = impl_->reserved;
    c.uncarved = impl_->uncarved;
    return c;
}

void StackPool::fail_slabs_after(std::size_t slabs) noexcept {
    impl_->slabs_left.store(slabs, std::memory_order_relaxed);
}

}  // namespace goro::rt
