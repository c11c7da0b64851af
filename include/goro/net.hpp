/// @file goro/net.hpp
/// @brief TCP, Unix-domain and UDP sockets over the runtime's netpoller (epoll on Linux), and IP endpoints.
///
/// @code
/// goro::run([] {
///     auto ln = goro::net::TcpListener::listen("127.0.0.1", 0);   // port 0: any free port
///     goro::go([port = ln.port()] {
///         auto c = goro::net::TcpStream::connect("127.0.0.1", port, 1s);
///         c.write_all(std::as_bytes(std::span("ping", 4)));
///     });
///     goro::net::TcpStream s = ln.accept();
///     std::array<std::byte, 16> buf;
///     std::size_t n = s.read(buf);                                 // 0 at end of stream
/// });
/// @endcode
///
/// Sockets are non-blocking underneath. On a goroutine every blocking call
/// parks only the goroutine: a worker with nothing else to run sleeps in
/// epoll_wait. On a plain thread (no runtime needed) the same calls block the
/// thread in poll(2). Every blocking call is a cancellation point: it throws
/// goro::Cancelled when the goroutine is cancelled (on entry, or while parked),
/// and leaves the socket usable (nothing was read or written by the cancelled
/// wait).
///
/// Errors:
///  * operating-system failures: std::system_error carrying the errno
/// @code
///  (ECONNREFUSED, ECONNRESET, EPIPE, EMFILE...). SIGPIPE is never raised:
///  writes use MSG_NOSIGNAL, so a write to a reset peer throws EPIPE.
/// @endcode
///  * a call on a closed socket, and a call parked when another goroutine or
/// @code
///  thread calls close() (e.g. accept() woken by TcpListener::close()):
///  std::system_error with errc::bad_file_descriptor (EBADF), like a
///  blocking syscall on a closed fd.
/// @endcode
///  * a timeout (connect's, set_read_timeout's, set_write_timeout's):
/// @code
///  goro::Timeout. The socket stays usable after a read or write timeout.
/// @endcode
///  * name resolution: std::system_error in the "getaddrinfo" category.
///
/// Timeouts: every `duration` parameter accepts any std::chrono::duration,
/// also as a std::optional (std::nullopt: no timeout, wait as long as it
/// takes). set_read_timeout(d) bounds each later read() call by d (Python's
/// settimeout, per call, not Go's absolute deadline); a write_all() call is
/// bounded by the write timeout as a whole. A duration of a century or more
/// is no timeout (as for every goro wait).
///
/// A zero or negative timeout means one thing everywhere, on goroutines and
/// plain threads alike: do not wait, only look (a poll, as select with
/// case_default):
///  * wait_readable(fd, 0s) / wait_writable(fd, 0s): whether fd is ready now.
///  * read() with a zero read timeout: the bytes already there, else Timeout;
/// @code
///  write() / write_all(): what fits in the socket's buffer now, else
///  Timeout (write_all() may have written part of the data then).
/// @endcode
///  * connect(host, port, 0s): tries each address once; a connection that
/// @code
///  the kernel completes within connect(2) itself (loopback does) is
///  returned, one still in progress is abandoned with Timeout. A host name
///  that would need a lookup throws Timeout: use a numeric address.
/// @endcode
///
/// Concurrency: one goroutine may read while another writes, several may
/// accept() on one listener, and any of them may close() the socket to wake
/// the others. The fd is closed once the last call in flight has returned.
/// Handles are move-only; destroying one closes its socket.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, instead of failing deep inside a header
// (the missing #include is fatal, so the compiler goes no further).
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <goro/detail/clock.hpp>
#include <goro/errors.hpp>

#include <chrono>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <system_error>

namespace goro::detail {
struct PollDesc;  // runtime/netpoll/poll_desc.hpp
}

namespace goro::net {

namespace detail {
// to_nanos() is any duration as the nanoseconds the out-of-line calls take,
// rounded up and saturating as every goro timeout does (goro/detail/clock.hpp).
template <class Rep, class Period>
constexpr std::chrono::nanoseconds to_nanos(const std::chrono::duration<Rep, Period>& d) {
    return goro::detail::saturating_nanos(d);
}
template <class Rep, class Period>
constexpr std::optional<std::chrono::nanoseconds> to_nanos(const std::optional<std::chrono::duration<Rep, Period>>& d) {
    if (!d) return std::nullopt;
    return to_nanos(*d);
}

bool wait_fd(int fd, bool write, std::optional<std::chrono::nanoseconds> timeout);
}  // namespace detail

class TcpListener;

/// IpEndpoint is an IP address and a port, IPv4 or IPv6 (Go's
/// netip.AddrPort): a plain value, comparable, and hashable (std::hash, so
/// it can key an unordered_map; equal endpoints hash alike).
/// parse() takes Go's text forms — "127.0.0.1:8080", "[::1]:8080",
/// "[fe80::1%eth0]:80" (a zone: an interface name or index) — and to_string()
/// writes them back the same way. Bad text throws std::invalid_argument
/// naming it. An IPv4-mapped IPv6 address ("[::ffff:1.2.3.4]:80", what a
/// dual-stack listener reports for a v4 client) stays IPv6; unmap() gives
/// the IPv4 form.
class IpEndpoint {
public:
    /// The unspecified IPv4 endpoint 0.0.0.0:0.
    IpEndpoint() noexcept = default;
    /// From an address literal (no brackets, an optional %zone for IPv6) and
    /// a port; std::invalid_argument if `ip` is not a literal.
    IpEndpoint(std::string_view ip, std::uint16_t port);
    /// From text "host:port" as described above.
    static IpEndpoint parse(std::string_view text);
    /// From a sockaddr_in or sockaddr_in6 (std::invalid_argument for another family).
    static IpEndpoint from_sockaddr(const void* sa, std::size_t len);

    /// Whether the address is IPv4 (an IPv4-mapped IPv6 address is IPv6).
    bool is_v4() const noexcept { return family_ == 4; }
    /// Whether the address is IPv6.
    bool is_v6() const noexcept { return family_ == 6; }
    /// The port, in host byte order.
    std::uint16_t port() const noexcept { return port_; }
    /// The address alone, as text ("::1", "fe80::1%eth0", "10.0.0.1").
    std::string address() const;
    /// Go's form: "10.0.0.1:80", "[::1]:80".
    std::string to_string() const;
    /// The IPv4 endpoint of an IPv4-mapped IPv6 one; itself otherwise.
    IpEndpoint unmap() const noexcept;
    /// Whether the address is a loopback one (127/8, ::1, or mapped 127/8).
    bool is_loopback() const noexcept;
    /// Fills a sockaddr_storage-sized buffer; returns the length used.
    std::size_t to_sockaddr(void* storage, std::size_t capacity) const;

    /// Same family, address, zone and port.
    friend bool operator==(const IpEndpoint& a, const IpEndpoint& b) noexcept {
        return a.family_ == b.family_ && a.port_ == b.port_ && a.scope_ == b.scope_ && a.bytes_ == b.bytes_;
    }
    /// A hash of what operator== compares (FNV-1a); what std::hash gives.
    std::size_t hash() const noexcept {
        std::uint64_t h = 14695981039346656037ull;
        auto mix = [&h](std::uint64_t byte) { h = (h ^ byte) * 1099511628211ull; };
        mix(family_);
        mix(port_ & 0xff);
        mix(port_ >> 8);
        for (int shift = 0; shift < 32; shift += 8) mix((scope_ >> shift) & 0xff);
        for (std::uint8_t b : bytes_) mix(b);
        return static_cast<std::size_t>(h);
    }

private:
    std::uint8_t family_ = 4;                // 4 or 6
    std::uint16_t port_ = 0;                 // host order
    std::uint32_t scope_ = 0;                // IPv6 zone index; 0: none
    std::array<std::uint8_t, 16> bytes_{};   // IPv4 in the first 4 bytes
};

/// Stream is a connected stream socket: what TcpStream and UnixStream share
/// (Go's net.Conn). Code that only reads, writes and closes can take a
/// `Stream&` and serve either. Not made directly: connect() or accept() one
/// of the two.
class Stream {
public:
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    /// read() parks until at least one byte is there; returns how many were
    /// read, 0 at end of stream (or for an empty buffer).
    std::size_t read(std::span<std::byte> buf);
    /// write() parks until some bytes fit; returns how many were written.
    std::size_t write(std::span<const std::byte> buf);
    /// write_all() writes everything, completing partial writes.
    void write_all(std::span<const std::byte> buf);

    /// set_read_timeout(d) bounds every later read() by d; zero or negative
    /// makes each read a poll; std::nullopt removes the timeout (see the file
    /// comment). set_write_timeout() the same for write() and write_all().
    ///@{
    template <class Rep, class Period>
    void set_read_timeout(std::chrono::duration<Rep, Period> d) {
        read_timeout_ = detail::to_nanos(d);
    }
    template <class Rep, class Period>
    void set_write_timeout(std::chrono::duration<Rep, Period> d) {
        write_timeout_ = detail::to_nanos(d);
    }
    template <class Rep, class Period>
    void set_read_timeout(std::optional<std::chrono::duration<Rep, Period>> d) {
        read_timeout_ = detail::to_nanos(d);
    }
    template <class Rep, class Period>
    void set_write_timeout(std::optional<std::chrono::duration<Rep, Period>> d) {
        write_timeout_ = detail::to_nanos(d);
    }
    void set_read_timeout(std::nullopt_t) { read_timeout_.reset(); }
    void set_write_timeout(std::nullopt_t) { write_timeout_.reset(); }
    ///@}

    /// shutdown_write() sends FIN: the peer's read() returns 0; we may still read.
    void shutdown_write();
    /// close() closes the socket and wakes every call parked on it (EBADF).
    /// Idempotent; also done by the destructor.
    void close() noexcept;

    /// Whether the stream holds an open socket (not closed, not moved from).
    ///@{
    bool is_open() const noexcept;
    explicit operator bool() const noexcept { return is_open(); }
    ///@}
    /// native_handle() is the fd (-1 when closed); it stays owned by the stream.
    int native_handle() const noexcept;

protected:
    /// Not connected: every call throws EBADF.
    Stream() noexcept = default;
    /// Takes a descriptor of a connected socket (runtime/netpoll/).
    explicit Stream(goro::detail::PollDesc* pd) noexcept : pd_(pd) {}
    /// Move-only: the moved-from stream is not connected.
    ///@{
    Stream(Stream&& o) noexcept;
    Stream& operator=(Stream&& o) noexcept;
    ///@}
    /// Closes the socket. Not virtual, hence protected: a Stream is never
    /// destroyed through a pointer to the base.
    ~Stream();

    goro::detail::PollDesc* pd_ = nullptr;                  ///< the socket's descriptor (null: none)
    std::optional<std::chrono::nanoseconds> read_timeout_;   ///< per read(); nullopt: none
    std::optional<std::chrono::nanoseconds> write_timeout_;  ///< per write()/write_all(); nullopt: none
};

/// Listener is what TcpListener and UnixListener share: a listening socket
/// that any number of goroutines may accept() on, and close() to wake them.
class Listener {
public:
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    /// close() stops listening and wakes every parked accept() (EBADF).
    /// Idempotent; also done by the destructor.
    void close() noexcept;
    /// Whether the listener holds an open socket.
    ///@{
    bool is_open() const noexcept;
    explicit operator bool() const noexcept { return is_open(); }
    ///@}
    /// The listening fd (-1 when closed); it stays owned by the listener.
    int native_handle() const noexcept;

protected:
    /// Not listening: every call throws EBADF.
    Listener() noexcept = default;
    /// Move-only: the moved-from listener is not listening.
    ///@{
    Listener(Listener&& o) noexcept;
    Listener& operator=(Listener&& o) noexcept;
    ///@}
    /// Closes the socket (not virtual, hence protected).
    ~Listener();
    /// The next connection's descriptor: parks until one arrives; out of fds
    /// (EMFILE, ENFILE, ENOBUFS, ENOMEM) it backs off (5 ms doubling to 1 s,
    /// as net/http does) and retries instead of failing or spinning.
    goro::detail::PollDesc* accept_pd(const char* what);

    goro::detail::PollDesc* pd_ = nullptr;  ///< the listening socket's descriptor (null: none)
};

/// TcpStream is a connected TCP socket (TCP_NODELAY set, as in Go). Reading,
/// writing, timeouts and close() are Stream's.
class TcpStream : public Stream {
public:
    /// Not connected: every call throws EBADF.
    TcpStream() noexcept = default;
    /// Move-only: the moved-from stream is not connected.
    ///@{
    TcpStream(TcpStream&& o) noexcept = default;
    TcpStream& operator=(TcpStream&& o) noexcept = default;
    ///@}
    ~TcpStream() = default;

    /// connect() resolves host (literals at once, names without blocking a
    /// worker), then tries each address in turn within `timeout` overall
    /// (zero: no waiting, see the file comment). Throws Timeout, or
    /// std::system_error (ECONNREFUSED...).
    ///@{
    static TcpStream connect(std::string_view host, std::uint16_t port,
                             std::optional<std::chrono::nanoseconds> timeout = {});
    template <class Rep, class Period>
    static TcpStream connect(std::string_view host, std::uint16_t port, std::chrono::duration<Rep, Period> timeout) {
        return connect(host, port, std::optional<std::chrono::nanoseconds>(detail::to_nanos(timeout)));
    }
    template <class Rep, class Period>
    static TcpStream connect(std::string_view host, std::uint16_t port,
                             std::optional<std::chrono::duration<Rep, Period>> timeout) {
        return connect(host, port, detail::to_nanos(timeout));
    }
    /// connect(addrs) tries each endpoint in turn, in the order given,
    /// within `timeout` overall: what connect(host) does with the
    /// addresses the name resolves to. std::system_error of the last
    /// failure (EADDRNOTAVAIL for an empty list).
    static TcpStream connect(std::span<const IpEndpoint> addrs, std::optional<std::chrono::nanoseconds> timeout = {});
    template <class Rep, class Period>
    static TcpStream connect(std::span<const IpEndpoint> addrs, std::chrono::duration<Rep, Period> timeout) {
        return connect(addrs, std::optional<std::chrono::nanoseconds>(detail::to_nanos(timeout)));
    }
    ///@}

    /// from_fd() adopts a connected stream socket (made non-blocking here).
    static TcpStream from_fd(int fd);

    /// The local and the peer's port (std::system_error on a closed stream).
    ///@{
    std::uint16_t local_port() const;
    std::uint16_t peer_port() const;
    ///@}
    /// The local and the peer's address and port (std::system_error on a
    /// closed stream).
    ///@{
    IpEndpoint local_addr() const;
    IpEndpoint peer_addr() const;
    ///@}

private:
    friend class TcpListener;
    explicit TcpStream(goro::detail::PollDesc* pd) noexcept : Stream(pd) {}
};

/// TcpListener is a listening TCP socket (SO_REUSEADDR set). close() and
/// the rest are Listener's.
class TcpListener : public Listener {
public:
    /// Not listening: every call throws EBADF.
    TcpListener() noexcept = default;
    /// Move-only: the moved-from listener is not listening.
    ///@{
    TcpListener(TcpListener&& o) noexcept = default;
    TcpListener& operator=(TcpListener&& o) noexcept = default;
    ///@}
    ~TcpListener() = default;

    /// listen() binds host:port (port 0: any free port; host "" or "0.0.0.0":
    /// every IPv4 address, "::" every IPv6 address) with backlog SOMAXCONN.
    /// The second form takes the backlog.
    ///@{
    static TcpListener listen(std::string_view host, std::uint16_t port);
    static TcpListener listen(std::string_view host, std::uint16_t port, int backlog);
    ///@}

    /// The port it listens on (the one chosen when listen() was given 0).
    std::uint16_t port() const noexcept { return port_; }
    /// accept() parks until a connection arrives. Out of fds (EMFILE, ENFILE,
    /// ENOBUFS, ENOMEM) it backs off (5 ms doubling to 1 s, as net/http does)
    /// and retries instead of failing or spinning. A close() meanwhile throws
    /// EBADF.
    TcpStream accept();
    /// The address and port it listens on (std::system_error when closed).
    IpEndpoint local_addr() const;

private:
    std::uint16_t port_ = 0;
};

/// UnixStream is a connected Unix-domain stream socket (Go's
/// net.UnixConn): local IPC by a path in the file system, or by a Linux
/// abstract name, written with a leading '@' as Go writes it ("@goro-test":
/// no file, gone when the last socket closes). Reading, writing, timeouts
/// and close() are Stream's.
class UnixStream : public Stream {
public:
    /// Not connected: every call throws EBADF.
    UnixStream() noexcept = default;
    /// Move-only: the moved-from stream is not connected.
    ///@{
    UnixStream(UnixStream&& o) noexcept = default;
    UnixStream& operator=(UnixStream&& o) noexcept = default;
    ///@}
    ~UnixStream() = default;

    /// connect() connects to the listener at `path` ('@': an abstract name)
    /// within `timeout` (none by default). Throws Timeout, or
    /// std::system_error: ENOENT (no such socket), ECONNREFUSED (nobody
    /// listens on it), ENAMETOOLONG (a path over 107 bytes).
    ///@{
    static UnixStream connect(std::string_view path, std::optional<std::chrono::nanoseconds> timeout = {});
    template <class Rep, class Period>
    static UnixStream connect(std::string_view path, std::chrono::duration<Rep, Period> timeout) {
        return connect(path, std::optional<std::chrono::nanoseconds>(detail::to_nanos(timeout)));
    }
    ///@}
    /// from_fd() adopts a connected Unix stream socket (made non-blocking).
    static UnixStream from_fd(int fd);
    /// pair() is two streams connected to each other (socketpair(2)).
    static std::pair<UnixStream, UnixStream> pair();

    /// The path (or '@' name) of the peer's socket; empty for an unnamed one
    /// (a connecting client, a pair()).
    std::string peer_path() const;

private:
    friend class UnixListener;
    explicit UnixStream(goro::detail::PollDesc* pd) noexcept : Stream(pd) {}
};

/// UnixListener listens on a Unix-domain stream socket. A listener that
/// created a socket file removes it when closed (close() or the
/// destructor), unless the file was replaced meanwhile; an abstract name
/// ('@...') has no file.
class UnixListener : public Listener {
public:
    /// What listen() does about the path.
    struct Options {
        /// A socket file left at `path` by a process that is gone (nobody
        /// accepts on it) is removed and replaced. Without it, listen()
        /// throws EADDRINUSE naming the path. A live socket, or a file that
        /// is not a socket, is never removed.
        bool replace_stale = false;
        int backlog = 4096;  ///< listen(2)'s backlog (the kernel caps it at somaxconn)
    };

    /// Not listening: every call throws EBADF.
    UnixListener() noexcept = default;
    /// Move-only: the moved-from listener is not listening (and removes no file).
    ///@{
    UnixListener(UnixListener&& o) noexcept;
    UnixListener& operator=(UnixListener&& o) noexcept;
    ///@}
    /// Closes the socket and removes the file it created.
    ~UnixListener();

    /// listen() binds `path` ('@': an abstract name) and listens. Throws
    /// std::system_error: EADDRINUSE for a path that exists (see Options),
    /// ENAMETOOLONG for one over 107 bytes, EACCES, ENOENT (no directory).
    ///@{
    static UnixListener listen(std::string_view path);
    static UnixListener listen(std::string_view path, Options options);
    ///@}
    /// accept() parks until a connection arrives (as TcpListener::accept).
    UnixStream accept();
    /// close() stops listening, wakes every parked accept(), and removes the
    /// socket file it created. Idempotent.
    void close() noexcept;
    /// The path (or '@' name) it listens on.
    const std::string& path() const noexcept { return path_; }

private:
    void remove_file() noexcept;
    std::string path_;
    // The socket file this listener created, to remove at close (device and
    // inode: one that replaced it meanwhile is left alone). file_ino_ is 0
    // when there is none, and is taken by exchange, so that one of several
    // concurrent close() calls removes the file.
    std::uint64_t file_dev_ = 0;
    std::atomic<std::uint64_t> file_ino_{0};
};

/// Datagram is what UdpSocket::recv_from() and recv() received: `size`
/// bytes stored in the buffer, the sender, and whether the datagram was
/// longer than the buffer (`truncated`: its tail is lost, as UDP does, but
/// said, not silent).
struct Datagram {
    std::size_t size = 0;    ///< bytes stored in the caller's buffer
    IpEndpoint from;         ///< the sender's address and port
    bool truncated = false;  ///< the datagram was longer than the buffer
};

/// UdpSocket is a UDP socket (Go's net.UDPConn): send_to()/recv_from() with
/// any peer, or connect() to one and send()/recv(). Timeouts, cancellation,
/// plain threads and close() behave as for TcpStream (the file comment).
/// A socket bound to "::" is dual-stack: it talks to IPv4 peers too, which
/// it sees as IPv4-mapped IPv6 endpoints (IpEndpoint::unmap()), and
/// send_to() accepts IPv4 endpoints for it.
class UdpSocket {
public:
    /// Not bound: every call throws EBADF.
    UdpSocket() noexcept = default;
    /// Move-only: the moved-from socket is closed.
    ///@{
    UdpSocket(UdpSocket&& o) noexcept;
    UdpSocket& operator=(UdpSocket&& o) noexcept;
    ///@}
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;
    ~UdpSocket();

    /// bind() makes a socket on `local` (port 0: any free port). The second
    /// form takes an address literal ("" is 0.0.0.0; "::" dual-stack).
    ///@{
    static UdpSocket bind(const IpEndpoint& local);
    static UdpSocket bind(std::string_view ip, std::uint16_t port);
    ///@}

    /// send_to() sends one datagram to `to`; returns its size (all or
    /// nothing: EMSGSIZE for one too big). Parks while the send buffer is full.
    std::size_t send_to(std::span<const std::byte> buf, const IpEndpoint& to);
    /// recv_from() parks until a datagram arrives.
    Datagram recv_from(std::span<std::byte> buf);
    /// connect() fixes the peer: send() goes there, recv() takes only its
    /// datagrams, and an ICMP "port unreachable" surfaces as ECONNREFUSED.
    void connect(const IpEndpoint& peer);
    /// send() / recv() on a connected socket.
    ///@{
    std::size_t send(std::span<const std::byte> buf);
    Datagram recv(std::span<std::byte> buf);
    ///@}

    /// Read and write timeouts, per call, as TcpStream's.
    ///@{
    template <class Rep, class Period>
    void set_read_timeout(std::chrono::duration<Rep, Period> d) {
        read_timeout_ = detail::to_nanos(d);
    }
    template <class Rep, class Period>
    void set_write_timeout(std::chrono::duration<Rep, Period> d) {
        write_timeout_ = detail::to_nanos(d);
    }
    void set_read_timeout(std::nullopt_t) { read_timeout_.reset(); }
    void set_write_timeout(std::nullopt_t) { write_timeout_.reset(); }
    ///@}

    /// close() closes the socket and wakes every call parked on it (EBADF).
    void close() noexcept;
    /// Whether the socket is open.
    ///@{
    bool is_open() const noexcept;
    explicit operator bool() const noexcept { return is_open(); }
    ///@}
    /// The fd (-1 when closed); it stays owned by the socket.
    int native_handle() const noexcept;
    /// The local address; the connected peer's (ENOTCONN if none).
    ///@{
    IpEndpoint local_addr() const;
    IpEndpoint peer_addr() const;
    ///@}

private:
    explicit UdpSocket(goro::detail::PollDesc* pd, int family) noexcept : pd_(pd), family_(family) {}
    goro::detail::PollDesc* pd_ = nullptr;
    int family_ = 0;  // AF_INET or AF_INET6
    std::optional<std::chrono::nanoseconds> read_timeout_;
    std::optional<std::chrono::nanoseconds> write_timeout_;
};

/// wait_readable() parks until `fd`, which the caller owns and keeps owning,
/// is readable (or hung up / in error); false when `timeout` passed first. A
/// zero or negative timeout only looks: true if fd is ready now.
/// wait_writable() the same for writing. Any fd epoll accepts works (sockets,
/// pipes, eventfds, terminals); regular files are always ready. The fd is
/// registered with the netpoller only for the duration of the call (a
/// one-shot registration, on a dup of fd when fd is registered already), so
/// it may be closed as soon as the call returns. On a plain thread: poll(2).
///@{
inline bool wait_readable(int fd, std::optional<std::chrono::nanoseconds> timeout = {}) {
    return detail::wait_fd(fd, false, timeout);
}
inline bool wait_writable(int fd, std::optional<std::chrono::nanoseconds> timeout = {}) {
    return detail::wait_fd(fd, true, timeout);
}
template <class Rep, class Period>
bool wait_readable(int fd, std::chrono::duration<Rep, Period> timeout) {
    return detail::wait_fd(fd, false, detail::to_nanos(timeout));
}
template <class Rep, class Period>
bool wait_writable(int fd, std::chrono::duration<Rep, Period> timeout) {
    return detail::wait_fd(fd, true, detail::to_nanos(timeout));
}
template <class Rep, class Period>
bool wait_readable(int fd, std::optional<std::chrono::duration<Rep, Period>> timeout) {
    return detail::wait_fd(fd, false, detail::to_nanos(timeout));
}
template <class Rep, class Period>
bool wait_writable(int fd, std::optional<std::chrono::duration<Rep, Period>> timeout) {
    return detail::wait_fd(fd, true, detail::to_nanos(timeout));
}
///@}

}  // namespace goro::net

// IpEndpoint as a key of std::unordered_map / unordered_set (IpEndpoint::hash()).
// Left out of the API reference: Doxygen finds no scope for a std:: specialisation.
/// @cond
template <>
struct std::hash<goro::net::IpEndpoint> {
    std::size_t operator()(const goro::net::IpEndpoint& e) const noexcept { return e.hash(); }
};
/// @endcond
