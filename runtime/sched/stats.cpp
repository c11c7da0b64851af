// sched/stats.cpp — goro::runtime_stats() and the lines of
// GORO_DEBUG=schedtrace: a snapshot of the runtime read without stopping it.
//
// What is read how (nothing here is on a hot path; the hot paths pay for
// none of it but for the counters of scheduler.hpp's P, which are outside
// the switch path):
//  * counters are per P (started, ended, steals, stolen, io_waits,
//    io_wakeups: one writer each) and summed here with relaxed loads;
//  * context switches come from P::schedseq, which the switch path stores
//    anyway (+1 into a goroutine from g0 and out to g0, +2 from one to the
//    next: half of it is the number of goroutine runs). It is 32 bits and
//    wraps; the monitor extends it at each look (P::schedseq64), and the
//    reader adds what moved since that look;
//  * parked goroutines by wait reason: a scan of every descriptor chunk
//    (type-stable, gpool.hpp), reading status (acquire: a Parked status was
//    published by the release CAS of after_switch, after the G stored its
//    reason) and the reason byte (racy_load: a G woken meanwhile may park
//    again and store a new one). No hold, unlike the dump: the count may be
//    off by the goroutines that move while it runs, never more.
//    Rejected: a per-reason counter per P, bumped at each park and unpark.
//    A park then writes two counters (the unpark runs on another worker, so
//    the counters could not be single-writer) on the park path, which
//    spawn_join and pingpong measure; a read costs a few ns per descriptor
//    instead (about 1 ms for 100,000).
//  * workers: Idle's counts, P::handed_off, and under procs_mu_ the Ms
//    that have a thread.
#include "debug/racy.hpp"
#include "debug/lock_rank.hpp"
#include "sched/scheduler.hpp"
#include "task/blocking_pool.hpp"

#include <goro/detail/park.hpp>
#include <goro/metrics.hpp>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace goro::rt {

static_assert(kWaitReasons == static_cast<std::size_t>(detail::WaitReason::Count_),
              "goro::kWaitReasons (metrics.hpp) must match detail::WaitReason");

namespace {

// P::schedseq as a 64-bit count: the monitor's extension plus what moved
// since its last look.
std::uint64_t schedules(const P* p) noexcept {
    const std::uint64_t ext = p->schedseq64.load(std::memory_order_relaxed);
    const std::uint32_t now = p->schedseq.load(std::memory_order_relaxed);
    return ext + static_cast<std::uint32_t>(now - static_cast<std::uint32_t>(ext));
}

std::int64_t runq_length(const P* p) noexcept {
    return static_cast<std::int64_t>(p->runq.size()) + (p->runnext.load(std::memory_order_relaxed) ? 1 : 0);
}

}  // namespace

void Runtime::collect_stats(RuntimeStats& s) {
    s = RuntimeStats{};
    s.running = true;
    s.uptime_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(detail::Clock::now() - started_at).count();
    s.maxprocs = maxprocs();

    // Per-P counters and queues.
    std::uint64_t started = static_cast<std::uint64_t>(started_offp_.load(std::memory_order_relaxed));
    std::uint64_t ended = 0, runs = 0;
    const int np = nallocated_.load(std::memory_order_acquire);
    const int active = nprocs_.load(std::memory_order_relaxed);
    for (int i = 0; i < np; ++i) {
        const P* p = allp_[i].load(std::memory_order_acquire);
        started += static_cast<std::uint64_t>(p->started.load(std::memory_order_relaxed));
        ended += static_cast<std::uint64_t>(p->ended.load(std::memory_order_acquire));
        const std::uint64_t seq = schedules(p);
        runs += (seq + 1) / 2;  // a goroutine's run counts from its start
        if (seq & 1) {
            ++s.goroutines_running;
            ++s.workers_running;
        }
        s.steals_total += p->steals.load(std::memory_order_relaxed);
        s.stolen_goroutines_total += p->stolen.load(std::memory_order_relaxed);
        s.netpoll_waits_total += p->io_waits.load(std::memory_order_relaxed);
        s.netpoll_wakeups_total += p->io_wakeups.load(std::memory_order_relaxed);
        s.local_queue_length += runq_length(p);
        if (i < active && p->handed_off.load(std::memory_order_relaxed)) ++s.workers_handed_off;
    }
    s.goroutines_spawned_total = started;
    s.goroutines_ended_total = ended;
    s.goroutines = static_cast<std::int64_t>(started - ended);
    s.context_switches_total = runs;
    s.handoffs_total = handoffs.load(std::memory_order_relaxed);
    s.global_queue_length = std::max<std::int64_t>(0, global_.size(std::memory_order_relaxed));
    s.goroutines_runnable = s.global_queue_length + s.local_queue_length;
    s.workers_spinning = idle_.nspinning.load(std::memory_order_relaxed);
    s.workers_idle = idle_.nidle.load(std::memory_order_relaxed);
    {
        std::lock_guard lk(procs_mu_);
        for (const auto& m : allm_)
            if (!m->exited) ++s.workers;
    }

    // Timers and I/O.
    s.timers_armed = timers.pending();
    if (Netpoller* io = netpoll_.load(std::memory_order_acquire))
        s.netpoll_waiters = io->waiters.load(std::memory_order_relaxed);

    // The run_blocking pool (process-wide).
    const detail::BlockingPoolCounts bp = detail::blocking_pool_counts();
    s.blocking_threads = bp.threads;
    s.blocking_threads_idle = bp.idle;
    s.blocking_queue_length = bp.queued;
    s.blocking_jobs_in_flight = detail::blocking_jobs_in_flight();

    // Parked goroutines by reason: a scan of the descriptors.
    const std::vector<G*> chunks = g_chunks();
    for (G* chunk : chunks) {
        for (std::size_t k = 0; k < kGChunk; ++k) {
            G* g = chunk + k;
            const GStatus st = g->status.load(std::memory_order_acquire);
            if (st != GStatus::Parked && st != GStatus::Held && st != GStatus::HeldWoken) continue;
            // `user` was written at spawn, before the park that published
            // Parked (acquire above).
            if (!racy_load(g->user)) continue;
            auto r = static_cast<std::size_t>(
                racy_load(g->wait_reason));
            if (r >= kWaitReasons) r = 0;
            ++s.parked_by_reason[r];
            ++s.goroutines_parked;
        }
    }

    // Memory.
    const StackPool::Counts sc = stacks.counts();
    s.stack_size = stacks.stack_size();
    s.stacks_mapped = sc.total;
    s.stack_bytes_reserved = sc.total * (stacks.stack_size() + kGuardSize);
    const std::size_t pooled = sc.warm + sc.cold + sc.uncarved;
    s.stack_bytes_in_use = (sc.total > pooled ? sc.total - pooled : 0) * stacks.stack_size();
    s.descriptor_bytes_reserved = chunks.size() * kGChunk * sizeof(G);
    s.descriptor_bytes_in_use = static_cast<std::uint64_t>(std::max<std::int64_t>(0, live_goroutines())) * sizeof(G);
}

// Go's schedtrace line (runtime/proc.go), with goro's words where they
// differ: maxprocs (GOMAXPROCS), threads = worker threads plus the monitor
// (Go counts every M, sysmon's included), idlethreads = idle workers plus
// retired ones that keep their thread. With `detail` (scheddetail=1), one
// line per P: status (Go's numbers: 0 idle, 1 running, 2 syscall, i.e.
// blocked or handed off, 4 dead, i.e. retired), schedtick (goroutine runs),
// m, runqsize, timerslen.
std::string Runtime::schedtrace_line(bool detail) {
    RuntimeStats s;
    collect_stats(s);
    int threads = 1, idlethreads = 0;
    std::vector<int> m_of;  // P id -> M id
    std::vector<bool> m_idle;
    {
        std::lock_guard lk(procs_mu_);
        for (const auto& m : allm_) {
            if (m->exited) continue;
            ++threads;
            if (m->retired) ++idlethreads;
        }
    }
    {
        std::lock_guard lk(idle_.mu);
        idlethreads += static_cast<int>(idle_.list.size());
        m_idle.assign(allm_.size(), false);
        for (const M* m : idle_.list)
            if (m->id >= 0 && static_cast<std::size_t>(m->id) < m_idle.size()) m_idle[m->id] = true;
    }
    const int np = nallocated_.load(std::memory_order_acquire);
    const int active = nprocs_.load(std::memory_order_relaxed);
    std::string out;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "SCHED %" PRId64 "ms: maxprocs=%" PRId64 " idleprocs=%" PRId64
                  " threads=%d spinningthreads=%" PRId64 " idlethreads=%d runqueue=%" PRId64 " [",
                  s.uptime_ms, s.maxprocs, s.workers_idle, threads, s.workers_spinning, idlethreads,
                  s.global_queue_length);
    out += buf;
    for (int i = 0; i < active && i < np; ++i) {
        const P* p = allp_[i].load(std::memory_order_acquire);
        std::snprintf(buf, sizeof buf, i ? " %u" : "%u", p->runq.size());
        out += buf;
    }
    std::snprintf(buf, sizeof buf, "] goroutines=%" PRId64 "\n", s.goroutines);
    out += buf;
    if (!detail) return out;
    for (int i = 0; i < np; ++i) {
        const P* p = allp_[i].load(std::memory_order_acquire);
        const std::uint64_t seq = schedules(p);
        int status = 0;  // idle
        if (i >= active) status = 4;
        else if (p->handed_off.load(std::memory_order_relaxed) ||
                 ((seq & 1) && p->blocking_seq.load(std::memory_order_relaxed) != 0))
            status = 2;
        else if ((seq & 1) || (static_cast<std::size_t>(i) < m_idle.size() && !m_idle[i])) status = 1;
        std::snprintf(buf, sizeof buf,
                      "  P%d: status=%d schedtick=%" PRIu64 " m=%d runqsize=%u runnext=%d steals=%" PRIu64
                      " timerslen=%" PRId64 "\n",
                      i, status, (seq + 1) / 2, i, p->runq.size(),
                      p->runnext.load(std::memory_order_relaxed) ? 1 : 0,
                      p->steals.load(std::memory_order_relaxed), timers.pending(i));
        out += buf;
    }
    return out;
}

}  // namespace goro::rt

namespace goro {

const char* wait_reason_label(std::size_t i) noexcept {
    if (i >= kWaitReasons) return "unknown";
    return detail::wait_reason_name(static_cast<detail::WaitReason>(i));
}

std::size_t wait_reason_index(const char* name) noexcept {
    for (std::size_t i = 0; i < kWaitReasons; ++i)
        if (std::strcmp(wait_reason_label(i), name) == 0) return i;
    return kWaitReasons;
}

RuntimeStats runtime_stats() {
    RuntimeStats s;
    rt::M* m = rt::this_m();
    if (m) {
        rt::worker_runtime()->collect_stats(s);  // a worker: the runtime outlives it
        return s;
    }
    rt::RuntimeRef ref;
    if (rt::Runtime* r = ref.get()) r->collect_stats(s);
    return s;
}

}  // namespace goro
