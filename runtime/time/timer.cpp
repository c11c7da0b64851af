// time/timer.cpp — Timer, Ticker and after_func (include/goro/time.hpp):
// timers that can be stopped and re-armed, with Go 1.23's guarantees.
//
// Owns: ChanTimer, the state one Timer or Ticker's copies share, and its
// heap nodes. Each arming gets a fresh ChanTimerNode in the runtime's timer
// heap (runtime/time/timers.hpp); ChanTimer::node names the current one.
// A fire whose node is no longer the current one (stop or reset came
// between the heap's pop and the fire) does nothing: that is how no stale
// value is sent after stop() or reset() returns. The same calls take back a
// value already sent but not yet received (they drain the channel), which
// is how none is *received* either: Go 1.23's unbuffered timer channels,
// built on a channel of capacity 1.
//
// Ownership:
//  * A Timer/Ticker handle holds its channel and the ChanTimer. The
//    channel's state holds the ChanTimer too (through its deleter), so a
//    program that keeps only the channel (`auto ch = Timer(1s).c();`) keeps
//    the timer; the ChanTimer holds the channel weakly. When the last of
//    them goes, ~ChanTimer takes the pending node out of the heap (Go 1.23:
//    an unreferenced timer is collected).
//  * A node is held by its ChanTimer while current, and by itself (`self`)
//    while it is in a heap; exactly one of fire, a successful remove_timer
//    and drop (the runtime ended) ends the heap's reference. The node holds
//    its ChanTimer weakly.
//
// Synchronisation: ChanTimer::mu (rank TimerChan, below the channel's lock
// and the heap's: runtime/DESIGN.md "Lock order") guards node, runtime,
// pending and period, and is held while a fire sends and while stop/reset
// remove, drain and re-arm, so those steps are atomic with respect to each
// other. The channel is reached through its state directly (lock,
// try_*_locked, unlock, signal), never through Chan's try_send/try_recv,
// whose entry may yield for a preemption request: no switch with mu held.
#include "sched/api.hpp"
#include "time/timers.hpp"

#include <goro/chan.hpp>
#include <goro/errors.hpp>
#include <goro/time.hpp>

#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

namespace goro::detail {

using SteadyTime = std::chrono::steady_clock::time_point;
using TimeState = ChanState<SteadyTime>;

struct ChanTimerNode : rt::TimerNode {
    std::weak_ptr<ChanTimer> owner;
    std::shared_ptr<ChanTimerNode> self;  // the heap's reference (see the file comment)

    static void fire_fn(rt::TimerNode* n);
    static void drop_fn(rt::TimerNode* n) { static_cast<ChanTimerNode*>(n)->self.reset(); }
};

namespace {

// Moves v into the channel if it has room (a slow receiver loses the tick).
void offer(TimeState& s, SteadyTime v) {
    WaitNode* partner = nullptr;
    s.lock_.lock();
    s.try_send_locked(v, partner);  // WouldBlock (full) or Closed: dropped
    s.lock_.unlock();
    if (partner) signal(partner);
}

// Takes back a value sent but not received; true if there was one.
bool drain(TimeState& s) {
    std::optional<SteadyTime> out;
    WaitNode* partner = nullptr;
    s.lock_.lock();
    s.try_recv_locked(out, partner);
    s.lock_.unlock();
    if (partner) signal(partner);
    return out.has_value();
}
}  // namespace

struct ChanTimer : std::enable_shared_from_this<ChanTimer> {
    SpinLock mu{LockRank::TimerChan};
    std::shared_ptr<ChanTimerNode> node;  // guarded by mu: the current arming, or null
    std::uint64_t runtime = 0;            // guarded by mu: add_timer's serial for `node`
    bool pending = false;                 // guarded by mu: armed, and the expiry not yet sent (or run)
    std::chrono::nanoseconds period{0};   // guarded by mu: a Ticker's period; zero for a Timer
    std::weak_ptr<TimeState> ch;          // set once, before the first arming; empty for after_func
    void (*run)(void*) = nullptr;         // after_func: starts fn's goroutine
    std::shared_ptr<void> fn;             // after_func: the callable

    ~ChanTimer() {
        if (node && rt::remove_timer(node.get(), runtime)) node->self.reset();
    }

    // mu held. Takes the current node out of the heap (or leaves an
    // in-flight fire to find it is no longer current).
    void disarm_locked() {
        if (node && rt::remove_timer(node.get(), runtime)) node->self.reset();
        node.reset();
        pending = false;
    }
    bool drain_locked() {
        std::shared_ptr<TimeState> s = ch.lock();
        return s && drain(*s);
    }
    // mu held. A fresh node for `when`; InvalidState without a runtime.
    void arm_locked(TimePoint when) {
        auto n = std::make_shared<ChanTimerNode>();
        n->when = when;
        n->fire = &ChanTimerNode::fire_fn;
        n->drop = &ChanTimerNode::drop_fn;
        n->owner = weak_from_this();
        n->self = n;  // the heap's reference, from before the node can fire
        runtime = rt::add_timer(n.get());
        if (runtime == 0) {
            n->self.reset();
            throw InvalidState("goro: Timer, Ticker and after_func need a running runtime");
        }
        node = std::move(n);
        pending = true;
    }
};

namespace {
// The channel state's deleter: it holds the timer for the channel's sake,
// and lets go of it with the channel (not with the control block, which a
// weak reference may keep: ChanTimer::ch is one).
struct HoldTimer {
    std::shared_ptr<ChanTimer> timer;
    void operator()(TimeState* s) {
        delete s;
        timer.reset();
    }
};

Chan<SteadyTime> make_channel(const std::shared_ptr<ChanTimer>& t) {
    std::shared_ptr<TimeState> state(new TimeState(1), HoldTimer{t});
    t->ch = state;
    return ChanAccess<SteadyTime>::adopt(std::move(state));
}

}  // namespace

void ChanTimerNode::fire_fn(rt::TimerNode* n) {
    auto* self_node = static_cast<ChanTimerNode*>(n);
    std::shared_ptr<ChanTimerNode> keep = std::move(self_node->self);  // the heap's reference, ours now
    std::shared_ptr<ChanTimer> t = self_node->owner.lock();
    if (!t) return;  // nobody holds the timer any more
    bool start_fn = false;
    {
        std::lock_guard lk(t->mu);
        if (t->node != keep) return;  // stopped or reset since this arming
        if (t->run) {
            start_fn = true;  // outside the lock: go() may allocate and wake
            t->node.reset();
            t->pending = false;
        } else {
            const SteadyTime now = std::chrono::steady_clock::now();
            if (std::shared_ptr<TimeState> s = t->ch.lock()) offer(*s, now);
            if (t->period.count() > 0) {
                // The next tick, on the ticker's phase; ticks missed while
                // the workers were busy are skipped, not queued.
                TimePoint next = keep->when + t->period;
                if (next <= now) next += t->period * ((now - next) / t->period + 1);
                keep->when = next;
                keep->self = keep;
                t->runtime = rt::add_timer(keep.get());
                if (t->runtime == 0) {  // the runtime is ending
                    keep->self.reset();
                    t->node.reset();
                    t->pending = false;
                }
            } else {
                t->node.reset();
                t->pending = false;
            }
        }
    }
    if (start_fn) {
        try {
            t->run(t->fn.get());
        } catch (...) {
            // go() could not start the goroutine (out of memory): nobody to
            // tell from a timer, as Go's AfterFunc would crash; say so.
            std::fprintf(stderr, "goro: after_func could not start its goroutine\n");
        }
    }
}

}  // namespace goro::detail

namespace goro {

using detail::ChanTimer;

Timer::Timer(detail::TimePoint when) : t_(std::make_shared<ChanTimer>()) {
    c_ = detail::make_channel(t_);
    std::lock_guard lk(t_->mu);
    t_->arm_locked(when);
}

Timer::Timer(detail::TimePoint when, void (*run)(void*), std::shared_ptr<void> fn)
    : c_(Chan<std::chrono::steady_clock::time_point>::nil()), t_(std::make_shared<ChanTimer>()) {
    t_->run = run;
    t_->fn = std::move(fn);
    std::lock_guard lk(t_->mu);
    t_->arm_locked(when);
}

bool Timer::stop() const {
    std::lock_guard lk(t_->mu);
    const bool was_pending = t_->pending;
    t_->disarm_locked();
    const bool drained = t_->drain_locked();
    return was_pending || drained;
}

bool Timer::reset_at(detail::TimePoint when) const {
    std::lock_guard lk(t_->mu);
    const bool was_pending = t_->pending;
    t_->disarm_locked();
    const bool drained = t_->drain_locked();
    t_->arm_locked(when);
    return was_pending || drained;
}

namespace {
std::chrono::nanoseconds checked_period(std::chrono::nanoseconds period) {
    if (period.count() <= 0)
        throw std::invalid_argument("goro: Ticker period must be positive (got " + std::to_string(period.count()) +
                                    " ns)");
    return period;
}
}  // namespace

Ticker::Ticker(std::chrono::nanoseconds period) : t_(std::make_shared<ChanTimer>()) {
    t_->period = checked_period(period);
    c_ = detail::make_channel(t_);
    std::lock_guard lk(t_->mu);
    t_->arm_locked(detail::deadline_after(period));
}

void Ticker::stop() const {
    std::lock_guard lk(t_->mu);
    t_->disarm_locked();
    t_->drain_locked();
}

void Ticker::reset_period(std::chrono::nanoseconds period) const {
    checked_period(period);
    std::lock_guard lk(t_->mu);
    t_->disarm_locked();
    t_->drain_locked();
    t_->period = period;
    t_->arm_locked(detail::deadline_after(period));
}

}  // namespace goro
