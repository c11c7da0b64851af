// sync/sync.cpp — WaitGroup, Mutex, CondVar, Semaphore, Event.
//
// Owns: the state of each primitive; every wait goes through the one
// protocol of include/goro/detail/waitlist.hpp (link under the primitive's
// SpinLock, block(), unlink + signal by the waker after unlocking). So each
// primitive only decides who is woken and what the waiter gets:
//  * WaitGroup: count == 0 wakes every waiter. The counter and the number of
//    linked waiters share one atomic word, so add()/done() take no lock
//    unless they bring the counter to zero with waiters linked.
//  * Mutex: unlock() hands ownership to the first waiter (locked_ stays true);
//    a waiter cancelled before the hand-off is simply unlinked.
//  * CondVar: a waiter is linked before the user's mutex is released, so a
//    notify after that release cannot miss it; it is woken only by a notify
//    (no spurious wake-ups), and re-takes the mutex uncancellably.
//  * Semaphore: release() hands units to waiters in FIFO order; a signalled
//    waiter owns one unit; a cancelled one took none.
//  * Event: set() wakes every waiter.
// Invariant for all: a waiter linked in waiters_ has been given nothing yet.
#include "debug/assert.hpp"

#include <goro/detail/waitlist.hpp>
#include <goro/errors.hpp>
#include <goro/sync.hpp>

#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

namespace goro {

using detail::WaitNode;

// ---------------------------------------------------------------- shared states
//
// Each primitive is a handle to one of these (std::shared_ptr): copies share
// it, so a WaitGroup or a Mutex may be captured by copy as well as by
// reference. The handle that a released wait() belongs to may be destroyed
// as soon as that wait returns, even if it holds the last reference: every
// waker touches the state only before it signals (see the file comment).

struct WaitGroup::State {
    // state_: the counter in the high 32 bits, the number of linked waiters
    // in the low 32 (Go's layout): one atomic operation both changes the
    // counter and tells whether anyone must be woken.
    std::atomic<std::uint64_t> state_{0};
    detail::SpinLock lock_;     // guards waiters_, and every change of the waiter half of state_
    detail::WaitList waiters_;  // guarded by lock_
};

struct Mutex::State {
    detail::SpinLock lock_;
    bool locked_ = false;       // guarded by lock_
    detail::WaitList waiters_;  // guarded by lock_
};

struct CondVar::State {
    detail::SpinLock lock_;
    detail::WaitList waiters_;  // guarded by lock_
};

struct Semaphore::State {
    detail::SpinLock lock_;
    std::int64_t count_ = 0;    // guarded by lock_
    detail::WaitList waiters_;  // guarded by lock_
};

struct Event::State {
    detail::SpinLock lock_;
    bool set_ = false;          // guarded by lock_
    detail::WaitList waiters_;  // guarded by lock_
};

WaitGroup::WaitGroup() : s_(std::make_shared<State>()) {}
Mutex::Mutex() : s_(std::make_shared<State>()) {}
CondVar::CondVar() : s_(std::make_shared<State>()) {}
Event::Event() : s_(std::make_shared<State>()) {}

// ---------------------------------------------------------------- WaitGroup

namespace {
constexpr int kWaiterBits = 32;
constexpr std::uint64_t kWaiterMask = (std::uint64_t{1} << kWaiterBits) - 1;
std::int64_t wg_counter(std::uint64_t state) { return static_cast<std::int32_t>(state >> kWaiterBits); }
std::uint32_t wg_waiters(std::uint64_t state) { return static_cast<std::uint32_t>(state & kWaiterMask); }
std::uint64_t wg_state(std::int64_t counter, std::uint32_t waiters) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(counter)) << kWaiterBits) | waiters;
}
}  // namespace

// The counter moves by CAS, so that a bad delta is refused before anything
// changes. acq_rel: each add() releases the caller's writes, and the one that
// reaches zero acquires them all (every add() is a read-modify-write of the
// same word, so they form one release sequence) before it signals the waiters.
void WaitGroup::add(std::int64_t delta) const {
    State& st = *s_;
    std::uint64_t s = st.state_.load(std::memory_order_relaxed);
    std::uint64_t next;
    for (;;) {
        // Both bounds are checked against delta before adding: count is in
        // [0, 2^31-1], so neither -count nor kMax - count overflows, and
        // count + delta is only computed once it is known to fit.
        constexpr std::int64_t kMax = std::numeric_limits<std::int32_t>::max();
        std::int64_t count = wg_counter(s);
        if (delta < -count)
            throw std::logic_error("goro: WaitGroup counter would go negative (" + std::to_string(count) + " + " +
                                   std::to_string(delta) + ")");
        if (delta > kMax - count)
            throw std::overflow_error("goro: WaitGroup counter would exceed 2^31-1 (" + std::to_string(count) + " + " +
                                      std::to_string(delta) + ")");
        next = wg_state(count + delta, wg_waiters(s));
        if (st.state_.compare_exchange_weak(s, next, std::memory_order_acq_rel, std::memory_order_relaxed)) break;
    }
    // Nobody to wake: touch nothing more (a waiter that saw zero may already
    // have destroyed the WaitGroup).
    if (wg_counter(next) != 0 || wg_waiters(next) == 0) return;
    // Zero with waiters linked: they cannot leave before being signalled
    // (a cancelled one unlinks under lock_ first), so the object is alive.
    WaitNode* chain;
    {
        std::lock_guard lk(st.lock_);
        std::uint32_t n = 0;
        chain = st.waiters_.take_all();
        for (WaitNode* w = chain; w; w = w->next) ++n;
        st.state_.fetch_sub(n, std::memory_order_relaxed);  // under lock_, like every change of the waiter half
    }
    detail::signal_chain(chain);
}

void WaitGroup::wait() const {
    detail::entry_cancellation_point();
    State& st = *s_;
    if (wg_counter(st.state_.load(std::memory_order_acquire)) == 0) return;  // pairs with acq_rel in add()
    st.lock_.lock();
    // Count ourselves in only while the counter is not zero, in the same
    // atomic step: an add() that reaches zero later sees us and wakes us.
    std::uint64_t s = st.state_.load(std::memory_order_acquire);
    do {
        if (wg_counter(s) == 0) {
            st.lock_.unlock();
            return;
        }
    } while (!st.state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire));
    WaitNode node;
    st.waiters_.push_back(&node);
    try {
        detail::block(st.lock_, node, detail::WaitReason::WaitGroupWait);
    } catch (...) {
        // Cancelled: block() unlinked the node (so no add() counted it); uncount it.
        std::lock_guard lk(st.lock_);
        st.state_.fetch_sub(1, std::memory_order_relaxed);
        throw;
    }
}

std::int64_t WaitGroup::count() const noexcept { return wg_counter(s_->state_.load(std::memory_order_acquire)); }

// ---------------------------------------------------------------- Mutex

void Mutex::lock() const {
    detail::entry_cancellation_point();
    lock_impl(true);
}

void Mutex::lock_impl(bool cancellable) const {
    State& st = *s_;
    st.lock_.lock();
    if (!st.locked_) {
        st.locked_ = true;
        st.lock_.unlock();
        return;
    }
    WaitNode node;
    st.waiters_.push_back(&node);
    if (cancellable) {
        detail::block(st.lock_, node, detail::WaitReason::MutexLock);  // signalled == ownership handed to us
        return;
    }
    node.waker = detail::current_waker();
    st.lock_.unlock();
    while (!node.signalled.load(std::memory_order_acquire)) detail::park(detail::WaitReason::MutexLock);  // pairs with release in signal()
}

bool Mutex::try_lock() const noexcept {
    State& st = *s_;
    std::lock_guard lk(st.lock_);
    if (st.locked_) return false;
    st.locked_ = true;
    return true;
}

void Mutex::unlock() const {
    State& st = *s_;
    WaitNode* next = nullptr;
    {
        std::lock_guard lk(st.lock_);
        if (!st.locked_) rt::fatal("sync: unlock of unlocked goro::Mutex %p", static_cast<void*>(&st));
        next = st.waiters_.pop_front();
        if (!next) st.locked_ = false;  // else ownership passes to `next`
    }
    if (next) detail::signal(next);
}

// ---------------------------------------------------------------- CondVar

void CondVar::wait(std::unique_lock<Mutex>& lock) const {
    State& st = *s_;
    GORO_ASSERT(lock.owns_lock(), "CondVar::wait without holding the lock");
    detail::entry_cancellation_point();
    WaitNode node;
    node.waker = detail::current_waker();
    Mutex* mu = lock.mutex();
    st.lock_.lock();
    st.waiters_.push_back(&node);
    st.lock_.unlock();
    lock.unlock();
    // Held again whatever happened, and owned by `lock` again.
    auto relock = [&] {
        mu->lock_impl(false);
        lock = std::unique_lock<Mutex>(*mu, std::adopt_lock);
    };
    st.lock_.lock();
    try {
        detail::block(st.lock_, node, detail::WaitReason::CondWait);
    } catch (...) {
        relock();
        throw;
    }
    relock();
}

void CondVar::notify_one() const noexcept {
    State& st = *s_;
    WaitNode* n;
    {
        std::lock_guard lk(st.lock_);
        n = st.waiters_.pop_front();
    }
    if (n) detail::signal(n);
}

void CondVar::notify_all() const noexcept {
    State& st = *s_;
    WaitNode* chain;
    {
        std::lock_guard lk(st.lock_);
        chain = st.waiters_.take_all();
    }
    detail::signal_chain(chain);
}

// ---------------------------------------------------------------- Semaphore

Semaphore::Semaphore(std::int64_t n) {
    if (n < 0) throw std::invalid_argument("goro: Semaphore initial count " + std::to_string(n) + " is negative");
    s_ = std::make_shared<State>();
    s_->count_ = n;
}

void Semaphore::acquire() const {
    detail::entry_cancellation_point();
    State& st = *s_;
    st.lock_.lock();
    if (st.count_ > 0 && st.waiters_.empty()) {
        --st.count_;
        st.lock_.unlock();
        return;
    }
    WaitNode node;
    st.waiters_.push_back(&node);
    detail::block(st.lock_, node, detail::WaitReason::Semacquire);  // signalled == one unit handed to us
}

bool Semaphore::try_acquire() const noexcept {
    State& st = *s_;
    std::lock_guard lk(st.lock_);
    if (st.count_ > 0 && st.waiters_.empty()) {
        --st.count_;
        return true;
    }
    return false;
}

void Semaphore::release(std::int64_t n) const {
    State& st = *s_;
    if (n < 0) throw std::invalid_argument("goro: Semaphore::release(" + std::to_string(n) + ") is negative");
    WaitNode* chain = nullptr;
    WaitNode* last = nullptr;
    {
        std::lock_guard lk(st.lock_);
        // count_ >= 0 always, so the bound cannot overflow; refused, nothing changes.
        if (n > std::numeric_limits<std::int64_t>::max() - st.count_)
            throw std::overflow_error("goro: Semaphore::release(" + std::to_string(n) + ") would take the count " +
                                      std::to_string(st.count_) + " past 2^63-1");
        st.count_ += n;
        while (st.count_ > 0 && !st.waiters_.empty()) {
            WaitNode* w = st.waiters_.pop_front();
            --st.count_;
            w->next = nullptr;
            if (last) last->next = w;
            else chain = w;
            last = w;
        }
    }
    detail::signal_chain(chain);
}

std::int64_t Semaphore::available() const noexcept {
    State& st = *s_;
    std::lock_guard lk(st.lock_);
    return st.count_;
}

// ---------------------------------------------------------------- Event

void Event::set() const {
    State& st = *s_;
    WaitNode* chain;
    {
        std::lock_guard lk(st.lock_);
        st.set_ = true;
        chain = st.waiters_.take_all();
    }
    detail::signal_chain(chain);
}

void Event::clear() const noexcept {
    State& st = *s_;
    std::lock_guard lk(st.lock_);
    st.set_ = false;
}

bool Event::is_set() const noexcept {
    State& st = *s_;
    std::lock_guard lk(st.lock_);
    return st.set_;
}

void Event::wait() const {
    detail::entry_cancellation_point();
    State& st = *s_;
    st.lock_.lock();
    if (st.set_) {
        st.lock_.unlock();
        return;
    }
    WaitNode node;
    st.waiters_.push_back(&node);
    detail::block(st.lock_, node, detail::WaitReason::EventWait);
}

}  // namespace goro
