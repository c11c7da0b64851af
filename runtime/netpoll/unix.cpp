// netpoll/unix.cpp — goro::net: how Unix-domain stream sockets are made and
// named (UnixStream::connect, from_fd, pair, peer_path; UnixListener::listen,
// accept, close) (include/goro/net.hpp). Reading, writing, closing and the
// accept loop are stream.cpp's, shared with TCP.
//
// Names: a path in the file system, or a Linux abstract name written with a
// leading '@' (Go's spelling), stored as a NUL byte then the name, with the
// address length telling where it ends. Either fits in sun_path's 108 bytes
// with a NUL to spare (107 bytes of name at most): longer is ENAMETOOLONG,
// never a silently cut name.
//
// connect(): a non-blocking connect(2) on a Unix stream socket either
// connects at once or fails; EAGAIN means the listener's backlog is full,
// and no poll event tells when it has room. It is retried after a sleep
// (1 ms doubling to 50 ms), within the timeout, where a blocking connect(2)
// would have waited in the kernel (Go returns EAGAIN to the caller instead).
//
// The socket file: listen() records the device and inode of the file its
// bind() created, and close() removes the file only if it is still that one
// (a later listener may have replaced it). A stale file (its listener is
// gone: a connect is refused) is replaced only when Options::replace_stale
// asks; a live socket or a file of another kind never is.
#include "netpoll/poll_desc.hpp"
#include "netpoll/socket_util.hpp"

#include <goro/detail/park.hpp>
#include <goro/errors.hpp>
#include <goro/net.hpp>
#include <goro/time.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>

namespace goro::net {

using goro::detail::Clock;
using goro::detail::TimePoint;
using rt::PdOp;
using rt::PollDesc;
using sock::Deadline;
using sock::FdGuard;
using sock::throw_errno;

namespace {

struct UnixAddr {
    sockaddr_un sun{};
    socklen_t len = 0;
    bool abstract = false;
};

UnixAddr unix_addr(std::string_view path, const char* what) {
    UnixAddr a;
    a.sun.sun_family = AF_UNIX;
    std::string shown = std::string(what) + " unix " + std::string(path);
    if (path.empty() || path == "@") throw_errno(EINVAL, shown + ": an empty socket name");
    if (path.find('\0') != std::string_view::npos) throw_errno(EINVAL, shown + ": a NUL byte in the socket name");
    a.abstract = path.front() == '@';
    std::string_view name = a.abstract ? path.substr(1) : path;
    std::size_t room = sizeof a.sun.sun_path - 1;  // a NUL terminator, or the abstract name's leading NUL
    if (name.size() > room)
        throw_errno(ENAMETOOLONG, shown + ": longer than the " + std::to_string(room) + " bytes a socket name may have");
    char* dst = a.sun.sun_path + (a.abstract ? 1 : 0);  // an abstract name starts with a NUL byte
    std::memcpy(dst, name.data(), name.size());
    a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + (a.abstract ? 1 : 0) + name.size() +
                                   (a.abstract ? 0 : 1));
    return a;
}

std::string path_of(const sockaddr_un& sun, socklen_t len) {
    std::size_t n = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
    if (n == 0) return {};  // unnamed
    if (sun.sun_path[0] == '\0') {
        std::string name(n, '@');  // the leading NUL shown as '@'
        name.replace(1, n - 1, sun.sun_path + 1, n - 1);
        return name;
    }
    return std::string(sun.sun_path, strnlen(sun.sun_path, n));
}

int unix_socket() {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_errno(errno, "socket");
    return fd;
}

// Whether a listener accepts on the socket file at a.sun (a probe connect;
// ECONNREFUSED means its listener is gone).
bool stale_socket(const UnixAddr& a) {
    FdGuard probe{unix_socket()};
    if (::connect(probe.fd, reinterpret_cast<const sockaddr*>(&a.sun), a.len) == 0) return false;
    return errno == ECONNREFUSED;
}

}  // namespace

// ---------------------------------------------------------------- UnixStream

UnixStream UnixStream::connect(std::string_view path, std::optional<std::chrono::nanoseconds> timeout) {
    using namespace std::chrono_literals;
    goro::detail::entry_cancellation_point();
    Deadline dl(timeout);
    UnixAddr a = unix_addr(path, "connect");
    FdGuard fd{unix_socket()};
    Clock::duration backoff = 1ms;
    for (;;) {
        if (::connect(fd.fd, reinterpret_cast<const sockaddr*>(&a.sun), a.len) == 0) break;
        int err = errno;
        if (err == EINTR) continue;
        if (err != EAGAIN) throw_errno(err, "connect unix " + std::string(path));
        // The listener's backlog is full: wait for it to accept (see the file comment).
        TimePoint now = Clock::now();
        if (dl.get() && now >= *dl.get()) throw Timeout("goro::net: connect to unix " + std::string(path) + " timed out");
        TimePoint wake = now + backoff;
        if (dl.get()) wake = std::min(wake, *dl.get());
        goro::sleep_until(wake);  // a cancellation point
        backoff = std::min<Clock::duration>(2 * backoff, 50ms);
    }
    return UnixStream(rt::pd_open(fd.release()));
}

UnixStream UnixStream::from_fd(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_errno(errno, "fcntl");
    return UnixStream(rt::pd_open(fd));
}

std::pair<UnixStream, UnixStream> UnixStream::pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) throw_errno(errno, "socketpair");
    FdGuard second{fds[1]};
    UnixStream a(rt::pd_open(fds[0]));
    UnixStream b(rt::pd_open(second.release()));
    return {std::move(a), std::move(b)};
}

std::string UnixStream::peer_path() const {
    PdOp op(pd_, "getpeername");
    sockaddr_un sun{};
    socklen_t len = sizeof sun;
    if (::getpeername(pd_->fd, reinterpret_cast<sockaddr*>(&sun), &len) != 0) throw_errno(errno, "getpeername");
    return path_of(sun, len);
}

// ---------------------------------------------------------------- UnixListener

UnixListener::UnixListener(UnixListener&& o) noexcept
    : Listener(std::move(o)),
      path_(std::move(o.path_)),
      file_dev_(o.file_dev_),
      file_ino_(o.file_ino_.exchange(0, std::memory_order_relaxed)) {}

UnixListener& UnixListener::operator=(UnixListener&& o) noexcept {
    if (this != &o) {
        close();
        Listener::operator=(std::move(o));
        path_ = std::move(o.path_);
        file_dev_ = o.file_dev_;
        file_ino_.store(o.file_ino_.exchange(0, std::memory_order_relaxed), std::memory_order_relaxed);
    }
    return *this;
}

UnixListener::~UnixListener() { remove_file(); }

UnixListener UnixListener::listen(std::string_view path) { return listen(path, Options{}); }

UnixListener UnixListener::listen(std::string_view path, Options options) {
    UnixAddr a = unix_addr(path, "listen");
    std::string where = "listen unix " + std::string(path);
    FdGuard fd{unix_socket()};
    if (::bind(fd.fd, reinterpret_cast<const sockaddr*>(&a.sun), a.len) != 0) {
        int err = errno;
        if (err != EADDRINUSE || a.abstract) throw_errno(err, where);
        struct stat st {};
        if (::lstat(a.sun.sun_path, &st) != 0) throw_errno(err, where);
        if (!S_ISSOCK(st.st_mode)) throw_errno(EADDRINUSE, where + ": the path exists and is not a socket");
        if (!stale_socket(a)) throw_errno(EADDRINUSE, where + ": another listener accepts on it");
        if (!options.replace_stale)
            throw_errno(EADDRINUSE, where +
                                        ": a stale socket file (its listener is gone); "
                                        "UnixListener::Options::replace_stale replaces it");
        if (::unlink(a.sun.sun_path) != 0 && errno != ENOENT) throw_errno(errno, "unlink " + std::string(path));
        if (::bind(fd.fd, reinterpret_cast<const sockaddr*>(&a.sun), a.len) != 0) throw_errno(errno, where);
    }
    UnixListener l;
    if (!a.abstract) {
        struct stat st {};
        if (::lstat(a.sun.sun_path, &st) == 0) {
            l.file_dev_ = st.st_dev;
            l.file_ino_.store(st.st_ino, std::memory_order_relaxed);
        }
    }
    l.path_ = std::string(path);
    if (::listen(fd.fd, options.backlog) != 0) throw_errno(errno, where);  // l's destructor removes the file
    l.pd_ = rt::pd_open(fd.release());
    return l;
}

UnixStream UnixListener::accept() { return UnixStream(accept_pd("accept")); }

void UnixListener::close() noexcept {
    Listener::close();
    remove_file();
}

void UnixListener::remove_file() noexcept {
    std::uint64_t ino = file_ino_.exchange(0, std::memory_order_relaxed);
    if (ino == 0) return;
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_ino == ino && st.st_dev == file_dev_) ::unlink(path_.c_str());
}

}  // namespace goro::net
