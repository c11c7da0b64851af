// time/timers.cpp — per-P shards of 4-ary min-heaps, and the global
// earliest deadline over them (hint_).
//
// See timers.hpp for the protocol and the orderings. A 4-ary heap halves the
// depth of a binary one and keeps siblings in one cache line (Go's runtime
// uses the same arity). Rejected: a timing wheel (cheaper inserts, but coarse
// and needs a ticking thread or scan); one heap for the whole runtime (the
// design before issue 15: every arm and every fire of every worker took one
// lock and moved one heap's lines between cores); a global count of pending
// timers for empty() (one more shared read-modify-write on every arm and
// every fire: hint_ is written only when the earliest deadline moves).
#include "time/timers.hpp"

#include "debug/assert.hpp"

#include <algorithm>
#include <mutex>

namespace goro::rt {

namespace {
std::int64_t ticks(detail::TimePoint t) noexcept { return t.time_since_epoch().count(); }
}  // namespace

// ---------------------------------------------------------------- a shard

// The heap holds each deadline next to its node, so sifting compares
// without touching the nodes (they live on goroutine stacks all over memory);
// only a node that moves gets its index written.
void TimerShard::place(std::size_t i, Entry e) {
    heap[i] = e;
    e.node->index = static_cast<std::int32_t>(i);
}

void TimerShard::sift_up(std::size_t i) {
    Entry e = heap[i];
    while (i > 0) {
        std::size_t parent = (i - 1) / 4;
        if (heap[parent].when <= e.when) break;
        place(i, heap[parent]);
        i = parent;
    }
    place(i, e);
}

void TimerShard::sift_down(std::size_t i) {
    Entry e = heap[i];
    const std::size_t size = heap.size();
    for (;;) {
        std::size_t first = 4 * i + 1;
        if (first >= size) break;
        std::size_t best = first;
        std::size_t last = first + 4 < size ? first + 4 : size;
        for (std::size_t c = first + 1; c < last; ++c)
            if (heap[c].when < heap[best].when) best = c;
        if (e.when <= heap[best].when) break;
        place(i, heap[best]);
        i = best;
    }
    place(i, e);
}

void TimerShard::remove_at(std::size_t i) {
    Entry gone = heap[i];
    Entry last = heap.back();
    heap.pop_back();
    gone.node->index = -1;
    if (last.node == gone.node) return;
    place(i, last);
    if (i > 0 && heap[(i - 1) / 4].when > last.when) sift_up(i);
    else sift_down(i);
}

void TimerShard::update_earliest_locked() {
    const std::int64_t t = heap.empty() ? ticks(detail::TimePoint::max()) : ticks(heap[0].when);
    // We are the only writer (under mu): skip the store when nothing moved.
    // seq_cst: the mirror store is the first step of the hint protocol
    // (timers.hpp), before the adder's load of hint_ and the raiser's scans.
    if (earliest_ns.load(std::memory_order_relaxed) != t) earliest_ns.store(t, std::memory_order_seq_cst);
}

// ---------------------------------------------------------------- the facade

Timers::Timers(int max_shards)
    : max_shards_(max_shards < 1 ? 1 : max_shards), shards_(new std::atomic<TimerShard*>[max_shards_]) {
    for (int i = 0; i < max_shards_; ++i) shards_[i].store(nullptr, std::memory_order_relaxed);
    add_shard(0);
}

std::int64_t Timers::pending(int i) const noexcept {
    const int n = nshards_.load(std::memory_order_acquire);
    std::int64_t total = 0;
    for (int k = i < 0 ? 0 : i; k < (i < 0 ? n : std::min(i + 1, n)); ++k) {
        TimerShard* s = shards_[k].load(std::memory_order_acquire);
        std::lock_guard lk(s->mu);
        total += static_cast<std::int64_t>(s->heap.size());
    }
    return total;
}

Timers::~Timers() {
    // Only heap-owned nodes (after()) can still be pending: every goroutine
    // that had a node on its stack has ended.
    const int n = nshards_.load(std::memory_order_acquire);
    for (int i = 0; i < n; ++i) {
        TimerShard* s = shards_[i].load(std::memory_order_acquire);
        for (TimerShard::Entry e : s->heap) {
            e.node->index = -1;
            if (e.node->drop) e.node->drop(e.node);
        }
        delete s;
    }
}

void Timers::add_shard(int i) {
    GORO_ASSERT(i >= 0 && i < max_shards_, "timer shard %d of %d", i, max_shards_);
    int n = nshards_.load(std::memory_order_relaxed);  // only we write it (callers serialise)
    if (i < n) return;
    for (; n <= i; ++n) shards_[n].store(new TimerShard, std::memory_order_release);  // pairs with acquire in the scans
    nshards_.store(n, std::memory_order_release);  // pairs with acquire in shards(), scan_min, run_expired
}

bool Timers::lower_hint(std::int64_t t) noexcept {
    // seq_cst load and CAS: both steps are in S (timers.hpp); a load that
    // finds hint_ already low enough is the add's "read before the raise".
    std::int64_t cur = hint_.load(std::memory_order_seq_cst);
    while (t < cur)
        if (hint_.compare_exchange_weak(cur, t, std::memory_order_seq_cst, std::memory_order_seq_cst)) return true;
    return false;
}

std::int64_t Timers::scan_min() const noexcept {
    const int n = nshards_.load(std::memory_order_acquire);  // pairs with release in add_shard
    std::int64_t m = kNone;
    for (int i = 0; i < n; ++i) {
        std::int64_t e = shards_[i].load(std::memory_order_acquire)->earliest();
        if (e < m) m = e;
    }
    return m;
}

bool Timers::refresh_hint() noexcept {
    std::int64_t old = hint_.load(std::memory_order_seq_cst);
    for (;;) {
        const std::int64_t m = scan_min();
        // Lower: an add stored its shard's mirror and has not lowered hint_
        // yet. Lower it for that add (which will then find nothing to do and
        // wake nobody): so we report it, and our caller wakes the sleeper.
        if (m < old) return lower_hint(m);
        if (m == old) return false;
        // Raise. If the CAS fails, hint_ moved meanwhile (`old` now holds
        // it): scan again. If it succeeds, scan again too: an add whose load
        // of hint_ came before our CAS may have found it low enough and left
        // it alone, but its mirror store precedes our CAS in S, so the next
        // scan sees it and the first branch lowers hint_ for it (timers.hpp).
        // And a remove of another shard's top whose load of hint_ came before
        // our CAS may have found its deadline later than hint_ and left the
        // re-computation to us, while our scan read its mirror before the
        // remove: the next scan sees the later mirror and raises again (else
        // hint_ would stay at a deadline nobody has until it passes).
        if (hint_.compare_exchange_strong(old, m, std::memory_order_seq_cst, std::memory_order_seq_cst)) old = m;
    }
}

bool Timers::add(TimerNode* n, int shard) {
    GORO_ASSERT(shard >= 0 && shard < nshards_.load(std::memory_order_relaxed), "timer shard %d", shard);
    TimerShard* s = shards_[shard].load(std::memory_order_acquire);  // pairs with release in add_shard
    const std::int64_t when = ticks(n->when);  // n may fire (and be freed) once the lock is released
    n->shard = s;
    bool top;
    {
        std::lock_guard lk(s->mu);
        s->heap.push_back(TimerShard::Entry{n->when, n});
        s->sift_up(s->heap.size() - 1);
        top = s->heap[0].node == n;
        if (top) s->update_earliest_locked();
    }
    // Not the shard's earliest: an earlier node of this shard bounds hint_
    // (and whoever takes that one out re-computes hint_ and sees ours).
    return top && lower_hint(when);
}

bool Timers::remove(TimerNode* n, bool* lowered) {
    if (lowered) *lowered = false;
    TimerShard* s = n->shard;  // written by the owner's add(), which came before (timers.hpp)
    if (!s) return false;      // never added
    const std::int64_t when = ticks(n->when);
    bool was_top;
    {
        std::lock_guard lk(s->mu);
        if (n->index < 0) return false;
        was_top = n->index == 0;
        s->remove_at(static_cast<std::size_t>(n->index));
        if (was_top) s->update_earliest_locked();
    }
    // Its shard's earliest moved later. If it may have been the global
    // earliest (hint_ is never later than it but for a moment), recompute:
    // else a cancelled timeout would leave hint_ early, and an idle worker
    // would wake for it (and the deadlock watch would see a timer pending).
    if (was_top && when <= hint_.load(std::memory_order_seq_cst)) {
        bool l = refresh_hint();
        if (lowered) *lowered = l;
    }
    return true;
}

namespace {
// Pops and fires up to `limit` of s's nodes due at `now`, earliest first, in
// batches so that the lock is not held while goroutines are readied.
int run_shard(TimerShard* s, detail::TimePoint now, int limit) {
    constexpr int kBatch = 64;
    TimerNode* due[kBatch];
    int total = 0;
    while (total < limit) {
        const int want = std::min(kBatch, limit - total);
        int n = 0;
        {
            std::lock_guard lk(s->mu);
            while (n < want && !s->heap.empty() && s->heap[0].when <= now) {
                due[n++] = s->heap[0].node;
                s->remove_at(0);
            }
            s->update_earliest_locked();
        }
        for (int i = 0; i < n; ++i) due[i]->fire(due[i]);
        total += n;
        if (n < want) break;
    }
    return total;
}
}  // namespace

int Timers::run_expired(detail::TimePoint now, int own, bool* lowered, int limit) {
    if (lowered) *lowered = false;
    const std::int64_t now_ns = ticks(now);
    if (hint_.load(std::memory_order_seq_cst) > now_ns) return 0;
    const int n = nshards_.load(std::memory_order_acquire);  // pairs with release in add_shard
    if (own < 0 || own >= n) own = 0;
    int total = 0;
    // Our own shard first (its nodes' goroutines most likely ran here last),
    // then everyone else's: a P whose worker is busy, blocked or retired
    // cannot run its own.
    for (int k = 0, i = own; k < n && total < limit; ++k, i = i + 1 == n ? 0 : i + 1) {
        TimerShard* s = shards_[i].load(std::memory_order_acquire);
        if (s->earliest() > now_ns) continue;
        total += run_shard(s, now, limit - total);
    }
    // hint_ was due: it moves to the next deadline (or it was early, a
    // removed node's or a transient one: it moves to the true one; or the
    // limit left due nodes: it stays at or below now, and the next look fires
    // them).
    bool l = refresh_hint();
    if (lowered) *lowered = l;
    return total;
}

}  // namespace goro::rt
