// netpoll/udp.cpp — goro::net::UdpSocket (include/goro/net.hpp).
//
// Owns: the datagram syscalls. Every blocking call has tcp.cpp's shape (its
// file comment): pin the descriptor (PdOp), read the event sequence before
// the non-blocking syscall, and on EAGAIN wait for a newer event (pd_wait),
// which registers the socket with the netpoller on its first wait. So a
// socket used only from plain threads never touches epoll.
//
// Truncation: recvfrom() is called with MSG_TRUNC, which makes it return the
// datagram's real length; a length beyond the buffer is reported in
// Datagram::truncated instead of being cut silently.
//
// Dual-stack: a socket bound to an IPv6 address has IPV6_V6ONLY cleared
// (Linux's default too, but a sysctl may change it), and send_to() maps an
// IPv4 destination to ::ffff:a.b.c.d for it.
#include "netpoll/poll_desc.hpp"
#include "netpoll/socket_util.hpp"

#include <goro/detail/park.hpp>
#include <goro/errors.hpp>
#include <goro/net.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

namespace goro::net {

using goro::detail::TimePoint;
using rt::kRead;
using rt::kWrite;
using rt::PdOp;
using rt::PollDesc;

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) { sock::throw_errno(err, "udp " + what); }
using sock::Deadline;

// `to` as the socket's family wants it (IPv4 mapped into IPv6 for a v6 socket).
std::size_t dest_sockaddr(const IpEndpoint& to, int family, sockaddr_storage& ss) {
    if (family == AF_INET6 && to.is_v4()) {
        // ::ffff:a.b.c.d, the form a dual-stack socket wants for an IPv4 peer.
        sockaddr_in v4{};
        to.to_sockaddr(&v4, sizeof v4);
        sockaddr_in6 v6{};
        v6.sin6_family = AF_INET6;
        v6.sin6_port = v4.sin_port;
        v6.sin6_addr.s6_addr[10] = 0xff;
        v6.sin6_addr.s6_addr[11] = 0xff;
        std::memcpy(&v6.sin6_addr.s6_addr[12], &v4.sin_addr, 4);
        std::memcpy(&ss, &v6, sizeof v6);
        return sizeof v6;
    }
    if (family == AF_INET && to.is_v6()) {
        IpEndpoint v4 = to.unmap();
        if (v4.is_v6()) throw_errno(EAFNOSUPPORT, "send to an IPv6 address from an IPv4 socket");
        return v4.to_sockaddr(&ss, sizeof ss);
    }
    return to.to_sockaddr(&ss, sizeof ss);
}

std::size_t send_one(PollDesc* pd, std::span<const std::byte> buf, const sockaddr* to, socklen_t tolen,
                     const TimePoint* deadline) {
    for (;;) {
        std::uint32_t seen = pd->seq[kWrite].load(std::memory_order_acquire);  // pairs with release in deliver
        ssize_t n = ::sendto(pd->fd, buf.data(), buf.size(), MSG_NOSIGNAL, to, tolen);
        if (n >= 0) return static_cast<std::size_t>(n);
        int err = errno;  // at once: a goroutine may resume on another thread
        if (err == EINTR) continue;
        if (err != EAGAIN && err != EWOULDBLOCK) throw_errno(err, "send");
        if (!rt::pd_wait(pd, kWrite, seen, deadline)) throw Timeout("goro::net: udp send timed out");
    }
}

Datagram recv_one(PollDesc* pd, std::span<std::byte> buf, const TimePoint* deadline) {
    for (;;) {
        std::uint32_t seen = pd->seq[kRead].load(std::memory_order_acquire);  // pairs with release in deliver
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        ssize_t n = ::recvfrom(pd->fd, buf.data(), buf.size(), MSG_TRUNC, reinterpret_cast<sockaddr*>(&ss), &len);
        if (n >= 0) {
            Datagram d;
            d.size = std::min(static_cast<std::size_t>(n), buf.size());
            d.truncated = static_cast<std::size_t>(n) > buf.size();
            if (len > 0) d.from = IpEndpoint::from_sockaddr(&ss, len);
            return d;
        }
        int err = errno;
        if (err == EINTR) continue;
        if (err != EAGAIN && err != EWOULDBLOCK) throw_errno(err, "recv");
        if (!rt::pd_wait(pd, kRead, seen, deadline)) throw Timeout("goro::net: udp recv timed out");
    }
}

}  // namespace

UdpSocket::UdpSocket(UdpSocket&& o) noexcept
    : pd_(std::exchange(o.pd_, nullptr)),
      family_(o.family_),
      read_timeout_(o.read_timeout_),
      write_timeout_(o.write_timeout_) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& o) noexcept {
    if (this != &o) {
        if (pd_) rt::pd_release(pd_);
        pd_ = std::exchange(o.pd_, nullptr);
        family_ = o.family_;
        read_timeout_ = o.read_timeout_;
        write_timeout_ = o.write_timeout_;
    }
    return *this;
}

UdpSocket::~UdpSocket() {
    if (pd_) rt::pd_release(pd_);
}

UdpSocket UdpSocket::bind(std::string_view ip, std::uint16_t port) {
    return bind(ip.empty() ? IpEndpoint("0.0.0.0", port) : IpEndpoint(ip, port));
}

UdpSocket UdpSocket::bind(const IpEndpoint& local) {
    const int family = local.is_v6() ? AF_INET6 : AF_INET;
    int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0) throw_errno(errno, "socket");
    if (family == AF_INET6) {
        int zero = 0;
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);  // dual-stack where the system allows
    }
    sockaddr_storage ss{};
    std::size_t len = local.to_sockaddr(&ss, sizeof ss);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), static_cast<socklen_t>(len)) != 0) {
        int err = errno;
        ::close(fd);
        throw_errno(err, "bind " + local.to_string());
    }
    return UdpSocket(rt::pd_open(fd), family);
}

std::size_t UdpSocket::send_to(std::span<const std::byte> buf, const IpEndpoint& to) {
    goro::detail::entry_cancellation_point();
    PdOp op(pd_, "udp send");
    sockaddr_storage ss{};
    std::size_t len = dest_sockaddr(to, family_, ss);
    Deadline deadline(write_timeout_);
    return send_one(pd_, buf, reinterpret_cast<sockaddr*>(&ss), static_cast<socklen_t>(len), deadline.get());
}

Datagram UdpSocket::recv_from(std::span<std::byte> buf) {
    goro::detail::entry_cancellation_point();
    PdOp op(pd_, "udp recv");
    Deadline deadline(read_timeout_);
    return recv_one(pd_, buf, deadline.get());
}

void UdpSocket::connect(const IpEndpoint& peer) {
    PdOp op(pd_, "udp connect");
    sockaddr_storage ss{};
    std::size_t len = dest_sockaddr(peer, family_, ss);
    if (::connect(pd_->fd, reinterpret_cast<sockaddr*>(&ss), static_cast<socklen_t>(len)) != 0)
        throw_errno(errno, "connect " + peer.to_string());
}

std::size_t UdpSocket::send(std::span<const std::byte> buf) {
    goro::detail::entry_cancellation_point();
    PdOp op(pd_, "udp send");
    Deadline deadline(write_timeout_);
    return send_one(pd_, buf, nullptr, 0, deadline.get());
}

Datagram UdpSocket::recv(std::span<std::byte> buf) {
    goro::detail::entry_cancellation_point();
    PdOp op(pd_, "udp recv");
    Deadline deadline(read_timeout_);
    return recv_one(pd_, buf, deadline.get());
}

void UdpSocket::close() noexcept {
    if (pd_) rt::pd_close(pd_);
}

bool UdpSocket::is_open() const noexcept { return pd_ && !pd_->closing.load(std::memory_order_relaxed); }

int UdpSocket::native_handle() const noexcept { return is_open() ? pd_->fd : -1; }

IpEndpoint UdpSocket::local_addr() const { return sock::address_of(pd_, false); }

IpEndpoint UdpSocket::peer_addr() const { return sock::address_of(pd_, true); }

}  // namespace goro::net
