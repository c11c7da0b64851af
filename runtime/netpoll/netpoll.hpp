// netpoll/netpoll.hpp — the contract between the scheduler and an I/O
// readiness backend (netpoll_epoll.cpp on Linux), and between the backend and
// the poll descriptors (poll_desc.cpp).
//
// The scheduler owns WHEN to poll; the backend owns HOW. There is no poller
// thread: a worker with nothing to run calls poll() with the earliest timer
// as its deadline (at most one worker at a time), and a worker looking for
// work calls poll(now) to collect readiness without blocking. A backend must:
//  * poll(deadline): wait for readiness until `deadline` (TimePoint::max():
//    no timeout; a past deadline: do not block; kPollNow: do not block, nor
//    read the clock — the per-schedule check), make every goroutine whose
//    wait is satisfied runnable with Runtime::ready(g, false), and return how
//    many it readied. Only the worker holding the poller role blocks in it;
//    other workers may call it concurrently with a past deadline.
//  * interrupt(): make a poll() in progress (or the next one) return soon.
//    Any thread may call it.
//  * keep `waiters` equal to the number of goroutines parked in I/O waits, so
//    that idle workers poll only when someone waits, and deadlock detection
//    knows that I/O may still wake a goroutine. (The waits in poll_desc.cpp
//    increment it before parking and decrement it after.)
//
// Toward the poll descriptors (poll_desc.hpp) a backend offers registration,
// and reports each readiness event with netpoll_deliver(token, ...). A token
// is the descriptor's index and generation (poll_desc.hpp); the backend
// stores it in the kernel's per-registration data and hands it back as is.
#pragma once

#include <goro/detail/park.hpp>

#include <atomic>
#include <cstdint>

namespace goro::rt {

// The deadline of a poll that must not block (cheaper than a past time).
inline constexpr detail::TimePoint kPollNow = detail::TimePoint::min();

class Netpoller {
public:
    virtual ~Netpoller() = default;

    // --- the scheduler's side
    virtual int poll(detail::TimePoint deadline) = 0;
    virtual void interrupt() noexcept = 0;
    // Whether events wait to be collected, without collecting them (the
    // monitor's look: it must not take events it cannot deliver to a P).
    virtual bool events_pending() const noexcept = 0;

    std::atomic<int> waiters{0};  // goroutines parked in I/O waits

    // --- the poll descriptors' side. Each returns 0 or an errno value.
    // watch(): a persistent, edge-triggered registration for read and write
    // readiness (and peer hang-up), made once per fd and netpoller.
    virtual int watch(int fd, std::uint64_t token) noexcept = 0;
    // watch_once(): a one-shot registration for one direction (wait_readable
    // and wait_writable on fds the caller owns); unwatch() removes it.
    virtual int watch_once(int fd, std::uint64_t token, bool write) noexcept = 0;
    virtual void unwatch(int fd) noexcept = 0;

    // Unique within the process (never reused): descriptors remember which
    // netpoller they are registered with, across runtimes started one after
    // another.
    const std::uint64_t id = next_id();

private:
    static std::uint64_t next_id() noexcept {
        static std::atomic<std::uint64_t> counter{0};
        return counter.fetch_add(1, std::memory_order_relaxed) + 1;
    }
};

// Creates the platform's backend (defined by the backend's file).
Netpoller* make_netpoller();

// netpoll_deliver() is called by the backend for each event: it readies the
// goroutines waiting on the descriptor named by `token` for the directions
// that are ready and returns how many it readied (0 for a stale token).
// hangup: the event reported the peer's shutdown, a hang-up or an error.
// Defined in poll_desc.cpp.
int netpoll_deliver(std::uint64_t token, bool readable, bool writable, bool hangup) noexcept;

}  // namespace goro::rt
