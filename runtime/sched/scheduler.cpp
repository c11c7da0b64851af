// sched/scheduler.cpp — the runtime's life cycle, its procs, and making
// goroutines runnable.
//
// Owns: run() (detail::run_runtime: start, shutdown, stop), the Ps and Ms
// and set_maxprocs, ready()/enqueue, and live_goroutines(). Elsewhere in
// sched/: the find-work loop and context switches (worker.cpp), idle
// workers and waking them (idle.cpp), descriptors (gpool.cpp), park/wake
// and cancellation (park.cpp), the spawn glue and the public runtime calls
// but run() (api.cpp).
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

#include "debug/racy.hpp"

#include "env/config.hpp"
#include "fiber/guard.hpp"
#include "debug/dump.hpp"
#include "sched/futex.hpp"
#include "sched/quiet_threads.hpp"
#include "debug/thread_name.hpp"

#include <goro/detail/park.hpp>
#include <goro/runtime.hpp>

#include <sched.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <exception>
#include <new>
#include <string>
#include <system_error>

namespace goro::rt {

std::atomic<Runtime*> g_runtime{nullptr};
std::atomic<std::int64_t> g_foreign_refs{0};

namespace {
// initial-exec: one %fs-relative load instead of a __tls_get_addr call. goro
// is linked into executables (or shared objects loaded at start-up), where
// this model is valid.
[[gnu::tls_model("initial-exec")]] thread_local M* t_this_m = nullptr;
}  // namespace

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

// The fault handler's lookup (fiber/guard.hpp): the goroutine
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
    : timers(kMaxProcsLimit), stacks(stack_size), allp_(new std::atomic<P*>[kMaxProcsLimit]) {
    install_overflow_handler(&goroutine_on_this_thread);  // fiber/guard.hpp
    for (int i = 0; i < kMaxProcsLimit; ++i) allp_[i].store(nullptr, std::memory_order_relaxed);
    std::lock_guard lk(procs_mu_);
    for (int i = 0; i < maxprocs; ++i) add_proc_locked(i);
    if (maxprocs == 1 && asymmetric_barrier_available()) {
        // A lone P needs no atomic read-modify-write on its queue (P::owner_only).
        // Its owner, M0, is this thread: run() constructs the runtime on it.
        // The monitor can open it from outside only with membarrier(2)
        // (monitor.cpp); without it the queue stays shared from the start.
        P* p = allp_[0].load(std::memory_order_relaxed);
        p->owner_only = true;
        p->stealable.store(false, std::memory_order_relaxed);
    }
    nallocated_.store(maxprocs, std::memory_order_release);
    nprocs_.store(maxprocs, std::memory_order_release);
    user_procs_.store(maxprocs, std::memory_order_release);
}

// A new P and the M that will hold it (started by the caller).
void Runtime::add_proc_locked(int id) {
    auto owned = std::make_unique<P>();
    P* p = owned.get();
    p->id = id;
    p->rng = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(id + 1);  // any distinct non-zero seeds
    p->free_stacks.reserve(kLocalCacheMax + 1);  // release_stack's most: bind_stack then never allocates
    timers.add_shard(id);                        // its timers (time/timers.hpp), before anyone can run on it
    allp_[id].store(owned.release(), std::memory_order_release);          // pairs with acquire in steal_work
    auto m = std::make_unique<M>();
    m->id = id;
    if (trace_) m->trace = std::make_unique<TraceBuf>(trace_->buffer_events(), true);
    m->p = p;
    p->m = m.get();
    allm_.push_back(std::move(m));
}

Runtime::~Runtime() {
    int n = nallocated_.load(std::memory_order_relaxed);
    for (int i = 0; i < n; ++i) delete allp_[i].load(std::memory_order_relaxed);
    delete netpoll_.load(std::memory_order_relaxed);
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
                    trace_goroutine(m, TraceKind::GoReady, g);
                    if (m && m->p) {
                        enqueue_local(m->p, g, next);
                    } else {
                        global_.push(g);
                    }
                    wakep_from(m);
                    return;
                }
                break;
            case GStatus::Runnable:
            case GStatus::Notified:
                // Queued, running, or switching out: leave a permit for its
                // next park(), by a CAS even when one is there already (then
                // Notified -> Notified), so that the G's CAS that takes it
                // reads from ours and sees what we wrote before waking (g.hpp:
                // a plain "it will run anyway" lost wake-ups).
                if (g->status.compare_exchange_weak(s, GStatus::Notified, std::memory_order_acq_rel)) return;
                break;
            case GStatus::Held:
            case GStatus::HeldWoken:
                // Parked, and the goroutine dump is reading it: leave the
                // wake-up with the dump (release_held queues the G), by a CAS
                // so that the dump's release carries our writes to the G.
                if (g->status.compare_exchange_weak(s, GStatus::HeldWoken, std::memory_order_acq_rel)) return;
                break;
            case GStatus::Free: return;  // a stale wake
        }
    }
}

bool Runtime::hold_parked(G* g) noexcept {
    GStatus s = GStatus::Parked;
    // acquire: pairs with the release CAS that made it Parked (after_switch),
    // so its saved context and wait reason are visible.
    return g->status.load(std::memory_order_relaxed) == GStatus::Parked &&
           g->status.compare_exchange_strong(s, GStatus::Held, std::memory_order_acq_rel);
}

void Runtime::running_goroutines(std::vector<std::pair<const G*, bool>>& out) {
    std::lock_guard lk(procs_mu_);
    for (const auto& m : allm_) {
        // Owner-only fields, read here without their owner's order: the
        // answer is a snapshot that may be stale by the time it is printed.
        G* g = racy_load(m->curg);
        P* p = racy_load(m->p);
        if (!g) continue;
        bool blocking = p && p->blocking_seq.load(std::memory_order_relaxed) != 0;
        out.emplace_back(g, blocking);
    }
}

void Runtime::release_held(G* g) noexcept {
    GStatus s = GStatus::Held;
    if (g->status.compare_exchange_strong(s, GStatus::Parked, std::memory_order_acq_rel)) return;
    // HeldWoken: a wake-up came while we held it; do what that ready() would have.
    g->status.store(GStatus::Runnable, std::memory_order_release);
    M* m = this_m();
    if (m && m->p && worker_runtime() == this) enqueue_local(m->p, g, false);
    else global_.push(g);
    wakep_from(m && worker_runtime() == this ? m : nullptr);
}

void Runtime::runq_put_slow(P* p, G* g) {
    // Local queue full: move half of it, plus g, to the global queue in one batch.
    G* batch[kRunqCapacity / 2 + 1];
    std::uint32_t n = p->runq.pop_batch(batch, kRunqCapacity / 2);
    batch[n++] = g;
    global_.push_batch(batch, n);
}

void Runtime::cancel_all() {
    // Every descriptor not Free belongs to a live goroutine; ready() gives a
    // parked one the chance to see shutting_down, a running one a permit.
    // The chunks are listed under the pool's lock and walked without it:
    // ready() takes Idle::mu, which comes before it in the lock order.
    // Chunks are never freed, and a chunk added meanwhile holds only
    // goroutines started after shutting_down was set, which see it at their
    // first blocking call.
    G* self = detail::current_g();
    for (G* chunk : gpool_.chunks()) {
        for (std::size_t i = 0; i < kGChunk; ++i) {
            G* g = &chunk[i];
            if (g != self && g->status.load(std::memory_order_acquire) != GStatus::Free) ready(g, false);
        }
    }
}

// ---------------------------------------------------------------- procs

int Runtime::set_maxprocs(int n) {
    std::unique_lock lk(procs_mu_);
    int old = user_procs_.load(std::memory_order_relaxed);
    if (n <= 0 || n == old) return old;
    if (n > kMaxProcsLimit) checked_maxprocs("set_maxprocs n", n);  // throws
    user_procs_.store(n, std::memory_order_release);
    std::error_code err;
    if (!set_active_locked(active_wanted_locked(), &err)) {
        // No thread for a new worker (out of memory or of threads): back to
        // the old count, which needs none, and say so.
        user_procs_.store(old, std::memory_order_release);
        set_active_locked(active_wanted_locked());
        throw std::system_error(err, "goro: set_maxprocs(" + std::to_string(n) + "): cannot start a worker thread (" +
                                         std::to_string(old) + " workers kept)");
    }
    return old;
}

// The active Ps: the user's count of Ps that are not handed off (stuck in a
// goroutine, monitor.cpp), counted from P0 up, so that a hand-off activates
// the next P and a take-back retires the highest. At most kMaxProcsLimit:
// beyond it a hand-off waits (the thread cap).
int Runtime::active_wanted_locked() const {
    const int want = user_procs_.load(std::memory_order_relaxed);
    const int allocated = nallocated_.load(std::memory_order_relaxed);
    int running = 0, k = 0;
    while (running < want && k < kMaxProcsLimit) {
        P* p = k < allocated ? allp_[k].load(std::memory_order_relaxed) : nullptr;
        if (!p || !p->handed_off.load(std::memory_order_relaxed)) ++running;
        ++k;
    }
    return k;
}

bool Runtime::set_active_locked(int n, std::error_code* err) {
    int old = nprocs_.load(std::memory_order_relaxed);
    if (n == old) return true;
    int allocated = nallocated_.load(std::memory_order_relaxed);
    for (int i = allocated; i < n; ++i) add_proc_locked(i);
    if (n > allocated) nallocated_.store(n, std::memory_order_release);  // pairs with acquire in steal_work
    if (allocated == 1 && n > 1) {
        // The first P stops being its owner's alone. Its owner opens it at
        // its next schedule (P::owner_only); if that is us, right now, and
        // with no wakep(): the new workers about to start look for work
        // first thing. (A stuck owner's queue is opened by the monitor:
        // monitor.cpp open_from_outside.)
        P* p0 = allp_[0].load(std::memory_order_relaxed);
        p0->share_requested.store(true, std::memory_order_release);  // pairs with acquire in share_queue
        M* self = this_m();
        if (self && self->p == p0 && p0->owner_only) open_queue(p0);
    }
    nprocs_.store(n, std::memory_order_seq_cst);  // retiring Ms read it at every schedule
    for (int i = old; i < n; ++i) {
        M* m = allm_[i].get();
        bool started = true;
        if (i >= allocated) {
            started = start_m(i, err);
        } else if (m->exited) {
            // An idle spare's thread ended (worker.cpp check_retire), or the
            // system refused one before: a new one.
            if (m->thread.joinable()) m->thread.join();
            m->exited = false;
            m->retired = false;
            started = start_m(i, err);
        } else if (m->retired) {
            m->retired = false;
            m->wake.store(1, std::memory_order_release);  // pairs with acquire in the retired wait
            futex_wake(&m->wake);
        }
        if (!started) {
            // Ps [i, n) stay retired: they have no thread. Their new Ms are
            // marked exited (start_m marked M i), so that a later call
            // starts them; the older ones, not reached, keep their state.
            for (int k = std::max(i + 1, allocated); k < n; ++k) allm_[k]->exited = true;
            nprocs_.store(i, std::memory_order_seq_cst);
            if (i > old) notify_monitor_busy();
            return false;
        }
    }
    // Workers beyond n retire at their next schedule: wake the idle ones
    // now, so that one asleep on a timer or in the netpoller hands its role
    // over at once.
    for (int i = n; i < old; ++i) wake_m(allm_[i].get());
    if (n > old) notify_monitor_busy();
    return true;
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

bool Runtime::start_m(int id, std::error_code* err) noexcept {
    M* m = allm_[id].get();
    const int creator_cpu = ::sched_getcpu();
    try {
        m->thread = std::thread([this, m, creator_cpu, id] {
            place_new_worker(creator_cpu, id);
            m_main(m);
        });
        return true;
    } catch (const std::system_error& e) {  // pthread_create: EAGAIN (threads, memory, address space)
        if (err) *err = e.code();
    } catch (const std::bad_alloc&) {
        if (err) *err = std::make_error_code(std::errc::not_enough_memory);
    }
    m->exited = true;  // no thread: the next activation of this P starts one (set_active_locked)
    m->retired = false;
    return false;
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

// Config takes the environment's limits (env/config.hpp), checked by the same code.
int resolve_maxprocs(const Config& cfg) {
    if (cfg.maxprocs != 0) return checked_maxprocs("Config::maxprocs", cfg.maxprocs);
    int n = maxprocs_from_env();
    return n > 0 ? n : num_cpu_detect();
}

std::size_t resolve_stack_size(const Config& cfg) {
    if (cfg.stack_size > 0)
        return checked_stack_size("Config::stack_size", std::to_string(cfg.stack_size), cfg.stack_size);
    std::size_t s = stack_size_from_env();
    return s > 0 ? s : kDefaultStackSize;
}

}  // namespace

void Runtime::run_main(std::function<void()>& main) {
    M* m0 = allm_[0].get();
    if (trace_) trace_->start();  // before the main goroutine's creation
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
        for (int i = 1; i < procs; ++i) {
            std::error_code err;
            if (start_m(i, &err)) continue;
            // Run with the workers that started (at least this thread's),
            // and say so; set_maxprocs may ask for more later.
            for (int k = i + 1; k < procs; ++k) allm_[k]->exited = true;  // none started (start_m marked M i)
            user_procs_.store(i, std::memory_order_release);  // what maxprocs() reports
            nprocs_.store(i, std::memory_order_seq_cst);
            std::fprintf(stderr, "goro: cannot start worker thread %d of %d (%s): running with %d\n", i + 1, procs,
                         err.message().c_str(), i);
            break;
        }
    }
    start_monitor();
    m_main(m0);
    set_this_m(nullptr);
    stop_monitor();
    // Workers leave their loops once `stopping` is set; set_maxprocs can no
    // longer add any (the main goroutine has ended).
    for (auto& m : allm_)
        if (m->thread.joinable()) m->thread.join();
    if (trace_) trace_->stop();  // every worker has ended: their buffers are still
}

void Runtime::enable_trace(std::unique_ptr<Trace> t) {
    std::lock_guard lk(procs_mu_);
    trace_ = std::move(t);
    for (auto& m : allm_) m->trace = std::make_unique<TraceBuf>(trace_->buffer_events(), true);
}

void Runtime::write_trace() noexcept {
    if (!trace_) return;
    std::vector<std::pair<int, const TraceBuf*>> bufs;
    {
        std::lock_guard lk(procs_mu_);
        for (auto& m : allm_) bufs.emplace_back(m->id, m->trace.get());
    }
    trace_->write(bufs, user_procs_.load(std::memory_order_relaxed));
}

// On the main goroutine, after the user's function returned.
void Runtime::shutdown_from_main() {
    main_waker = detail::current_waker();
    shutting_down.store(true, std::memory_order_seq_cst);
    // Every leftover now has a request at each blocking call: the entry
    // checks must look, until the leftovers are gone.
    detail::g_requests_pending.fetch_add(1, std::memory_order_relaxed);
    cancel_all();
    // Exiting goroutines wake us once they see shutting_down; the timed park
    // is a backstop for one that ended just before it could see the flag.
    while (live_goroutines() > 1) detail::park_until(detail::Clock::now() + std::chrono::milliseconds(10), detail::WaitReason::ShutdownWait);
    detail::g_requests_pending.fetch_sub(1, std::memory_order_relaxed);
    stop_all();
}

}  // namespace goro::rt

namespace goro::detail {

using namespace goro::rt;

namespace {

// GORO_DEBUG=schedtrace=MS: a plain thread that prints Runtime::schedtrace_line
// every MS ms to stderr while the runtime runs (Go prints from sysmon; goro's
// monitor sleeps while the runtime is idle, and a trace must not wake it).
// No thread at all when the setting is off.
class SchedTrace {
public:
    SchedTrace(Runtime* rt, std::int64_t ms, bool detail) {
        if (ms <= 0) return;
        thread_ = std::thread([this, rt, ms, detail] {
            QuietScope quiet;  // it never wakes a goroutine (deadlock detection, quiet_threads.hpp)
            ThreadName name("goro-schedtrace");
            std::unique_lock lk(mu_);
            auto next = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
            while (!stop_) {
                if (cv_.wait_until(lk, next, [this] { return stop_; })) break;
                next += std::chrono::milliseconds(ms);
                lk.unlock();
                const std::string line = rt->schedtrace_line(detail);
                std::fwrite(line.data(), 1, line.size(), stderr);
                std::fflush(stderr);
                lk.lock();
            }
        });
    }
    ~SchedTrace() { stop(); }
    void stop() {
        if (!thread_.joinable()) return;
        {
            std::lock_guard lk(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace

void run_runtime(const Config& cfg, std::function<void()> main) {
    if (current_g()) throw InvalidState("goro: run() called from inside a goroutine");
    int procs = resolve_maxprocs(cfg);
    std::size_t stack_size = resolve_stack_size(cfg);
    const DebugOptions debug = debug_from_env();  // throws on a bad GORO_DEBUG
    set_traceback(traceback_from_env());          // throws on a bad GORO_TRACEBACK
    const TraceOptions trace_opts = trace_from_env();  // throws on a bad GORO_TRACE_BUFFER
    if (debug.sigquit) install_sigquit_dump();
    install_panic_handler();

    auto rt = std::make_unique<Runtime>(procs, stack_size);
    rt->slow_ns = debug.slow_ns;  // before the monitor starts (run_main)
    Runtime* expected = nullptr;
    if (!g_runtime.compare_exchange_strong(expected, rt.get()))
        throw InvalidState("goro: run() called while another runtime is running in this process");
    struct Unpublish {
        ~Unpublish() {
            g_runtime.store(nullptr, std::memory_order_seq_cst);
            // Plain threads still inside a call that reached the runtime.
            while (g_foreign_refs.load(std::memory_order_acquire) != 0)
                std::this_thread::yield();  // pairs with release in ~RuntimeRef
        }
    } unpublish;
    // GORO_TRACE: the file is opened now, so that a bad path fails run()
    // before the program starts (std::invalid_argument naming GORO_TRACE).
    if (!trace_opts.path.empty()) rt->enable_trace(std::make_unique<Trace>(trace_opts));
    SchedTrace trace(rt.get(), debug.schedtrace_ms, debug.scheddetail);
    rt->run_main(main);
    trace.stop();
    rt->write_trace();  // a failure is a line on stderr: the program's result stands
    if (rt->deadlocked.load(std::memory_order_acquire)) throw Deadlock(rt->deadlock_what);
}

}  // namespace goro::detail
