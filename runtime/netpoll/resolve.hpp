// netpoll/resolve.hpp — host names to socket addresses without blocking a
// worker. Internal; see resolve.cpp.
#pragma once

#include <goro/detail/park.hpp>

#include <sys/socket.h>

#include <cstdint>
#include <system_error>
#include <string_view>
#include <vector>

namespace goro::rt {

struct SockAddr {
    sockaddr_storage storage{};
    socklen_t len = 0;
    int family() const noexcept { return storage.ss_family; }
    const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

// resolve_tcp() returns the addresses of host:port for a TCP socket, in the
// resolver's order. IPv4/IPv6 literals ("127.0.0.1", "::1", "[::1]") parse
// at once; "" means the wildcard address when `passive` (listen) and
// loopback otherwise. Names go to getaddrinfo on a helper thread while the
// goroutine parks (a plain thread calls it directly). Throws Timeout past
// `deadline`, Cancelled, or std::system_error in resolve_category().
std::vector<SockAddr> resolve_tcp(std::string_view host, std::uint16_t port, bool passive,
                                  const detail::TimePoint* deadline);

// The error category of getaddrinfo's EAI_* codes.
const std::error_category& resolve_category() noexcept;

}  // namespace goro::rt
