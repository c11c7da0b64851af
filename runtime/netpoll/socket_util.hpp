// netpoll/socket_util.hpp — what the socket files (tcp.cpp, udp.cpp, unix.cpp) share:
// errno as std::system_error, an optional timeout as a deadline, and a
// socket's own or peer address as an IpEndpoint. Internal.
#pragma once

#include "netpoll/poll_desc.hpp"

#include <goro/detail/clock.hpp>
#include <goro/net.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace goro::net::sock {

[[noreturn]] inline void throw_errno(int err, const std::string& what) {
    throw std::system_error(err, std::system_category(), "goro::net: " + what);
}

// A socket fd that closes itself unless released to a descriptor.
struct FdGuard {
    int fd;
    ~FdGuard() {
        if (fd >= 0) ::close(fd);
    }
    int release() { return std::exchange(fd, -1); }
};

// A deadline for a timeout that may be absent. A zero timeout is a deadline
// of now: every wait under it only polls (pd_wait).
struct Deadline {
    goro::detail::TimePoint at{};
    bool set = false;
    explicit Deadline(const std::optional<std::chrono::nanoseconds>& d) {
        if (d) {
            at = goro::detail::deadline_after(*d);
            set = true;
        }
    }
    const goro::detail::TimePoint* get() const { return set ? &at : nullptr; }
};

// getsockname (peer false) or getpeername (peer true) of pd's socket, pinned
// for the call; std::system_error on a closed socket or a failure.
inline IpEndpoint address_of(goro::detail::PollDesc* pd, bool peer) {
    const char* what = peer ? "getpeername" : "getsockname";
    rt::PdOp op(pd, what);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int rc = peer ? ::getpeername(pd->fd, reinterpret_cast<sockaddr*>(&ss), &len)
                  : ::getsockname(pd->fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if (rc != 0) throw_errno(errno, what);
    return IpEndpoint::from_sockaddr(&ss, len);
}

}  // namespace goro::net::sock
