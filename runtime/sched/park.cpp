// sched/park.cpp — park/wake for goroutines and plain threads, cancellation,
// and sleeping. (Spawning and the public runtime calls are in api.cpp.)
//
// Owns: the permit semantics of include/goro/detail/park.hpp. A goroutine's
// permit lives in its status (Notified, see g.hpp); a plain thread's in its
// ThreadParker. ThreadParkers come from a process-wide pool and are never
// freed, so a Waker may outlive the thread it names (the stale wake grants a
// permit to whichever thread uses the parker next, which loops and re-parks).
//
// Cancellation: a request is a flag on the G plus a wake. Waits check
// cancel_pending() in their loop before each park, so the request cannot be
// lost: either the flag is seen before parking, or the wake arrives after
// (Parked -> Runnable) or during (Runnable -> Notified) the park. Blocking
// calls also look at their entry (entry_cancellation_point, park.hpp), so a
// call that would not park delivers a pending request too; g_requests_pending
// counts the undelivered requests so that the look costs one relaxed load
// when there are none. While the runtime shuts down, every blocking call and
// park of a leftover goroutine is cancelled (shutting_down); the main
// goroutine is exempt.
#include "sched/futex.hpp"
#include "sched/quiet_threads.hpp"
#include "sched/scheduler.hpp"

#include <goro/detail/park.hpp>
#include <goro/errors.hpp>
#include <goro/runtime.hpp>
#include <goro/time.hpp>

#include <exception>
#include <mutex>
#include <thread>

namespace goro::detail {

using rt::Runtime;
using rt::worker_runtime;

// ---------------------------------------------------------------- thread parkers

struct ThreadParker {
    std::atomic<std::uint32_t> permit{0};
    ThreadParker* next_free = nullptr;  // guarded by the pool's mutex

    void park(const TimePoint* deadline) {
        // Consume a permit, or sleep until one is granted (or the deadline).
        if (permit.exchange(0, std::memory_order_acquire) != 0) return;  // pairs with release in unpark
        if (deadline) {
            rt::futex_wait(&permit, 0, deadline);
        } else {
            rt::QuietScope quiet;  // only a goroutine or another thread can wake us now
            rt::futex_wait(&permit, 0, deadline);
        }
        permit.store(0, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);  // pairs with release in unpark
    }
    void unpark() noexcept {
        permit.store(1, std::memory_order_release);
        rt::futex_wake(&permit);
    }
};

namespace {

std::mutex g_parker_mu;
ThreadParker* g_parker_free = nullptr;  // guarded by g_parker_mu

struct ThreadParkerSlot {
    ThreadParker* parker;
    ThreadParkerSlot() {
        std::lock_guard lk(g_parker_mu);
        if (g_parker_free) {
            parker = g_parker_free;
            g_parker_free = parker->next_free;
        } else {
            parker = new ThreadParker;  // never freed: type-stable (see file comment)
        }
    }
    ~ThreadParkerSlot() {
        std::lock_guard lk(g_parker_mu);
        parker->next_free = g_parker_free;
        g_parker_free = parker;
    }
};

ThreadParker* this_thread_parker() {
    thread_local ThreadParkerSlot slot;
    return slot.parker;
}

}  // namespace

// ---------------------------------------------------------------- park / wake

G* current_g() noexcept {
    rt::M* m = rt::this_m();
    return m ? m->curg : nullptr;
}

Waker current_waker() noexcept { return waker_of(current_g()); }

Waker waker_of(G* self) noexcept {
    if (self) return Waker{self, nullptr};
    return Waker{nullptr, this_thread_parker()};
}

void Waker::wake(Order order) const noexcept {
    if (g) {
        const bool next = order == Order::Next;
        // A worker uses its runtime directly; a plain thread must hold a
        // RuntimeRef meanwhile.
        if (rt::M* self = rt::this_m()) {
            worker_runtime()->ready_from(self, g, next);
        } else {
            rt::RuntimeRef ref;
            if (Runtime* r = ref.get()) r->ready_from(nullptr, g, next);
        }
    } else if (thread) {
        thread->unpark();
    }
}

void park() {
    rt::M* m = rt::this_m();
    if (G* g = m ? m->curg : nullptr) {
        // A permit already granted: consume it without switching. (Load
        // first: the CAS is rarely needed and costs a locked instruction.)
        GStatus s = GStatus::Notified;
        if (g->status.load(std::memory_order_relaxed) == GStatus::Notified &&
            g->status.compare_exchange_strong(s, GStatus::Runnable,
                                              std::memory_order_acq_rel))  // pairs with the waker's CAS (ready_from)
            return;
        worker_runtime()->g_switch_away(m, g, rt::Action::Park);
        return;
    }
    this_thread_parker()->park(nullptr);
}

namespace {
// A timer that wakes one goroutine. fired is set before the wake so that the
// owner, finding the node already gone from the heap, knows when the timers
// code is done with it. It is armed into the shard of the P the goroutine
// runs on, and may be disarmed from another P (the goroutine was readied
// elsewhere) while a third worker fires it: the node's shard pointer and
// that shard's lock decide (time/timers.hpp).
struct WakeTimer : rt::TimerNode {
    G* g = nullptr;
    std::atomic<bool> fired{false};
    static void fire_fn(rt::TimerNode* n) {
        auto* t = static_cast<WakeTimer*>(n);
        G* g = t->g;
        t->fired.store(true, std::memory_order_release);  // pairs with acquire in disarm
        worker_runtime()->ready(g);                       // timers fire on workers
    }
    void arm(Runtime* r, TimePoint deadline) {
        when = deadline;
        fire = &fire_fn;
        g = current_g();
        r->add_timer(this);
    }
    // Returns only once the timers code no longer references the node.
    void disarm(Runtime* r) {
        if (r->remove_timer(this)) return;
        while (!fired.load(std::memory_order_acquire)) park();
    }
};
}  // namespace

bool park_until(TimePoint deadline) {
    if (Clock::now() >= deadline) return false;
    if (current_g()) {
        Runtime* r = worker_runtime();
        WakeTimer t;
        t.arm(r, deadline);
        park();
        t.disarm(r);
    } else {
        this_thread_parker()->park(&deadline);
    }
    return Clock::now() < deadline;
}

// ---------------------------------------------------------------- cancellation

bool cancel_pending() noexcept { return cancel_pending(current_g()); }

bool cancel_pending(G* g) noexcept {
    if (!g) return false;
    bool requested = g->cancel_requested.load(std::memory_order_acquire);  // pairs with release in g_cancel
    if (!requested && !g->is_main) {
        Runtime* r = worker_runtime();  // g runs on a worker
        requested = r && r->shutting_down.load(std::memory_order_acquire);
    }
    // Never while an exception unwinds: destructors may block safely.
    return requested && std::uncaught_exceptions() == 0;
}

std::atomic<int> g_requests_pending{0};

void entry_requests_slow() {
    cancellation_point();
    preempt_if_requested();
}

// A request of the monitor (sched/monitor.cpp) names the P, not the
// goroutine: whichever goroutine runs on it at its next goro call yields
// (one yield too many at worst, if the hog switched meanwhile).
void preempt_if_requested() noexcept {
    rt::M* m = rt::this_m();
    G* g = m ? m->curg : nullptr;
    if (!g) return;  // a plain thread, or a worker's own stack
    Runtime* r = worker_runtime();
    if (r->take_preempt_request(m->p)) r->g_switch_away(m, g, rt::Action::Yield);
}

void block_forever() {
    // Nothing can ever wake us, except cancellation.
    for (;;) {
        cancellation_point();
        if (!current_g()) {
            std::this_thread::sleep_for(std::chrono::hours(24));
            continue;
        }
        park();
    }
}

void throw_cancelled() {
    if (G* g = current_g()) clear_cancel_request(g);  // delivered once
    throw Cancelled();
}

void g_cancel(G* g) noexcept {
    // release: pairs with acquire in cancel_pending. Counted once per request
    // however often it is repeated before delivery.
    if (!g->cancel_requested.exchange(true, std::memory_order_acq_rel))
        g_requests_pending.fetch_add(1, std::memory_order_relaxed);
    // seq_cst: the flag must be visible before we read the status in ready().
    std::atomic_thread_fence(std::memory_order_seq_cst);
    Waker{g, nullptr}.wake();
}

// ---------------------------------------------------------------- sleeping

void sleep_until_steady(TimePoint deadline) {
    rt::M* m = rt::this_m();
    G* g = m ? m->curg : nullptr;
    if (!g) {
        // Not std::this_thread::sleep_until(deadline): libc++'s computes deadline - now, which overflows for a
        // deadline far in the past (TimePoint::min()) into centuries of sleep.
        for (TimePoint now = Clock::now(); now < deadline; now = Clock::now()) std::this_thread::sleep_for(deadline - now);
        return;
    }
    cancellation_point();
    Runtime* r = worker_runtime();
    if (Clock::now() >= deadline) {
        // sleep_for(0) yields, like asyncio.sleep(0).
        r->g_switch_away(m, g, rt::Action::Yield);
        return;
    }
    // Forever (sleep_for(hours::max())): no timer, only a cancellation ends
    // it. Parked like this, it counts as asleep for good.
    if (deadline == TimePoint::max()) block_forever();
    WakeTimer t;
    t.arm(r, deadline);
    while (!t.fired.load(std::memory_order_acquire)) {  // pairs with release in fire_fn
        if (cancel_pending()) {
            t.disarm(r);
            throw_cancelled();
        }
        park();
    }
}

}  // namespace goro::detail
