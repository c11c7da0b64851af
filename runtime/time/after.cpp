// time/after.cpp — after(d): a channel that receives the time once, d from
// now (include/goro/time.hpp), and whose timer goes when the channel goes.
//
// The timer is a heap-owned TimerNode (AfterTimer) in the runtime's timers
// (the shard of the arming goroutine's P; shard 0 from a plain thread). It holds the channel weakly; the channel's state holds the timer
// weakly, through the deleter it was made with. So a channel that nobody
// holds any more is freed at once, and its deleter takes the timer out of
// the heap and frees it (Go 1.23's rule: an unreferenced timer is
// collected), instead of both waiting until the deadline.
//
// Ownership of an AfterTimer: shared_ptrs. While it is in a heap, the node
// owns itself (`self`); exactly one of these ends that and frees it:
//   * fire (on a worker, after the heap popped it): sends the time if the
//     channel is still alive (capacity 1, sent once: never blocks);
//   * the channel's deleter, when remove_timer() takes the node out before
//     it fired (remove() returning true is what makes it the only one);
//   * drop, when the runtime ends with the node still pending.
// The deleter reaches the heap only through remove_timer(), which holds the
// runtime alive for the call and checks that it is the runtime the node was
// added to (by serial number: a later runtime at the same address is not it).
//
// With no runtime running at all, a detached plain thread does the timing;
// it holds the channel weakly too, so an abandoned channel is still freed
// (the thread sleeps out its time).
#include "sched/api.hpp"
#include "time/timers.hpp"

#include <goro/chan.hpp>
#include <goro/time.hpp>

#include <memory>
#include <thread>
#include <utility>

namespace goro::detail {

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;
using AfterState = ChanState<SteadyTime>;

struct AfterTimer : rt::TimerNode {
    std::weak_ptr<AfterState> ch;
    std::shared_ptr<AfterTimer> self;  // set while the node is in a heap

    static void fire_fn(rt::TimerNode* n) {
        auto* t = static_cast<AfterTimer*>(n);
        std::shared_ptr<AfterTimer> keep = std::move(t->self);  // freed when we return
        if (std::shared_ptr<AfterState> s = t->ch.lock())
            ChanAccess<SteadyTime>::adopt(std::move(s)).try_send(std::chrono::steady_clock::now());
    }
    static void drop_fn(rt::TimerNode* n) { static_cast<AfterTimer*>(n)->self.reset(); }
};

// The channel state's deleter: the last handle is gone, so is the timer.
struct CancelTimerOnFree {
    std::weak_ptr<AfterTimer> timer;
    std::uint64_t runtime = 0;
    void operator()(AfterState* s) const {
        if (std::shared_ptr<AfterTimer> t = timer.lock())
            if (rt::remove_timer(t.get(), runtime)) t->self.reset();  // it will never fire: ours to free
        delete s;
    }
};

}  // namespace

Chan<SteadyTime> after_chan(TimePoint when) {
    if (when == TimePoint::max()) return Chan<SteadyTime>(1);  // never: no timer, no thread
    auto t = std::make_shared<AfterTimer>();
    t->when = when;
    t->fire = &AfterTimer::fire_fn;
    t->drop = &AfterTimer::drop_fn;
    // (If the control block cannot be allocated, shared_ptr deletes the state
    // through the deleter, which then has no timer to cancel.)
    std::shared_ptr<AfterState> state(new AfterState(1), CancelTimerOnFree{});
    auto* deleter = std::get_deleter<CancelTimerOnFree>(state);
    t->ch = state;
    deleter->timer = t;
    t->self = t;  // the heap's reference, from before the node can fire
    // The deleter cannot run before we return (we hold `state`), and the
    // handle we return carries this write to whoever drops it last (the
    // count's decrement is acq_rel).
    deleter->runtime = rt::add_timer(t.get());
    if (deleter->runtime == 0) {
        // No runtime: a plain thread does the timing.
        t->self.reset();
        deleter->timer.reset();
        std::thread([weak = std::weak_ptr<AfterState>(state), when] {
            std::this_thread::sleep_until(when);
            if (std::shared_ptr<AfterState> s = weak.lock())
                ChanAccess<SteadyTime>::adopt(std::move(s)).try_send(std::chrono::steady_clock::now());
        }).detach();
    }
    return ChanAccess<SteadyTime>::adopt(std::move(state));
}

}  // namespace goro::detail
