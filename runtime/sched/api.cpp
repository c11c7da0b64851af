// sched/api.cpp — every call into the scheduler from outside runtime/sched
// but run() (the runtime's life cycle, scheduler.cpp):
//  * the public runtime calls of include/goro/runtime.hpp: yield(),
//    maxprocs(), set_maxprocs(), num_cpu(), num_goroutines();
//  * the spawn glue behind go() and spawn (include/goro/detail/spawn.hpp):
//    g_alloc(), g_start(), g_abandon(), and Runtime::start_g();
//  * the doors of sched/api.hpp for netpoll/, task/, time/ and chan/.
//
// From a plain thread, g_alloc() pins the runtime (pin_runtime(), the count
// behind RuntimeRef) and g_start() or g_abandon() unpins it: the runtime
// stays alive between the two, while the callable is constructed in the
// descriptor. A goroutine never pins: its runtime outlives it.
#include "sched/api.hpp"

#include "env/config.hpp"
#include "debug/racy.hpp"
#include "sched/scheduler.hpp"

#include <goro/detail/spawn.hpp>
#include <goro/errors.hpp>
#include <goro/runtime.hpp>

#include <thread>

namespace goro::rt {

// ---------------------------------------------------------------- spawning

bool Runtime::start_g(G* g) {
    g->stack = Stack{};
    g->status.store(GStatus::Runnable, std::memory_order_relaxed);  // published by the queue push
    M* m = this_m();
    if (m && m->p) {
        P* p = m->p;
        if (p->goid_next == p->goid_end) {
            p->goid_next = next_goid.fetch_add(kGoidBatch, std::memory_order_relaxed);  // unique numbers, no ordering
            p->goid_end = p->goid_next + kGoidBatch;
        }
        racy_store(g->id, p->goid_next++);  // the dump reads a G's fields racily (debug/racy.hpp)
        trace_goroutine(m, TraceKind::GoCreate, g);
        if (g->user)
            p->started.store(p->started.load(std::memory_order_relaxed) + 1,
                             std::memory_order_relaxed);  // owner-only counter
        enqueue_local(p, g, true);
        wakep();
        // The spawn slice (kSpawnsPerRun), counted only while a goroutine
        // runs (schedseq odd): g0's spawns (a timer's after_func) never yield.
        const std::uint32_t seq = p->schedseq.load(std::memory_order_relaxed);
        if (seq != p->spawn_run) {
            p->spawn_run = seq;
            p->run_spawns = 0;
        }
        return ++p->run_spawns >= kSpawnsPerRun && (seq & 1) != 0;
    }
    racy_store(g->id, next_goid.fetch_add(1, std::memory_order_relaxed));
    trace_goroutine(m, TraceKind::GoCreate, g);
    if (g->user) started_offp_.fetch_add(1, std::memory_order_relaxed);  // a counter, no ordering
    global_.push(g);
    wakep();
    return false;
}

// ---------------------------------------------------------------- doors (api.hpp)

Netpoller* netpoller() { return worker_runtime()->netpoller(); }

void wake_poller_if_needed() {
    M* m = this_m();  // a goroutine on a worker: its P counts the wait (metrics, stats.cpp)
    bump(m->p->io_waits);
    worker_runtime()->wake_poller_if_needed();
}

void begin_external_wait() noexcept {
    worker_runtime()->external_pending.fetch_add(1, std::memory_order_seq_cst);  // against may_be_deadlocked's loads
}

void end_external_wait() noexcept {
    worker_runtime()->external_pending.fetch_sub(1,
                                                 std::memory_order_release);  // pairs with acquire in may_be_deadlocked
}

std::uint64_t add_timer(TimerNode* n) {
    RuntimeRef ref;  // the caller may be a plain thread
    Runtime* r = ref.get();
    if (!r) return 0;
    r->add_timer(n);
    return r->serial;
}

bool remove_timer(TimerNode* n, std::uint64_t serial) {
    RuntimeRef ref;  // keeps the runtime (and its heap) alive while we look
    Runtime* r = ref.get();
    return r && r->serial == serial && r->remove_timer(n);
}

}  // namespace goro::rt

// ---------------------------------------------------------------- spawn glue

namespace goro::detail {

using rt::Runtime;

G* g_alloc(std::size_t size, std::size_t align, void** storage) {
    if (rt::this_m()) return rt::worker_runtime()->alloc_g(size, align, storage);
    Runtime* r = rt::pin_runtime();  // unpinned by g_start() or g_abandon()
    if (!r) {
        rt::unpin_runtime();
        throw InvalidState("goro: go() called with no runtime running (start one with goro::run)");
    }
    try {
        return r->alloc_g(size, align, storage);
    } catch (...) {
        rt::unpin_runtime();
        throw;
    }
}

void g_abandon(G* g) noexcept {
    rt::M* m = rt::this_m();
    // A plain thread pinned the runtime in g_alloc: g_runtime is still it.
    Runtime* r = m ? rt::worker_runtime() : rt::g_runtime.load(std::memory_order_relaxed);
    r->release_stack(m ? m->p : nullptr, g);  // none bound unless it ran: a no-op today
    r->free_g(m ? m->p : nullptr, g);
    r->return_stack_credit(m ? m->p : nullptr);  // its reservation, taken in g_alloc
    if (!m) rt::unpin_runtime();  // pinned in g_alloc
}

void g_start(G* g, const EntryOps* ops, const std::string* name, bool user, bool owns_name) noexcept {
    g->ops = ops;
    g->name = name;
    g->owns_name = owns_name;
    rt::racy_store(g->user, user);
    rt::M* m = rt::this_m();
    G* parent = m ? m->curg : nullptr;
    rt::racy_store(g->parent_id, parent ? parent->id : std::uint64_t{0});  // the dump's "created by"
    Runtime* r = m ? rt::worker_runtime() : rt::g_runtime.load(std::memory_order_relaxed);  // pinned in g_alloc
    const bool slice_used = r->start_g(g);
    if (!m) {
        rt::unpin_runtime();  // pinned in g_alloc
        return;
    }
    // The spawner has started kSpawnsPerRun goroutines without a switch: to
    // the back of the global queue, behind them (scheduler.hpp).
    if (slice_used && parent) r->g_switch_away(m, parent, rt::Action::YieldGlobal);
}

}  // namespace goro::detail

// ---------------------------------------------------------------- public calls

namespace goro {

void yield() {
    rt::M* m = rt::this_m();
    detail::G* g = m ? m->curg : nullptr;
    if (!g) {
        std::this_thread::yield();
        return;
    }
    rt::Runtime* r = rt::worker_runtime();
    if (g->cancel_requested.load(std::memory_order_relaxed) || r->shutting_down.load(std::memory_order_relaxed))
        detail::cancellation_point();
    r->g_switch_away(m, g, rt::Action::Yield);
}

int maxprocs() {
    rt::RuntimeRef ref;
    return ref.get() ? ref.get()->maxprocs() : 0;
}

int set_maxprocs(int n) {
    rt::RuntimeRef ref;
    return ref.get() ? ref.get()->set_maxprocs(n) : 0;
}

int num_cpu() { return rt::num_cpu_detect(); }

std::size_t num_goroutines() {
    rt::RuntimeRef ref;
    if (!ref.get()) return 0;
    std::int64_t n = ref.get()->live_goroutines();
    return n > 0 ? static_cast<std::size_t>(n) : 0;
}

}  // namespace goro
