// netpoll/signal.cpp — signal_notify / signal_stop (include/goro/signal.hpp).
//
// Owns: the process's signal hub: goro's handler, the self-pipe, the
// reader thread and the subscriptions. The handler writes one byte (the
// signal number) to the pipe and restores errno: nothing else, so it is
// async-signal-safe. The reader thread blocks in read(2) and, for each
// byte, try_sends the number to every channel subscribed to it (a full
// channel loses it, as Go's Notify does).
//
// Invariants, under hub().mu:
//  * a signal has goro's handler installed  <=>  some channel subscribes to
//    it; `saved[sig]` then holds the disposition to restore;
//  * the reader thread is counted quiet (sched/quiet_threads.hpp) exactly
//    while no channel subscribes to anything: with subscriptions it may
//    wake a goroutine, and the deadlock watch must not declare one.
// The pipe and the thread live for the rest of the process once made.
#include "sched/quiet_threads.hpp"

#include <goro/signal.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace goro {

namespace {

constexpr int kMaxSignal = 64;
constexpr std::size_t kChanCapacity = 16;

int g_pipe_write = -1;  // written once under hub().mu before any handler is installed

struct Hub {
    std::mutex mu;
    int pipe_read = -1;
    bool reader_started = false;
    std::size_t subscriptions = 0;                        // (signal, channel) pairs
    std::vector<Chan<int>> subs[kMaxSignal + 1];          // per signal
    struct sigaction saved[kMaxSignal + 1] = {};          // valid while subs[sig] is not empty
};

Hub& hub() {
    static Hub* h = new Hub;  // never destroyed: the reader thread outlives main()
    return *h;
}

extern "C" void goro_signal_handler(int sig) {
    const int saved_errno = errno;
    const char b = static_cast<char>(sig);
    ssize_t r = ::write(g_pipe_write, &b, 1);  // a full pipe drops it, as a full channel would
    (void)r;
    errno = saved_errno;
}

void reader_main() {
    rt::g_quiet_threads.fetch_add(1, std::memory_order_relaxed);  // see the invariants; hub adjusts it
    Hub& h = hub();
    char buf[64];
    for (;;) {
        ssize_t n = ::read(h.pipe_read, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        for (ssize_t i = 0; i < n; ++i) {
            const int sig = static_cast<unsigned char>(buf[i]);
            std::vector<Chan<int>> to;
            {
                std::lock_guard lk(h.mu);
                if (sig >= 1 && sig <= kMaxSignal) to = h.subs[sig];
            }
            for (const Chan<int>& ch : to) {
                // A channel closed while subscribed (or between signal_stop,
                // which we may have copied the list before, and close) just
                // receives nothing more; thrown here it would end the process.
                try {
                    (void)ch.try_send(sig);
                } catch (const ChannelClosed&) {
                }
            }
        }
    }
}

// Under hub().mu: one more or one fewer subscription; the reader thread's
// quiet mark follows "no subscription".
void count_subscription(Hub& h, bool add) {
    if (add) {
        if (h.subscriptions++ == 0) rt::g_quiet_threads.fetch_sub(1, std::memory_order_relaxed);
    } else {
        if (--h.subscriptions == 0) rt::g_quiet_threads.fetch_add(1, std::memory_order_relaxed);
    }
}

// Under hub().mu: ch no longer receives any signal; a signal nobody asks
// for any more gets its previous disposition back.
void unsubscribe_locked(Hub& h, const Chan<int>& ch) {
    for (int sig = 1; sig <= kMaxSignal; ++sig) {
        auto& list = h.subs[sig];
        auto it = std::find(list.begin(), list.end(), ch);
        if (it == list.end()) continue;
        list.erase(it);
        count_subscription(h, false);
        if (list.empty()) ::sigaction(sig, &h.saved[sig], nullptr);  // back to what it was
    }
}

void start_locked(Hub& h) {
    if (h.reader_started) return;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::system_category(), "goro: signal pipe");
    // The write end never blocks the handler; the read end blocks the reader.
    ::fcntl(fds[1], F_SETFL, ::fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    h.pipe_read = fds[0];
    g_pipe_write = fds[1];
    std::thread(reader_main).detach();
    h.reader_started = true;
}

}  // namespace

Chan<int> signal_notify(std::initializer_list<int> signals) {
    for (int sig : signals)
        if (sig < 1 || sig > kMaxSignal || sig == SIGKILL || sig == SIGSTOP)
            throw std::invalid_argument("goro: signal_notify: signal " + std::to_string(sig) + " cannot be caught");
    Chan<int> ch(kChanCapacity);
    Hub& h = hub();
    std::lock_guard lk(h.mu);
    start_locked(h);
    for (int sig : signals) {
        auto& list = h.subs[sig];
        if (std::find(list.begin(), list.end(), ch) != list.end()) continue;  // listed twice
        if (list.empty()) {
            struct sigaction sa = {};
            sa.sa_handler = goro_signal_handler;
            sigemptyset(&sa.sa_mask);
            sa.sa_flags = SA_RESTART;
            if (::sigaction(sig, &sa, &h.saved[sig]) != 0) {
                const int err = errno;
                // All or nothing: the signals of this call subscribed so far
                // are given back (the caller never gets the channel to stop).
                unsubscribe_locked(h, ch);
                if (err == EINVAL)  // e.g. 32 and 33, which the C library keeps for itself
                    throw std::invalid_argument("goro: signal_notify: signal " + std::to_string(sig) +
                                                " cannot be caught");
                throw std::system_error(err, std::system_category(), "goro: sigaction " + std::to_string(sig));
            }
        }
        list.push_back(ch);
        count_subscription(h, true);
    }
    return ch;
}

void signal_stop(const Chan<int>& ch) {
    Hub& h = hub();
    std::lock_guard lk(h.mu);
    unsubscribe_locked(h, ch);
}

}  // namespace goro
