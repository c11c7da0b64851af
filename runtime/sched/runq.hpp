// sched/runq.hpp — a processor's local run queue.
//
// Owns: a bounded ring of runnable goroutines. One owner (the worker holding
// the P) pushes at the tail and pops at the head; any other worker may steal
// half from the head. Go's runq algorithm (proc.go runqput/runqget/runqgrab):
//  * tail_ is written only by the owner; head_ advances by CAS (owner pops and
//    thieves race for it, the CAS picks one).
//  * A queue no thief can reach yet (one worker) is popped with plain loads
//    and stores (pop_unshared); see P::owner_only for the hand-over.
//  * Slots [head_, tail_) hold Gs; the owner writes a slot only when
//    tail_ - head_ < kCapacity, i.e. into a slot no thief can still be
//    reading under a head value that could succeed.
// Capacity is a template knob so tests can shrink it to force overflow.
#pragma once

#include "sched/g.hpp"

#include <atomic>
#include <cstdint>

namespace goro::rt {

template <std::uint32_t kCapacity>
class RunQueue {
    static_assert((kCapacity & (kCapacity - 1)) == 0, "capacity must be a power of two");

public:
    // Owner only. False when full (the caller moves half to the global queue).
    bool push(detail::G* g) noexcept {
        std::uint32_t h = head_.load(std::memory_order_acquire);  // pairs with release CAS in pop/steal
        std::uint32_t t = tail_.load(std::memory_order_relaxed);  // owner's own field
        if (t - h >= kCapacity) return false;
        slots_[t & kMask].store(g, std::memory_order_relaxed);
        tail_.store(t + 1, std::memory_order_release);  // publishes the slot; pairs with acquire in steal_into
        return true;
    }

    // Owner only.
    detail::G* pop() noexcept {
        for (;;) {
            std::uint32_t h = head_.load(std::memory_order_acquire);  // pairs with release CAS in steal_into
            std::uint32_t t = tail_.load(std::memory_order_relaxed);  // owner's own field
            if (h == t) return nullptr;
            detail::G* g = slots_[h & kMask].load(std::memory_order_relaxed);
            if (head_.compare_exchange_weak(h, h + 1, std::memory_order_release,
                                            std::memory_order_relaxed))  // release: frees the slot for push
                return g;
        }
    }

    // Owner only, and only while no other thread can reach this queue (a
    // one-worker runtime: P::owner_only): pop() without the read-modify-write,
    // which is the dearest instruction of a yield. Relaxed: the owner is the
    // only thread touching head_ until it publishes the queue (P::stealable).
    detail::G* pop_unshared() noexcept {
        std::uint32_t h = head_.load(std::memory_order_relaxed);
        if (h == tail_.load(std::memory_order_relaxed)) return nullptr;
        detail::G* g = slots_[h & kMask].load(std::memory_order_relaxed);
        head_.store(h + 1, std::memory_order_relaxed);
        return g;
    }

    // Owner only: takes up to `max` Gs from the head into out[]; returns how many.
    std::uint32_t pop_batch(detail::G** out, std::uint32_t max) noexcept {
        for (;;) {
            std::uint32_t h = head_.load(std::memory_order_acquire);  // pairs with release CAS in steal_into
            std::uint32_t t = tail_.load(std::memory_order_relaxed);
            std::uint32_t n = t - h;
            if (n > max) n = max;
            if (n == 0) return 0;
            for (std::uint32_t i = 0; i < n; ++i) out[i] = slots_[(h + i) & kMask].load(std::memory_order_relaxed);
            if (head_.compare_exchange_weak(h, h + n, std::memory_order_release, std::memory_order_relaxed)) return n;
        }
    }

    // Any thread: moves half of this queue into `dst` (owned by the caller).
    // Returns the number moved. dst must be empty.
    std::uint32_t steal_into(RunQueue& dst) noexcept {
        std::uint32_t dt = dst.tail_.load(std::memory_order_relaxed);  // dst is the caller's own queue
        for (;;) {
            std::uint32_t h = head_.load(std::memory_order_acquire);  // pairs with release CAS in pop
            std::uint32_t t = tail_.load(std::memory_order_acquire);  // pairs with release store in push
            std::uint32_t n = t - h;
            n -= n / 2;
            if (n == 0) return 0;
            if (n > kCapacity / 2) continue;  // inconsistent h/t read; retry
            for (std::uint32_t i = 0; i < n; ++i) {
                detail::G* g = slots_[(h + i) & kMask].load(std::memory_order_relaxed);
                dst.slots_[(dt + i) & kMask].store(g, std::memory_order_relaxed);
            }
            if (head_.compare_exchange_weak(h, h + n, std::memory_order_acq_rel, std::memory_order_relaxed)) {
                dst.tail_.store(dt + n,
                                std::memory_order_release);  // publishes the slots; pairs with acquire in steal_into
                return n;
            }
        }
    }

    std::uint32_t size() const noexcept {
        std::uint32_t h = head_.load(std::memory_order_acquire);
        std::uint32_t t = tail_.load(std::memory_order_acquire);
        return t - h;  // may be stale; a hint
    }
    bool empty() const noexcept { return size() == 0; }

private:
    static constexpr std::uint32_t kMask = kCapacity - 1;
    alignas(64) std::atomic<std::uint32_t> head_{0};
    alignas(64) std::atomic<std::uint32_t> tail_{0};
    alignas(64) std::atomic<detail::G*> slots_[kCapacity]{};
};

}  // namespace goro::rt
