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
#include "debug/racy.hpp"
#include "debug/gdb_info.hpp"
#include "sched/futex.hpp"
#include "sched/quiet_threads.hpp"
#include "sched/scheduler.hpp"

#include <goro/detail/park.hpp>
#include <goro/errors.hpp>
#include <goro/runtime.hpp>
#include <goro/time.hpp>

#include <ctime>
#include <exception>
#include <iterator>
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
        // Take the permit, if one came, with a read-modify-write. futex_wait
        // also returns without one (a signal's EINTR, the deadline, a stale
        // wake meant for an earlier wait on this pooled parker); a plain store
        // of 0 here could land after an unpark's store of 1 and erase it,
        // while the caller's next look at its condition, a load that x86 lets
        // pass our store, still missed the waker's write: the caller would
        // park again with nobody left to wake it. The exchange either takes
        // that permit (and, acquire, the waker's writes before it) or comes
        // before it in the permit's order, leaving it for the next park().
        permit.exchange(0, std::memory_order_acquire);  // pairs with release in unpark
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

// At namespace scope (not a function's static) so that goro_debug_info
// (debug/gdb_info.cpp) can point the gdb extension at it.
extern const char* const kWaitReasonNames[] = {
    "wait",           "chan receive",   "chan send",           "chan receive (nil chan)",
    "chan send (nil chan)", "select",   "select (no cases)",   "sleep",
    "IO wait",        "sync.Mutex.Lock", "sync.RWMutex.RLock", "sync.RWMutex.Lock",
    "sync.Cond.Wait", "semacquire",     "sync.WaitGroup.Wait", "sync.Once.Do",
    "event wait",     "task wait",      "run_blocking",        "context wait",
    "timer wait",     "shutdown wait",  "forever",
};
static_assert(std::size(kWaitReasonNames) == static_cast<std::size_t>(WaitReason::Count_));

const char* wait_reason_name(WaitReason r) noexcept {
    auto i = static_cast<std::size_t>(r);
    return i < std::size(kWaitReasonNames) ? kWaitReasonNames[i] : "wait";
}

std::uint32_t coarse_now_ms() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // the vDSO, no syscall: a few ns
    return static_cast<std::uint32_t>(static_cast<std::uint64_t>(ts.tv_sec) * 1000u +
                                      static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u);
}

void park(WaitReason reason) {
    rt::M* m = rt::this_m();
    if (G* g = m ? m->curg : nullptr) {
        // A permit already granted: consume it without switching. (Load
        // first: the CAS is rarely needed and costs a locked instruction.)
        GStatus s = GStatus::Notified;
        if (g->status.load(std::memory_order_relaxed) == GStatus::Notified &&
            g->status.compare_exchange_strong(s, GStatus::Runnable,
                                              std::memory_order_acq_rel))  // pairs with the waker's CAS (ready_from)
            return;
        // For the goroutine dump (debug.cpp): two plain stores, published by
        // the release CAS that makes the G Parked (worker.cpp after_switch).
        // The reason's store is a racy_store (a plain byte store all the
        // same): runtime_stats() reads it without holding the G (stats.cpp).
        rt::racy_store(g->wait_reason, reason);
        g->ctx.wait_since_ms = coarse_now_ms();
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
        while (!fired.load(std::memory_order_acquire)) park(WaitReason::TimerWait);
    }
};
}  // namespace

bool park_until(TimePoint deadline, WaitReason reason) {
    if (Clock::now() >= deadline) return false;
    if (current_g()) {
        Runtime* r = worker_runtime();
        WakeTimer t;
        t.arm(r, deadline);
        park(reason);
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
    if (r->slow_ns > 0) r->report_slow_if_requested(m, g);  // GORO_DEBUG=slow (monitor.cpp)
    if (r->take_preempt_request(m->p)) r->g_switch_away(m, g, rt::Action::Yield);
}

void block_forever(WaitReason reason) {
    // Nothing can ever wake us, except cancellation.
    for (;;) {
        cancellation_point();
        if (!current_g()) {
            std::this_thread::sleep_for(std::chrono::hours(24));
            continue;
        }
        park(reason);
    }
}

void throw_cancelled() {
    if (G* g = current_g()) clear_cancel_request(g);  // delivered once
    throw Cancelled();
}

namespace {
// The request half of g_cancel: count it (seq_cst: a timeout scope that
// withdraws the flag re-reads the count after, see timeout_exit), then set
// the flag. release: pairs with acquire in cancel_pending. The flag is
// counted in g_requests_pending once however often it is set before delivery.
void request_cancel_flag_only(G* g) noexcept {
    if (!g->cancel_requested.exchange(true, std::memory_order_seq_cst))
        g_requests_pending.fetch_add(1, std::memory_order_relaxed);
}
void request_cancel(G* g) noexcept {
    g->cancels.fetch_add(1, std::memory_order_seq_cst);
    request_cancel_flag_only(g);
}
}  // namespace

void g_cancel(G* g) noexcept {
    request_cancel(g);
    // seq_cst: the flag must be visible before we read the status in ready().
    std::atomic_thread_fence(std::memory_order_seq_cst);
    Waker{g, nullptr}.wake();
}

// ---------------------------------------------------------------- timeout scopes
//
// asyncio.timeout()'s rule, which this follows: the Cancelled that ends a
// scope's body becomes Timeout only if the scope's timer made a request and
// no other request was made since the scope began. G::cancels counts the
// requests not taken back; the scope notes it at entry (base) and, if its
// timer fired, takes its own back at exit: a count still above base means
// someone else (an outer scope's timer, Task::cancel, a TaskGroup) asked
// too, and the Cancelled is theirs to receive. A request the body never
// received (it finished first, or caught the Cancelled) is withdrawn when
// no other is outstanding, so that it does not cancel the code after the
// scope (asyncio 3.13's uncancel() does the same).
struct TimeoutScope : rt::TimerNode {
    G* g = nullptr;
    std::uint32_t base = 0;
    bool armed = false;
    std::atomic<bool> fired{false};

    static void fire_fn(rt::TimerNode* n) {
        auto* t = static_cast<TimeoutScope*>(n);
        G* g = t->g;
        request_cancel(g);
        // release: the owner, seeing fired, knows the request is made and
        // the timers code is done with t (it may free t at once: t is not
        // touched after this store).
        t->fired.store(true, std::memory_order_release);
        std::atomic_thread_fence(std::memory_order_seq_cst);  // as in g_cancel
        Waker{g, nullptr}.wake();
    }
};

TimeoutScope* timeout_enter(TimePoint deadline) {
    G* g = current_g();
    if (!g) throw InvalidState("goro: timeout() on a plain thread: there is no goroutine to cancel");
    auto* t = new TimeoutScope;
    t->g = g;
    t->base = g->cancels.load(std::memory_order_relaxed);  // only the G itself takes requests back
    if (Clock::now() >= deadline) {
        // Already past: the request is made now (asyncio schedules it with
        // call_soon); the body runs until its first blocking call.
        request_cancel(g);
        t->fired.store(true, std::memory_order_relaxed);
        return t;
    }
    if (deadline == TimePoint::max()) return t;  // no deadline: never fires
    t->when = deadline;
    t->fire = &TimeoutScope::fire_fn;
    worker_runtime()->add_timer(t);
    t->armed = true;
    return t;
}

bool timeout_exit(TimeoutScope* t, bool cancelled) noexcept {
    G* g = t->g;
    bool fired;
    if (!t->armed) {
        fired = t->fired.load(std::memory_order_relaxed);  // made at entry, or no deadline at all
    } else if (worker_runtime()->remove_timer(t)) {
        fired = false;
    } else {
        // It fired, or is firing on another worker: wait until it is done
        // with t (its wake ends the park; spurious returns loop).
        while (!t->fired.load(std::memory_order_acquire)) park(WaitReason::TimerWait);
        fired = true;
    }
    std::uint32_t base = t->base;
    delete t;
    if (!fired) return false;
    std::uint32_t left = g->cancels.fetch_sub(1, std::memory_order_seq_cst) - 1;
    if (left == 0 && g->cancel_requested.load(std::memory_order_relaxed)) {
        // Ours, never delivered: withdraw it. A canceller that counted
        // itself before our load of cancels is seen there and the flag put
        // back; one that counts after it sets the flag after our clear
        // (request_cancel counts first, all seq_cst), so no request is lost.
        if (g->cancel_requested.exchange(false, std::memory_order_seq_cst))
            g_requests_pending.fetch_sub(1, std::memory_order_relaxed);
        if (g->cancels.load(std::memory_order_seq_cst) != 0) request_cancel_flag_only(g);
    }
    Runtime* r = worker_runtime();
    bool shutting_down = !g->is_main && r->shutting_down.load(std::memory_order_acquire);
    return cancelled && left <= base && !shutting_down;
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
        park(WaitReason::Sleep);
    }
}

}  // namespace goro::detail
