// netpoll/tcp.cpp — goro::net: how TCP sockets are made and named
// (TcpStream::connect, from_fd, ports and addresses; TcpListener::listen and
// accept), and wait_readable / wait_writable (include/goro/net.hpp).
// Reading, writing, closing and the accept loop are stream.cpp's, shared
// with the Unix-domain sockets (unix.cpp); the shape of every blocking call
// and the errno rules are described there.
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
using sock::FdGuard;
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

namespace {
// Tries each address in turn, within one deadline for all of them; the
// first that connects wins (Go's dialSerial), and its descriptor is
// returned. The error of the last one is thrown when none does.
PollDesc* connect_first(const std::vector<rt::SockAddr>& addrs, const TimePoint* deadline, const std::string& where) {
    int last_err = EADDRNOTAVAIL;  // no address at all
    for (const rt::SockAddr& a : addrs) {
        FdGuard fd{::socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP)};
        if (fd.fd < 0) {
            last_err = errno;  // e.g. EAFNOSUPPORT: no IPv6 here; the next address may do
            continue;
        }
        set_nodelay(fd.fd);
        struct Owner {
            PollDesc* pd;
            ~Owner() {
                if (pd) rt::pd_release(pd);
            }
        } owner{rt::pd_open(fd.release())};
        PdOp op(owner.pd, "connect");
        std::uint32_t seen = owner.pd->seq[kWrite].load(std::memory_order_acquire);
        int err = 0;
        if (::connect(owner.pd->fd, a.get(), a.len) != 0) {
            err = errno;
            // EINTR: the connection goes on in the background, as EINPROGRESS.
            if (err == EINPROGRESS || err == EINTR) err = finish_connect(owner.pd, seen, deadline, where);
        }
        if (err == 0) return std::exchange(owner.pd, nullptr);
        last_err = err;
    }
    throw_errno(last_err, "connect to " + where);
}
}  // namespace

TcpStream TcpStream::connect(std::string_view host, std::uint16_t port,
                             std::optional<std::chrono::nanoseconds> timeout) {
    goro::detail::entry_cancellation_point();
    Deadline dl(timeout);
    std::vector<rt::SockAddr> addrs = rt::resolve_tcp(host, port, /*passive=*/false, dl.get());
    return TcpStream(connect_first(addrs, dl.get(), endpoint(host, port)));
}

TcpStream TcpStream::connect(std::span<const IpEndpoint> addrs, std::optional<std::chrono::nanoseconds> timeout) {
    goro::detail::entry_cancellation_point();
    Deadline dl(timeout);
    std::vector<rt::SockAddr> sas(addrs.size());
    std::string where;
    for (std::size_t i = 0; i < addrs.size(); ++i) {
        sas[i].len = static_cast<socklen_t>(addrs[i].to_sockaddr(&sas[i].storage, sizeof sas[i].storage));
        where += (i ? " or " : "") + addrs[i].to_string();
    }
    return TcpStream(connect_first(sas, dl.get(), where.empty() ? std::string("no address") : where));
}

TcpStream TcpStream::from_fd(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_errno(errno, "fcntl");
    return TcpStream(rt::pd_open(fd));
}

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

TcpListener TcpListener::listen(std::string_view host, std::uint16_t port) { return listen(host, port, SOMAXCONN); }

TcpListener TcpListener::listen(std::string_view host, std::uint16_t port, int backlog) {
    std::vector<rt::SockAddr> addrs = rt::resolve_tcp(host, port, /*passive=*/true, nullptr);
    const rt::SockAddr& a = addrs.front();
    FdGuard fd{::socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP)};
    if (fd.fd < 0) throw_errno(errno, "socket");
    int one = 1;
    ::setsockopt(fd.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a.family() == AF_INET6) {
        // Dual-stack where the system allows it (Go does the same): "::"
        // also accepts IPv4 clients, seen as ::ffff:a.b.c.d. Best effort: a
        // system with bindv6only forced keeps the socket IPv6-only.
        int zero = 0;
        ::setsockopt(fd.fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    }
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
    PollDesc* pd = accept_pd("accept");
    set_nodelay(pd->fd);
    return TcpStream(pd);
}

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
