// netpoll/stream.cpp — goro::net::Stream and goro::net::Listener: what the
// TCP and Unix-domain stream sockets share (include/goro/net.hpp): reading,
// writing, timeouts, shutdown and close of a connected stream, and the
// accept loop of a listener. tcp.cpp and unix.cpp add how a socket is made
// (connect, listen, addresses).
//
// Owns: the stream syscalls and their errno handling. Every blocking call
// has the same shape (Go's internal/poll fd_unix.go):
//
//     PdOp op(pd)                 pin the fd: a concurrent close() defers ::close
//     loop:
//       seen = seq[mode]          BEFORE the syscall (poll_desc.cpp protocol)
//       syscall                   non-blocking
//       ok -> return
//       errno read at once        (a goroutine may resume on another thread,
//                                  whose errno is another variable)
//       EINTR -> again; EAGAIN -> pd_wait(seen, deadline) then again
//       else -> std::system_error(errno)
//
// Cancellation: checked on entry of each blocking call (the request is
// delivered once, by the next blocking call) and while parked (detail::block).
// Nothing is consumed from the socket by a wait, so a cancelled read leaves
// the stream usable.
//
// Faults: ECONNRESET/EPIPE surface as std::system_error to the caller, who
// closes; SIGPIPE is never raised (MSG_NOSIGNAL on every send). accept()
// retries ECONNABORTED/EPROTO/EINTR at once, and backs off on fd exhaustion
// (EMFILE/ENFILE/ENOBUFS/ENOMEM), parked with pd_sleep so close() still
// wakes it.
#include "netpoll/poll_desc.hpp"
#include "netpoll/socket_util.hpp"

#include <goro/detail/park.hpp>
#include <goro/errors.hpp>
#include <goro/net.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace goro::net {

using goro::detail::Clock;
using goro::detail::TimePoint;
using rt::kRead;
using rt::kWrite;
using rt::PdOp;
using rt::PollDesc;
using sock::Deadline;
using sock::throw_errno;

// ---------------------------------------------------------------- Stream

Stream::Stream(Stream&& o) noexcept
    : pd_(std::exchange(o.pd_, nullptr)), read_timeout_(o.read_timeout_), write_timeout_(o.write_timeout_) {}

Stream& Stream::operator=(Stream&& o) noexcept {
    if (this != &o) {
        if (pd_) rt::pd_release(pd_);
        pd_ = std::exchange(o.pd_, nullptr);
        read_timeout_ = o.read_timeout_;
        write_timeout_ = o.write_timeout_;
    }
    return *this;
}

Stream::~Stream() {
    if (pd_) rt::pd_release(pd_);
}

// read() skips the recv that would only say EAGAIN. A recv that returns
// fewer bytes than asked for has emptied the socket's receive queue; it
// records the seq[kRead] it read before the call. Anything that arrives
// later is a new edge-triggered event, which bumps seq. So when the next
// read() finds seq unchanged, the socket is still empty and it waits for
// the event at once: a request/response server saves one syscall per
// request (Go's runtime, and goro before, ask the kernel and hear EAGAIN).
// Not after a hang-up or an error was reported (hung_up): the end of the
// stream may already be queued behind the data, and its event has come.
// The skip happens at most once per call; after any wait, recv decides.
std::size_t Stream::read(std::span<std::byte> buf) {
    goro::detail::entry_cancellation_point();
    PdOp op(pd_, "read");
    if (buf.empty()) return 0;
    Deadline deadline(read_timeout_);
    std::uint32_t seen = pd_->seq[kRead].load(std::memory_order_acquire);  // pairs with release in deliver
    // relaxed: both hints were written by readers or the poller before the
    // seq value we just acquired, or are stale, which only costs a recv.
    if (pd_->read_drained.load(std::memory_order_relaxed) == (PollDesc::kDrainedValid | seen) &&
        !pd_->hung_up.load(std::memory_order_relaxed)) {
        if (!rt::pd_wait(pd_, kRead, seen, deadline.get())) throw Timeout("goro::net: read timed out");
        seen = pd_->seq[kRead].load(std::memory_order_acquire);
    }
    for (;;) {
        ssize_t n = ::recv(pd_->fd, buf.data(), buf.size(), 0);
        if (n > 0) {
            if (static_cast<std::size_t>(n) < buf.size())
                pd_->read_drained.store(PollDesc::kDrainedValid | seen, std::memory_order_relaxed);
            return static_cast<std::size_t>(n);
        }
        if (n == 0) return 0;
        int err = errno;
        if (err == EINTR) continue;
        if (err != EAGAIN && err != EWOULDBLOCK) throw_errno(err, "read");
        if (!rt::pd_wait(pd_, kRead, seen, deadline.get())) throw Timeout("goro::net: read timed out");
        seen = pd_->seq[kRead].load(std::memory_order_acquire);
    }
}

namespace {
// One send() that parks on EAGAIN; returns bytes written (> 0).
std::size_t write_some(PollDesc* pd, std::span<const std::byte> buf, const TimePoint* deadline) {
    for (;;) {
        std::uint32_t seen = pd->seq[kWrite].load(std::memory_order_acquire);  // pairs with release in deliver
        ssize_t n = ::send(pd->fd, buf.data(), buf.size(), MSG_NOSIGNAL);
        if (n >= 0) return static_cast<std::size_t>(n);
        int err = errno;
        if (err == EINTR) continue;
        if (err != EAGAIN && err != EWOULDBLOCK) throw_errno(err, "write");
        if (!rt::pd_wait(pd, kWrite, seen, deadline)) throw Timeout("goro::net: write timed out");
    }
}
}  // namespace

std::size_t Stream::write(std::span<const std::byte> buf) {
    goro::detail::entry_cancellation_point();
    PdOp op(pd_, "write");
    if (buf.empty()) return 0;
    Deadline deadline(write_timeout_);
    return write_some(pd_, buf, deadline.get());
}

void Stream::write_all(std::span<const std::byte> buf) {
    goro::detail::entry_cancellation_point();
    PdOp op(pd_, "write");
    Deadline deadline(write_timeout_);
    while (!buf.empty()) buf = buf.subspan(write_some(pd_, buf, deadline.get()));
}

void Stream::shutdown_write() {
    PdOp op(pd_, "shutdown");
    if (::shutdown(pd_->fd, SHUT_WR) != 0) throw_errno(errno, "shutdown");
}

void Stream::close() noexcept {
    if (pd_) rt::pd_close(pd_);
}

bool Stream::is_open() const noexcept { return pd_ && !pd_->closing.load(std::memory_order_relaxed); }

int Stream::native_handle() const noexcept { return is_open() ? pd_->fd : -1; }

// ---------------------------------------------------------------- Listener

Listener::Listener(Listener&& o) noexcept : pd_(std::exchange(o.pd_, nullptr)) {}

Listener& Listener::operator=(Listener&& o) noexcept {
    if (this != &o) {
        if (pd_) rt::pd_release(pd_);
        pd_ = std::exchange(o.pd_, nullptr);
    }
    return *this;
}

Listener::~Listener() {
    if (pd_) rt::pd_release(pd_);
}

PollDesc* Listener::accept_pd(const char* what) {
    using namespace std::chrono_literals;
    goro::detail::entry_cancellation_point();
    PdOp op(pd_, what);
    Clock::duration backoff{0};
    for (;;) {
        std::uint32_t seen = pd_->seq[kRead].load(std::memory_order_acquire);  // pairs with release in deliver
        int cfd = ::accept4(pd_->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0) return rt::pd_open(cfd);
        int err = errno;
        switch (err) {
            case EINTR:
            case ECONNABORTED:  // the peer gave up while queued: take the next one
            case EPROTO: continue;
            case EAGAIN:
#if EWOULDBLOCK != EAGAIN
            case EWOULDBLOCK:
#endif
                rt::pd_wait(pd_, kRead, seen, nullptr);
                continue;
            case EMFILE:
            case ENFILE:
            case ENOBUFS:
            case ENOMEM:
                // Out of descriptors or memory: the connection stays queued; try
                // again later rather than spin (net/http's 5 ms doubling to 1 s).
                backoff = backoff == backoff.zero() ? Clock::duration(5ms) : std::min<Clock::duration>(2 * backoff, 1s);
                rt::pd_sleep(pd_, Clock::now() + backoff);
                continue;
            default: throw_errno(err, what);
        }
    }
}

void Listener::close() noexcept {
    if (pd_) rt::pd_close(pd_);
}

bool Listener::is_open() const noexcept { return pd_ && !pd_->closing.load(std::memory_order_relaxed); }

int Listener::native_handle() const noexcept { return is_open() ? pd_->fd : -1; }

}  // namespace goro::net
