// sched/quiet_threads.hpp — which threads of the process could still wake a
// goroutine: the half of deadlock detection that looks outside the runtime.
//
// A deadlock is declared only when nothing can ever wake a goroutine again.
// Inside the runtime that is decided by the scheduler (every goroutine
// parked, no timer, no I/O wait, no run_blocking job, no queued work). But
// any thread of the process that goro does not own could call into goro
// later — a library's callback thread, a thread started before run(), one
// that has not touched goro yet — and release the main goroutine. Go stays
// quiet for the same reason when cgo threads could call in. The rule here:
//
//   a thread may wake a goroutine unless it is quiet: a worker (M) of the
//   runtime, an idle run_blocking pool thread, a plain thread parked in a
//   goro wait without a deadline, or a thread the process had before any of
//   its own code ran (a sanitizer's helper thread; the main thread excluded).
//
// quiet_threads_only() counts the threads in /proc/self/task and compares
// with the quiet ones. It is called only by the deadlock watch, after every
// worker has been idle for the grace period, so the directory read costs
// nothing on any hot path. Counts may be off for an instant while a thread
// enters or leaves a quiet state; the watch re-checks after its grace period
// before it declares anything, and a thread that is about to wake a
// goroutine is, by then, visibly not quiet or has made work visible.
//
// Synchronisation: g_quiet_threads is a plain counter of threads currently
// quiet (relaxed: it is a snapshot compared with another snapshot, and the
// watch's grace period, not the ordering, makes the comparison stable).
#pragma once

#include <atomic>

namespace goro::rt {

extern std::atomic<int> g_quiet_threads;

// Marks the calling thread quiet for the scope's lifetime.
class QuietScope {
public:
    QuietScope() noexcept { g_quiet_threads.fetch_add(1, std::memory_order_relaxed); }
    ~QuietScope() { g_quiet_threads.fetch_sub(1, std::memory_order_relaxed); }
    QuietScope(const QuietScope&) = delete;
    QuietScope& operator=(const QuietScope&) = delete;
};

// True when every thread of the process is quiet (see the file comment).
// False as well when the threads cannot be counted (no /proc): no deadlock
// is then declared while a plain thread might exist.
bool quiet_threads_only() noexcept;

}  // namespace goro::rt
