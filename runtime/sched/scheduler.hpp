// sched/scheduler.hpp — the runtime: processors (P), worker threads (M), and
// the Runtime that ties them to its parts. Internal to runtime/sched; the
// rest of the runtime comes in through sched/api.hpp.
//
// Vocabulary (Go's): G a goroutine; M a worker thread; P a processor, i.e. a
// local run queue plus the right to run goroutines. maxprocs Ps exist; each
// active M holds one P. Today M and P are paired one to one, but no code
// reaches a queue except through M::p, so a monitor can later hand a stuck
// M's P to another thread (Go's handoffp) without touching the queues.
//
// Where a runnable G waits: its P's runnext slot (the G readied last by the
// running one: it runs next, inheriting the time slice, at most
// kRunnextStreak times in a row), the P's runq (FIFO), or the global queue
// (inject.hpp: spawns from plain threads, overflow, work of retired Ps).
//
// Runtime's parts, one per synchronisation domain, each in its own files:
//   procs       allp_/allm_/nprocs_ under procs_mu_   scheduler.cpp
//   global      Inject global_ (lock-free)            inject.hpp
//   idle        Idle idle_ and the wake-up protocol   idle.hpp, idle.cpp
//   descriptors GPool gpool_ behind per-P free lists  gpool.hpp, gpool.cpp
//   timers      Timers timers (a lock per P's shard)  time/timers.hpp
//   stacks      StackPool stacks (its own lock)       fiber/stack.hpp
//   netpoller   created on first use (netpoll_mu_)    worker.cpp
// Lock order: runtime/DESIGN.md "Lock order" (the one list), checked in
// builds with GORO_LOCK_RANK (debug/lock_rank.hpp).
#pragma once

#include "debug/assert.hpp"
#include "debug/lock_rank.hpp"
#include "debug/trace.hpp"
#include "fiber/context.hpp"
#include "fiber/stack.hpp"
#include "sched/api.hpp"
#include "sched/g.hpp"
#include "sched/gpool.hpp"
#include "sched/idle.hpp"
#include "sched/inject.hpp"
#include "sched/runq.hpp"
#include "netpoll/netpoll.hpp"
#include "time/timers.hpp"

#include <goro/metrics.hpp>
#include <goro/runtime.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <system_error>
#include <vector>

namespace goro::rt {

using detail::G;
using detail::GStatus;

#ifndef GORO_RUNQ_CAPACITY
inline constexpr std::uint32_t kRunqCapacity = 256;  // Go's value: a steal moves up to 128
#else
inline constexpr std::uint32_t kRunqCapacity = GORO_RUNQ_CAPACITY;
#endif
// A pair of goroutines handing off to each other through runnext may run this
// many times in a row before the queue gets a turn (Go bounds it by the 10 ms
// time slice; we have no preemption, so we count).
inline constexpr int kRunnextStreak = 32;
// A worker that never runs out of goroutines never sleeps in the netpoller;
// one of them polls without blocking when nobody has for this long (Go's
// sysmon: 10 ms from a thread of its own).
inline constexpr std::chrono::milliseconds kForcedPollInterval{1};
// Goroutine ids are reserved this many at a time per P (one shared counter
// touched once per batch instead of once per spawn).
inline constexpr std::uint64_t kGoidBatch = 16;
// Stack reservations (fiber/stack.hpp) are taken from the pool this many at
// a time per P (P::stack_credits), and first runs served from a P's own
// cache are settled with the pool at the latest this many at a time
// (P::stack_binds; a spawner's refill settles them sooner).
inline constexpr std::size_t kStackCreditBatch = 32;
inline constexpr std::size_t kStackSettleBatch = 64;
// Every kGlobalCheckInterval schedules, look at the global queue and the
// timers first, so neither starves behind a busy local queue (Go: 61).
inline constexpr std::uint32_t kGlobalCheckInterval = 61;
// A look at the timers fires at most as many as the local queue has room
// for, and at least this many, so that timers cannot starve behind a P whose
// queue stays full (the surplus then overflows to the global queue).
inline constexpr std::uint32_t kMinTimersPerLook = 16;
// A goroutine that starts this many goroutines in one run (without a switch
// in between) goes to the back of the global queue, behind what it queued:
// the spawn slice. A loop of go() otherwise runs on (it never parks) while
// what it spawns piles up unstarted in the global queue, each holding a
// descriptor and later a stack: sleep_many's sleepers started up to 180 ms
// after their spawn (bench/sleep_latency), and a loop of 40,000 go() at one
// worker had 39,679 of them waiting at once (tests/sched/spawn_test.cpp).
// Go gets the same pacing from its 10 ms preemption, which
// sends the spawner to the back of the global queue too. One local queue's
// worth: the spawner has filled its own queue by then. A goroutine that
// spawns a few and parks (a tree like skynet's) never reaches it.
inline constexpr std::uint32_t kSpawnsPerRun = kRunqCapacity;
// A spinning worker looks for work this long before it sleeps (Go spins
// through four steal rounds plus its other checks; a futex wake-up costs a
// few microseconds, so spinning for a few tens of them pays off).
inline constexpr std::chrono::microseconds kSpinBeforeIdle{50};
// How long a thief watches a victim's runnext before taking it (Go: 3 us).
inline constexpr std::chrono::microseconds kRunnextStealDelay{3};
// Every goroutine must look asleep for this long before run() reports a
// deadlock: a plain thread that has not yet touched goro may be about to.
inline constexpr std::chrono::milliseconds kDeadlockGrace{300};
// While a thread outside the runtime could still call in, the deadlock watch
// looks again after a pause that doubles from kDeadlockGrace up to this.
inline constexpr std::chrono::seconds kDeadlockRecheckMax{2};

// The monitor (monitor.cpp) looks at the workers this often while any of
// them runs goroutines, and sleeps while all are idle. A goroutine seen in
// the same run at two looks in a row has blocked its worker (in a system
// call) for at least this long: its P is handed off if work waits.
inline constexpr std::chrono::milliseconds kMonitorPeriod{2};
// A goroutine that has run this long without a goro call, its thread not
// asleep in the kernel, is a hog: it is asked to yield at its next goro
// call (preempt_point), and its P is handed off if work waits (Go: 10 ms).
inline constexpr std::chrono::milliseconds kHogAfter{10};
// An idle spare worker (a P beyond maxprocs, activated for a hand-off)
// keeps its thread this long for the next hand-off, then lets it end.
inline constexpr std::chrono::seconds kSpareLinger{10};

struct M;

struct P {
    int id = 0;
    M* m = nullptr;  // the M holding it (written under Runtime::procs_mu_)
    RunQueue<kRunqCapacity> runq;
    std::atomic<G*> runnext{nullptr};  // owner sets; thieves may take it
    int runnext_streak = 0;            // owner only
    // Owner only. True while no other worker exists, so nobody but the
    // owner can touch runq or runnext: they are then read and written with
    // plain loads and stores instead of locked read-modify-writes (a third
    // of a yield's cost at one worker). set_maxprocs, adding a second P,
    // raises share_requested; the owner notices at its next schedule,
    // clears owner_only and only then makes the P stealable (release, so a
    // thief's acquire sees the queue as the owner left it). Until then
    // thieves skip this P: a goroutine that runs for long without a switch
    // delays the first steals from its worker, not their correctness.
    bool owner_only = false;
    std::atomic<bool> share_requested{false};
    std::atomic<bool> stealable{true};  // false while owner_only; thieves check it (acquire) first
    // Bumped by the owner each time it takes its runnext (single writer;
    // relaxed: thieves use it only as a hint that the owner is making progress).
    std::atomic<std::uint32_t> runnext_taken{0};
    // Counts the P's schedules: +1 when its worker enters a goroutine from
    // g0, +1 when it leaves one for g0, +2 on a switch from one goroutine to
    // the next, so it is odd exactly while a goroutine runs. The owner writes
    // it (relaxed load and store: one writer, no read-modify-write); the
    // monitor (monitor.cpp) reads it to see a goroutine that has run, or
    // blocked its thread, since its last look.
    std::atomic<std::uint32_t> schedseq{0};
    std::uint32_t next_visit = 0;  // owner only: schedseq at which the next global-queue check is due
    // The hand-off (monitor.cpp). handed_off: the monitor counts this P as
    // stuck and has activated another in its place (written under procs_mu_,
    // read anywhere). owner_op: the owner is inside a queue operation in
    // owner_only mode (its half of the asymmetric barrier that opens the
    // queue from outside). blocking_seq: schedseq when the running goroutine
    // entered goro::blocking() (its own writes; 0 = none). preempt_requested:
    // the monitor asks the running goroutine to yield at its next goro call.
    std::atomic<bool> handed_off{false};
    std::atomic<std::uint8_t> owner_op{0};
    std::atomic<std::uint32_t> blocking_seq{0};
    std::atomic<bool> preempt_requested{false};
    // GORO_DEBUG=slow (monitor.cpp): the monitor saw the goroutine running
    // at schedseq slow_seq run longer than Runtime::slow_ns since
    // slow_since_ns (steady ns) and asks it to report itself at its next
    // goro call (counted in g_requests_pending, as preempt_requested);
    // whoever clears slow_requested (that goroutine, or the monitor when
    // the run ended first) prints the report.
    std::atomic<bool> slow_requested{false};
    std::atomic<std::uint32_t> slow_seq{0};
    std::atomic<std::int64_t> slow_since_ns{0};
    // Owner only: the spawn slice (kSpawnsPerRun). spawn_run is the schedseq
    // of the run whose spawns run_spawns counts; a new run starts the count
    // again without a store on the switch path.
    std::uint32_t spawn_run = 0;
    std::uint32_t run_spawns = 0;
    std::uint64_t rng = 0;                 // owner only (steal order)
    std::uint64_t goid_next = 0;           // owner only: ids reserved from Runtime::next_goid,
    std::uint64_t goid_end = 0;            //   [goid_next, goid_end), kGoidBatch at a time
    G* free_gs = nullptr;                  // owner only
    int n_free_gs = 0;                     // owner only
    std::vector<Stack> free_stacks;        // owner only; capacity for kLocalCacheMax + 1 from the start
    // Owner only. Stack reservations this P holds for its next spawns (one
    // each, taken in go()/spawn()), and first runs on this P served from
    // free_stacks whose reservations the pool still counts. Both go back to
    // the pool when the P retires or its thread ends.
    std::size_t stack_credits = 0;
    std::size_t stack_binds = 0;
    std::atomic<std::int64_t> started{0};  // goroutines started on this P (owner increments)
    std::atomic<std::int64_t> ended{0};    // goroutines ended on this P (owner increments)
    // Counters for goro::runtime_stats() (metrics.hpp), each written by one
    // thread with a relaxed load and store (no read-modify-write) and summed
    // on read; none is on the switch path. steals/stolen: the owner, when
    // its steal_work takes goroutines from another P (operations, goroutines).
    // io_waits: the owner, when one of its goroutines parks in an I/O wait
    // (note_io_wait); io_wakeups: the owner, goroutines its polls readied.
    std::atomic<std::uint64_t> steals{0};
    std::atomic<std::uint64_t> stolen{0};
    std::atomic<std::uint64_t> io_waits{0};
    std::atomic<std::uint64_t> io_wakeups{0};
    // schedseq extended to 64 bits, written only by the monitor at each look
    // (the owner keeps its 32-bit store on the switch path): the low 32 bits
    // are schedseq as the monitor last saw it, so a reader adds what moved
    // since (fewer than 2^32 schedules between two looks). On its own line:
    // the monitor's store must not bounce the owner's.
    alignas(64) std::atomic<std::uint64_t> schedseq64{0};
};

// A relaxed add by the counter's only writer (P's counters above).
inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

struct M {
    int id = 0;
    P* p = nullptr;     // owner thread only (set when it acquires/retires)
    Context g0;         // the scheduler context: this thread's own stack
    G* curg = nullptr;  // written by the owner thread only, with racy_store (debug/racy.hpp): the dump, the monitor and runtime_stats read it racily
    // Whether this M counts in Idle::nspinning: owner thread only, except
    // while it is on the idle list (then under Idle::mu).
    bool spinning = false;
    bool retired = false;                // guarded by Runtime::procs_mu_
    bool exited = false;                 // guarded by Runtime::procs_mu_: its thread ended (an idle spare)
    // For the monitor's looks (monitor.cpp): the thread's kernel id (0 while
    // it has none; release-stored after cpu_clock) and its CPU-time clock.
    std::atomic<int> tid{0};
    std::atomic<clockid_t> cpu_clock{0};
    std::atomic<std::uint32_t> wake{0};  // futex word for idle parking
    ThreadSlots slots;                   // this thread's exception globals and errno (set in m_main)
    std::unique_ptr<TraceBuf> trace;     // GORO_TRACE: this worker's events (null when off; debug/trace.hpp)
    std::thread thread;                  // empty for M0 (the thread inside run())
};

// GORO_TRACE (debug/trace.hpp): records an event of m's thread (m null: a
// thread that is not a worker). Off, one relaxed load and an untaken branch.
inline void trace_event(M* m, TraceKind k, std::uint64_t g, std::uint64_t arg = 0) noexcept {
    if (trace_on()) [[unlikely]]
        trace_record(m ? m->trace.get() : nullptr, k, g, arg);
}
// The same for a goroutine's events on the switch and spawn paths: what is
// recorded (its id, its creator, its wait reason) is read from g out of
// line, so that the hot path computes nothing for the untaken branch
// (worker.cpp).
[[gnu::noinline, gnu::cold]] void trace_goroutine_slow(M* m, TraceKind k, const G* g) noexcept;
inline void trace_goroutine(M* m, TraceKind k, const G* g) noexcept {
    if (trace_on()) [[unlikely]]
        trace_goroutine_slow(m, k, g);
}

// The handoff record of a switch (fiber/context.hpp): what the receiver must
// do with the goroutine that switched away.
// YieldGlobal: a yield to the back of the global queue (the spawn slice).
enum class Action : std::uint8_t { None, Yield, YieldGlobal, Park, Exit };
// It also names the sender's M: the receiver runs on that same thread, so it
// learns its M without a thread-local lookup.
struct Handoff : HandoffHeader {
    Handoff(M* sender, Action a, G* switched_away) noexcept;
    M* m;  // the worker the switch happens on
    Action action;
    G* g;  // the goroutine that switched away (null for g0)
};

inline Handoff::Handoff(M* sender, Action a, G* switched_away) noexcept : m(sender), action(a), g(switched_away) {
    thread = sender->slots;
}

// Whether membarrier(2) works here: the monitor's side of opening an
// owner_only queue from outside (monitor.cpp). Without it no P is owner_only.
bool asymmetric_barrier_available() noexcept;

// The worker this thread is, if any. Read through this_m(), never cached
// across a context switch.
M* this_m() noexcept;
void set_this_m(M* m) noexcept;

class Runtime {
public:
    Runtime(int maxprocs, std::size_t stack_size);
    ~Runtime();

    // --- goroutines: descriptors (gpool.cpp), spawning (api.cpp), ready (scheduler.cpp)
    G* alloc_g(std::size_t fn_size, std::size_t fn_align, void** storage);
    // Queues a new goroutine. True when the caller, a goroutine of this
    // runtime, has used up its spawn slice and must yield (YieldGlobal).
    bool start_g(G* g);
    // Back to p's free list, or to the pool when p is null (a plain thread).
    void free_g(P* p, G* g);
    // A spawn's stack reservation (fiber/stack.hpp): one of p's credits, or
    // one from the pool when p is null (a plain thread). Throws
    // std::system_error when no stack can be mapped. Given back, unused,
    // by return_stack_credit (a spawn abandoned before its start).
    void take_stack_credit(P* p) {
        if (!p) {
            stacks.reserve(1);
            return;
        }
        if (p->stack_credits == 0) [[unlikely]]
            refill_stack_credits(p);
        --p->stack_credits;
    }
    void return_stack_credit(P* p) noexcept {
        if (p) ++p->stack_credits;
        else stacks.settle(1);
    }
    void refill_stack_credits(P* p);          // out of line: once per kStackCreditBatch spawns
    void return_p_reservations(P* p) noexcept;  // p's credits and unsettled first runs back to the pool
    // ready() makes a Parked G runnable (or gives a Running one a permit).
    void ready(G* g, bool next = true) { ready_from(this_m(), g, next); }
    // ready() when the caller knows its worker (null on a plain thread).
    void ready_from(M* self, G* g, bool next = true);
    void cancel_all();
    std::int64_t live_goroutines() const noexcept;

    // --- scheduling (worker.cpp)
    void m_main(M* m);  // a worker's loop, on its g0
    [[noreturn]] void g_exit(M* m, G* g);
    void g_switch_away(M* m, G* self, Action a);        // park or yield the running G
    // The goroutine dump's hold on a parked G (g.hpp Held): hold_parked()
    // succeeds only on a Parked G, which then stays still (not resumed, its
    // stack unchanged) until release_held(), which queues it if a wake-up
    // came meanwhile. Callable from any thread while the runtime runs.
    bool hold_parked(G* g) noexcept;
    void release_held(G* g) noexcept;
    // For the dump: the descriptor chunks (gpool.hpp), and the goroutines
    // that workers run at this instant (each M's curg, read racily: a hint
    // for "running" versus "runnable"), with whether each is inside
    // goro::blocking() (its P's blocking_seq).
    std::vector<G*> g_chunks() const { return gpool_.chunks(); }
    void running_goroutines(std::vector<std::pair<const G*, bool>>& out);
    // goro::runtime_stats() (sched/stats.cpp): a snapshot of counters, queue
    // lengths and states, read without stopping anyone. scheddetail: the
    // per-P lines of GORO_DEBUG=schedtrace (Go's format).
    void collect_stats(RuntimeStats& out);
    std::string schedtrace_line(bool detail);
    // GORO_DEBUG=slow=DURATION (0: off): the monitor reports goroutines
    // that ran longer than this without a switch (monitor.cpp).
    std::int64_t slow_ns = 0;
    void report_slow_if_requested(M* m, G* g) noexcept;  // the offender's side, at its next goro call
    void request_slow_report(P* p, std::uint32_t seq, std::int64_t since_ns);
    bool take_slow_request(P* p) noexcept;  // true once per request
    void after_switch(M* m, Handoff* h);                // carry out the sender's Handoff
    bool periodic_visit_due(P* p, std::uint32_t seq) noexcept;  // this schedule goes through g0 (see worker.cpp)
    [[gnu::noinline]] void recycle_exited(P* p, G* g);  // after_switch's Exit: its stack and descriptor
    void release_stack(P* p, G* g) noexcept;            // g's stack, if bound, back to p's cache (p null: the pool)

    // --- waking idle workers (idle.cpp)
    void wakep() { wakep_from(this_m()); }  // wake an idle worker if none is spinning
    void wakep_from(M* self);
    void wake_for_timer();  // the earliest deadline moved: re-time a sleeper
    // A goroutine started waiting for I/O: make sure some idle worker polls.
    void wake_poller_if_needed();

    // --- timers: add a node; a new earliest deadline re-times a sleeper.
    static std::uint64_t next_runtime_serial() noexcept {
        static std::atomic<std::uint64_t> last{0};
        return last.fetch_add(1, std::memory_order_relaxed) + 1;  // a unique number, no ordering
    }
    // The node goes into the shard of the caller's P (shard 0 from a plain
    // thread): arming touches no other P's lines (time/timers.hpp).
    void add_timer(TimerNode* n) {
        const M* m = this_m();
        if (timers.add(n, m ? m->p->id : 0)) wake_for_timer();
    }
    // remove() from any thread; a re-computed earliest deadline that had to
    // move earlier (a race with an add, time/timers.hpp) re-times a sleeper.
    bool remove_timer(TimerNode* n) {
        bool lowered = false;
        const bool removed = timers.remove(n, &lowered);
        if (lowered) wake_for_timer();
        return removed;
    }

    // --- I/O: the netpoller, created on first use (worker.cpp); throws
    // std::system_error when its fds cannot be made (out of fds).
    Netpoller* netpoller();

    // --- procs (scheduler.cpp)
    // maxprocs: the threads meant to run goroutines (the user's number). The
    // active Ps, nprocs_, are that many plus one for each P handed off
    // (stuck in a goroutine that blocks its thread; monitor.cpp).
    int maxprocs() const noexcept { return user_procs_.load(std::memory_order_acquire); }
    int set_maxprocs(int n);
    void stop_all();

    // --- the monitor and the hand-off (monitor.cpp)
    void start_monitor();
    void stop_monitor();
    void monitor_main();
    void notify_monitor_busy();  // a worker left its idle sleep: a parked monitor must look again
    void notify_monitor_timer();  // the earliest deadline moved (armed or fired) with no idle worker to fire it
    // Counts p as stuck and activates a P in its place (false when p was
    // handed off already, or when the thread cap is reached).
    bool hand_off(P* p);
    void take_back(P* p);  // p's goroutine came back: the extra P retires
    // goro::blocking(): on entry (work waits: hand off at once) and exit.
    void blocking_enter(M* m, P* p);
    void blocking_exit(P* p);
    // The monitor's request to a hog: yield at the next goro call.
    void request_preempt(P* p);
    void retract_preempt(P* p);
    bool take_preempt_request(P* p);  // the hog's side: true once per request
    void run_main(std::function<void()>& main);  // on the thread inside run()
    // GORO_TRACE: before run_main, gives every worker (and each added later)
    // its buffer; run_main starts and stops the recording; write_trace
    // (after run_main) writes the file.
    void enable_trace(std::unique_ptr<Trace> t);
    void write_trace() noexcept;
    void shutdown_from_main();

    // Names this runtime among all of the process's, past and present (never
    // 0): a timer that outlives its runtime is not removed from a later one.
    const std::uint64_t serial = next_runtime_serial();
    Timers timers;
    StackPool stacks;
    std::atomic<bool> shutting_down{false};  // set when main returns: leftovers see Cancelled at every park
    std::atomic<bool> stopping{false};       // set when every goroutine ended: workers exit
    std::atomic<bool> deadlocked{false};     // set when every goroutine sleeps and nothing can wake one
    std::string deadlock_what;               // Deadlock::what(), written before deadlocked (release)
    // Work outside the scheduler that will wake a goroutine later (a
    // run_blocking job in flight): deadlock detection waits for it.
    std::atomic<std::int64_t> external_pending{0};
    G* main_g = nullptr;
    detail::Waker main_waker;  // the main goroutine while it waits for leftovers
    std::atomic<std::uint64_t> next_goid{1};
    const detail::TimePoint started_at = detail::Clock::now();
    std::atomic<std::uint64_t> handoffs{0};  // hand_off() that activated a P (under procs_mu_; metrics)
    // Until then hand_off() starts no thread (under procs_mu_): the system
    // refused the last one, and the monitor would ask again every look.
    detail::TimePoint handoff_refused_until_{};

private:
    // --- queues (scheduler.cpp, worker.cpp)
    void enqueue_local(P* p, G* g, bool next);
    void runq_put_slow(P* p, G* g);
    G* find_runnable(M* m);  // blocks while idle; null when stopping
    G* local_next(P* p);
    G* switch_pick(M* m);                    // the successor a switching G picks itself, or null (g0)
    void share_queue(P* p);                  // owner: leave P::owner_only, then wake a thief if work waits
    static void open_queue(P* p) noexcept {  // owner: leave P::owner_only
        p->owner_only = false;
        p->stealable.store(true, std::memory_order_seq_cst);  // see share_queue
    }
    G* take_global(P* p, std::int64_t max = kRunqCapacity / 2);
    G* steal_work(M* m);
    void execute(M* m, G* g);
    void bind_stack(P* p, G* g) noexcept;  // at a G's first run: consumes its reservation
    bool check_retire(M* m);  // true: look for work again; m->exited: leave the loop
    // REQUIRES(procs_mu_): activate Ps [0, n), retire the rest. False when
    // the system refused a worker thread (*err says why): then only the Ps
    // whose threads run are active (nprocs_ stops there), the rest stay
    // retired, and a later call tries those threads again.
    bool set_active_locked(int n, std::error_code* err = nullptr);
    int active_wanted_locked() const;  // REQUIRES(procs_mu_): user_procs_ plus the handed-off Ps among them
    bool open_from_outside(P* p);  // a stuck owner_only P's queue opened to thieves (monitor.cpp)
    bool work_waits_for(P* p, const detail::TimePoint* now, bool io_ready);  // now null: timers not looked at
    void release_p_caches(P* p);  // an exiting spare's free descriptors, stacks and reservations back to the pools
    void stop_spinning(M* m);
    bool start_m(int id, std::error_code* err) noexcept;  // false: no thread (m->exited set, *err why)
    void add_proc_locked(int id);  // REQUIRES(procs_mu_)

    // --- idle (idle.cpp)
    bool any_work_visible() const;
    void idle_sleep(M* m);
    void wake_m(M* m);  // end m's idle sleep (futex or netpoller)
    bool may_be_deadlocked() const;
    bool last_idle_worker() const;
    void declare_deadlock();

    // --- I/O (worker.cpp)
    bool poll_io_nonblocking(detail::TimePoint now);
    void poll_io_if_overdue(detail::TimePoint now);

    // Procs: allp_[0, nprocs_) are active; [nprocs_, nallocated_) retired.
    // nprocs_ = user_procs_ plus the handed-off Ps inside the active range.
    std::unique_ptr<std::atomic<P*>[]> allp_;
    std::vector<std::unique_ptr<M>> allm_;  // guarded by procs_mu_
    std::atomic<int> nprocs_{0};
    std::atomic<int> user_procs_{0};  // written under procs_mu_
    std::atomic<int> nallocated_{0};
    RankedMutex<LockRank::Procs> procs_mu_;

    Inject global_;
    Idle idle_;
    GPool gpool_;
    std::atomic<std::int64_t> started_offp_{0};  // goroutines started from plain threads
    std::unique_ptr<Trace> trace_;                // GORO_TRACE, or null

    std::atomic<Netpoller*> netpoll_{nullptr};
    RankedMutex<LockRank::Netpoll> netpoll_mu_;  // serialises creation of netpoll_
    // When the netpoller was last asked (nanoseconds of the steady clock);
    // relaxed: a hint that decides whether a busy worker polls, and the CAS
    // on it only picks one poller among the workers that find it overdue.
    std::atomic<std::int64_t> last_io_poll_ns_{0};

    // The monitor thread (monitor.cpp). monitor_parked_: it sleeps until a
    // worker leaves its idle sleep (seq_cst, against Idle::nidle: see
    // notify_monitor_busy). monitor_wake_: its futex word.
    // monitor_look_ns_: when its current sleep ends (steady ns; INT64_MAX
    // while parked), a relaxed hint for wake_for_timer.
    // monitor_timer_floor_ns_: the earliest moment it will look for a timer's
    // sake (steady ns; the spacing of timer looks, monitor.cpp), a relaxed
    // hint for notify_monitor_timer.
    std::thread monitor_;
    std::atomic<bool> monitor_parked_{false};
    std::atomic<std::uint32_t> monitor_wake_{0};
    std::atomic<std::int64_t> monitor_look_ns_{INT64_MAX};
    std::atomic<std::int64_t> monitor_timer_floor_ns_{0};
};

// Prints GORO_DEBUG=slow's line (monitor.cpp); name may be null.
void report_slow(std::uint64_t id, const std::string* name, std::int64_t ns) noexcept;

inline std::int64_t steady_ns(detail::TimePoint t) noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// The runtime of this process, if one runs. Read it through worker_runtime()
// (on a worker) or a RuntimeRef (on a plain thread).
extern std::atomic<Runtime*> g_runtime;

// The runtime, read by a thread that runs it: a worker (on its g0 or one of
// its goroutines). Relaxed is enough there: g_runtime is published before M0
// runs anything and before any other worker thread is started (thread
// creation orders the two), and unpublished only after every worker is
// joined, so a worker can only ever see its own runtime.
inline Runtime* worker_runtime() noexcept { return g_runtime.load(std::memory_order_relaxed); }

// A plain thread (no worker) that touches the runtime holds a RuntimeRef
// meanwhile, so that run() cannot free it under the thread's feet: run()
// unpublishes g_runtime and then waits until no RuntimeRef is left. The
// count is taken before g_runtime is read (both seq_cst), so a thread that
// saw the runtime is always waited for. Goroutines and workers need none:
// the runtime outlives them. pin_runtime()/unpin_runtime() are the same
// count for a caller whose hold outlives one scope (the spawn glue).
extern std::atomic<std::int64_t> g_foreign_refs;
inline Runtime* pin_runtime() noexcept {
    g_foreign_refs.fetch_add(1, std::memory_order_seq_cst);
    return g_runtime.load(std::memory_order_seq_cst);
}
inline void unpin_runtime() noexcept {
    g_foreign_refs.fetch_sub(1, std::memory_order_release);  // pairs with acquire in run_runtime
}
class RuntimeRef {
public:
    RuntimeRef() noexcept : rt_(pin_runtime()) {}
    ~RuntimeRef() { unpin_runtime(); }
    RuntimeRef(const RuntimeRef&) = delete;
    RuntimeRef& operator=(const RuntimeRef&) = delete;
    Runtime* get() const noexcept { return rt_; }

private:
    Runtime* rt_;
};

// The owner's half of opening an owner_only queue from outside (the
// monitor's open_from_outside, monitor.cpp): a queue operation in
// owner_only mode is bracketed by owner_op, and its first load is
// share_requested. Only compiler barriers here; the monitor's side is a
// membarrier(2), which puts a full barrier into this thread wherever it
// runs, so either this load sees share_requested or the monitor sees
// owner_op set (and tries again later). Plain stores on the owner's own
// line: no fence on the hot path.
inline bool owner_op_begin(P* p) noexcept {
    p->owner_op.store(1, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (!p->share_requested.load(std::memory_order_relaxed)) [[likely]]
        return true;
    p->owner_op.store(0, std::memory_order_relaxed);
    return false;
}
inline void owner_op_end(P* p) noexcept {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    p->owner_op.store(0, std::memory_order_release);  // pairs with the monitor's acquire: our queue writes are seen
}

// Inline: on every yield and every hand-off between goroutines.
inline void Runtime::enqueue_local(P* p, G* g, bool next) {
    if (next) {
        G* old;
        if (p->owner_only && owner_op_begin(p)) {
            old = p->runnext.load(std::memory_order_relaxed);  // no thief exists (P::owner_only)
            p->runnext.store(g, std::memory_order_relaxed);
            owner_op_end(p);
        } else {
            old = p->runnext.exchange(g,
                                      std::memory_order_acq_rel);  // acq_rel: publishes g; pairs with thieves' exchange
        }
        if (!old) return;
        g = old;  // the previous runnext goes to the tail
    }
    if (!p->runq.push(g)) [[unlikely]]
        runq_put_slow(p, g);
}

}  // namespace goro::rt
