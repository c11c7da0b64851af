// sched/inject.hpp — the global run queue (Go's sched.runq, Tokio's inject
// queue): goroutines spawned or readied from plain threads, the overflow of
// a full local queue, and the queues of retired Ps.
//
// A moodycamel ConcurrentQueue (lock-free, any number of producers and
// consumers) with a size hint beside it. The hint is raised after a push
// (release) and lowered after a take (relaxed): a reader that sees it above
// zero with acquire also sees the goroutines pushed before it, though a
// racing take may have emptied the queue meanwhile; that is why it is only a
// hint, and every take copes with finding nothing. The idle protocol reads it
// seq_cst (idle.cpp), the periodic look relaxed (worker.cpp); each caller
// names its own ordering.
#pragma once

#include "sched/g.hpp"

#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace goro::rt {

// push() and push_batch() are kept out of line (as enqueue_global was): the
// queue's enqueue is large, and inlined into ready_from() and the switch
// path it pushed after_switch() out of line and cost yield and pingpong.
class Inject {
public:
    [[gnu::noinline]] void push(detail::G* g) {
        queue_.enqueue(g);
        size_.fetch_add(1, std::memory_order_release);  // pairs with acquire in size(acquire) before take()
    }
    [[gnu::noinline]] void push_batch(detail::G** gs, std::size_t n) {
        queue_.enqueue_bulk(gs, n);
        size_.fetch_add(static_cast<std::int64_t>(n), std::memory_order_release);  // as in push()
    }
    // Up to `max` goroutines into out[]; how many it took (maybe none).
    std::size_t take(detail::G** out, std::size_t max) {
        std::size_t got = queue_.try_dequeue_bulk(out, max);
        if (got) size_.fetch_sub(static_cast<std::int64_t>(got), std::memory_order_relaxed);  // a hint only
        return got;
    }
    // Queued minus taken, as seen with `order` (see the file comment).
    std::int64_t size(std::memory_order order) const noexcept { return size_.load(order); }

private:
    moodycamel::ConcurrentQueue<detail::G*> queue_;
    std::atomic<std::int64_t> size_{0};
};

}  // namespace goro::rt
