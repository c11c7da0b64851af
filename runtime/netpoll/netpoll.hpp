// netpoll/netpoll.hpp — the contract between the scheduler and an I/O
// readiness backend (netpoll_epoll.cpp on Linux).
//
// The scheduler owns WHEN to poll; the backend owns HOW. There is no poller
// thread: a worker with nothing to run calls poll() with the earliest timer
// as its deadline (at most one worker at a time), and a worker looking for
// work calls poll(now) to collect readiness without blocking. A backend must:
//  * poll(deadline): wait for readiness until `deadline` (TimePoint::max():
//    no timeout; a past deadline: do not block), make every goroutine whose
//    wait is satisfied runnable with Runtime::ready(g, false), and return how
//    many it readied. Only the worker holding the poller role blocks in it;
//    other workers may call it concurrently with a past deadline.
//  * interrupt(): make a poll() in progress (or the next one) return soon.
//    Any thread may call it.
//  * keep `waiters` equal to the number of goroutines parked in I/O waits, so
//    that idle workers poll only when someone waits, and deadlock detection
//    knows that I/O may still wake a goroutine.
// Registration of fds, the per-fd state (with a generation counter against
// stale events after close and fd reuse), and the waits themselves belong to
// the backend's own files.
#pragma once

#include <goro/detail/park.hpp>

#include <atomic>

namespace goro::rt {

class Netpoller {
public:
    virtual ~Netpoller() = default;
    virtual int poll(detail::TimePoint deadline) = 0;
    virtual void interrupt() noexcept = 0;

    std::atomic<int> waiters{0};  // goroutines parked in I/O waits
};

// Creates the platform's backend (defined by the backend's file).
Netpoller* make_netpoller();

}  // namespace goro::rt
