/// @file goro/metrics.hpp
/// @brief Runtime metrics: runtime_stats(), and their Prometheus text form.
///
/// runtime_stats() takes a snapshot of the running runtime's counters and
/// states (goroutines by state and wait reason, workers, queues, timers,
/// the netpoller, the run_blocking pool, memory); it is cheap enough to call
/// every second. prometheus_text() writes a snapshot in the Prometheus text
/// exposition format, for a `/metrics` endpoint (examples/metrics_server.cpp
/// serves one):
///
/// @code
/// #include <goro/goro.hpp>
/// #include <cstdio>
///
/// int main() {
///     goro::run([] {
///         goro::RuntimeStats s = goro::runtime_stats();
///         std::printf("%lld goroutines, %lld parked\n",
///                     static_cast<long long>(s.goroutines),
///                     static_cast<long long>(s.goroutines_parked));
///         std::fputs(goro::prometheus_text(s).c_str(), stdout);
///     });
/// }
/// @endcode
///
/// How it is read. Nothing stops: counters are kept per worker (each
/// written by one thread, no shared cache line written on the switch path)
/// and summed on read; queue lengths and states are read as they are at
/// that instant, one after the other, so the fields of one snapshot may
/// disagree by the goroutines that moved meanwhile (a goroutine that parks
/// while the snapshot is taken may be counted runnable and parked, or
/// neither). Parked goroutines are counted by wait reason by scanning the
/// goroutine descriptors at read time (as the goroutine dump does, without
/// holding them): a park pays nothing for it, and a read costs a few
/// nanoseconds per descriptor ever allocated (about 1 ms for 100,000).
///
/// Without a running runtime, runtime_stats() returns a RuntimeStats with
/// `running == false` and every other field zero (the counters of a runtime
/// end with it; a later run() starts again from zero).
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, as the other headers do.
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace goro {

/// The number of wait reasons: the size of RuntimeStats::parked_by_reason.
inline constexpr std::size_t kWaitReasons = 23;

/// The name of wait reason `i` (0 <= i < kWaitReasons), in Go's words, as
/// the goroutine dump prints it: "wait" (0: a park with no reason given),
/// "chan receive", "chan send", "chan receive (nil chan)", "chan send (nil
/// chan)", "select", "select (no cases)", "sleep", "IO wait",
/// "sync.Mutex.Lock", "sync.RWMutex.RLock", "sync.RWMutex.Lock",
/// "sync.Cond.Wait", "semacquire", "sync.WaitGroup.Wait", "sync.Once.Do",
/// "event wait", "task wait", "run_blocking", "context wait", "timer
/// wait", "shutdown wait", "forever". Out of range: "unknown".
const char* wait_reason_label(std::size_t i) noexcept;

/// The index in RuntimeStats::parked_by_reason of the reason named `name`
/// (as wait_reason_label() spells it), or kWaitReasons if none is.
std::size_t wait_reason_index(const char* name) noexcept;

/// A snapshot of the runtime, returned by runtime_stats(). Counters (the
/// `_total` fields) only grow while a runtime runs; the other fields are
/// values at the instant they were read. All are zero when `running` is
/// false.
struct RuntimeStats {
    /// Whether a runtime was running when the snapshot was taken.
    bool running = false;
    /// Milliseconds since the runtime started (run() was called).
    std::int64_t uptime_ms = 0;

    // ------------------------------------------------------------ goroutines

    /// Goroutines alive: started and not ended (num_goroutines(): the main
    /// goroutine and every go()/spawn() goroutine).
    std::int64_t goroutines = 0;
    /// Goroutines that a worker runs at this instant (the caller among them
    /// when it is a goroutine).
    std::int64_t goroutines_running = 0;
    /// Goroutines waiting in a run queue for a worker: the global queue,
    /// every worker's local queue and its run-next slot.
    std::int64_t goroutines_runnable = 0;
    /// Goroutines parked in a blocking call (a channel, a lock, a sleep,
    /// I/O, ...): the sum of parked_by_reason.
    std::int64_t goroutines_parked = 0;
    /// Parked goroutines by wait reason: index i counts those parked for
    /// the reason wait_reason_label(i). Read by scanning the descriptors.
    std::array<std::int64_t, kWaitReasons> parked_by_reason{};
    /// Goroutines started since the runtime started (the main one included).
    std::uint64_t goroutines_spawned_total = 0;
    /// Goroutines that have ended since the runtime started.
    std::uint64_t goroutines_ended_total = 0;

    // ------------------------------------------------------------ workers

    /// maxprocs(): the workers meant to run goroutines.
    std::int64_t maxprocs = 0;
    /// Worker threads alive (spares for hand-offs and retired workers
    /// included; the monitor thread and run_blocking threads are not).
    std::int64_t workers = 0;
    /// Active workers running a goroutine at this instant.
    std::int64_t workers_running = 0;
    /// Workers looking for work to steal before they sleep.
    std::int64_t workers_spinning = 0;
    /// Workers asleep without work (futex, timer or netpoller sleep).
    std::int64_t workers_idle = 0;
    /// Workers stuck in a goroutine that blocks its thread (plain code,
    /// goro::blocking()) or hogs it, and handed off: another worker was
    /// made active in their place (runtime/DESIGN.md, "the hand-off").
    std::int64_t workers_handed_off = 0;
    /// Hand-offs since the runtime started.
    std::uint64_t handoffs_total = 0;
    /// Context switches into goroutines (each time a worker resumes or
    /// starts a goroutine), since the runtime started.
    std::uint64_t context_switches_total = 0;
    /// Successful steals: a worker took goroutines from another's queue.
    std::uint64_t steals_total = 0;
    /// Goroutines moved by those steals.
    std::uint64_t stolen_goroutines_total = 0;

    // ------------------------------------------------------------ queues

    /// Goroutines in the global run queue (spawned from plain threads,
    /// local-queue overflow, the work of retired workers).
    std::int64_t global_queue_length = 0;
    /// Goroutines in the workers' local run queues and run-next slots.
    std::int64_t local_queue_length = 0;

    // ------------------------------------------------------------ timers, I/O

    /// Timers armed: sleeps, timeouts, Timer, Ticker, after_func.
    std::int64_t timers_armed = 0;
    /// Goroutines parked in an I/O wait at this instant.
    std::int64_t netpoll_waiters = 0;
    /// I/O waits that parked a goroutine, since the runtime started.
    std::uint64_t netpoll_waits_total = 0;
    /// Goroutines readied by the netpoller, since the runtime started.
    std::uint64_t netpoll_wakeups_total = 0;

    // ------------------------------------------------------------ run_blocking

    /// Threads of the run_blocking pool (process-wide: the pool outlives
    /// runtimes), busy or idle.
    std::int64_t blocking_threads = 0;
    /// Of those, threads idle, waiting for a job.
    std::int64_t blocking_threads_idle = 0;
    /// run_blocking jobs queued for a thread (not started yet).
    std::int64_t blocking_queue_length = 0;
    /// run_blocking jobs queued or running (process-wide).
    std::int64_t blocking_jobs_in_flight = 0;

    // ------------------------------------------------------------ memory

    /// Bytes per goroutine stack (GORO_STACK_SIZE, Config::stack_size).
    std::uint64_t stack_size = 0;
    /// Goroutine stacks mapped (address space reserved, including stacks
    /// not carved yet), whether in use, cached or free.
    std::uint64_t stacks_mapped = 0;
    /// Address space reserved for stacks, in bytes: stacks_mapped times
    /// (stack_size + the 64 KiB guard below each stack).
    std::uint64_t stack_bytes_reserved = 0;
    /// Bytes of stacks out of the pool: bound to a goroutine, or cached by
    /// a worker for its next goroutines (at most 64 each): stack_size per
    /// stack (an upper bound of what is touched).
    std::uint64_t stack_bytes_in_use = 0;
    /// Bytes of goroutine descriptors allocated (they are never freed
    /// before the runtime ends).
    std::uint64_t descriptor_bytes_reserved = 0;
    /// Bytes of descriptors of live goroutines.
    std::uint64_t descriptor_bytes_in_use = 0;
};

/// A snapshot of the running runtime (see the file comment for what each
/// read costs and how consistent it is). Callable from goroutines and
/// plain threads, any time; without a running runtime every field is zero
/// (`running == false`).
RuntimeStats runtime_stats();

/// `s` in the Prometheus text exposition format (version 0.0.4): every
/// field as a metric named `goro_...` with its `# HELP` and `# TYPE` lines;
/// counters end in `_total`; parked goroutines are one series per wait
/// reason (`goro_goroutines_parked{reason="chan receive"}`); a gauge
/// `goro_up` is 1 while a runtime runs. Ends with a newline.
std::string prometheus_text(const RuntimeStats& s);

}  // namespace goro
