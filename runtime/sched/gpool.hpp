// sched/gpool.hpp — the pool of goroutine descriptors (G) behind the per-P
// free lists. The allocation protocol is in gpool.cpp.
#pragma once

#include "sched/g.hpp"

#include <goro/detail/park.hpp>

#include <cstddef>
#include <memory>
#include <vector>

namespace goro::rt {

// Free descriptors and stacks a P keeps for itself before giving half back.
inline constexpr int kLocalCacheMax = 64;
// Descriptors are allocated this many at a time, and handed between the
// pool and the Ps in batches of kGBatch.
inline constexpr std::size_t kGChunk = 256;
inline constexpr int kGBatch = kLocalCacheMax / 2;
static_assert(kGChunk % kGBatch == 0);

class GPool {
public:
    GPool() = default;
    ~GPool();
    GPool(const GPool&) = delete;
    GPool& operator=(const GPool&) = delete;

    // A batch of free descriptors chained through G::next (a fresh chunk's
    // if none is free); count set to its length.
    detail::G* take_batch(int& count);
    // One free descriptor (a plain thread's spawn).
    detail::G* take_one();
    // Gives back `count` descriptors chained through G::next from `head`.
    void give_batch(detail::G* head, int count);
    // The chunks allocated so far (their descriptors live as long as the
    // pool; chunks added later are not included).
    std::vector<detail::G*> chunks() const;

private:
    struct Batch {
        detail::G* head;  // a chain through G::next
        int count;
    };
    void add_chunk();  // EXCLUDES(mu_)

    // A SpinLock: held for a few pointer moves (a batch of 32 descriptors);
    // a std::mutex here made the workers sleep in futex calls under load.
    mutable detail::SpinLock mu_{detail::LockRank::GPool};
    std::vector<std::unique_ptr<detail::G[]>> chunks_;  // guarded by mu_; never freed before the pool
    // The same chunks as plain pointers, for the gdb extension
    // (debug/gdb_info.hpp goro_debug_info); guarded by mu_.
    std::vector<detail::G*> chunk_index_;
    std::vector<Batch> batches_;                        // guarded by mu_
};

}  // namespace goro::rt
