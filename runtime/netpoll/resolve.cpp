// netpoll/resolve.cpp — name resolution for TcpStream::connect and
// TcpListener::listen.
//
// Owns: parsing address literals, and running getaddrinfo(3) off the
// workers. getaddrinfo blocks (DNS, /etc/hosts, NSS modules) and has no
// non-blocking form that fits the netpoller, so a goroutine hands it to a
// detached helper thread and parks on a one-slot wait list until the thread
// signals it. Literals, the common case on loopback, never leave the caller.
//
// States of a lookup (Job): Running (the thread calls getaddrinfo) -> Done
// (result stored, the waiter if any signalled). The waiter may leave early
// (timeout, Cancelled): block() unlinks its node, and the thread finishes
// alone. The Job is shared (shared_ptr) between the two, so whichever ends
// last frees it.
//
// Synchronisation: Job::lk guards done, the result and the wait list; the
// thread signals after unlocking (waitlist.hpp protocol).
//
// Rejected designs:
//  * getaddrinfo_a: glibc runs it on its own helper threads anyway and
//    notifies by signal or by yet another thread; no gain over one thread.
//  * Calling getaddrinfo on the worker: a slow DNS server would stall every
//    goroutine queued on that worker.
//  * goro::run_blocking (goro/task.hpp): its pool is reused and bounded, but a
//    caller cancelled meanwhile waits for fn to return, and it takes no
//    deadline. connect()'s timeout must bound the lookup and cancellation
//    must be prompt, so the waiter has to be able to walk away from a stuck
//    getaddrinfo; a detached thread that owns its half of the Job allows it.
//    Names are rare on this path (literals skip it), so a thread per lookup
//    is cheap enough.
#include "netpoll/resolve.hpp"

#include <goro/detail/waitlist.hpp>
#include <goro/errors.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace goro::rt {

namespace {

class ResolveCategory : public std::error_category {
public:
    const char* name() const noexcept override { return "getaddrinfo"; }
    std::string message(int ev) const override { return ::gai_strerror(ev); }
};

// Strips the brackets of "[::1]".
std::string_view unbracket(std::string_view host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
    return host;
}

bool parse_literal(std::string_view host, std::uint16_t port, SockAddr& out) {
    std::string h(unbracket(host));
    in_addr a4{};
    if (::inet_pton(AF_INET, h.c_str(), &a4) == 1) {
        auto* sa = reinterpret_cast<sockaddr_in*>(&out.storage);
        sa->sin_family = AF_INET;
        sa->sin_port = htons(port);
        sa->sin_addr = a4;
        out.len = sizeof(sockaddr_in);
        return true;
    }
    in6_addr a6{};
    if (::inet_pton(AF_INET6, h.c_str(), &a6) == 1) {
        auto* sa = reinterpret_cast<sockaddr_in6*>(&out.storage);
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons(port);
        sa->sin6_addr = a6;
        out.len = sizeof(sockaddr_in6);
        return true;
    }
    return false;
}

struct Lookup {
    int err = 0;  // EAI_* or 0
    int sys_errno = 0;
    std::vector<SockAddr> addrs;
};

Lookup lookup_blocking(const std::string& host, std::uint16_t port, bool passive) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_ADDRCONFIG | (passive ? AI_PASSIVE : 0);
    std::string service = std::to_string(port);
    addrinfo* res = nullptr;
    Lookup out;
    out.err = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (out.err == EAI_SYSTEM) out.sys_errno = errno;
    if (out.err != 0) return out;
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
        SockAddr a;
        std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
        a.len = ai->ai_addrlen;
        out.addrs.push_back(a);
    }
    ::freeaddrinfo(res);
    return out;
}

struct Job {
    detail::SpinLock lk;
    bool done = false;        // guarded by lk
    detail::WaitList waiter;  // guarded by lk
    Lookup result;            // written by the thread before done
};

// Runs the lookup on a helper thread; parks the goroutine until it is done.
Lookup lookup_parked(const std::string& host, std::uint16_t port, bool passive, const detail::TimePoint* deadline) {
    auto job = std::make_shared<Job>();
    std::thread([job, host, port, passive] {
        Lookup r = lookup_blocking(host, port, passive);
        detail::WaitNode* chain;
        {
            std::lock_guard lk(job->lk);
            job->result = std::move(r);
            job->done = true;
            chain = job->waiter.take_all();
        }
        detail::signal_chain(chain);
    }).detach();
    detail::WaitNode node;
    std::unique_lock<detail::SpinLock> lk(job->lk);
    if (!job->done) {
        job->waiter.push_back(&node);
        if (!detail::block(lk, node, detail::WaitReason::IOWait, deadline)) throw Timeout("goro::net: resolving " + host + " timed out");
        lk.lock();
    }
    Lookup r = std::move(job->result);
    return r;
}

}  // namespace

const std::error_category& resolve_category() noexcept {
    static const ResolveCategory category;
    return category;
}

std::vector<SockAddr> resolve_tcp(std::string_view host, std::uint16_t port, bool passive,
                                  const detail::TimePoint* deadline) {
    // getaddrinfo and inet_pton would read the name only up to it, and
    // resolve another host than the one asked for.
    if (host.find('\0') != std::string_view::npos)
        throw std::invalid_argument("goro::net: host name \"" + std::string(host.substr(0, host.find('\0'))) +
                                    "\\0...\" contains a NUL byte");
    std::vector<SockAddr> out(1);
    if (host.empty()) {
        auto* sa = reinterpret_cast<sockaddr_in*>(&out[0].storage);
        sa->sin_family = AF_INET;
        sa->sin_port = htons(port);
        sa->sin_addr.s_addr = htonl(passive ? INADDR_ANY : INADDR_LOOPBACK);
        out[0].len = sizeof(sockaddr_in);
        return out;
    }
    if (parse_literal(host, port, out[0])) return out;
    std::string h(unbracket(host));
    // A zero timeout waits for nothing, a lookup included, on either side.
    if (deadline && detail::Clock::now() >= *deadline)
        throw Timeout("goro::net: resolving " + h + " timed out (a zero timeout cannot wait for a lookup)");
    Lookup r = detail::current_g() ? lookup_parked(h, port, passive, deadline) : lookup_blocking(h, port, passive);
    if (r.err == EAI_SYSTEM) throw std::system_error(r.sys_errno, std::system_category(), "goro::net: resolving " + h);
    if (r.err != 0) throw std::system_error(r.err, resolve_category(), "goro::net: resolving " + h);
    if (r.addrs.empty()) throw std::system_error(EAI_NONAME, resolve_category(), "goro::net: resolving " + h);
    return std::move(r.addrs);
}

}  // namespace goro::rt
