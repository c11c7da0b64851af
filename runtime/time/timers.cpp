// time/timers.cpp — a 4-ary min-heap of TimerNodes under one mutex.
//
// See timers.hpp for the protocol. A 4-ary heap halves the depth of a binary
// one and keeps siblings in one cache line (Go's runtime uses the same
// arity). Rejected: a timing wheel (cheaper inserts, but coarse and needs a
// ticking thread or scan); per-worker heaps (less contention, but stealing
// timers between workers is a large piece of machinery this runtime does not
// need at its target sizes: 100k concurrent sleepers run at Go's speed here).
#include "time/timers.hpp"

#include "sched/scheduler.hpp"

#include <goro/time.hpp>

#include <goro/detail/waitlist.hpp>

namespace goro::rt {

Timers::~Timers() {
    // Only heap-owned nodes (after()) can still be pending: every goroutine
    // that had a node on its stack has ended.
    for (TimerNode* n : heap_) {
        n->index = -1;
        if (n->drop) n->drop(n);
    }
}

void Timers::sift_up(std::size_t i) {
    TimerNode* n = heap_[i];
    while (i > 0) {
        std::size_t parent = (i - 1) / 4;
        if (heap_[parent]->when <= n->when) break;
        heap_[i] = heap_[parent];
        heap_[i]->index = static_cast<std::int32_t>(i);
        i = parent;
    }
    heap_[i] = n;
    n->index = static_cast<std::int32_t>(i);
}

void Timers::sift_down(std::size_t i) {
    TimerNode* n = heap_[i];
    const std::size_t size = heap_.size();
    for (;;) {
        std::size_t first = 4 * i + 1;
        if (first >= size) break;
        std::size_t best = first;
        std::size_t last = first + 4 < size ? first + 4 : size;
        for (std::size_t c = first + 1; c < last; ++c)
            if (heap_[c]->when < heap_[best]->when) best = c;
        if (n->when <= heap_[best]->when) break;
        heap_[i] = heap_[best];
        heap_[i]->index = static_cast<std::int32_t>(i);
        i = best;
    }
    heap_[i] = n;
    n->index = static_cast<std::int32_t>(i);
}

void Timers::remove_at(std::size_t i) {
    TimerNode* gone = heap_[i];
    TimerNode* last = heap_.back();
    heap_.pop_back();
    gone->index = -1;
    if (last == gone) return;
    heap_[i] = last;
    last->index = static_cast<std::int32_t>(i);
    if (i > 0 && heap_[(i - 1) / 4]->when > last->when) sift_up(i); else sift_down(i);
}

void Timers::update_earliest_locked() {
    auto t = heap_.empty() ? detail::TimePoint::max() : heap_[0]->when;
    earliest_ns_.store(t.time_since_epoch().count(), std::memory_order_release);  // pairs with acquire in next_deadline
}

bool Timers::add(TimerNode* n) {
    std::lock_guard lk(mu_);
    heap_.push_back(n);
    sift_up(heap_.size() - 1);
    bool earliest = heap_[0] == n;
    if (earliest) update_earliest_locked();
    return earliest;
}

bool Timers::remove(TimerNode* n) {
    std::lock_guard lk(mu_);
    if (n->index < 0) return false;
    bool was_top = n->index == 0;
    remove_at(static_cast<std::size_t>(n->index));
    if (was_top) update_earliest_locked();
    return true;
}

int Timers::run_expired(detail::TimePoint now) {
    if (next_deadline() > now) return 0;
    // Fire in batches so the lock is not held while goroutines are readied.
    constexpr int kBatch = 64;
    TimerNode* due[kBatch];
    int total = 0;
    for (;;) {
        int n = 0;
        {
            std::lock_guard lk(mu_);
            while (n < kBatch && !heap_.empty() && heap_[0]->when <= now) {
                due[n++] = heap_[0];
                remove_at(0);
            }
            update_earliest_locked();
        }
        for (int i = 0; i < n; ++i) due[i]->fire(due[i]);
        total += n;
        if (n < kBatch) return total;
    }
}

std::size_t Timers::size() const {
    std::lock_guard lk(mu_);
    return heap_.size();
}

}  // namespace goro::rt
