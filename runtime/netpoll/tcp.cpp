// netpoll/tcp.cpp — goro::net: TcpStream, TcpListener, wait_readable and
// wait_writable (include/goro/net.hpp).
//
// Owns: the socket syscalls and their errno handling. Every blocking call has
// the same shape (Go's internal/poll fd_unix.go):
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
//
// Rejected designs:
//  * Registering a socket at creation (Go does): the first EAGAIN registers
//    it instead, so short-lived sockets that never wait, and sockets used
//    only from plain threads, cost no epoll_ctl. The lost-wakeup protocol
//    still holds: EPOLL_CTL_ADD reports a socket that is ready already.
//  * Ignoring SIGPIPE process-wide at runtime start: a library should not
//    change the process's signal dispositions; MSG_NOSIGNAL is local.
#include "netpoll/poll_desc.hpp"
#include "netpoll/resolve.hpp"
#include "netpoll/socket_util.hpp"

#include <goro/detail/park.hpp>
#include <goro/errors.hpp>
#include <goro/net.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>
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

namespace {

void set_nodelay(int fd) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // best effort, as Go
}

std::uint16_t port_of(const sockaddr_storage& ss) {
    if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
    return 0;
}

// A socket fd that closes itself unless handed to a descriptor.
struct FdGuard {
    int fd;
    ~FdGuard() {
        if (fd >= 0) ::close(fd);
    }
    int release() { return std::exchange(fd, -1); }
};

std::string endpoint(std::string_view host, std::uint16_t port) {
    return std::string(host) + ":" + std::to_string(port);
}

// Waits for a non-blocking connect() to finish. Returns 0 or the errno of the
// failure; throws Timeout, Cancelled.
int finish_connect(PollDesc* pd, std::uint32_t seen, const TimePoint* deadline, const std::string& where) {
    for (;;) {
        if (!rt::pd_wait(pd, kWrite, seen, deadline)) throw Timeout("goro::net: connect to " + where + " timed out");
        seen = pd->seq[kWrite].load(std::memory_order_acquire);
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(pd->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
        if (err != 0) return err;
        // Writable and no error: connected, unless the wake was for something
        // else (Go checks getpeername the same way).
        sockaddr_storage ss{};
        socklen_t sl = sizeof ss;
        if (::getpeername(pd->fd, reinterpret_cast<sockaddr*>(&ss), &sl) == 0) return 0;
        if (errno != ENOTCONN) return errno;
    }
}

}  // namespace

// ---------------------------------------------------------------- TcpStream

TcpStream::TcpStream(TcpStream&& o) noexcept
    : pd_(std::exchange(o.pd_, nullptr)), read_timeout_(o.read_timeout_), write_timeout_(o.write_timeout_) {}

TcpStream& TcpStream::operator=(TcpStream&& o) noexcept {
    if (this != &o) {
        if (pd_) rt::pd_release(pd_);
        pd_ = std::exchange(o.pd_, nullptr);
        read_timeout_ = o.read_timeout_;
        write_timeout_ = o.write_timeout_;
    }
    return *this;
}

TcpStream::~TcpStream() {
    if (pd_) rt::pd_release(pd_);
}

TcpStream TcpStream::connect(std::string_view host, std::uint16_t port,
                             std::optional<std::chrono::nanoseconds> timeout) {
    goro::detail::entry_cancellation_point();
    Deadline dl(timeout);
    const TimePoint* deadline = dl.get();
    std::string where = endpoint(host, port);
    std::vector<rt::SockAddr> addrs = rt::resolve_tcp(host, port, /*passive=*/false, deadline);
    int last_err = 0;
    for (const rt::SockAddr& a : addrs) {
        FdGuard fd{::socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP)};
        if (fd.fd < 0) throw_errno(errno, "socket");
        set_nodelay(fd.fd);
        TcpStream s(rt::pd_open(fd.release()));
        PdOp op(s.pd_, "connect");
        std::uint32_t seen = s.pd_->seq[kWrite].load(std::memory_order_acquire);
        int err = 0;
        if (::connect(s.pd_->fd, a.get(), a.len) != 0) {
            err = errno;
            // EINTR: the connection goes on in the background, as EINPROGRESS.
            if (err == EINPROGRESS || err == EINTR) err = finish_connect(s.pd_, seen, deadline, where);
        }
        if (err == 0) return s;
        last_err = err;
    }
    throw_errno(last_err, "connect to " + where);
}

TcpStream TcpStream::from_fd(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_errno(errno, "fcntl");
    return TcpStream(rt::pd_open(fd));
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
std::size_t TcpStream::read(std::span<std::byte> buf) {
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

std::size_t TcpStream::write(std::span<const std::byte> buf) {
    goro::detail::entry_cancellation_point();
    PdOp op(pd_, "write");
    if (buf.empty()) return 0;
    Deadline deadline(write_timeout_);
    return write_some(pd_, buf, deadline.get());
}

void TcpStream::write_all(std::span<const std::byte> buf) {
    goro::detail::entry_cancellation_point();
    PdOp op(pd_, "write");
    Deadline deadline(write_timeout_);
    while (!buf.empty()) buf = buf.subspan(write_some(pd_, buf, deadline.get()));
}

void TcpStream::shutdown_write() {
    PdOp op(pd_, "shutdown");
    if (::shutdown(pd_->fd, SHUT_WR) != 0) throw_errno(errno, "shutdown");
}

void TcpStream::close() noexcept {
    if (pd_) rt::pd_close(pd_);
}

bool TcpStream::is_open() const noexcept { return pd_ && !pd_->closing.load(std::memory_order_relaxed); }

int TcpStream::native_handle() const noexcept { return is_open() ? pd_->fd : -1; }

std::uint16_t TcpStream::local_port() const {
    PdOp op(pd_, "getsockname");
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(pd_->fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) throw_errno(errno, "getsockname");
    return port_of(ss);
}

std::uint16_t TcpStream::peer_port() const {
    PdOp op(pd_, "getpeername");
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getpeername(pd_->fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) throw_errno(errno, "getpeername");
    return port_of(ss);
}

IpEndpoint TcpStream::local_addr() const { return sock::address_of(pd_, false); }

IpEndpoint TcpStream::peer_addr() const { return sock::address_of(pd_, true); }

// ---------------------------------------------------------------- TcpListener

TcpListener::TcpListener(TcpListener&& o) noexcept : pd_(std::exchange(o.pd_, nullptr)), port_(o.port_) {}

TcpListener& TcpListener::operator=(TcpListener&& o) noexcept {
    if (this != &o) {
        if (pd_) rt::pd_release(pd_);
        pd_ = std::exchange(o.pd_, nullptr);
        port_ = o.port_;
    }
    return *this;
}

TcpListener::~TcpListener() {
    if (pd_) rt::pd_release(pd_);
}

TcpListener TcpListener::listen(std::string_view host, std::uint16_t port) { return listen(host, port, SOMAXCONN); }

TcpListener TcpListener::listen(std::string_view host, std::uint16_t port, int backlog) {
    std::vector<rt::SockAddr> addrs = rt::resolve_tcp(host, port, /*passive=*/true, nullptr);
    const rt::SockAddr& a = addrs.front();
    FdGuard fd{::socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP)};
    if (fd.fd < 0) throw_errno(errno, "socket");
    int one = 1;
    ::setsockopt(fd.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.fd, a.get(), a.len) != 0) throw_errno(errno, "bind " + endpoint(host, port));
    if (::listen(fd.fd, backlog) != 0) throw_errno(errno, "listen " + endpoint(host, port));
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd.fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) throw_errno(errno, "getsockname");
    TcpListener l;
    l.port_ = port_of(ss);
    l.pd_ = rt::pd_open(fd.release());
    return l;
}

TcpStream TcpListener::accept() {
    using namespace std::chrono_literals;
    goro::detail::entry_cancellation_point();
    PdOp op(pd_, "accept");
    Clock::duration backoff{0};
    for (;;) {
        std::uint32_t seen = pd_->seq[kRead].load(std::memory_order_acquire);  // pairs with release in deliver
        int cfd = ::accept4(pd_->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0) {
            set_nodelay(cfd);
            return TcpStream(rt::pd_open(cfd));
        }
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
            default: throw_errno(err, "accept");
        }
    }
}

void TcpListener::close() noexcept {
    if (pd_) rt::pd_close(pd_);
}

bool TcpListener::is_open() const noexcept { return pd_ && !pd_->closing.load(std::memory_order_relaxed); }

int TcpListener::native_handle() const noexcept { return is_open() ? pd_->fd : -1; }

IpEndpoint TcpListener::local_addr() const { return sock::address_of(pd_, false); }

// ---------------------------------------------------------------- wait_readable / wait_writable

bool detail::wait_fd(int fd, bool write, std::optional<std::chrono::nanoseconds> timeout) {
    goro::detail::entry_cancellation_point();
    Deadline dl(timeout);
    const TimePoint* deadline = dl.get();
    // A zero timeout only looks, the same on both sides: the one-shot
    // registration below would report the deadline before the netpoller
    // could report the fd.
    if (deadline && Clock::now() >= *deadline) return rt::poll_now(fd, write ? kWrite : kRead);
    if (goro::detail::current_g()) return rt::wait_fd(fd, write ? kWrite : kRead, deadline);
    // A plain thread: poll(2).
    pollfd p{fd, static_cast<short>(write ? POLLOUT : (POLLIN | POLLRDHUP)), 0};
    for (;;) {
        int ms = -1;
        if (deadline) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
            ms = left < 0 ? 0 : static_cast<int>(std::min<long long>(left, 0x7fffffff));
        }
        int r = ::poll(&p, 1, ms);
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) throw_errno(errno, "poll");
        if (r == 0 && deadline && Clock::now() >= *deadline) return false;
    }
}

}  // namespace goro::net
