// netpoll/endpoint.cpp — IpEndpoint (include/goro/net.hpp): IP addresses and
// ports as values, their text forms, and their sockaddr forms.
//
// Owns: parsing and formatting. Text is parsed with inet_pton (numeric only:
// no name lookup ever happens here) and formatted with inet_ntop, so both
// follow the platform's canonical forms (RFC 5952 for IPv6). Zones are
// resolved with if_nametoindex / if_indextoname; an unknown interface name
// is a parse error, an index without a name is written as its number.
#include <goro/net.hpp>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>
#include <stdexcept>
#include <string>

namespace goro::net {

namespace {

[[noreturn]] void bad(std::string_view text, const char* why) {
    throw std::invalid_argument("goro: bad IP endpoint \"" + std::string(text) + "\": " + why);
}

}  // namespace

IpEndpoint::IpEndpoint(std::string_view ip, std::uint16_t port) : port_(port) {
    if (ip.size() >= INET6_ADDRSTRLEN + IF_NAMESIZE) bad(ip, "too long for an address");
    // The C functions below would read only up to it: "127.0.0.1\0junk" was 127.0.0.1.
    if (ip.find('\0') != std::string_view::npos) bad(ip, "contains a NUL byte");
    std::string addr(ip);
    std::string zone;
    if (auto pct = addr.find('%'); pct != std::string::npos) {
        zone = addr.substr(pct + 1);
        addr.resize(pct);
        if (zone.empty()) bad(ip, "empty zone after '%'");
    }
    if (addr.find(':') == std::string::npos) {
        if (!zone.empty()) bad(ip, "a zone is only for IPv6 addresses");
        in_addr a4{};
        if (::inet_pton(AF_INET, addr.c_str(), &a4) != 1) bad(ip, "not an IPv4 or IPv6 address literal");
        family_ = 4;
        std::memcpy(bytes_.data(), &a4, 4);
        return;
    }
    in6_addr a6{};
    if (::inet_pton(AF_INET6, addr.c_str(), &a6) != 1) bad(ip, "not an IPv6 address literal");
    family_ = 6;
    std::memcpy(bytes_.data(), &a6, 16);
    if (!zone.empty()) {
        unsigned idx = 0;
        auto [end, ec] = std::from_chars(zone.data(), zone.data() + zone.size(), idx);
        if (ec == std::errc() && end == zone.data() + zone.size()) {
            scope_ = idx;
        } else {
            scope_ = ::if_nametoindex(zone.c_str());
            if (scope_ == 0) bad(ip, "no such network interface for the zone");
        }
    }
}

IpEndpoint IpEndpoint::parse(std::string_view text) {
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) bad(text, "missing ']'");
        host = text.substr(1, close - 1);
        if (close + 1 >= text.size() || text[close + 1] != ':') bad(text, "missing ':port' after ']'");
        port = text.substr(close + 2);
        if (host.find(':') == std::string_view::npos) bad(text, "brackets are for IPv6 addresses");
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) bad(text, "missing ':port'");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) bad(text, "an IPv6 address needs brackets: [addr]:port");
    }
    if (port.empty()) bad(text, "missing port");
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p > 65535) bad(text, "port is not a number in 0-65535");
    try {
        return IpEndpoint(host, static_cast<std::uint16_t>(p));
    } catch (const std::invalid_argument&) {
        bad(text, "not an IP address literal");  // name the whole text, not only the host part
    }
}

IpEndpoint IpEndpoint::from_sockaddr(const void* sa, std::size_t len) {
    IpEndpoint e;
    sa_family_t family{};
    if (len < sizeof family) throw std::invalid_argument("goro: sockaddr too short");
    std::memcpy(&family, static_cast<const char*>(sa) + offsetof(sockaddr, sa_family), sizeof family);
    if (family == AF_INET && len >= sizeof(sockaddr_in)) {
        sockaddr_in in{};
        std::memcpy(&in, sa, sizeof in);
        e.family_ = 4;
        e.port_ = ntohs(in.sin_port);
        std::memcpy(e.bytes_.data(), &in.sin_addr, 4);
    } else if (family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, sa, sizeof in6);
        e.family_ = 6;
        e.port_ = ntohs(in6.sin6_port);
        e.scope_ = in6.sin6_scope_id;
        std::memcpy(e.bytes_.data(), &in6.sin6_addr, 16);
    } else {
        throw std::invalid_argument("goro: not an IPv4 or IPv6 socket address (family " + std::to_string(family) + ")");
    }
    return e;
}

std::size_t IpEndpoint::to_sockaddr(void* storage, std::size_t capacity) const {
    if (is_v4()) {
        if (capacity < sizeof(sockaddr_in)) throw std::invalid_argument("goro: sockaddr buffer too small");
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_port = htons(port_);
        std::memcpy(&in.sin_addr, bytes_.data(), 4);
        std::memcpy(storage, &in, sizeof in);
        return sizeof in;
    }
    if (capacity < sizeof(sockaddr_in6)) throw std::invalid_argument("goro: sockaddr buffer too small");
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port_);
    in6.sin6_scope_id = scope_;
    std::memcpy(&in6.sin6_addr, bytes_.data(), 16);
    std::memcpy(storage, &in6, sizeof in6);
    return sizeof in6;
}

std::string IpEndpoint::address() const {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
    std::string s(buf);
    if (is_v6() && scope_ != 0) {
        char name[IF_NAMESIZE] = {};
        s += '%';
        s += ::if_indextoname(scope_, name) ? std::string(name) : std::to_string(scope_);
    }
    return s;
}

std::string IpEndpoint::to_string() const {
    // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive)
    // about "[" + std::string + ... at -O3.
    std::string s;
    s.reserve(INET6_ADDRSTRLEN + IF_NAMESIZE + 8);
    if (is_v6()) s.push_back('[');
    s.append(address());
    if (is_v6()) s.push_back(']');
    s.push_back(':');
    s.append(std::to_string(port_));
    return s;
}

namespace {
constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
}

IpEndpoint IpEndpoint::unmap() const noexcept {
    if (!is_v6() || std::memcmp(bytes_.data(), kMappedPrefix, 12) != 0) return *this;
    IpEndpoint e;
    e.family_ = 4;
    e.port_ = port_;
    std::memcpy(e.bytes_.data(), bytes_.data() + 12, 4);
    return e;
}

bool IpEndpoint::is_loopback() const noexcept {
    IpEndpoint e = unmap();
    if (e.is_v4()) return e.bytes_[0] == 127;
    static constexpr std::uint8_t kLoop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(e.bytes_.data(), kLoop6, 16) == 0;
}

}  // namespace goro::net
