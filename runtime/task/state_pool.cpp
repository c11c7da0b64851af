// task/state_pool.cpp — recycled memory for task states (TaskShared<R>).
//
// Owns: the per-thread caches and the process-wide depot behind
// state_alloc() / state_free() (include/goro/detail/task_core.hpp).
//
// Why: a Task's shared state is the one heap allocation a spawn makes (the
// goroutine and its entry live in a pooled G). Ten thousand states alive at
// once fall out of glibc's small per-thread cache into its arena: the
// malloc/free pair then cost as much as the whole goroutine (see
// bench/task_spawn_get), and states freed on another worker than the one
// that allocated them take the arena's lock. Go's answer is a per-P cache
// of same-size objects in front of a central list; this is the same idea,
// the magazine allocator of Bonwick and Adams (USENIX 2001).
//
// Layout: sizes up to kMaxPooled bytes are rounded up to a multiple of
// kGrain (one cache line: neighbouring states written by different workers
// do not share a line). For each size class, each thread holds two
// magazines, singly linked lists of free blocks, `loaded` (0..kMagazine
// blocks) and `spare` (empty or exactly kMagazine); the depot holds full
// magazines, at most kDepotMagazines per class.
//   alloc: pop `loaded`; if it is empty, swap in `spare`; if that is empty
//          too, take a full magazine from the depot; else ::operator new.
//   free:  push on `loaded`; if it is full, it becomes `spare`, and the
//          old full spare goes to the depot, or back to ::operator delete
//          block by block when the depot is full.
// So a thread reaches the depot's lock at most once per kMagazine calls,
// and memory kept for reuse is bounded: kDepotMagazines * kMagazine blocks
// per class, plus two magazines per thread (handed to the depot when the
// thread exits; a task dropped by a thread_local destroyed after that goes
// straight back to ::operator delete).
//
// Invariants: a block is in at most one list; every block came from
// ::operator new(class size, align kGrain) and goes back through the
// matching ::operator delete. The thread caches are touched only by their
// thread, the depot only under its mutex, so the mutex orders a block's
// last use on one thread before its reuse on another (with the task
// state's own release/acquire count, which orders the last owner's accesses
// before the free).
//
// Under AddressSanitizer the pool steps aside (every call is ::operator
// new/delete) so that a use after free is still reported.
//
// The functions are out of line on purpose: they use thread_local storage,
// and a goroutine may resume on another thread, so no caller may keep a
// thread-local address across a switch (see fiber/context.hpp).
#include <goro/detail/task_core.hpp>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define GORO_STATE_POOL_BYPASS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GORO_STATE_POOL_BYPASS 1
#endif
#endif

namespace goro::detail {

namespace {

constexpr std::size_t kGrain = 64;
constexpr std::size_t kMaxPooled = 256;
constexpr std::size_t kClasses = kMaxPooled / kGrain;
constexpr std::uint32_t kMagazine = 256;
constexpr std::size_t kDepotMagazines = 64;  // per class: 64 * 256 blocks (2 MiB at 128 bytes)

constexpr std::align_val_t kAlign{kGrain};

[[maybe_unused]] std::size_t class_of(std::size_t bytes) noexcept {
    return (bytes - 1) / kGrain;
}  // bytes in 1..kMaxPooled
std::size_t class_bytes(std::size_t cls) noexcept { return (cls + 1) * kGrain; }

struct FreeBlock {
    FreeBlock* next;
};

struct Magazine {
    FreeBlock* head = nullptr;
    std::uint32_t count = 0;

    void push(void* p) noexcept {
        auto* b = static_cast<FreeBlock*>(p);
        b->next = head;
        head = b;
        ++count;
    }
    void* pop() noexcept {
        FreeBlock* b = head;
        head = b->next;
        --count;
        return b;
    }
};

void delete_blocks(Magazine& m) noexcept {
    while (m.count) ::operator delete(m.pop(), kAlign);
}

// The depot: full magazines shared by every thread. Never destroyed, so a
// thread that exits during static destruction can still hand its blocks in.
struct Depot {
    std::mutex mu;
    std::vector<Magazine> full[kClasses];  // guarded by mu; each holds kMagazine blocks

    bool take(std::size_t cls, Magazine& out) {
        std::lock_guard lk(mu);
        if (full[cls].empty()) return false;
        out = full[cls].back();
        full[cls].pop_back();
        return true;
    }
    // put() keeps m or, when the depot is full, frees its blocks; m is empty after.
    void put(std::size_t cls, Magazine& m) noexcept {
        {
            std::lock_guard lk(mu);
            if (full[cls].size() < kDepotMagazines) {
                try {
                    full[cls].push_back(m);
                    m = Magazine{};
                    return;
                } catch (const std::bad_alloc&) {
                    // no room to remember it: free the blocks below
                }
            }
        }
        delete_blocks(m);
    }
};

Depot& depot() {
    static Depot* const d = new Depot;  // immortal; see above
    return *d;
}

// A thread's magazines. Constant-initialized and trivially destructible, so
// that the hot paths reach it without a thread_local guard; the hand-in at
// thread exit is a separate object, armed by the thread's first free.
struct ThreadCache {
    Magazine loaded[kClasses];
    Magazine spare[kClasses];
    bool flush_armed = false;  // the hand-in at exit is registered
    bool exited = false;       // the hand-in has run: later frees go to ::operator delete
};

constinit thread_local ThreadCache t_cache{};

struct ThreadCacheFlush {
    bool armed = false;
    ThreadCacheFlush() = default;
    ThreadCacheFlush(const ThreadCacheFlush&) = delete;
    ThreadCacheFlush& operator=(const ThreadCacheFlush&) = delete;
    ~ThreadCacheFlush() {
        ThreadCache& tc = t_cache;
        // A thread_local destroyed after this one may still drop a task.
        tc.exited = true;
        tc.flush_armed = false;
        for (std::size_t c = 0; c < kClasses; ++c) {
            if (tc.spare[c].count == kMagazine) depot().put(c, tc.spare[c]);
            delete_blocks(tc.spare[c]);
            delete_blocks(tc.loaded[c]);  // partial: not worth a depot slot
        }
    }
};

thread_local ThreadCacheFlush t_cache_flush;

[[gnu::noinline]] void arm_flush(ThreadCache& tc) noexcept {
    t_cache_flush.armed = true;  // constructs it, which registers its destructor
    tc.flush_armed = true;
}

// The slow halves, out of line so that the fast paths stay a few
// instructions without a stack frame.
[[gnu::noinline, maybe_unused]] void* alloc_refill(ThreadCache& tc, std::size_t cls) {
    Magazine& m = tc.loaded[cls];  // empty
    if (tc.spare[cls].count) {
        std::swap(m, tc.spare[cls]);
        return m.pop();
    }
    if (!tc.exited && depot().take(cls, m)) return m.pop();
    return ::operator new(class_bytes(cls), kAlign);
}

[[gnu::noinline, maybe_unused]] void free_spill(ThreadCache& tc, std::size_t cls, void* p) noexcept {
    if (tc.exited) {
        ::operator delete(p, kAlign);
        return;
    }
    if (!tc.flush_armed) arm_flush(tc);
    Magazine& m = tc.loaded[cls];
    if (m.count == kMagazine) {
        if (tc.spare[cls].count) depot().put(cls, tc.spare[cls]);  // a full one: keep it for another thread
        std::swap(m, tc.spare[cls]);                               // loaded is empty now
    }
    m.push(p);
}

}  // namespace

void* state_alloc(std::size_t bytes) {
#ifndef GORO_STATE_POOL_BYPASS
    if (bytes - 1 < kMaxPooled) {  // 1..kMaxPooled (0 wraps around and is not pooled)
        const std::size_t cls = class_of(bytes);
        ThreadCache& tc = t_cache;
        Magazine& m = tc.loaded[cls];
        if (m.count) [[likely]]
            return m.pop();
        return alloc_refill(tc, cls);
    }
#endif
    return ::operator new(bytes, kAlign);
}

void state_free(void* p, [[maybe_unused]] std::size_t bytes) noexcept {
#ifndef GORO_STATE_POOL_BYPASS
    if (bytes - 1 < kMaxPooled) {
        const std::size_t cls = class_of(bytes);
        ThreadCache& tc = t_cache;
        Magazine& m = tc.loaded[cls];
        if (m.count < kMagazine && tc.flush_armed) [[likely]] {
            m.push(p);
            return;
        }
        free_spill(tc, cls, p);
        return;
    }
#endif
    ::operator delete(p, kAlign);
}

}  // namespace goro::detail
