// netpoll/poll_desc.cpp — poll descriptors: the per-fd state between the
// sockets (tcp.cpp) and the backend (netpoll_epoll.cpp), the descriptor
// table, and the waits.
//
// Owns: the lifetime of a descriptor and of its fd, readiness sequence
// numbers, the goroutines parked on an fd, and netpoll_deliver(). Leaves
// syscalls on sockets to tcp.cpp and the kernel interface to the backend.
//
// Descriptor states (a slot of the table):
//   Free     on the free list; gen identifies its last use.
//   Open     owned by a handle (owned), fd open, not closing.
//   Closing  closing set: every waiter was woken and throws EBADF; fd is
//            still open while operations are in flight (ops > 0), then closed
//            by the last of them (or by close() itself when ops == 0).
//   Orphan   the handle is gone (!owned) but operations are still in flight
//            (a misuse: destroying a handle another goroutine uses); the
//            last operation frees the slot.
// Free -> Open: pd_open(). Open -> Closing: pd_close(). Closing -> Free:
// pd_release() with ops == 0, or the last PdOp after it. Freeing bumps gen.
//
// Invariants:
//  * A descriptor's memory is never freed (type-stable table of chunks), so
//    an event token naming a freed or reused slot is harmless: deliver()
//    compares the token's generation with gen under lk and drops stale ones.
//  * fd is open (fd_open) while ops > 0 or !closing: nobody can reuse the fd
//    number under an operation that is about to make a syscall on it.
//  * A goroutine is linked in waiting[m] only while it is parked in pd_wait
//    and has counted itself in Netpoller::waiters.
//
// Lost-wakeup protocol (a sequence number per direction, Go's pollDesc seq
// and rg/wg states in one counter): the operation reads seq[m] (acquire)
// BEFORE its syscall; on EAGAIN it locks lk and parks only if seq[m] is
// still the value it read. The poller bumps seq[m] and takes the waiters
// under the same lock. An event that arrives between the syscall and the
// park is therefore either seen as a changed seq (retry at once) or finds the
// waiter linked (and readies it). Edge-triggered events are never lost: the
// kernel reports each new arrival, and a waiter always retries its syscall
// until EAGAIN before it waits again.
//
// Plain threads do not use the netpoller (a runtime may not even exist):
// they block in poll(2) on the fd. close() wakes them with shutdown(2) (done
// under lk, while their operation keeps the fd open).
//
// Synchronisation: lk guards everything but seq (atomic, written under lk),
// closing (atomic, written under lk) and poller_id (atomic; two racing
// registrations both succeed, the second seeing EEXIST). The table's chunk
// pointers are published with release and read with acquire by deliver().
//
// Rejected designs:
//  * A pointer in the epoll token: a 16-bit generation beside a 48-bit
//    pointer wraps quickly; an index leaves 32 bits of generation.
//  * One waiting goroutine per direction (Go's rg/wg with an fdMutex that
//    serialises readers): several goroutines calling accept() on one
//    listener is a common server pattern, so waiters form a list.
//  * Closing the fd in close() at once: an operation of another goroutine
//    might then make its syscall on a reused fd number (Go's fdMutex
//    reference count solves the same problem).
//
// Cancellation: pd_wait parks with detail::block(), which unlinks the node and
// throws Cancelled; the socket is untouched (a read that was cancelled read
// nothing), so it stays usable.
//
// Sources: Go src/runtime/netpoll.go (pollDesc, pollCache, fdseq),
// src/internal/poll/fd_mutex.go (close waits for in-flight operations).
#include "netpoll/poll_desc.hpp"

#include "debug/lock_rank.hpp"
#include "netpoll/netpoll.hpp"
#include "sched/api.hpp"

#include <goro/errors.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <system_error>
#include <thread>

namespace goro::rt {

using detail::Clock;
using detail::TimePoint;
using detail::WaitNode;

// ---------------------------------------------------------------- the table

namespace {

constexpr std::uint32_t kChunk = 1024;       // descriptors per chunk
constexpr std::uint32_t kMaxChunks = 16384;  // 16M descriptors: far above any fd limit in use

std::atomic<PollDesc*> g_chunks[kMaxChunks];  // release-published, never freed
RankedMutex<LockRank::Netpoll> g_table_mu;
PollDesc* g_free = nullptr;   // guarded by g_table_mu
std::uint32_t g_nchunks = 0;  // guarded by g_table_mu

PollDesc* table_alloc() {
    std::lock_guard lk(g_table_mu);
    if (!g_free) {
        if (g_nchunks == kMaxChunks)
            throw std::system_error(ENFILE, std::system_category(), "goro::net: descriptor table full");
        auto* chunk = new PollDesc[kChunk];  // never freed: type-stable
        for (std::uint32_t i = kChunk; i-- > 0;) {
            chunk[i].index = g_nchunks * kChunk + i;
            chunk[i].next_free = g_free;
            g_free = &chunk[i];
        }
        g_chunks[g_nchunks].store(chunk, std::memory_order_release);  // pairs with acquire in lookup()
        ++g_nchunks;
    }
    PollDesc* pd = g_free;
    g_free = pd->next_free;
    pd->next_free = nullptr;
    return pd;
}

void table_free(PollDesc* pd) noexcept {
    {
        std::lock_guard lk(pd->lk);
        ++pd->gen;  // every token handed out so far is stale from now on
        pd->fd = -1;
        pd->ops = 0;
        pd->owned = false;
        pd->fd_open = false;
        pd->thread_waiters = 0;
        pd->closing.store(false, std::memory_order_relaxed);
        pd->poller_id.store(0, std::memory_order_relaxed);
    }
    std::lock_guard lk(g_table_mu);
    pd->next_free = g_free;
    g_free = pd;
}

PollDesc* lookup(std::uint32_t index) noexcept {
    std::uint32_t c = index / kChunk;
    if (c >= kMaxChunks) return nullptr;
    PollDesc* chunk = g_chunks[c].load(std::memory_order_acquire);  // pairs with release in table_alloc()
    return chunk ? &chunk[index % kChunk] : nullptr;
}

// Hands a node taken off a waiting list back to its goroutine.
int signal_io(WaitNode* chain) noexcept {
    // To the waker's queue's tail (Later): on a worker that is the poller's
    // own queue; from a plain thread (close()), the global queue.
    int n = 0;
    while (chain) {
        WaitNode* next = chain->next;  // read before the signal: the node may vanish after it
        detail::Waker w = chain->waker;
        chain->signalled.store(true, std::memory_order_release);  // pairs with acquire in detail::block()
        w.wake(detail::Waker::Order::Later);
        ++n;
        chain = next;
    }
    return n;
}

}  // namespace

[[noreturn]] void throw_closed(const char* what) {
    throw std::system_error(EBADF, std::system_category(), std::string("goro::net: ") + what + " on a closed socket");
}

// ---------------------------------------------------------------- lifetime

PollDesc* pd_open(int fd, bool close_fd) {
    PollDesc* pd = table_alloc();
    std::lock_guard lk(pd->lk);
    pd->fd = fd;
    pd->read_drained.store(0, std::memory_order_relaxed);  // published with the descriptor
    pd->hung_up.store(false, std::memory_order_relaxed);
    pd->owned = true;
    pd->fd_open = true;
    pd->close_fd = close_fd;
    return pd;
}

void pd_close(PollDesc* pd) noexcept {
    WaitNode* chains[2];
    bool close_now = false;
    int fd;
    {
        std::lock_guard lk(pd->lk);
        if (pd->closing.load(std::memory_order_relaxed)) return;
        pd->closing.store(true, std::memory_order_relaxed);  // under lk: pd_wait re-checks it under lk
        chains[0] = pd->waiting[kRead].take_all();
        chains[1] = pd->waiting[kWrite].take_all();
        fd = pd->fd;
        // Plain threads block in poll(2), which close() does not interrupt;
        // shutdown() does. Their operations keep fd open while we hold lk.
        if (pd->thread_waiters > 0 && pd->close_fd) ::shutdown(fd, SHUT_RDWR);
        if (pd->ops == 0 && pd->fd_open) {
            pd->fd_open = false;
            close_now = pd->close_fd;
        }
    }
    signal_io(chains[0]);
    signal_io(chains[1]);
    if (close_now) ::close(fd);
}

void pd_release(PollDesc* pd) noexcept {
    pd_close(pd);
    bool free_now;
    {
        std::lock_guard lk(pd->lk);
        pd->owned = false;
        free_now = pd->ops == 0;
    }
    if (free_now) table_free(pd);
}

PdOp::PdOp(PollDesc* pd, const char* what) : pd_(nullptr) {
    if (!pd) throw_closed(what);
    bool closed;
    {
        std::lock_guard lk(pd->lk);
        closed = pd->closing.load(std::memory_order_relaxed);
        if (!closed) ++pd->ops;
    }
    if (closed) throw_closed(what);
    pd_ = pd;
}

PdOp::~PdOp() {
    if (!pd_) return;
    PollDesc* pd = pd_;
    bool close_now = false, free_now = false;
    int fd;
    {
        std::lock_guard lk(pd->lk);
        --pd->ops;
        fd = pd->fd;
        if (pd->ops == 0) {
            if (pd->closing.load(std::memory_order_relaxed) && pd->fd_open) {
                pd->fd_open = false;
                close_now = pd->close_fd;
            }
            free_now = !pd->owned;
        }
    }
    if (close_now) ::close(fd);
    if (free_now) table_free(pd);
}

// ---------------------------------------------------------------- delivery

int netpoll_deliver(std::uint64_t token, bool readable, bool writable, bool hangup) noexcept {
    PollDesc* pd = lookup(static_cast<std::uint32_t>(token));
    if (!pd) return 0;
    WaitNode* chains[2] = {nullptr, nullptr};
    {
        std::lock_guard lk(pd->lk);
        if (pd->gen != static_cast<std::uint32_t>(token >> 32)) return 0;  // stale: closed and reused
        if (hangup) pd->hung_up.store(true, std::memory_order_relaxed);    // published by the release bump below
        if (readable) {
            pd->seq[kRead].fetch_add(1, std::memory_order_release);  // pairs with acquire before the syscall
            chains[0] = pd->waiting[kRead].take_all();
        }
        if (writable) {
            pd->seq[kWrite].fetch_add(1, std::memory_order_release);  // pairs with acquire before the syscall
            chains[1] = pd->waiting[kWrite].take_all();
        }
    }
    return signal_io(chains[0]) + signal_io(chains[1]);
}

// ---------------------------------------------------------------- waiting

namespace {

// Registers a socket with the current runtime's netpoller, once.
void ensure_watched(PollDesc* pd, Netpoller* np) {
    if (pd->poller_id.load(std::memory_order_acquire) == np->id) return;  // pairs with release below
    // gen is stable here: the caller's PdOp keeps the slot from being freed.
    int err = np->watch(pd->fd, pd->token());
    if (err != 0 && err != EEXIST) throw std::system_error(err, std::system_category(), "goro::net: epoll_ctl");
    pd->poller_id.store(np->id, std::memory_order_release);
}

// A plain thread waits in poll(2). True unless the deadline passed.
bool thread_wait(PollDesc* pd, IoMode mode, const TimePoint* deadline) {
    bool closed;
    {
        std::lock_guard lk(pd->lk);
        closed = pd->closing.load(std::memory_order_relaxed);
        if (!closed) ++pd->thread_waiters;
    }
    if (closed) throw_closed("wait");
    pollfd p{pd->fd, static_cast<short>(mode == kRead ? (POLLIN | POLLRDHUP) : POLLOUT), 0};
    int timeout_ms = -1;
    if (deadline) {
        auto left = *deadline - Clock::now();
        auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
        timeout_ms = ms < 0 ? 0 : (ms > 0x7fffffff ? 0x7fffffff : static_cast<int>(ms));
    }
    int r = ::poll(&p, 1, timeout_ms);
    {
        std::lock_guard lk(pd->lk);
        --pd->thread_waiters;
    }
    if (pd->closing.load(std::memory_order_relaxed)) throw_closed("wait");
    if (r == 0 && deadline && Clock::now() >= *deadline) return false;
    return true;
}

// Counts a goroutine in Netpoller::waiters while it is parked.
struct WaiterCount {
    Netpoller* np;
    explicit WaiterCount(Netpoller* n) : np(n) {
        np->waiters.fetch_add(1, std::memory_order_release);  // pairs with acquire in idle_sleep
        wake_poller_if_needed();
    }
    ~WaiterCount() { np->waiters.fetch_sub(1, std::memory_order_release); }
};

}  // namespace

bool poll_now(int fd, IoMode mode) {
    pollfd p{fd, static_cast<short>(mode == kRead ? (POLLIN | POLLRDHUP) : POLLOUT), 0};
    for (;;) {
        int r = ::poll(&p, 1, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw std::system_error(errno, std::system_category(), "goro::net: poll");
        if (r > 0 && (p.revents & POLLNVAL)) throw std::system_error(EBADF, std::system_category(), "goro::net: poll");
        return r > 0;
    }
}

bool pd_wait(PollDesc* pd, IoMode mode, std::uint32_t seen, const TimePoint* deadline) {
    // A zero timeout (or one that ran out between two tries): do not wait,
    // but look, so that both sides report what is there now. The netpoller
    // may not have seen (or registered) the fd yet, so seq cannot tell.
    if (deadline && Clock::now() >= *deadline) return poll_now(pd->fd, mode);
    if (!detail::current_g()) return thread_wait(pd, mode, deadline);
    Netpoller* np = netpoller();
    ensure_watched(pd, np);
    WaitNode node;
    std::unique_lock<detail::SpinLock> lk(pd->lk);
    if (pd->closing.load(std::memory_order_relaxed)) {
        lk.unlock();
        throw_closed("wait");
    }
    if (pd->seq[mode].load(std::memory_order_relaxed) != seen) return true;  // an event came meanwhile
    pd->waiting[mode].push_back(&node);
    bool ok;
    {
        WaiterCount count(np);
        ok = detail::block(lk, node, detail::WaitReason::IOWait, deadline);  // unlocks; may throw Cancelled (node unlinked)
    }
    if (pd->closing.load(std::memory_order_relaxed)) throw_closed("wait");
    return ok;
}

void pd_sleep(PollDesc* pd, TimePoint deadline) {
    if (!detail::current_g()) {
        // A plain thread: poll(2) would return at once while the fd stays
        // readable, so sleep in short slices and look for close().
        while (Clock::now() < deadline) {
            if (pd->closing.load(std::memory_order_relaxed)) throw_closed("sleep");
            std::this_thread::sleep_for(
                std::min<Clock::duration>(deadline - Clock::now(), std::chrono::milliseconds(10)));
        }
        return;
    }
    // Readiness events wake us early: wait again until the deadline, and not
    // past it. A pd_wait whose deadline has passed only looks (poll), and
    // the fd stays readable while what we back off from (a connection that
    // accept4 could not take) is queued: woken by a new connection just
    // before the deadline and run just after it, this loop used to spin on
    // that look for good, deaf to close() and cancellation.
    while (Clock::now() < deadline && pd_wait(pd, kRead, pd->seq[kRead].load(std::memory_order_acquire), &deadline)) {
    }
}

bool wait_fd(int fd, IoMode mode, const TimePoint* deadline) {
    Netpoller* np = netpoller();
    PollDesc* pd = pd_open(fd, /*close_fd=*/false);
    int watched = fd;
    struct Cleanup {
        Netpoller* np;
        PollDesc* pd;
        int& watched;
        int fd;
        ~Cleanup() {
            if (watched >= 0) np->unwatch(watched);
            if (watched >= 0 && watched != fd) ::close(watched);
            pd_release(pd);
        }
    } cleanup{np, pd, watched, fd};
    std::uint32_t seen = pd->seq[mode].load(std::memory_order_acquire);
    int err = np->watch_once(fd, pd->token(), mode == kWrite);
    if (err == EEXIST) {
        // fd is watched already (a socket of ours, or another wait on it):
        // a duplicate is a separate registration in epoll's eyes.
        watched = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (watched < 0) throw std::system_error(errno, std::system_category(), "goro::net: dup");
        err = np->watch_once(watched, pd->token(), mode == kWrite);
    }
    if (err == EPERM) {  // a regular file or directory: always ready, as poll(2) says
        watched = -1;
        return true;
    }
    if (err != 0) {
        watched = -1;
        throw std::system_error(err, std::system_category(), "goro::net: epoll_ctl");
    }
    pd->poller_id.store(np->id, std::memory_order_release);  // no persistent watch for this one
    PdOp op(pd, "wait");
    return pd_wait(pd, mode, seen, deadline);
}

}  // namespace goro::rt
