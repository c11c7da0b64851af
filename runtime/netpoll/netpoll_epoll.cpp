// netpoll/netpoll_epoll.cpp — the Linux backend of netpoll.hpp: one epoll
// instance per runtime, plus an eventfd to interrupt a blocked epoll_wait.
//
// Owns: the epoll and eventfd descriptors, the translation of epoll events
// into netpoll_deliver() calls, and interrupt(). It knows nothing about
// goroutines or poll descriptors: a registration carries an opaque 64-bit
// token (index + generation, see poll_desc.hpp) and readiness is handed back
// with that token. This is the only file that includes <sys/epoll.h>.
//
// Registrations:
//  * watch(): EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, once per socket and
//    netpoller, never modified afterwards. Edge-triggered: an event means
//    "something changed", and the waiter retries its syscall until EAGAIN,
//    so one registration serves readers and writers without epoll_ctl calls
//    on the I/O path. Closing the fd removes the registration (the kernel
//    drops it with the last reference to the file), so no EPOLL_CTL_DEL.
//  * watch_once(): EPOLLONESHOT for one direction, for fds the caller owns
//    (wait_readable / wait_writable); unwatch() deletes it afterwards.
//  * the eventfd: level-triggered EPOLLIN with the reserved token kWakeToken.
//
// interrupt() protocol (as Go's netpollBreak): wake_sig_ false -> true
// writes the eventfd once; only a blocking poll() reads the eventfd and
// clears the flag, so a concurrent non-blocking poll(now) cannot swallow the
// wake-up meant for the blocked poller (it just sees the level-triggered
// eventfd again and ignores it).
//
// Creation: Runtime::netpoller() makes the backend at a runtime's first I/O
// wait, not at run()'s start (a program that never waits on an fd holds no
// descriptor of goro's). When the process is out of descriptors then, the
// constructor throws std::system_error and closes what it had opened; the
// I/O call that needed the poller (read, write, accept, connect,
// wait_readable, wait_writable) throws it to its caller, and the next such
// call tries again. Running out of descriptors is never fatal.
//
// Stale events: an event drained by epoll_wait may be processed after its fd
// was closed and the descriptor reused; netpoll_deliver() drops any event
// whose generation does not match the descriptor's current one.
//
// Rejected designs:
//  * A dedicated poller thread (as libuv or asio with a private reactor): one
//    more thread hop per readiness, and wake-ups cross threads twice. Here the
//    idle worker itself sleeps in epoll_wait (Go's design).
//  * Level-triggered registration with EPOLLONESHOT re-arming per wait: an
//    epoll_ctl per blocking read. Edge-triggered needs none.
//
// Sources: Go's src/runtime/netpoll.go and netpoll_epoll.go (netpollBreak,
// netpollWakeSig, the 128-event batch); epoll(7).
#include "netpoll/netpoll.hpp"

#include "debug/assert.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string>
#include <system_error>

namespace goro::rt {

namespace {

constexpr std::uint64_t kWakeToken = ~std::uint64_t{0};
// Events taken per epoll_wait (Go's value).
constexpr int kEventBatch = 128;

static_assert(sizeof(epoll_event::data) == sizeof(std::uint64_t), "the token travels in epoll_data.u64");

class EpollPoller final : public Netpoller {
public:
    // Throws std::system_error (EMFILE, ENFILE, ENOMEM) with nothing left
    // open when a descriptor cannot be made: the caller's I/O call fails,
    // not the process.
    EpollPoller() {
        epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epfd_ < 0) throw_setup_error("epoll_create1");
        evfd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (evfd_ < 0) throw_setup_error("eventfd");
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = kWakeToken;
        if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev) != 0) throw_setup_error("epoll_ctl(eventfd)");
    }
    ~EpollPoller() override {
        ::close(evfd_);
        ::close(epfd_);
    }

    int poll(detail::TimePoint deadline) override;

    // An epoll fd is itself readable while events wait in its ready list;
    // poll(2) on it takes none of them. (A pending interrupt counts too: the
    // eventfd is level-triggered; then a worker is being woken anyway.)
    bool events_pending() const noexcept override {
        pollfd p{epfd_, POLLIN, 0};
        return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
    }

    void interrupt() noexcept override {
        bool expected = false;
        // acq_rel: pairs with the release store in poll() that re-opens the flag.
        if (!wake_sig_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return;
        std::uint64_t one = 1;
        while (::write(evfd_, &one, sizeof one) < 0 && errno == EINTR) {
        }
        // EAGAIN (counter saturated) still leaves the eventfd readable.
    }

    int watch(int fd, std::uint64_t token) noexcept override {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.u64 = token;
        return ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
    }

    int watch_once(int fd, std::uint64_t token, bool write) noexcept override {
        epoll_event ev{};
        ev.events = (write ? EPOLLOUT : (EPOLLIN | EPOLLRDHUP)) | EPOLLONESHOT;
        ev.data.u64 = token;
        return ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
    }

    void unwatch(int fd) noexcept override {
        epoll_event ev{};  // non-null for kernels before 2.6.9
        ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev);
    }

private:
    int wait(epoll_event* evs, detail::TimePoint deadline);

    [[noreturn]] void throw_setup_error(const char* what) {
        int err = errno;
        if (evfd_ >= 0) ::close(evfd_);
        if (epfd_ >= 0) ::close(epfd_);
        throw std::system_error(err, std::system_category(), std::string("goro: netpoller: ") + what);
    }

    int epfd_ = -1;
    int evfd_ = -1;
    std::atomic<bool> wake_sig_{false};  // an interrupt is pending in the eventfd
};

// epoll_pwait2 (Linux 5.11, glibc 2.35) takes a timespec, so a timer deadline
// is honoured to the microsecond instead of being rounded up to the next
// millisecond. Older kernels answer ENOSYS once; we then use epoll_wait.
std::atomic<bool> g_have_pwait2{true};

int EpollPoller::wait(epoll_event* evs, detail::TimePoint deadline) {
    using namespace std::chrono;
    if (deadline == detail::TimePoint::max()) return ::epoll_wait(epfd_, evs, kEventBatch, -1);
    if (deadline == kPollNow) return ::epoll_wait(epfd_, evs, kEventBatch, 0);
    auto left = deadline - detail::Clock::now();
    if (left <= left.zero()) return ::epoll_wait(epfd_, evs, kEventBatch, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
    if (g_have_pwait2.load(std::memory_order_relaxed)) {
        auto ns = duration_cast<nanoseconds>(left).count();
        timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
        int n = ::epoll_pwait2(epfd_, evs, kEventBatch, &ts, nullptr);
        if (n >= 0 || errno != ENOSYS) return n;
        g_have_pwait2.store(false, std::memory_order_relaxed);
    }
#endif
    // Round up: waking a little late re-checks the timers once; waking early
    // would spin until the deadline.
    auto ms = ceil<milliseconds>(left).count();
    if (ms > 0x7fffffff) ms = 0x7fffffff;
    return ::epoll_wait(epfd_, evs, kEventBatch, static_cast<int>(ms));
}

int EpollPoller::poll(detail::TimePoint deadline) {
    epoll_event evs[kEventBatch];
    bool blocking = deadline != kPollNow && deadline > detail::Clock::now();
    int n = wait(evs, deadline);
    if (n < 0) {
        if (errno == EINTR) return 0;
        fatal("epoll_wait failed: %s", std::strerror(errno));
    }
    int readied = 0;
    for (int i = 0; i < n; ++i) {
        std::uint64_t token = evs[i].data.u64;
        std::uint32_t e = evs[i].events;
        if (token == kWakeToken) {
            if (blocking) {
                std::uint64_t buf;
                while (::read(evfd_, &buf, sizeof buf) < 0 && errno == EINTR) {
                }
                wake_sig_.store(false, std::memory_order_release);  // pairs with the CAS in interrupt()
            }
            continue;
        }
        // Errors and hang-ups wake both directions: the syscall reports them.
        bool readable = (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
        bool writable = (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
        bool hangup = (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
        readied += netpoll_deliver(token, readable, writable, hangup);
    }
    return readied;
}

}  // namespace

Netpoller* make_netpoller() { return new EpollPoller; }

}  // namespace goro::rt
