// debug/trace.hpp — GORO_TRACE: a timeline of scheduler events, written in
// the Chrome trace event format (Perfetto, chrome://tracing) when run() ends.
//
// Recording. Each worker (M) owns a fixed buffer of small events (TraceBuf,
// allocated only when tracing is on) that only its thread appends to, with
// no lock and no atomic read-modify-write; a full buffer drops the event
// and counts it, never blocks, never grows. Threads outside the workers
// (spawns and wake-ups from plain threads, run_blocking's pool) append to
// one shared buffer under a mutex. Timestamps are the TSC (rdtsc, a few ns),
// converted to nanoseconds at write time against steady_clock readings taken
// when the trace starts and stops.
//
// The guard. Every event site is `if (trace_on()) [[unlikely]] ...`: one
// relaxed load of a global flag and a branch that is never taken while
// GORO_TRACE is unset; the recording itself is out of line. The flag is set
// just before the runtime starts its workers and cleared once they have all
// been joined, so a worker's buffer is read only after its thread ended.
//
// Writing (Trace::write, after the workers are joined): one track per
// worker; a goroutine's run is an "X" (complete) event from the switch that
// started it to the one that stopped it (park, with its wait reason; yield;
// end); a worker's idle sleep is an "X" event too; creations, ends, spins,
// steals, netpoll results and timer firings are "i" instants; a wake-up
// ("ready") is a flow ("s" at the waker, "f" at the run it caused); "M"
// metadata names the tracks; otherData holds the drop count. The file is
// opened when run() starts (an unwritable path throws std::invalid_argument
// naming GORO_TRACE); a failure while writing at the end is one line on
// stderr naming the path, and run() still returns the program's result.
#pragma once

#include "env/config.hpp"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <x86intrin.h>

namespace goro::rt {

enum class TraceKind : std::uint8_t {
    GoCreate,   // g: the new goroutine; arg: the creator's id (0: none) | kTraceSystem for a runtime goroutine
    GoStart,    // g starts (or resumes) running on this worker
    GoPark,     // g stops running: parked; arg: its WaitReason
    GoYield,    // g stops running: yielded (still runnable)
    GoEnd,      // g stops running: it ended
    GoReady,    // g was made runnable by this thread (a flow to its next start)
    Spin,       // this worker began spinning (looking for work to steal)
    Steal,      // arg: victim P id << 32 | goroutines taken
    IdleBegin,  // this worker goes to sleep
    IdleEnd,    // ... and woke
    Netpoll,    // arg: goroutines a netpoller poll readied
    Timers,     // arg: timers that fired
};
inline constexpr std::uint64_t kTraceSystem = 1ull << 63;

struct TraceEvent {
    std::uint64_t tsc;
    std::uint64_t g;
    std::uint64_t arg;
    TraceKind kind;
};

inline std::uint64_t trace_clock() noexcept { return __rdtsc(); }

// One worker's events, appended by its thread only.
struct TraceBuf {
    // Zeroed here, on purpose: the pages are faulted in when tracing starts,
    // not one by one on the switch path (without this, recording every event of
    // pingpong cost 7x its time on the 2-vCPU VM of bench/RESULTS.md, not 1.25x).
    // The shared buffer of the threads that are not workers is not: they
    // record rarely, and it would double the memory.
    TraceBuf(std::uint32_t capacity, bool prefault)
        : events(prefault ? new TraceEvent[capacity]() : new TraceEvent[capacity]), cap(capacity) {}
    std::unique_ptr<TraceEvent[]> events;
    std::uint32_t cap;
    std::uint32_t n = 0;
    std::uint64_t dropped = 0;
    void push(TraceKind k, std::uint64_t g, std::uint64_t arg) noexcept {
        if (n == cap) [[unlikely]] {
            ++dropped;
            return;
        }
        events[n++] = TraceEvent{trace_clock(), g, arg, k};
    }
};

// Hidden: goro's own code reads it RIP-relative, not through the GOT (the
// library is built position-independent).
[[gnu::visibility("hidden")]] extern std::atomic<bool> g_trace_on;
inline bool trace_on() noexcept { return g_trace_on.load(std::memory_order_relaxed); }

// Records one event into buf, or into the shared buffer of the threads that
// are not workers when buf is null. Call only after trace_on().
[[gnu::noinline, gnu::cold]] void trace_record(TraceBuf* buf, TraceKind k, std::uint64_t g,
                                               std::uint64_t arg = 0) noexcept;

class Trace {
public:
    // Opens opts.path for writing (truncating it); throws std::invalid_argument
    // naming GORO_TRACE when it cannot.
    explicit Trace(const TraceOptions& opts);
    ~Trace();
    Trace(const Trace&) = delete;
    Trace& operator=(const Trace&) = delete;

    std::uint32_t buffer_events() const noexcept { return buffer_events_; }
    // Sets / clears g_trace_on and takes the clock readings the TSC is
    // converted against. start() before the workers start, stop() after
    // they are joined.
    void start() noexcept;
    void stop() noexcept;
    // Writes the file from the workers' buffers (id, buffer) and the shared
    // one; errors go to stderr as one line naming the path, never thrown.
    void write(const std::vector<std::pair<int, const TraceBuf*>>& workers, int maxprocs) noexcept;

    TraceBuf outside;  // threads that are not workers, under outside_mu
    std::mutex outside_mu;

private:
    std::string path_;
    std::FILE* file_ = nullptr;
    std::uint32_t buffer_events_;
    std::uint64_t tsc0_ = 0, tsc1_ = 0;
    std::int64_t ns0_ = 0, ns1_ = 0;
};

}  // namespace goro::rt
