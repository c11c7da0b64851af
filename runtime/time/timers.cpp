// time/timers.cpp — a 4-ary min-heap of TimerNodes under one lock.
//
// See timers.hpp for the protocol. A 4-ary heap halves the depth of a binary
// one and keeps siblings in one cache line (Go's runtime uses the same
// arity). Rejected: a timing wheel (cheaper inserts, but coarse and needs a
// ticking thread or scan); per-worker heaps (less contention, but stealing
// timers between workers is a large piece of machinery this runtime does not
// need at its target sizes: 100k concurrent sleepers run at Go's speed here).
#include "time/timers.hpp"

#include <mutex>

namespace goro::rt {

Timers::~Timers() {
    // Only heap-owned nodes (after()) can still be pending: every goroutine
    // that had a node on its stack has ended.
    for (Entry e : heap_) {
        e.node->index = -1;
        if (e.node->drop) e.node->drop(e.node);
    }
}

// The heap holds each deadline next to its node, so sifting compares
// without touching the nodes (they live on goroutine stacks all over memory);
// only a node that moves gets its index written.
void Timers::place(std::size_t i, Entry e) {
    heap_[i] = e;
    e.node->index = static_cast<std::int32_t>(i);
}

void Timers::sift_up(std::size_t i) {
    Entry e = heap_[i];
    while (i > 0) {
        std::size_t parent = (i - 1) / 4;
        if (heap_[parent].when <= e.when) break;
        place(i, heap_[parent]);
        i = parent;
    }
    place(i, e);
}

void Timers::sift_down(std::size_t i) {
    Entry e = heap_[i];
    const std::size_t size = heap_.size();
    for (;;) {
        std::size_t first = 4 * i + 1;
        if (first >= size) break;
        std::size_t best = first;
        std::size_t last = first + 4 < size ? first + 4 : size;
        for (std::size_t c = first + 1; c < last; ++c)
            if (heap_[c].when < heap_[best].when) best = c;
        if (e.when <= heap_[best].when) break;
        place(i, heap_[best]);
        i = best;
    }
    place(i, e);
}

void Timers::remove_at(std::size_t i) {
    Entry gone = heap_[i];
    Entry last = heap_.back();
    heap_.pop_back();
    gone.node->index = -1;
    if (last.node == gone.node) return;
    place(i, last);
    if (i > 0 && heap_[(i - 1) / 4].when > last.when) sift_up(i);
    else sift_down(i);
}

void Timers::update_earliest_locked() {
    auto t = heap_.empty() ? detail::TimePoint::max() : heap_[0].when;
    earliest_ns_.store(t.time_since_epoch().count(), std::memory_order_release);  // pairs with acquire in next_deadline
}

bool Timers::add(TimerNode* n) {
    std::lock_guard lk(mu_);
    heap_.push_back(Entry{n->when, n});
    sift_up(heap_.size() - 1);
    bool earliest = heap_[0].node == n;
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
            while (n < kBatch && !heap_.empty() && heap_[0].when <= now) {
                due[n++] = heap_[0].node;
                remove_at(0);
            }
            update_earliest_locked();
        }
        for (int i = 0; i < n; ++i) due[i]->fire(due[i]);
        total += n;
        if (n < kBatch) return total;
    }
}

}  // namespace goro::rt
