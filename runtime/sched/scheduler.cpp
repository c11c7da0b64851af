// sched/scheduler.cpp — the runtime's life cycle, goroutine descriptors, and
// making goroutines runnable.
//
// Owns: run() (start, shutdown, stop), allocation and recycling of G
// descriptors, ready()/enqueue, set_maxprocs, and the public runtime calls.
// The find-work loop and context switches are in worker.cpp; park/wake and
// cancellation in park.cpp.
//
// Life of a runtime (run_runtime):
//  1. The calling thread becomes M0 holding P0; maxprocs-1 more Ms start.
//  2. The main goroutine runs the user's function.
//  3. When it returns, shutting_down is set: every goroutine still alive is
//     readied, and from now on each blocking call of a leftover throws
//     Cancelled (again each time it parks) until it ends. The main goroutine
//     waits until it is the last one alive.
//  4. stopping is set and every worker woken; workers leave their loops, the
//     extra threads are joined, and run() returns on M0.
//
// ready() and the lost wake-up: see g.hpp. A G readied while it is still
// Running gets a permit (Notified) instead of being queued, so it is never on
// a queue while its stack is in use.
#include "sched/scheduler.hpp"

#include "env/config.hpp"
#include "fiber/guard.hpp"
#include "sched/futex.hpp"

#include <goro/detail/park.hpp>
#include <goro/runtime.hpp>

#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <exception>
#include <new>
#include <system_error>

namespace goro::rt {

std::atomic<Runtime*> g_runtime{nullptr};
std::atomic<std::int64_t> g_foreign_refs{0};

namespace {
// initial-exec: one %fs-relative load instead of a __tls_get_addr call. goro
// is linked into executables (or shared objects loaded at start-up), where
// this model is valid.
[[gnu::tls_model("initial-exec")]] thread_local M* t_this_m = nullptr;
}

// Not inlined, and opaque to the optimizer: the address of a thread-local may
// not be reused across a context switch (the goroutine may resume on another
// thread).
[[gnu::noinline]] M* this_m() noexcept {
    asm volatile("" ::: "memory");
    return t_this_m;
}
[[gnu::noinline]] void set_this_m(M* m) noexcept {
    asm volatile("" ::: "memory");
    t_this_m = m;
}

// stack-safety: the fault handler's lookup (fiber/guard.hpp): the goroutine
// this thread runs. Async-signal-safe: thread-local and descriptor reads.
namespace {
bool goroutine_on_this_thread(GoroutineOnThread* out) noexcept {
    M* m = t_this_m;
    G* g = m ? m->curg : nullptr;
    if (!g) return false;
    out->stack = &g->stack;
    out->id = g->id;
    out->name = g->name ? g->name->c_str() : nullptr;
    return true;
}
}  // namespace

Runtime::Runtime(int maxprocs, std::size_t stack_size)
    : stacks(stack_size), allp_(new std::atomic<P*>[kMaxProcs]) {
    install_overflow_handler(&goroutine_on_this_thread);  // stack-safety
    for (int i = 0; i < kMaxProcs; ++i) allp_[i].store(nullptr, std::memory_order_relaxed);
    std::lock_guard lk(procs_mu_);
    for (int i = 0; i < maxprocs; ++i) add_proc_locked(i);
    if (maxprocs == 1) {
        // A lone P needs no atomic read-modify-write on its queue (P::owner_only).
        // Its owner, M0, is this thread: run() constructs the runtime on it.
        P* p = allp_[0].load(std::memory_order_relaxed);
        p->owner_only = true;
        p->stealable.store(false, std::memory_order_relaxed);
    }
    nallocated_.store(maxprocs, std::memory_order_release);
    nprocs_.store(maxprocs, std::memory_order_release);
}

// A new P and the M that will hold it (started by the caller).
void Runtime::add_proc_locked(int id) {
    auto* p = new P;
    p->id = id;
    p->rng = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(id + 1);  // any distinct non-zero seeds
    allp_[id].store(p, std::memory_order_release);  // pairs with acquire in steal_work
    auto m = std::make_unique<M>();
    m->id = id;
    m->p = p;
    p->m = m.get();
    allm_.push_back(std::move(m));
}

Runtime::~Runtime() {
#if GORO_TSAN
    for (auto& chunk : g_chunks_)
        for (std::size_t i = 0; i < kGChunk; ++i) context_destroy(chunk[i].ctx);
#endif
    int n = nallocated_.load(std::memory_order_relaxed);
    for (int i = 0; i < n; ++i) delete allp_[i].load(std::memory_order_relaxed);
    delete netpoll_.load(std::memory_order_relaxed);
}

// ---------------------------------------------------------------- descriptors

// A free descriptor from the shared batches, or null.
G* Runtime::take_g_locked() {
    if (g_free_batches_.empty()) return nullptr;
    GBatch& b = g_free_batches_.back();
    G* g = b.head;
    b.head = g->next;
    if (--b.count == 0) g_free_batches_.pop_back();
    return g;
}

// A fresh chunk is allocated and its descriptors constructed without g_mu_:
// that is where the first-touch page faults happen (a dozen per chunk), and
// a spin lock held across them kept the other workers spinning (a quarter
// of spawn_join's time at two workers). Only linking it in, as batches of
// the size a P refills with, is done under the lock.
void Runtime::add_g_chunk() {
    constexpr std::size_t kBatch = kLocalCacheMax / 2;
    static_assert(kGChunk % kBatch == 0);
    std::unique_ptr<G[]> chunk(new G[kGChunk]);
    for (std::size_t i = 0; i < kGChunk; ++i) chunk[i].next = (i + 1) % kBatch ? &chunk[i + 1] : nullptr;
    std::lock_guard lk(g_mu_);
    g_free_batches_.reserve(g_free_batches_.size() + kGChunk / kBatch);  // may throw: nothing linked yet
    G* gs = chunk.get();
    g_chunks_.push_back(std::move(chunk));
    for (std::size_t i = 0; i < kGChunk; i += kBatch) g_free_batches_.push_back(GBatch{&gs[i], static_cast<int>(kBatch)});
}

G* Runtime::alloc_g_local(P* p) {
    while (!p->free_gs) {
        // Refill with a whole batch (O(1) under the lock: no walk over
        // descriptors that are cold in this cache), given back by a P or
        // made from a fresh chunk.
        {
            std::lock_guard lk(g_mu_);
            if (!g_free_batches_.empty()) {
                GBatch b = g_free_batches_.back();
                g_free_batches_.pop_back();
                p->free_gs = b.head;
                p->n_free_gs = b.count;
                break;
            }
        }
        add_g_chunk();
    }
    G* g = p->free_gs;
    p->free_gs = g->next;
    --p->n_free_gs;
    return g;
}

// stack-safety: the descriptor and a heap block for a big callable are
// taken here, in the spawner: running out of either is a std::system_error
// from go()/spawn(). The stack is still bound at the goroutine's first run
// (binding it here made spawn_join 50x slower: a spawner that outruns the
// workers faulted in a stack per queued goroutine).
G* Runtime::alloc_g(std::size_t fn_size, std::size_t fn_align, void** storage) {
    M* m = this_m();
    P* p = m ? m->p : nullptr;
    G* g;
    try {
        g = p ? alloc_g_local(p) : alloc_g_shared();
    } catch (const std::bad_alloc&) {
        throw std::system_error(ENOMEM, std::generic_category(), "goro: no memory for a goroutine descriptor");
    }
    g->next = nullptr;
    detail::clear_cancel_request(g);  // not yet visible to anyone; normally cleared at its last exit
    g->user = true;
    g->is_main = false;
    g->name = nullptr;
    g->stack = Stack{};  // bound at its first run (worker.cpp bind_stack)
    try {
        if (fn_size <= detail::kInlineFnSize && fn_align <= alignof(std::max_align_t)) {
            g->fn = g->inline_fn;
        } else {
            g->fn = ::operator new(fn_size, std::align_val_t(fn_align));
            g->fn_align = static_cast<std::uint32_t>(fn_align);
        }
    } catch (...) {
        if (p) free_g(p, g); else free_g_shared(g);
        try {
            throw;
        } catch (const std::bad_alloc&) {
            throw std::system_error(ENOMEM, std::generic_category(), "goro: no memory for a goroutine");
        }
    }
    *storage = g->fn;
    return g;
}

G* Runtime::alloc_g_shared() {
    for (;;) {
        {
            std::lock_guard lk(g_mu_);
            if (G* g = take_g_locked()) return g;
        }
        add_g_chunk();
    }
}

void Runtime::free_g(P* p, G* g) {
    detail::clear_cancel_request(g);  // a request it never received no longer counts
    if (g->fn_on_heap()) ::operator delete(g->fn, std::align_val_t(g->fn_align));
    g->fn = nullptr;
    g->ops = nullptr;
    g->status.store(GStatus::Free, std::memory_order_release);  // stale ready()s now see Free and do nothing
    g->next = p->free_gs;
    p->free_gs = g;
    if (++p->n_free_gs >= kLocalCacheMax) {
        // Hand the whole local list over as one batch, so a P that only
        // exits goroutines feeds one that only spawns them.
        std::lock_guard lk(g_mu_);
        g_free_batches_.push_back(GBatch{p->free_gs, p->n_free_gs});
        p->free_gs = nullptr;
        p->n_free_gs = 0;
    }
}

void Runtime::free_g_shared(G* g) {
    detail::clear_cancel_request(g);
    if (g->fn_on_heap()) ::operator delete(g->fn, std::align_val_t(g->fn_align));
    g->fn = nullptr;
    g->status.store(GStatus::Free, std::memory_order_release);
    g->next = nullptr;
    std::lock_guard lk(g_mu_);
    g_free_batches_.push_back(GBatch{g, 1});
}

void Runtime::start_g(G* g) {
    g->status.store(GStatus::Runnable, std::memory_order_relaxed);  // published by the queue push
    M* m = this_m();
    if (m && m->p) {
        P* p = m->p;
        if (p->goid_next == p->goid_end) {
            p->goid_next = next_goid.fetch_add(kGoidBatch, std::memory_order_relaxed);  // unique numbers, no ordering
            p->goid_end = p->goid_next + kGoidBatch;
        }
        g->id = p->goid_next++;
        if (g->user) p->started.store(p->started.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);  // owner-only counter
        enqueue_local(p, g, true);
    } else {
        g->id = next_goid.fetch_add(1, std::memory_order_relaxed);
        if (g->user) started_offp_.fetch_add(1, std::memory_order_relaxed);  // a counter, no ordering
        foreign_wakers_.store(true, std::memory_order_relaxed);  // read only by deadlock detection
        enqueue_global(g);
    }
    wakep();
}

// The ended counts are read with acquire (pairs with release in g_exit): a
// caller that sees goroutines gone may touch what they used, e.g. a test
// that waits for num_goroutines() == 1 and then destroys their captures.
std::int64_t Runtime::live_goroutines() const noexcept {
    // Goroutines started from plain threads end on some P: counted there.
    std::int64_t n = started_offp_.load(std::memory_order_relaxed);
    int np = nallocated_.load(std::memory_order_acquire);
    for (int i = 0; i < np; ++i) {
        P* p = allp_[i].load(std::memory_order_acquire);
        n += p->started.load(std::memory_order_relaxed) - p->ended.load(std::memory_order_acquire);
    }
    return n;
}

// ---------------------------------------------------------------- ready / enqueue

void Runtime::ready_from(M* m, G* g, bool next) {
    GStatus s = g->status.load(std::memory_order_acquire);
    for (;;) {
        switch (s) {
        case GStatus::Parked:
            // acq_rel: the waker's writes (e.g. a received value) happen before the G resumes.
            if (g->status.compare_exchange_weak(s, GStatus::Runnable, std::memory_order_acq_rel)) {
                if (m && m->p) {
                    enqueue_local(m->p, g, next);
                } else {
                    foreign_wakers_.store(true, std::memory_order_relaxed);  // read only by deadlock detection
                    enqueue_global(g);
                }
                wakep_from(m);
                return;
            }
            break;
        case GStatus::Running:
            // It has not switched out yet: leave a permit for its park().
            if (g->status.compare_exchange_weak(s, GStatus::Notified, std::memory_order_acq_rel)) return;
            break;
        default:
            return;  // Runnable or Notified already; Free: a stale wake
        }
    }
}

void Runtime::runq_put_slow(P* p, G* g) {
    // Local queue full: move half of it, plus g, to the global queue in one batch.
    G* batch[kRunqCapacity / 2 + 1];
    std::uint32_t n = p->runq.pop_batch(batch, kRunqCapacity / 2);
    batch[n++] = g;
    global_.enqueue_bulk(batch, n);
    global_size_.fetch_add(n, std::memory_order_release);  // pairs with acquire in take_global
}

void Runtime::enqueue_global(G* g) {
    global_.enqueue(g);
    global_size_.fetch_add(1, std::memory_order_release);  // pairs with acquire in take_global
}

void Runtime::cancel_all() {
    // Every descriptor not Free belongs to a live goroutine; ready() gives a
    // parked one the chance to see shutting_down, a running one a permit.
    std::lock_guard lk(g_mu_);
    G* self = detail::current_g();
    for (auto& chunk : g_chunks_) {
        for (std::size_t i = 0; i < kGChunk; ++i) {
            G* g = &chunk[i];
            if (g != self && g->status.load(std::memory_order_acquire) != GStatus::Free) ready(g, false);
        }
    }
}

// ---------------------------------------------------------------- procs

int Runtime::set_maxprocs(int n) {
    std::unique_lock lk(procs_mu_);
    int old = nprocs_.load(std::memory_order_relaxed);
    if (n <= 0 || n == old) return old;
    if (n > kMaxProcs) n = kMaxProcs;
    int allocated = nallocated_.load(std::memory_order_relaxed);
    for (int i = allocated; i < n; ++i) add_proc_locked(i);
    if (n > allocated) nallocated_.store(n, std::memory_order_release);  // pairs with acquire in steal_work
    if (allocated == 1 && n > 1) {
        // The first P stops being its owner's alone. Its owner opens it at
        // its next schedule (P::owner_only); if that is us, right now, and
        // with no wakep(): the new workers about to start look for work
        // first thing.
        P* p0 = allp_[0].load(std::memory_order_relaxed);
        p0->share_requested.store(true, std::memory_order_release);  // pairs with acquire in share_queue
        M* self = this_m();
        if (self && self->p == p0 && p0->owner_only) open_queue(p0);
    }
    nprocs_.store(n, std::memory_order_seq_cst);  // retiring Ms read it at every schedule
    for (int i = old; i < n; ++i) {
        M* m = allm_[i].get();
        if (i >= allocated) {
            start_m(i);
        } else if (m->retired) {
            m->retired = false;
            m->wake.store(1, std::memory_order_release);  // pairs with acquire in the retired wait
            futex_wake(&m->wake);
        }
    }
    return old;
}

namespace {

// Initial placement of a new worker thread. Linux may start a thread on its
// creator's CPU and leave it there until the periodic load balancer moves
// it: on the 2-vCPU VM of bench/RESULTS.md, `perf sched timehist` showed
// cpu_parallel's second worker sharing the first one's CPU for 4-17 ms while
// the other CPU idled. A moment of single-CPU affinity moves the thread at
// once to the CPU `offset` places after `creator_cpu` in the allowed set;
// the whole set is given back right after, so the kernel may still move it
// and taskset or cpusets keep their say. Best effort: any error leaves the
// thread where it is.
void place_new_worker(int creator_cpu, int offset) noexcept {
    cpu_set_t allowed;
    if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
    const int n = CPU_COUNT(&allowed);
    if (n < 2 || offset % n == 0) return;
    int creator_index = 0;  // the creator's position in the allowed set
    for (int c = 0, k = 0; c < CPU_SETSIZE && k < n; ++c) {
        if (!CPU_ISSET(c, &allowed)) continue;
        if (c == creator_cpu) creator_index = k;
        ++k;
    }
    const int want = (creator_index + offset) % n;
    int target = -1;
    for (int c = 0, k = 0; c < CPU_SETSIZE; ++c) {
        if (!CPU_ISSET(c, &allowed)) continue;
        if (k++ == want) {
            target = c;
            break;
        }
    }
    if (target < 0 || target == ::sched_getcpu()) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(target, &one);
    if (::sched_setaffinity(0, sizeof one, &one) != 0) return;
    ::sched_setaffinity(0, sizeof allowed, &allowed);
}

}  // namespace

void Runtime::start_m(int id) {
    M* m = allm_[id].get();
    const int creator_cpu = ::sched_getcpu();
    m->thread = std::thread([this, m, creator_cpu, id] {
        place_new_worker(creator_cpu, id);
        m_main(m);
    });
}

void Runtime::stop_all() {
    stopping.store(true, std::memory_order_seq_cst);
    std::lock_guard lk(procs_mu_);
    for (auto& m : allm_) {
        m->wake.store(1, std::memory_order_release);  // pairs with acquire in idle_sleep
        futex_wake(&m->wake);
    }
    if (Netpoller* np = netpoll_.load(std::memory_order_acquire)) np->interrupt();
}

// ---------------------------------------------------------------- run()

namespace {

int resolve_maxprocs(const Config& cfg) {
    if (cfg.maxprocs > 0) return cfg.maxprocs > kMaxProcs ? kMaxProcs : cfg.maxprocs;
    int n = maxprocs_from_env();
    return n > 0 ? n : num_cpu_detect();
}

std::size_t resolve_stack_size(const Config& cfg) {
    if (cfg.stack_size > 0) {
        if (cfg.stack_size < kMinStackSize)
            throw std::invalid_argument("goro: Config::stack_size=" + std::to_string(cfg.stack_size) +
                                        " is below the minimum of 16384 bytes");
        return (cfg.stack_size + kStackPageSize - 1) / kStackPageSize * kStackPageSize;
    }
    std::size_t s = stack_size_from_env();
    return s > 0 ? s : kDefaultStackSize;
}

}  // namespace

void Runtime::run_main(std::function<void()>& main) {
    M* m0 = allm_[0].get();
    set_this_m(m0);
    G* g = detail::spawn_goroutine([this, &main] {
        main();
        shutdown_from_main();
    });
    g->is_main = true;
    main_g = g;
    int procs = nprocs_.load(std::memory_order_relaxed);
    {
        std::lock_guard lk(procs_mu_);
        for (int i = 1; i < procs; ++i) start_m(i);
    }
    m_main(m0);
    set_this_m(nullptr);
    // Workers leave their loops once `stopping` is set; set_maxprocs can no
    // longer add any (the main goroutine has ended).
    for (auto& m : allm_)
        if (m->thread.joinable()) m->thread.join();
}

// On the main goroutine, after the user's function returned.
void Runtime::shutdown_from_main() {
    main_waker = detail::current_waker();
    shutting_down.store(true, std::memory_order_seq_cst);
    // Every leftover now has a request at each blocking call: the entry
    // checks must look, until the leftovers are gone.
    detail::g_cancel_requests.fetch_add(1, std::memory_order_relaxed);
    cancel_all();
    // Exiting goroutines wake us once they see shutting_down; the timed park
    // is a backstop for one that ended just before it could see the flag.
    while (live_goroutines() > 1) detail::park_until(detail::Clock::now() + std::chrono::milliseconds(10));
    detail::g_cancel_requests.fetch_sub(1, std::memory_order_relaxed);
    stop_all();
}

}  // namespace goro::rt

namespace goro::detail {

using namespace goro::rt;

void run_runtime(const Config& cfg, std::function<void()> main) {
    if (current_g()) throw InvalidState("goro: run() called from inside a goroutine");
    int procs = resolve_maxprocs(cfg);
    std::size_t stack_size = resolve_stack_size(cfg);

    auto rt = std::make_unique<Runtime>(procs, stack_size);
    Runtime* expected = nullptr;
    if (!g_runtime.compare_exchange_strong(expected, rt.get()))
        throw InvalidState("goro: run() called while another runtime is running in this process");
    struct Unpublish {
        ~Unpublish() {
            g_runtime.store(nullptr, std::memory_order_seq_cst);
            // Plain threads still inside a call that reached the runtime.
            while (g_foreign_refs.load(std::memory_order_acquire) != 0) std::this_thread::yield();  // pairs with release in ~RuntimeRef
        }
    } unpublish;
    rt->run_main(main);
    if (rt->deadlocked.load(std::memory_order_acquire)) throw Deadlock();
}

}  // namespace goro::detail
