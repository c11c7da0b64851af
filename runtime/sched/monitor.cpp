// sched/monitor.cpp — workers that never stall: the monitor thread, the
// hand-off of a worker stuck in a goroutine, and preemption requests (Go's
// sysmon).
//
// Owns: Runtime::monitor_main and the hand-off state of every P
// (P::handed_off, P::preempt_requested, and the opening of an owner_only
// queue from outside), plus goro::blocking()'s and preempt_point()'s runtime
// side.
//
// The problem. A goroutine that blocks its thread in plain code (a read(2),
// nanosleep, a std::mutex, a library's blocking socket) or computes without
// calling goro holds its worker: the goroutines queued on that worker, the
// timers and the netpoller wait for it. goro cannot know when plain code
// blocks (Go knows: its system calls are wrapped), and it cannot preempt a
// C++ goroutine from a signal (it may hold malloc's or the user's lock).
//
// The model. P i and M i stay paired for life; nothing moves a P between
// threads. A stuck worker keeps its P, and the monitor activates one more
// P (and its thread) instead: the active Ps, nprocs_, are the user's
// maxprocs plus the stuck Ps among them (active_wanted_locked), so maxprocs
// threads keep running goroutines. The stuck P's queue is open to thieves
// (a P's queue is safe to steal from while its owner runs, which is the
// whole point of the stealing design), so the new worker takes its
// goroutines; the netpoller is shared, and the stuck P's timers (its own
// shard, time/timers.hpp) are run by whichever worker checks timers next:
// every worker runs every P's due timers. When the stuck goroutine switches again, the monitor sees it at its
// next look and takes the P back: nprocs_ drops, and the highest P retires
// at its next scheduling point (worker.cpp check_retire), its queue going
// to the global one. Go instead hands the stuck thread's P to another
// thread (handoffp); here that would race with the goroutine, which may
// come back at any instant and touch its P without a system-call wrapper to
// tell us.
//
// Seeing a stuck worker. The owner counts its schedules in P::schedseq (odd
// while a goroutine runs: one relaxed store per switch, which the switch
// made anyway for its periodic visit). A P whose count is odd and unchanged
// at two looks in a row has run one goroutine for at least a period:
//  * asleep in the kernel (the thread's state in /proc/self/task/TID/stat
//    is S or D; or it is inside goro::blocking()): blocked. Handed off
//    when work waits (work_waits_for): its own queue holds goroutines (only
//    a thief can run them now), or, with no other worker idle or spinning,
//    the global queue holds some, a timer is due, or the epoll fd holds
//    events that no worker collects.
//  * running (state R) for kHogAfter: a hog. Asked to yield at its next goro
//    call (P::preempt_requested, counted in g_requests_pending so that every
//    entry check stays one load); if it has not yielded by the next look,
//    handed off when work waits: more threads than maxprocs then burn CPU
//    until the hog yields (documented in DESIGN.md: goro cannot bound CPU
//    use the way Go's preemption does). take_back asks a goroutine still
//    running on a retired spare to yield, so the spare leaves promptly.
//
// The monitor's sleep. It looks every kMonitorPeriod, and after 50 looks
// that changed nothing it doubles the pause up to kMonitorMaxPeriod (Go's
// sysmon backs off from 20 us to 10 ms the same way). Two shortcuts make a
// stall short without looking often: a look that sees a goroutine start on
// a P while work waits for that P, its thread already asleep in the kernel,
// looks again after kConfirmPeriod (50 us), so a goroutine that blocks at
// once is handed off 50 us after it is first seen; and when no worker is
// idle the monitor also looks just after the next timer's deadline, the
// moment a stuck worker starts to make someone late (Go's sysmon also
// sleeps until the next timer; Go is woken besides by every system call
// that starts while sysmon sleeps, which goro cannot see). Those timer
// looks are spaced: each one that finds nothing to do doubles the least
// time between two of them, from kConfirmPeriod up to kTimerLookMaxGap
// (1 ms), and one that acts starts again at none. Busy workers that fire
// dense deadlines themselves (sleep_many: 100,000 sleepers) would
// otherwise wake the monitor every 50-100 us, each look reading /proc for
// every P: ~2,400 wake-ups and ~10% of the CPU in one run. A worker that
// blocks among dense deadlines is then handed off within about
// kTimerLookMaxGap; a lone timer is still looked at just after it is due.
// When every active worker is idle it parks without a timeout
// (monitor_parked_), and a worker that leaves its idle sleep wakes it
// (notify_monitor_busy): an idle runtime costs no wake-ups.
//
// Opening an owner_only queue (maxprocs 1). The lone P's owner reads and
// writes its queue with plain loads and stores (P::owner_only, worker.cpp),
// which a thief would race with. open_from_outside asks with
// share_requested, then runs membarrier(2) (a full barrier in every thread
// of the process), then reads owner_op: zero means the owner is in no queue
// operation and will see share_requested at its next one (owner_op_begin,
// scheduler.hpp), so the queue may be marked stealable. Without membarrier
// (an old kernel, a sandbox) owner_only is never used.
//
// Locks: hand_off/take_back take procs_mu_ (set_active_locked starts and
// wakes threads under it, as set_maxprocs always did). The monitor takes no
// other lock; its reads of other workers' state are relaxed hints, re-checked
// at the next look.
#include "debug/racy.hpp"
#include "debug/thread_name.hpp"
#include "sched/futex.hpp"
#include "sched/quiet_threads.hpp"
#include "sched/scheduler.hpp"

#include <goro/detail/park.hpp>
#include <goro/runtime.hpp>

#include <fcntl.h>
#include <linux/membarrier.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <cstring>
#include <mutex>

namespace goro::rt {

namespace {

// The heavy side of the asymmetric barrier (see the file comment).
bool membarrier_registered() noexcept {
    static const bool ok = ::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    return ok;
}
bool heavy_barrier() noexcept {
    return ::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
}

// The state letter of a thread of this process (R running, S sleeping, D
// in uninterruptible sleep, ...), or '?' when it cannot be read.
char thread_state(int tid) noexcept {
    if (tid <= 0) return '?';
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return '?';
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return '?';
    buf[n] = '\0';
    // "TID (comm) S ...": the comm may hold spaces and parentheses; the
    // state follows the last ')'.
    const char* close_paren = std::strrchr(buf, ')');
    if (!close_paren || close_paren[1] != ' ' || close_paren[2] == '\0') return '?';
    return close_paren[2];
}

// A thread's CPU time in ns, or -1 when it cannot be read (tid 0: it has
// ended).
std::int64_t thread_cpu_ns(int tid, clockid_t clock) noexcept {
    timespec ts{};
    if (tid <= 0 || ::clock_gettime(clock, &ts) != 0) return -1;
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

constexpr std::chrono::milliseconds kMonitorMaxPeriod{10};
constexpr int kQuietLooksBeforeBackoff = 50;
// The quick second look at a goroutine that started while work waited, and
// how long after a timer's deadline the monitor looks whether it was fired.
constexpr std::chrono::microseconds kConfirmPeriod{50};
constexpr std::chrono::microseconds kTimerSlack{20};
// The most that fruitless timer looks back off to (see the file comment).
constexpr std::chrono::microseconds kTimerLookMaxGap{1000};
// A timer armed while every worker is busy wakes the monitor when its next
// look is more than this after the deadline (notify_monitor_timer).
constexpr std::int64_t kLateTimerWake = 200'000;  // ns

}  // namespace

bool asymmetric_barrier_available() noexcept { return membarrier_registered(); }

// ---------------------------------------------------------------- the thread

void Runtime::start_monitor() {
    monitor_ = std::thread([this] { monitor_main(); });
}

void Runtime::stop_monitor() {
    monitor_wake_.store(1, std::memory_order_release);  // stopping is set already
    futex_wake(&monitor_wake_);
    if (monitor_.joinable()) monitor_.join();
    // A request nobody took must not stay counted in the process's hint.
    int n = nallocated_.load(std::memory_order_acquire);
    for (int i = 0; i < n; ++i) {
        retract_preempt(allp_[i].load(std::memory_order_acquire));
        (void)take_slow_request(allp_[i].load(std::memory_order_acquire));
    }
}

void Runtime::notify_monitor_busy() {
    // seq_cst fence: our leaving the idle list (nidle) must be visible before
    // we read monitor_parked_; the monitor stores monitor_parked_ and then
    // reads nidle (both seq_cst). One of us sees the other.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!monitor_parked_.load(std::memory_order_relaxed)) return;
    monitor_parked_.store(false, std::memory_order_relaxed);
    monitor_wake_.store(1, std::memory_order_release);
    futex_wake(&monitor_wake_);
}

void Runtime::notify_monitor_timer() {
    // Only when the monitor would look more than a confirm period after the
    // new deadline: then it re-plans its sleep (monitor_main). Relaxed: a
    // hint; a missed wake costs one period of lateness, not correctness.
    std::atomic_thread_fence(std::memory_order_seq_cst);  // our deadline is in the heap: against monitor_main's re-read
    std::int64_t due = steady_ns(timers.next_deadline());
    if (due == INT64_MAX) return;
    // Not sooner than the monitor's spacing of timer looks allows.
    due = std::max(due, monitor_timer_floor_ns_.load(std::memory_order_relaxed));
    if (monitor_look_ns_.load(std::memory_order_relaxed) <= due + kLateTimerWake) return;
    monitor_look_ns_.store(INT64_MIN, std::memory_order_relaxed);  // one wake per sleep
    monitor_wake_.store(1, std::memory_order_release);
    futex_wake(&monitor_wake_);
}

void Runtime::monitor_main() {
    QuietScope quiet;  // it wakes goroutines only on the runtime's behalf (sched/quiet_threads.hpp)
    ThreadName name("goro-monitor");  // as top -H and gdb show it (debug/thread_name.hpp)
    // Its own thread: 1 us of timer slack (the default 50 us would make
    // every short look late, as for the workers' idle sleeps).
    ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    struct Watch {
        std::uint32_t seq = 0;  // P::schedseq at the previous look
        detail::TimePoint since{};  // when the monitor first saw that count
        std::int64_t cpu0 = -1;     // the thread's CPU time (ns) when first seen running that goroutine
        bool slow = false;          // GORO_DEBUG=slow: this run was reported as slow (P::slow_requested)
        std::uint64_t slow_id = 0;  // the id of the goroutine seen running then (a racy read)
    };
    std::vector<Watch> watch;
    using Dur = detail::Clock::duration;
    Dur period = std::chrono::duration_cast<Dur>(kMonitorPeriod);
    int quiet_looks = 0;
    bool confirm_soon = false;  // the last look saw a goroutine start while work waited
    detail::TimePoint timer_looked = detail::TimePoint::min();  // the deadline a look was made for
    // The spacing of timer looks: the last one, and the least time until the
    // next (zero after a look that acted; see the file comment).
    detail::TimePoint last_timer_look = detail::TimePoint::min();
    Dur timer_look_gap{0};
    auto all_idle = [this] {
        return idle_.nidle.load(std::memory_order_seq_cst) >= nprocs_.load(std::memory_order_seq_cst);
    };
    while (!stopping.load(std::memory_order_acquire)) {
        // The next look: after `period`, or sooner to confirm a goroutine
        // seen starting while work waited, or just after the next timer
        // falls due when no worker is idle to fire it (each deadline once:
        // an overdue timer that busy workers have not reached yet must not
        // turn this into a spin).
        detail::TimePoint start = detail::Clock::now();
        detail::TimePoint until = start + period;
        if (confirm_soon) until = std::min(until, start + kConfirmPeriod);
        detail::TimePoint timer_due = detail::TimePoint::max();
        const detail::TimePoint timer_floor =
            last_timer_look == detail::TimePoint::min() ? start : std::max(start, last_timer_look + timer_look_gap);
        monitor_timer_floor_ns_.store(steady_ns(timer_floor), std::memory_order_relaxed);
        // Publish the plan, then read the earliest deadline again: a timer
        // armed or fired meanwhile by a busy worker found the look unplanned
        // (INT64_MIN) and did not wake us (notify_monitor_timer), so the
        // plan must include the deadline that is earliest now. The seq_cst
        // fences here and in notify_monitor_timer: either that worker sees
        // the plan, or this second read sees its deadline.
        for (detail::TimePoint planned_for = detail::TimePoint::min();;) {
            if (idle_.nidle.load(std::memory_order_relaxed) == 0) {
                timer_due = timers.next_deadline();
                if (timer_due != detail::TimePoint::max() && timer_due != timer_looked)
                    until = std::min(until, std::max({timer_due + kTimerSlack, start + kConfirmPeriod, timer_floor}));
            }
            monitor_look_ns_.store(steady_ns(until), std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_seq_cst);
            const detail::TimePoint latest = timers.next_deadline();
            if (latest == timer_due || latest == planned_for) break;
            planned_for = latest;  // the earliest deadline moved: plan again (once per new deadline)
        }
        while (monitor_wake_.load(std::memory_order_acquire) == 0 && detail::Clock::now() < until)
            futex_wait(&monitor_wake_, 0, &until);
        monitor_wake_.store(0, std::memory_order_relaxed);
        monitor_look_ns_.store(INT64_MIN, std::memory_order_relaxed);
        if (stopping.load(std::memory_order_acquire)) break;

        const detail::TimePoint now = detail::Clock::now();
        const bool timer_look = now >= timer_due;
        if (timer_look) timer_looked = timer_due;  // a look after that deadline: it counts once
        const int np = nallocated_.load(std::memory_order_acquire);
        if (watch.size() < static_cast<std::size_t>(np)) watch.resize(static_cast<std::size_t>(np));
        bool acted = false;
        confirm_soon = false;
        // Ready I/O that nobody collects: no worker sleeps in the netpoller
        // and none has polled for a period. The monitor only looks (it has
        // no P to run what a poll would ready); a worker it activates polls.
        bool io_ready = false;
        if (Netpoller* io = netpoll_.load(std::memory_order_acquire);
            io && io->waiters.load(std::memory_order_relaxed) > 0 &&
            idle_.poll_m.load(std::memory_order_relaxed) == nullptr &&
            steady_ns(now) - last_io_poll_ns_.load(std::memory_order_relaxed) >=
                std::chrono::nanoseconds(kMonitorPeriod).count())
            io_ready = io->events_pending();
        for (int i = 0; i < np; ++i) {
            P* p = allp_[i].load(std::memory_order_acquire);
            Watch& w = watch[static_cast<std::size_t>(i)];
            const std::uint32_t seq = p->schedseq.load(std::memory_order_relaxed);
            // schedseq extended to 64 bits for runtime_stats() (stats.cpp).
            if (const std::uint64_t ext = p->schedseq64.load(std::memory_order_relaxed);
                static_cast<std::uint32_t>(ext) != seq)
                p->schedseq64.store(ext + static_cast<std::uint32_t>(seq - static_cast<std::uint32_t>(ext)),
                                    std::memory_order_relaxed);
            if (seq != w.seq || (seq & 1) == 0) {
                // It switched since the last look, or waits in its scheduler.
                if (w.slow) {
                    // A slow run that ended before its goroutine made a goro call:
                    // report it here (without its name: it may be gone).
                    w.slow = false;
                    if (take_slow_request(p)) report_slow(w.slow_id, nullptr, steady_ns(now) - steady_ns(w.since));
                }
                w.seq = seq;
                w.since = now;
                w.cpu0 = -1;
                if (p->handed_off.load(std::memory_order_relaxed)) {
                    take_back(p);
                    acted = true;
                }
                retract_preempt(p);
                // A goroutine runs there now while others wait for it, and
                // its thread already sleeps in the kernel: look again soon
                // rather than a whole period later. One that computes is not
                // (it is judged as a hog after kHogAfter): in a busy runtime
                // some goroutine always starts while work waits, and a quick
                // look after each of those would keep the monitor waking
                // every kConfirmPeriod (skynet at 2 workers lost 10% to it).
                if ((seq & 1) != 0 && p->id < nprocs_.load(std::memory_order_relaxed) &&
                    work_waits_for(p, &now, io_ready) &&
                    (p->blocking_seq.load(std::memory_order_relaxed) == seq ||
                     thread_state(p->m->tid.load(std::memory_order_acquire)) != 'R'))
                    confirm_soon = true;
                continue;
            }
            // One goroutine has run on p since w.since, a period at least.
            if (slow_ns > 0 && !w.slow && steady_ns(now) - steady_ns(w.since) >= slow_ns) {
                // GORO_DEBUG=slow: ask it to report itself at its next goro
                // call (it knows its name); its id is read now, racily (the
                // descriptor is type-stable), for the report the monitor makes
                // if the run ends first.
                w.slow = true;
                G* g = racy_load(p->m->curg);
                w.slow_id = g ? racy_load(g->id) : 0;
                request_slow_report(p, seq, steady_ns(w.since));
            }
            const bool marked = p->blocking_seq.load(std::memory_order_relaxed) == seq;
            if (p->handed_off.load(std::memory_order_relaxed)) {
                if (!p->stealable.load(std::memory_order_acquire)) acted |= open_from_outside(p);
                continue;
            }
            M* pm = p->m;
            const int tid = pm->tid.load(std::memory_order_acquire);
            const char state = marked ? 'S' : thread_state(tid);
            const bool hog = state == 'R';
            if (hog) {
                // A hog has run kHogAfter and computed at least half of it
                // (its thread's CPU clock since the monitor first saw it
                // run), not merely waited for a CPU (more workers than
                // CPUs, a loaded machine): handing that one off would only
                // add threads to the queue for the same CPUs. Half, not
                // all: on a loaded machine a real hog gets a share of a CPU.
                const std::int64_t cpu = thread_cpu_ns(tid, pm->cpu_clock.load(std::memory_order_relaxed));
                if (w.cpu0 < 0) w.cpu0 = cpu;
                if (now - w.since < kHogAfter || cpu < 0 ||
                    cpu - w.cpu0 < std::chrono::nanoseconds(kHogAfter).count() / 2)
                    continue;
                if (!p->preempt_requested.load(std::memory_order_relaxed)) {
                    // First ask it to yield, and give it until the next look:
                    // a hog that reaches a goro call (preempt_point) yields
                    // on its own thread, and no thread beyond maxprocs burns
                    // CPU for it. Only one that does not is handed off.
                    request_preempt(p);
                    acted = true;
                    continue;
                }
            }
            if (work_waits_for(p, &now, io_ready) && hand_off(p)) {
                acted = true;
                if (!p->stealable.load(std::memory_order_acquire)) open_from_outside(p);
            }
        }
        if (acted) {
            quiet_looks = 0;
            period = std::chrono::duration_cast<Dur>(kMonitorPeriod);
            timer_look_gap = Dur{0};
        } else if (++quiet_looks > kQuietLooksBeforeBackoff) {
            period = std::min<Dur>(period * 2, kMonitorMaxPeriod);
        }
        if (timer_look) {
            last_timer_look = now;
            if (!acted)
                timer_look_gap = std::min<Dur>(std::max<Dur>(timer_look_gap * 2, kConfirmPeriod), kTimerLookMaxGap);
        }

        // Every active worker idle: sleep until one leaves its idle sleep.
        if (!acted && all_idle()) {
            monitor_parked_.store(true, std::memory_order_seq_cst);
            if (all_idle() && !stopping.load(std::memory_order_seq_cst))
                while (monitor_wake_.load(std::memory_order_acquire) == 0) futex_wait(&monitor_wake_, 0);
            monitor_parked_.store(false, std::memory_order_relaxed);
            quiet_looks = 0;
            confirm_soon = false;
            period = std::chrono::duration_cast<Dur>(kMonitorPeriod);
            timer_look_gap = Dur{0};
        }
    }
}

// ---------------------------------------------------------------- decisions

// Work that only another thread can run now. The stuck P's own queue always
// counts (nobody but a thief will take it); the shared sources (global
// queue, due timers) only when no worker is idle or spinning, since a free
// worker is woken for them anyway; io_ready: the monitor saw events that no
// worker is collecting. Timers are looked at only when `now` is
// given (goro::blocking's entry leaves them to the monitor, which looks at
// every deadline anyway, and saves the clock read).
bool Runtime::work_waits_for(P* p, const detail::TimePoint* now, bool io_ready) {
    if (!p->runq.empty() || p->runnext.load(std::memory_order_relaxed) != nullptr) return true;
    if (idle_.nidle.load(std::memory_order_relaxed) > 0 || idle_.nspinning.load(std::memory_order_relaxed) > 0)
        return false;
    return global_.size(std::memory_order_relaxed) > 0 || (now && timers.next_deadline() <= *now) || io_ready;
}

bool Runtime::hand_off(P* p) {
    std::lock_guard lk(procs_mu_);
    if (stopping.load(std::memory_order_acquire) || p->handed_off.load(std::memory_order_relaxed)) return false;
    if (handoff_refused_until_ != detail::TimePoint{} && detail::Clock::now() < handoff_refused_until_) return false;
    p->handed_off.store(true, std::memory_order_relaxed);
    const int n = active_wanted_locked();
    if (n == nprocs_.load(std::memory_order_relaxed)) {
        // p is beyond the active range (retired, not counted), or the
        // thread cap is reached: nothing to add.
        p->handed_off.store(false, std::memory_order_relaxed);
        return false;
    }
    if (!set_active_locked(n)) {
        // No thread for the spare (out of memory or of threads): the P
        // stays with its blocked worker, and its goroutines wait for the
        // blocking to end, as with no hand-off at all. Asked again in 10 ms
        // (not at every look of the monitor: a refused pthread_create costs
        // an mmap and its failure).
        p->handed_off.store(false, std::memory_order_relaxed);
        set_active_locked(active_wanted_locked());
        handoff_refused_until_ = detail::Clock::now() + std::chrono::milliseconds(10);
        return false;
    }
    handoffs.store(handoffs.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);  // under procs_mu_
    return true;
}

void Runtime::take_back(P* p) {
    std::lock_guard lk(procs_mu_);
    if (!p->handed_off.load(std::memory_order_relaxed)) return;
    p->handed_off.store(false, std::memory_order_relaxed);
    set_active_locked(active_wanted_locked());
    // A retired P that still runs a goroutine (a hog it took over) leaves
    // at that goroutine's next switch: ask for one, so that the spare's
    // thread stops burning CPU at the hog's next goro call rather than
    // kHogAfter later.
    const int active = nprocs_.load(std::memory_order_relaxed);
    const int allocated = nallocated_.load(std::memory_order_relaxed);
    for (int i = active; i < allocated; ++i) {
        P* retired = allp_[i].load(std::memory_order_relaxed);
        if ((retired->schedseq.load(std::memory_order_relaxed) & 1) != 0) request_preempt(retired);
    }
}

bool Runtime::open_from_outside(P* p) {
    if (p->stealable.load(std::memory_order_acquire)) return false;
    if (!membarrier_registered()) return false;  // then no P is ever owner_only
    p->share_requested.store(true, std::memory_order_seq_cst);
    if (!heavy_barrier()) return false;
    if (p->owner_op.load(std::memory_order_acquire) != 0) return false;  // mid-operation: the next look
    // acquire above: the owner's last plain queue writes are ours; the
    // seq_cst store publishes them to thieves (their acquire in steal_work).
    p->stealable.store(true, std::memory_order_seq_cst);
    wakep_from(nullptr);
    return true;
}

void Runtime::request_preempt(P* p) {
    if (!p->preempt_requested.exchange(true, std::memory_order_relaxed))
        detail::g_requests_pending.fetch_add(1, std::memory_order_relaxed);  // a hint counter (park.hpp)
}

void Runtime::retract_preempt(P* p) { (void)take_preempt_request(p); }

bool Runtime::take_preempt_request(P* p) {
    if (!p->preempt_requested.load(std::memory_order_relaxed) ||
        !p->preempt_requested.exchange(false, std::memory_order_relaxed))
        return false;
    detail::g_requests_pending.fetch_sub(1, std::memory_order_relaxed);
    return true;
}

// ---------------------------------------------------------------- GORO_DEBUG=slow

// Go's asyncio-like warning for a goroutine that ran `ns` without a switch.
void report_slow(std::uint64_t id, const std::string* name, std::int64_t ns) noexcept {
    const long long ms = static_cast<long long>(ns / 1'000'000);
    if (name)
        std::fprintf(stderr, "goro: goroutine %llu (%s) ran %lld ms without yielding\n",
                     static_cast<unsigned long long>(id), name->c_str(), ms);
    else
        std::fprintf(stderr, "goro: goroutine %llu ran %lld ms without yielding\n",
                     static_cast<unsigned long long>(id), ms);
}

void Runtime::request_slow_report(P* p, std::uint32_t seq, std::int64_t since_ns) {
    p->slow_seq.store(seq, std::memory_order_relaxed);
    p->slow_since_ns.store(since_ns, std::memory_order_relaxed);
    // release: the offender that sees the flag sees seq and since.
    if (!p->slow_requested.exchange(true, std::memory_order_release))
        detail::g_requests_pending.fetch_add(1, std::memory_order_relaxed);  // a hint counter (park.hpp)
}

bool Runtime::take_slow_request(P* p) noexcept {
    if (!p->slow_requested.load(std::memory_order_relaxed) ||
        !p->slow_requested.exchange(false, std::memory_order_acquire))
        return false;
    detail::g_requests_pending.fetch_sub(1, std::memory_order_relaxed);
    return true;
}

// The offender's side, from its next goro call's entry (park.cpp
// preempt_if_requested): a request for this very run (schedseq unchanged)
// is reported here, with the goroutine's name; a stale one (the run that
// was slow ended) is left to the monitor.
void Runtime::report_slow_if_requested(M* m, G* g) noexcept {
    P* p = m->p;
    if (!p->slow_requested.load(std::memory_order_acquire)) return;
    if (p->slow_seq.load(std::memory_order_relaxed) != p->schedseq.load(std::memory_order_relaxed)) return;
    const std::int64_t since = p->slow_since_ns.load(std::memory_order_relaxed);
    if (!take_slow_request(p)) return;
    report_slow(g->id, g->name, steady_ns(detail::Clock::now()) - since);
}

// ---------------------------------------------------------------- goro::blocking()

// On entry: mark the P (the monitor then needs no thread-state look and no
// hog threshold), and hand off at once if goroutines wait in our queue or
// nobody is free for the shared work. The owner may open its own queue
// without the barrier: it is the owner.
void Runtime::blocking_enter(M* m, P* p) {
    (void)m;
    p->blocking_seq.store(p->schedseq.load(std::memory_order_relaxed), std::memory_order_relaxed);
    if (!work_waits_for(p, nullptr, false)) return;
    if (p->owner_only) open_queue(p);
    hand_off(p);
}

void Runtime::blocking_exit(P* p) {
    p->blocking_seq.store(0, std::memory_order_relaxed);
    if (p->handed_off.load(std::memory_order_relaxed)) take_back(p);
}

}  // namespace goro::rt

// ---------------------------------------------------------------- public calls

namespace goro::detail {

BlockingMark::BlockingMark() noexcept {
    rt::M* m = rt::this_m();
    if (!m || !m->curg) return;  // a plain thread: nothing to hand off
    p_ = m->p;
    seq_ = m->p->schedseq.load(std::memory_order_relaxed);
    try {
        rt::worker_runtime()->blocking_enter(m, m->p);
    } catch (...) {
        // A thread that could not be started: the monitor tries again.
    }
}

BlockingMark::~BlockingMark() {
    if (!p_) return;
    rt::M* m = rt::this_m();
    auto* p = static_cast<rt::P*>(p_);
    // fn parked and resumed elsewhere, or ran other goroutines: the marker
    // lapsed with the switch (schedseq moved), and the monitor takes the P
    // back at its next look.
    if (m->p != p || p->schedseq.load(std::memory_order_relaxed) != seq_) return;
    rt::worker_runtime()->blocking_exit(p);
}

}  // namespace goro::detail
