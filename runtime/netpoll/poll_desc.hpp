// netpoll/poll_desc.hpp — the per-fd state of the netpoller (Go's pollDesc)
// and the one wait every network call uses. Internal.
//
// A PollDesc belongs to one socket (TcpStream / TcpListener) for as long as
// the handle lives, or to one wait_readable()/wait_writable() call on an fd
// the caller owns. See poll_desc.cpp for the protocol.
#pragma once

#include <goro/detail/park.hpp>
#include <goro/detail/waitlist.hpp>

#include <atomic>
#include <cstdint>

// PollDesc is declared in goro::detail, where <goro/net.hpp> names it for
// its handles' private member (net.hpp never sees goro::rt), and used as
// rt::PollDesc here.
namespace goro::detail {
struct PollDesc;
}

namespace goro::rt {

class Netpoller;

enum IoMode : int { kRead = 0, kWrite = 1 };

using detail::PollDesc;

}  // namespace goro::rt

struct goro::detail::PollDesc {
    detail::SpinLock lk;
    int fd = -1;                                 // set before publication; stable while a ref is held
    std::uint32_t index = 0;                     // constant: the slot in the descriptor table
    std::uint32_t gen = 0;                       // guarded by lk; bumped when the slot is freed
    std::atomic<bool> closing{false};            // written under lk; read lock-free by operations
    int ops = 0;                                 // guarded by lk: operations in flight
    bool owned = false;                          // guarded by lk: a handle still refers to it
    bool fd_open = false;                        // guarded by lk: we still have to close fd
    bool close_fd = true;                        // constant while in use: false for caller-owned fds
    int thread_waiters = 0;                      // guarded by lk: plain threads in poll(2) on fd
    std::atomic<std::uint32_t> seq[2] = {0, 0};  // readiness events delivered, per direction; bumped under lk
    // Read-side hints for TcpStream::read (see there): the seq[kRead] value
    // at which a recv came back short, i.e. found the socket empty (plus
    // kDrainedValid), and whether any event reported a hang-up or error.
    // Reset by pd_open.
    static constexpr std::uint64_t kDrainedValid = std::uint64_t{1} << 32;
    std::atomic<std::uint64_t> read_drained{0};
    std::atomic<bool> hung_up{false};         // set under lk before the seq bump that reports it
    detail::WaitList waiting[2];              // guarded by lk: goroutines parked, per direction
    std::atomic<std::uint64_t> poller_id{0};  // Netpoller::id it is watched by (0: none)
    PollDesc* next_free = nullptr;            // guarded by the table's mutex

    std::uint64_t token() const noexcept { return (std::uint64_t{gen} << 32) | index; }
};

namespace goro::rt {

// pd_open() takes a fresh descriptor for `fd`, owned by a handle; the
// descriptor closes fd (close_fd) once the handle closes it and no operation
// is in flight.
PollDesc* pd_open(int fd, bool close_fd = true);
// pd_close() marks it closing, wakes every waiter (they throw EBADF), and
// closes fd now or when the last operation in flight ends. Idempotent.
void pd_close(PollDesc* pd) noexcept;
// pd_release() is the handle's destructor: pd_close() and give up ownership;
// the slot is freed (generation bumped) when no operation holds it.
void pd_release(PollDesc* pd) noexcept;

// [[noreturn]] throw of the "use of closed socket" error (EBADF).
[[noreturn]] void throw_closed(const char* what);

// PdOp pins a descriptor for one operation: while it lives, fd stays open
// even if another goroutine closes the handle. Throws EBADF when closing.
class PdOp {
public:
    PdOp(PollDesc* pd, const char* what);
    ~PdOp();
    PdOp(const PdOp&) = delete;
    PdOp& operator=(const PdOp&) = delete;

private:
    PollDesc* pd_;
};

// pd_wait() waits until an event for `mode` newer than `seen` (a value of
// pd->seq[mode] read before the syscall that said EAGAIN) arrives. Returns
// true to retry the syscall, false when `deadline` passed. A deadline passed
// already on entry (a zero timeout) waits for nothing: true only if poll(2)
// says the fd is ready now, on goroutines and plain threads alike. Throws Cancelled
// (a goroutine with a cancellation request) and EBADF (closed meanwhile).
// On a goroutine it parks through the netpoller; on a plain thread it blocks
// in poll(2). The caller holds a PdOp.
bool pd_wait(PollDesc* pd, IoMode mode, std::uint32_t seen, const detail::TimePoint* deadline);

// pd_sleep() parks until `deadline` unless the descriptor is closed first
// (throws EBADF) or the goroutine is cancelled (throws Cancelled).
void pd_sleep(PollDesc* pd, detail::TimePoint deadline);

// wait_fd() waits for readiness of an fd the caller owns (one-shot
// registration, removed before it returns). False on timeout.
bool wait_fd(int fd, IoMode mode, const detail::TimePoint* deadline);

// poll_now() asks poll(2), without waiting, whether fd is ready for `mode`
// (hang-ups and errors count as ready, as for every wait). EBADF for a
// closed fd.
bool poll_now(int fd, IoMode mode);

}  // namespace goro::rt
