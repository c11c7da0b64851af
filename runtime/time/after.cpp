// time/after.cpp — after(d): a channel that receives the time once, d from
// now (include/goro/select.hpp).
//
// A heap-owned TimerNode in the runtime's timer heap: it fires on a worker,
// sends the time (capacity 1, sent once: never blocks) and frees itself; a
// node still pending when the runtime ends is freed by Timers::~Timers
// through drop. after() may be called from a plain thread, and with no
// runtime running at all: then a detached plain thread does the timing.
#include "sched/api.hpp"
#include "time/timers.hpp"

#include <goro/chan.hpp>
#include <goro/select.hpp>

#include <thread>
#include <utility>

namespace goro::detail {

namespace {
struct AfterTimer : rt::TimerNode {
    Chan<std::chrono::steady_clock::time_point> ch;
    static void fire_fn(rt::TimerNode* n) {
        auto* t = static_cast<AfterTimer*>(n);
        t->ch.try_send(std::chrono::steady_clock::now());  // capacity 1, sent once: never blocks
        delete t;
    }
    static void drop_fn(rt::TimerNode* n) { delete static_cast<AfterTimer*>(n); }
};
}  // namespace

void after_impl(Chan<std::chrono::steady_clock::time_point> ch, TimePoint when) {
    if (when == TimePoint::max()) return;  // never: no timer, no thread
    auto* t = new AfterTimer;
    t->ch = std::move(ch);
    t->when = when;
    t->fire = &AfterTimer::fire_fn;
    t->drop = &AfterTimer::drop_fn;
    if (rt::add_timer(t)) return;
    // No runtime: a plain thread does the timing.
    std::thread([ch = std::move(t->ch), when] {
        std::this_thread::sleep_until(when);
        ch.try_send(std::chrono::steady_clock::now());
    }).detach();
    delete t;
}

}  // namespace goro::detail
