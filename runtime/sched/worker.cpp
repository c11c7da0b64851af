// sched/worker.cpp — a worker's life: find work, run it, switch, go idle.
//
// Owns: the find-work loop (find_runnable: timers of every P, own first;
// queues, stealing, spinning, the busy workers' netpoll), the context switches between
// goroutines and a worker's scheduler context (g0), retiring workers
// when set_maxprocs shrinks, and a P's side of the stack reservations
// (fiber/stack.hpp): binding a stack at a goroutine's first run from the
// capacity reserved at its spawn, refilling P::stack_credits, and giving
// credits back when a P retires or its thread ends.
//
// Switches. A goroutine that parks, yields or exits picks its successor
// itself when its P has local work (one switch, G to G); otherwise it
// switches to g0, which runs find_runnable. Either way the receiver of the
// switch carries out the sender's Handoff (after_switch): only then is the
// sender's stack free, so only then may it be queued (yield), published as
// Parked (park) or recycled (exit).
//
// Spinning: a worker with no local work becomes a spinner (Idle::nspinning,
// at most half the busy workers) and steals for up to kSpinBeforeIdle
// before it goes idle; the protocol that makes this safe against lost
// wake-ups, and idling itself, are in idle.cpp.
#include "debug/thread_name.hpp"
#include "fiber/guard.hpp"
#include "debug/racy.hpp"
#include "sched/futex.hpp"
#include "sched/local.hpp"
#include "sched/quiet_threads.hpp"
#include "sched/scheduler.hpp"

#include <goro/detail/park.hpp>
#include <goro/errors.hpp>

#include <sys/prctl.h>

#include "debug/dump.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <string>
#include <typeinfo>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <utility>

namespace goro::rt {

namespace {

std::uint64_t next_random(std::uint64_t& s) noexcept {
    // xorshift64*: cheap, good enough to spread steal victims.
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
}

// The first line of a panic, then the exception's type (demangled), then
// g's block as the dump prints it (id, name, stack, "created by"), then, per
// GORO_TRACEBACK, every other goroutine's block; then exit(2), or abort()
// for a core dump with GORO_TRACEBACK=crash. Called from the terminate
// handler while the throw is still on the stack (see run_goroutine_body):
// the stack shown starts at the throw site.
[[noreturn]] void panic(G* g, const char* what) {
    std::fflush(stdout);
    if (g->name)
        std::fprintf(stderr, "goro: panic in goroutine %llu (%s): %s\n", static_cast<unsigned long long>(g->id),
                     g->name->c_str(), what);
    else std::fprintf(stderr, "goro: panic in goroutine %llu: %s\n", static_cast<unsigned long long>(g->id), what);
    if (const std::type_info* t = abi::__cxa_current_exception_type()) {
        int status = -1;
        char* dem = abi::__cxa_demangle(t->name(), nullptr, nullptr, &status);
        std::fprintf(stderr, "exception type: %s\n", status == 0 && dem ? dem : t->name());
        std::free(dem);
    }
    const Traceback tb = traceback_setting();
    if (tb != Traceback::None) {
        std::fputs("\n", stderr);
        std::string block = self_block(g, "running");
        std::fwrite(block.data(), 1, block.size(), stderr);
        if (tb == Traceback::All || tb == Traceback::Crash) dump_runtime(worker_runtime(), stderr, nullptr, g);
    }
    std::fflush(stderr);
    if (tb == Traceback::Crash) std::abort();
    std::_Exit(2);
}

// The terminate handler goro installs (once, at the first run()): a
// terminate on a goroutine with an exception in flight is a panic; any
// other goes to the handler that was installed before.
std::terminate_handler g_previous_terminate = nullptr;
std::atomic<Traceback> g_traceback{Traceback::Single};

[[noreturn]] void on_terminate() {
    G* g = detail::current_g();
    if (g && g->user && std::current_exception()) {
        try {
            throw;
        } catch (const std::exception& e) {
            panic(g, e.what());
        } catch (...) {
            panic(g, "an exception not derived from std::exception");
        }
    }
    if (g_previous_terminate) g_previous_terminate();
    std::abort();
}

// A goroutine's body. noexcept, so that an exception other than Cancelled
// makes the C++ runtime call std::terminate in its search phase, before any
// frame is unwound (GCC's and LLVM's personality routines do): the throw
// site is still on the stack when on_terminate reports the panic.
[[gnu::noinline]] void run_goroutine_body(G* g) noexcept {
    try {
        g->ops->run(g->fn);
    } catch (const Cancelled&) {
        // A cancelled goroutine ends quietly.
    }
}

// A check at a switch or exit found g's stack overflowed
// (fiber/stack.hpp stack_intact_at_exit): stop at once, before anyone runs on
// with a neighbour's stack damaged.
[[gnu::noinline, noreturn, gnu::cold]] void stack_overflowed(G* g) {
    std::fflush(stdout);
    report_overflow(g->id, g->name ? g->name->c_str() : nullptr, g->stack.size);
}

// Every goroutine starts here, on its own stack.
void g_entry(HandoffHeader* first) {
    Runtime* rt = worker_runtime();
    auto* h = static_cast<Handoff*>(first);
    M* m = h->m;
    rt->after_switch(m, h);
    G* g = m->curg;
    run_goroutine_body(g);
    if (g->locals) detail::destroy_goroutine_locals(g);  // on the goroutine: destructors may park
    rt->g_exit(this_m(), g);
}

}  // namespace

void set_traceback(Traceback t) noexcept { g_traceback.store(t, std::memory_order_relaxed); }
Traceback traceback_setting() noexcept { return g_traceback.load(std::memory_order_relaxed); }

void install_panic_handler() {
    static std::once_flag once;
    std::call_once(once, [] { g_previous_terminate = std::set_terminate(&on_terminate); });
}

void trace_goroutine_slow(M* m, TraceKind k, const G* g) noexcept {
    std::uint64_t arg = 0;
    if (k == TraceKind::GoCreate) {
        const G* parent = m ? m->curg : nullptr;
        arg = (parent ? parent->id : 0) | (g->user ? 0 : kTraceSystem);
    } else if (k == TraceKind::GoPark) {
        arg = static_cast<std::uint64_t>(g->wait_reason);
    }
    trace_record(m ? m->trace.get() : nullptr, k, g->id, arg);
}

// ---------------------------------------------------------------- the loop

void Runtime::m_main(M* m) {
    QuietScope quiet;  // a worker wakes goroutines only by running them (see quiet_threads.hpp)
    ThreadName name(m->id);  // "goro-wN" while this thread is a worker (debug/thread_name.hpp)
    set_this_m(m);
    m->slots = thread_slots();
    // Read by the monitor (monitor.cpp), as hints.
    clockid_t cpu_clock{};
    if (::pthread_getcpuclockid(::pthread_self(), &cpu_clock) == 0) m->cpu_clock.store(cpu_clock, std::memory_order_relaxed);
    m->tid.store(static_cast<int>(::gettid()), std::memory_order_release);
    context_init_thread(m->g0);
    // Timed idle sleeps end at the earliest timer: ask the kernel for 1 us of
    // slack instead of its default 50 us, or every sleep_for overshoots.
    int old_slack = ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    for (;;) {
        G* g = find_runnable(m);
        if (!g) break;
        execute(m, g);
    }
    m->tid.store(0, std::memory_order_relaxed);  // the monitor no longer looks at this thread
    if (m->exited) release_p_caches(m->p);
    if (old_slack > 0) ::prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(old_slack), 0, 0, 0);
    set_this_m(nullptr);
}

void Runtime::execute(M* m, G* g) {
    P* p = m->p;
    if (!g->stack) bind_stack(p, g);
    racy_store(m->curg, g);
    trace_goroutine(m, TraceKind::GoStart, g);
    p->schedseq.store(p->schedseq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);  // odd: in a G
    Handoff h(m, Action::None, nullptr);
    assert_no_lock_held_at_switch();
    HandoffHeader* in = switch_context(m->g0, g->ctx, &h);
    // Back on g0 (g0 never changes threads, so m is still ours).
    after_switch(m, static_cast<Handoff*>(in));
}

// g's reservation, taken at its spawn (take_stack_credit), guarantees a
// stack: from p's cache (the pool learns of it in a batch, stack_binds), or
// with the pool's next batch for the cache (allocate_batch, which cannot fail).
void Runtime::bind_stack(P* p, G* g) noexcept {
    if (p->free_stacks.empty()) {
        Stack batch[kLocalCacheMax / 2];
        std::size_t n = stacks.allocate_batch(batch, kLocalCacheMax / 2, std::exchange(p->stack_binds, 0) + 1);
        p->free_stacks.assign(batch, batch + n);  // within the capacity reserved in add_proc_locked: no allocation
    } else if (++p->stack_binds >= kStackSettleBatch) {
        stacks.settle(std::exchange(p->stack_binds, 0));
    }
    g->stack = p->free_stacks.back();
    p->free_stacks.pop_back();
    context_init(g->ctx, g->stack, &g_entry);
}

// Inline in every switch: the frequent actions are a few stores; the rare,
// bulky one (recycling an exited goroutine) is out of line so that this
// stays small.
inline void Runtime::after_switch(M* m, Handoff* h) {
    G* g = h->g;
    switch (h->action) {
        case Action::None: return;
        case Action::Yield:
            // Still Runnable (or Notified: the permit waits for its next park).
            if (m->p->id >= nprocs_.load(std::memory_order_relaxed)) global_.push(g);
            else enqueue_local(m->p, g, false);
            return;
        case Action::YieldGlobal: global_.push(g); return;  // a spawner's slice (scheduler.hpp)
        case Action::Park: {
            // Publish Parked only now that its stack is free. A permit that
            // arrived meanwhile (Notified) makes it runnable again at once.
            GStatus s = GStatus::Runnable;
            if (!g->status.compare_exchange_strong(s, GStatus::Parked, std::memory_order_acq_rel)) {
                GORO_ASSERT(s == GStatus::Notified, "goroutine %llu in state %u at park",
                            static_cast<unsigned long long>(g->id), static_cast<unsigned>(s));
                // Take the permit back by a read-modify-write, not a store:
                // another waker's CAS (Notified -> Notified) may land after
                // our failed CAS, and only an RMW reads from it and so sees
                // what that waker wrote before waking us (g.hpp). A rare
                // path: a wake-up that came while the goroutine switched out.
                g->status.exchange(GStatus::Runnable, std::memory_order_acquire);
                enqueue_local(m->p, g, false);
            }
            return;
        }
        case Action::Exit: recycle_exited(m->p, g); return;
    }
}

void Runtime::recycle_exited(P* p, G* g) {
    release_stack(p, g);
    free_g(p, g);
}

void Runtime::release_stack(P* p, G* g) noexcept {
    if (!g->stack) return;  // abandoned before its first run: none bound
    if (!p) {
        stacks.release_batch(&g->stack, 1);
        g->stack = Stack{};
        return;
    }
    p->free_stacks.push_back(g->stack);
    if (p->free_stacks.size() > static_cast<std::size_t>(kLocalCacheMax)) {
        // Give half back, so a P that only spawns and one that only
        // exits goroutines share one pool.
        std::size_t keep = kLocalCacheMax / 2;
        stacks.release_batch(p->free_stacks.data() + keep, p->free_stacks.size() - keep);
        p->free_stacks.resize(keep);
    }
    g->stack = Stack{};
}

namespace {
void bump_runnext_taken(P* p) {  // owner only: a single writer needs no read-modify-write
    p->runnext_taken.store(p->runnext_taken.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// Owner only: runnext (bounded streak), then the local queue. kOwnerOnly:
// no thief can reach the P (P::owner_only), so runnext and the queue are
// taken with plain loads and stores, and runnext_taken (a hint for
// thieves) is left alone.
template <bool kOwnerOnly>
inline G* take_local(P* p) {
    // Takes runnext if it still holds g.
    auto claim_runnext = [p](G* g) {
        if constexpr (kOwnerOnly) {
            p->runnext.store(nullptr, std::memory_order_relaxed);
            return true;
        } else {
            if (!p->runnext.compare_exchange_strong(
                    g, nullptr, std::memory_order_acquire))  // pairs with acq_rel exchange in enqueue_local
                return false;
            bump_runnext_taken(p);
            return true;
        }
    };
    G* g = p->runnext.load(std::memory_order_relaxed);
    if (g && (p->runnext_streak < kRunnextStreak || p->runq.empty()) && claim_runnext(g)) {
        ++p->runnext_streak;
        return g;
    }
    p->runnext_streak = 0;
    if constexpr (kOwnerOnly) {
        if ((g = p->runq.pop_unshared())) return g;
        if ((g = p->runnext.load(std::memory_order_relaxed))) p->runnext.store(nullptr, std::memory_order_relaxed);
    } else {
        if ((g = p->runq.pop())) return g;
        g = p->runnext.exchange(nullptr, std::memory_order_acquire);  // pairs with acq_rel exchange in enqueue_local
        if (g) bump_runnext_taken(p);
    }
    return g;
}
}  // namespace

// Inline: it picks the next goroutine of every switch.
inline G* Runtime::local_next(P* p) {
    if (p->owner_only) {
        if (owner_op_begin(p)) [[likely]] {  // share_requested not set (scheduler.hpp)
            G* g = take_local<true>(p);
            owner_op_end(p);
            return g;
        }
        share_queue(p);
    }
    return take_local<false>(p);
}

// Owner: other workers exist now (set_maxprocs), so this P's queue must be
// open to them. seq_cst store: an idle worker publishes itself in Idle::nidle
// and then looks at every stealable queue (any_work_visible); we publish
// the queue and then look at Idle::nidle (wakep): one of us sees the other.
void Runtime::share_queue(P* p) {
    (void)p->share_requested.load(std::memory_order_acquire);  // pairs with release in set_maxprocs: nallocated_ > 1
    open_queue(p);
    if (!p->runq.empty() || p->runnext.load(std::memory_order_relaxed)) wakep();
}

// True when this schedule (the P's schedseq `seq`) must go through g0 for
// the periodic look at the global queue, timers and I/O (find_runnable),
// due every kGlobalCheckInterval switches. With none of them pending the
// visit would find nothing, and a round trip through g0 (two switches and a
// clock read) costs several G-to-G switches, so the count starts over
// instead. Relaxed loads: hints, as in find_runnable; work that appears
// meanwhile is seen at the next check or when the local queue runs dry.
bool Runtime::periodic_visit_due(P* p, std::uint32_t seq) noexcept {
    if (static_cast<std::int32_t>(seq - p->next_visit) < 0) return false;
    Netpoller* np = netpoll_.load(std::memory_order_relaxed);
    if (global_.size(std::memory_order_relaxed) > 0 || !timers.empty() ||
        (np && np->waiters.load(std::memory_order_relaxed) > 0))
        return true;
    p->next_visit = seq + 2 * kGlobalCheckInterval;
    return false;
}

// The successor a switching goroutine picks itself (one switch, G to G):
// the next local goroutine, made Running with its stack bound. Null, for a
// switch to g0, when this P has none, when this schedule is the periodic
// visit through g0 (periodic_visit_due), or when the P is being retired.
// Counts the schedule in P::schedseq either way (+2 to the next G, +1 to g0).
[[gnu::always_inline]] inline G* Runtime::switch_pick(M* m) {
    P* p = m->p;
    const std::uint32_t seq = p->schedseq.load(std::memory_order_relaxed);  // owner's own counter
    G* next = nullptr;
    if (!periodic_visit_due(p, seq) && p->id < nprocs_.load(std::memory_order_relaxed)) [[likely]]
        next = local_next(p);
    if (next) {
        if (!next->stack) bind_stack(p, next);
        racy_store(m->curg, next);
        trace_goroutine(m, TraceKind::GoStart, next);
        p->schedseq.store(seq + 2, std::memory_order_relaxed);
    } else {
        p->schedseq.store(seq + 1, std::memory_order_relaxed);  // even: back in g0
    }
    return next;
}

// Runs on the goroutine `self`, which `m` runs: switch to the next
// goroutine or to g0.
void Runtime::g_switch_away(M* m, G* self, Action a) {
    if (!stack_pointer_inside(self->stack, current_sp())) [[unlikely]]
        stack_overflowed(self);  // fiber/stack.hpp
    trace_goroutine(m, a == Action::Park ? TraceKind::GoPark : TraceKind::GoYield, self);
    G* next = switch_pick(m);
    Handoff h(m, a, self);
    assert_no_lock_held_at_switch();
    HandoffHeader* in;
    if (next) {
        in = switch_context(self->ctx, next->ctx, &h);
    } else {
        racy_store(m->curg, static_cast<G*>(nullptr));
        in = switch_context(self->ctx, m->g0, &h);
    }
    // Resumed, perhaps on another worker: the resumer's Handoff names it.
    auto* resumer = static_cast<Handoff*>(in);
    after_switch(resumer->m, resumer);
}

void Runtime::g_exit(M* m, G* g) {
    if (!stack_intact_at_exit(g->stack, current_sp())) [[unlikely]]
        stack_overflowed(g);  // fiber/stack.hpp
    P* p = m->p;
    // Owner-only counter. release: a num_goroutines() that sees this exit
    // (acquire) also sees everything the goroutine did.
    if (g->user) p->ended.store(p->ended.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    if (shutting_down.load(std::memory_order_relaxed) && !g->is_main) main_waker.wake();
    trace_goroutine(m, TraceKind::GoEnd, g);
    G* next = switch_pick(m);
    Handoff h(m, Action::Exit, g);
    assert_no_lock_held_at_switch();
    if (next) switch_context_final(g->ctx, next->ctx, &h);
    racy_store(m->curg, static_cast<G*>(nullptr));
    switch_context_final(g->ctx, m->g0, &h);
}

// ---------------------------------------------------------------- finding work

// Takes up to a fair share of the global queue, but never more than fits in
// the local one beside what it holds (else the overflow would go straight
// back to the global queue), and only one when `max` is 1.
G* Runtime::take_global(P* p, std::int64_t max) {
    std::int64_t size = global_.size(std::memory_order_acquire);  // pairs with release in Inject::push
    if (size <= 0) return nullptr;
    int np = nprocs_.load(std::memory_order_relaxed);
    std::int64_t room = static_cast<std::int64_t>(kRunqCapacity) - static_cast<std::int64_t>(p->runq.size());
    std::int64_t want = std::min<std::int64_t>({size / np + 1, kRunqCapacity / 2, room + 1, max});
    G* batch[kRunqCapacity / 2];
    std::size_t got = global_.take(batch, static_cast<std::size_t>(want));
    if (got == 0) return nullptr;
    for (std::size_t i = 1; i < got; ++i)
        if (!p->runq.push(batch[i])) runq_put_slow(p, batch[i]);
    return batch[0];
}

G* Runtime::steal_work(M* m) {
    P* p = m->p;
    int np = nallocated_.load(std::memory_order_acquire);  // pairs with release in set_maxprocs
    if (np <= 1) return nullptr;
    for (int round = 0; round < 4; ++round) {
        int start = static_cast<int>(next_random(p->rng) % static_cast<std::uint64_t>(np));
        for (int k = 0; k < np; ++k) {
            P* victim = allp_[(start + k) % np].load(std::memory_order_acquire);
            if (victim == p) continue;
            // acquire: pairs with the owner's store in share_queue (all its
            // plain queue writes before it are visible).
            if (!victim->stealable.load(std::memory_order_acquire)) continue;
            if (const std::uint32_t n = victim->runq.steal_into(p->runq); n > 0) {
                trace_event(m, TraceKind::Steal, 0, static_cast<std::uint64_t>(victim->id) << 32 | n);
                bump(p->steals);  // metrics (stats.cpp): off the switch path
                bump(p->stolen, n);
                return p->runq.pop();
            }
            // Last round: take the victim's runnext too (its owner may be
            // busy for long), but only if it is still there after a pause:
            // a G readied by a running one usually runs there in a moment,
            // and stealing it would turn a local hand-off into a cross-thread
            // one (Go waits ~3 us the same way).
            // The same pointer after the pause proves little: two goroutines
            // handing off to each other put the same G there again and
            // again, so the owner's take count must not have moved either.
            if (round == 3) {
                G* g = victim->runnext.load(std::memory_order_relaxed);
                if (g) {
                    std::uint32_t taken = victim->runnext_taken.load(std::memory_order_relaxed);
                    auto until = detail::Clock::now() + kRunnextStealDelay;
                    do detail::SpinLock::pause();
                    while (detail::Clock::now() < until);
                    if (victim->runnext_taken.load(std::memory_order_relaxed) == taken &&
                        victim->runnext.load(std::memory_order_relaxed) == g &&
                        victim->runnext.compare_exchange_strong(g, nullptr, std::memory_order_acquire)) {
                        trace_event(m, TraceKind::Steal, 0, static_cast<std::uint64_t>(victim->id) << 32 | 1);
                        bump(p->steals);
                        bump(p->stolen);
                        return g;
                    }
                }
            }
        }
        if (G* g = take_global(p)) return g;
    }
    return nullptr;
}

Netpoller* Runtime::netpoller() {
    Netpoller* np = netpoll_.load(std::memory_order_acquire);  // pairs with release below
    if (np) return np;
    std::lock_guard lk(netpoll_mu_);
    np = netpoll_.load(std::memory_order_relaxed);
    if (!np) {
        np = make_netpoller();
        netpoll_.store(np, std::memory_order_release);
    }
    return np;
}

// Collects I/O readiness without blocking, unless another worker polls.
// `now`: the caller's clock reading of this pass.
bool Runtime::poll_io_nonblocking(detail::TimePoint now) {
    Netpoller* np = netpoll_.load(std::memory_order_acquire);
    if (!np || np->waiters.load(std::memory_order_relaxed) == 0) return false;
    if (idle_.poll_m.load(std::memory_order_relaxed) != nullptr) return false;
    last_io_poll_ns_.store(steady_ns(now), std::memory_order_relaxed);
    const int n = np->poll(kPollNow);
    if (n > 0) {
        M* m = this_m();
        trace_event(m, TraceKind::Netpoll, 0, static_cast<std::uint64_t>(n));
        bump(m->p->io_wakeups, static_cast<std::uint64_t>(n));
    }
    return n > 0;
}

// Called on every pass through find_runnable, i.e. at least every
// kGlobalCheckInterval schedules even when the local queue never empties.
void Runtime::poll_io_if_overdue(detail::TimePoint now) {
    std::int64_t last = last_io_poll_ns_.load(std::memory_order_relaxed);
    std::int64_t now_ns = steady_ns(now);
    if (now_ns - last < std::chrono::nanoseconds(kForcedPollInterval).count()) return;
    Netpoller* np = netpoll_.load(std::memory_order_acquire);
    if (!np || np->waiters.load(std::memory_order_relaxed) == 0) return;
    if (idle_.poll_m.load(std::memory_order_relaxed) != nullptr) return;  // an idle worker watches already
    if (!last_io_poll_ns_.compare_exchange_strong(last, now_ns, std::memory_order_relaxed))
        return;          // another worker polls
    const int n = np->poll(kPollNow);  // what it readies lands on our queue
    if (n > 0) {
        M* m = this_m();
        trace_event(m, TraceKind::Netpoll, 0, static_cast<std::uint64_t>(n));
        bump(m->p->io_wakeups, static_cast<std::uint64_t>(n));
    }
}

void Runtime::stop_spinning(M* m) {
    m->spinning = false;
    if (idle_.end_spinning()) wakep();  // the last spinner to find work brings in another: there may be more
}

G* Runtime::find_runnable(M* m) {
    for (;;) {
        if (stopping.load(std::memory_order_acquire)) return nullptr;
        // Timers that are due make their goroutines runnable first, and I/O
        // that nobody has collected for a while comes next.
        auto now = detail::Clock::now();
        // Every P's timers (its own first): those of a P whose worker hogs,
        // blocks, was handed off or retired fire here (time/timers.hpp).
        if (timers.next_deadline() <= now) {
            // At most what the local queue has room for (at least
            // kMinTimersPerLook): readied beyond that, they would overflow to
            // the global queue, behind every goroutine queued there (a
            // spawner's flood: sleep_many's sleepers waited 0.2 s at p90
            // after firing, each holding its stack). Those left stay due, in
            // deadline order, for the next look (ours or another worker's).
            const std::uint32_t room = kRunqCapacity - m->p->runq.size();
            const int limit = static_cast<int>(std::max(room, kMinTimersPerLook));
            // The next deadline is now a later one that no sleeping worker
            // may be timed for: with every worker busy, the monitor must know
            // it in case this one blocks (notify_monitor_timer).
            bool lowered = false;
            const int fired = timers.run_expired(now, m->p->id, &lowered, limit);
            if (fired > 0) trace_event(m, TraceKind::Timers, 0, static_cast<std::uint64_t>(fired));
            if (fired > 0 && idle_.nidle.load(std::memory_order_relaxed) == 0) notify_monitor_timer();
            if (lowered) wake_for_timer();  // a race with an add moved the earliest deadline (time/timers.hpp)
        }
        poll_io_if_overdue(now);
        stacks.trim_if_settled(now);  // one relaxed load unless a spike left free stacks behind
        if (check_retire(m)) {
            if (m->exited) return nullptr;  // an idle spare's thread ends (monitor.cpp)
            continue;
        }
        P* p = m->p;

        G* g = nullptr;
        // Now and then the global queue goes first, so it cannot starve:
        // one goroutine from it (Go's schedule() does the same).
        const std::uint32_t seq = p->schedseq.load(std::memory_order_relaxed);
        if (static_cast<std::int32_t>(seq - p->next_visit) >= 0) {
            p->next_visit = seq + 2 * kGlobalCheckInterval;
            g = take_global(p, 1);
        }
        if (!g) g = local_next(p);
        if (!g) g = take_global(p);
        // Ready I/O, collected without blocking (its goroutines land on our P).
        if (!g && poll_io_nonblocking(now)) g = local_next(p);
        if (g) {
            if (m->spinning) stop_spinning(m);
            return g;
        }

        // Steal, as a spinner if there are not too many already (and if
        // there is anyone to steal from).
        if (!m->spinning && nallocated_.load(std::memory_order_relaxed) > 1)
            m->spinning = idle_.try_begin_spinning(nprocs_.load(std::memory_order_relaxed));
        if (m->spinning) {
            trace_event(m, TraceKind::Spin, 0);
            // Spin for a bounded time before sleeping: work that appears
            // within it is taken without the cost of a futex wake-up.
            auto spin_until = now + kSpinBeforeIdle;
            do {
                if ((g = steal_work(m)) || (g = local_next(p)) || (g = take_global(p)) ||
                    (poll_io_nonblocking(now) && (g = local_next(p)))) {
                    stop_spinning(m);
                    return g;
                }
                if (stopping.load(std::memory_order_relaxed) || timers.next_deadline() <= now ||
                    p->id >= nprocs_.load(std::memory_order_relaxed))
                    break;
                for (int i = 0; i < 64; ++i) detail::SpinLock::pause();
                now = detail::Clock::now();
            } while (now < spin_until);
        }

        trace_event(m, TraceKind::IdleBegin, 0);
        idle_sleep(m);
        trace_event(m, TraceKind::IdleEnd, 0);
    }
}

bool Runtime::check_retire(M* m) {
    P* p = m->p;
    if (p->id < nprocs_.load(std::memory_order_acquire)) return false;
    // This P is beyond maxprocs: hand its goroutines to the global queue and
    // wait until set_maxprocs brings it back or the runtime stops.
    if (m->spinning) stop_spinning(m);
    G* batch[kRunqCapacity + 1];  // a full queue and runnext
    std::uint32_t n = p->runq.pop_batch(batch, kRunqCapacity);
    if (G* g = p->runnext.exchange(nullptr, std::memory_order_acquire)) batch[n++] = g;
    if (n) global_.push_batch(batch, n);
    // Wake a worker for the global queue: for our queue, and for a goroutine
    // that yielded on this P once it was beyond nprocs_ (after_switch pushes
    // it to the global queue and wakes nobody; without this, a lone worker
    // asleep in the netpoller never learnt of it: a hang after a hand-off's
    // take-back, monitor.cpp).
    if (n || global_.size(std::memory_order_seq_cst) > 0) wakep();
    // Someone else must watch the timers (our P's shard among them: its
    // timers stay there, and every worker runs every shard's due timers,
    // time/timers.hpp) and the netpoller while we are retired: an idle worker asleep on its futex does not take the poller
    // role until woken (idle.cpp). Without this, a spare retiring after a
    // hand-off's take-back while it was the poller left every worker asleep
    // and the sockets' waiters unpolled.
    if (!timers.empty()) wake_for_timer();
    if (Netpoller* np = netpoll_.load(std::memory_order_acquire); np && np->waiters.load(std::memory_order_acquire) > 0)
        wake_poller_if_needed();
    // Its stack reservations may serve other Ps' spawns meanwhile (its
    // cached stacks stay: they do not count against the pool).
    return_p_reservations(p);
    std::unique_lock lk(procs_mu_);
    if (p->id < nprocs_.load(std::memory_order_acquire)) return true;
    m->retired = true;
    m->wake.store(0, std::memory_order_relaxed);
    // A spare (a P beyond the user's maxprocs, activated for a hand-off)
    // keeps its thread for kSpareLinger, for the next hand-off, and then
    // lets it end; set_active_locked starts a new one when needed.
    const bool spare = p->id >= user_procs_.load(std::memory_order_relaxed);
    const detail::TimePoint linger_until = detail::Clock::now() + kSpareLinger;
    while (m->retired && !stopping.load(std::memory_order_acquire)) {
        lk.unlock();
        futex_wait(&m->wake, 0, spare ? &linger_until : nullptr);
        lk.lock();
        m->wake.store(0, std::memory_order_relaxed);
        if (m->retired && spare && detail::Clock::now() >= linger_until &&
            p->id >= user_procs_.load(std::memory_order_relaxed)) {
            m->exited = true;  // under procs_mu_: set_active_locked joins this thread before it starts another
            return true;
        }
    }
    return true;
}

// In the spawner (take_stack_credit): its mappings may fail here, and only
// here. The unsettled first runs are settled even when it throws.
void Runtime::refill_stack_credits(P* p) {
    p->stack_credits = stacks.reserve(kStackCreditBatch, std::exchange(p->stack_binds, 0));
}

void Runtime::return_p_reservations(P* p) noexcept {
    stacks.settle(p->stack_credits + p->stack_binds);
    p->stack_credits = 0;
    p->stack_binds = 0;
}

void Runtime::release_p_caches(P* p) {
    return_p_reservations(p);
    if (p->free_gs) {
        gpool_.give_batch(p->free_gs, p->n_free_gs);
        p->free_gs = nullptr;
        p->n_free_gs = 0;
    }
    if (!p->free_stacks.empty()) {
        stacks.release_batch(p->free_stacks.data(), p->free_stacks.size());
        p->free_stacks.clear();
    }
}

}  // namespace goro::rt
