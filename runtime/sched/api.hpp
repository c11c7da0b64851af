// sched/api.hpp — the scheduler's door for the rest of the runtime.
//
// netpoll/, task/, time/ and chan/ include this header and nothing else
// from sched/: they see neither Runtime, P, M nor the queues, only the few
// calls below (defined in api.cpp). Each names the thread it may be called
// from; on a worker the runtime is read without a reference count (it
// outlives its workers), on a plain thread through a RuntimeRef.
#pragma once

#include <cstdint>

namespace goro::rt {

class Netpoller;
struct TimerNode;

// --- From a goroutine (the runtime outlives the call).

// The runtime's netpoller, created on first use.
Netpoller* netpoller();
// The caller is about to wait for I/O: make sure some idle worker polls
// (if none is idle, the first worker to run out of work will). Counts the
// wait in the caller's P (goro::runtime_stats()).
void wake_poller_if_needed();
// Work outside the scheduler will wake the caller later (a run_blocking
// job): deadlock detection must wait for it. begin is seq_cst (before the
// caller parks, against the deadlock watch's loads); end is release.
void begin_external_wait() noexcept;
void end_external_wait() noexcept;

// --- From any thread.

// Adds a timer node to the runtime's timers (the caller's P's shard, shard 0
// from a plain thread; re-timing a sleeping worker if
// it is the earliest) and returns the runtime's serial number; 0, and
// nothing done, when no runtime runs.
std::uint64_t add_timer(TimerNode* n);
// Takes n out of the heap of the runtime numbered `serial` if that runtime
// still runs and n has not fired; true when it did (the caller then owns n).
bool remove_timer(TimerNode* n, std::uint64_t serial);

}  // namespace goro::rt
