// sync/rwmutex.cpp — RWMutex: many readers or one writer (Go's sync.RWMutex).
//
// Owns: the state of each RWMutex. Every wait goes through the protocol of
// include/goro/detail/waitlist.hpp (link under lock_, block(), unlink +
// signal by the waker after unlocking), and a signalled waiter has been
// given the lock: the waker counted a reader in, or made the writer owner.
//
// Policy (Go's): a reader enters at once only while no writer holds the lock
// and none waits; otherwise it queues. The last reader out hands the lock to
// the first waiting writer. A writer's unlock lets in every reader queued
// meanwhile (they came while it held the lock), else hands the lock to the
// next writer. So a stream of readers cannot starve a writer, and a stream
// of writers cannot starve the readers queued behind one of them.
//
// Invariants, under lock_:
//  * writer_ => readers_ == 0.
//  * A reader is queued only while writer_ or a writer is queued, except
//    for an instant after a queued writer is cancelled; the cancelled writer
//    then lets the readers in itself (admit_readers_locked), so none is left
//    waiting for a writer that no longer exists.
//  * A writer is queued only while writer_ or readers_ > 0.
#include "debug/assert.hpp"

#include <goro/detail/waitlist.hpp>
#include <goro/errors.hpp>
#include <goro/sync.hpp>

namespace goro {

using detail::WaitNode;

struct RWMutex::State {
    detail::SpinLock lock_;
    std::int64_t readers_ = 0;   // guarded by lock_: readers holding the lock
    bool writer_ = false;        // guarded by lock_: a writer holds it
    detail::WaitList readq_;     // guarded by lock_
    detail::WaitList writeq_;    // guarded by lock_

    // Lets every queued reader in; returns them chained for signal_chain().
    WaitNode* admit_readers_locked() noexcept {
        WaitNode* chain = readq_.take_all();
        for (WaitNode* n = chain; n; n = n->next) ++readers_;
        return chain;
    }
};

RWMutex::RWMutex() : s_(std::make_shared<State>()) {}

void RWMutex::lock() const {
    detail::entry_cancellation_point();
    State& st = *s_;
    st.lock_.lock();
    if (!st.writer_ && st.readers_ == 0) {
        st.writer_ = true;
        st.lock_.unlock();
        return;
    }
    WaitNode node;
    st.writeq_.push_back(&node);
    try {
        detail::block(st.lock_, node, detail::WaitReason::RWMutexLock);  // signalled == made the owner
    } catch (...) {
        // Cancelled before anyone handed us the lock (block() unlinked us).
        // Readers that queued behind us must not wait for us any longer.
        WaitNode* chain = nullptr;
        {
            std::lock_guard lk(st.lock_);
            if (!st.writer_ && st.writeq_.empty()) chain = st.admit_readers_locked();
        }
        detail::signal_chain(chain);
        throw;
    }
}

bool RWMutex::try_lock() const noexcept {
    State& st = *s_;
    std::lock_guard lk(st.lock_);
    if (st.writer_ || st.readers_ != 0) return false;
    st.writer_ = true;
    return true;
}

void RWMutex::unlock() const {
    State& st = *s_;
    WaitNode* chain = nullptr;
    {
        std::lock_guard lk(st.lock_);
        if (!st.writer_) rt::fatal("sync: unlock of unlocked goro::RWMutex %p", static_cast<void*>(&st));
        if (!st.readq_.empty()) {
            st.writer_ = false;
            chain = st.admit_readers_locked();
        } else if ((chain = st.writeq_.pop_front())) {
            chain->next = nullptr;  // writer_ stays true: ownership passes to it
        } else {
            st.writer_ = false;
        }
    }
    detail::signal_chain(chain);
}

void RWMutex::rlock() const {
    detail::entry_cancellation_point();
    State& st = *s_;
    st.lock_.lock();
    if (!st.writer_ && st.writeq_.empty()) {
        ++st.readers_;
        st.lock_.unlock();
        return;
    }
    WaitNode node;
    st.readq_.push_back(&node);
    detail::block(st.lock_, node, detail::WaitReason::RWMutexRLock);  // signalled == counted in; a cancelled reader was never counted
}

bool RWMutex::try_rlock() const noexcept {
    State& st = *s_;
    std::lock_guard lk(st.lock_);
    if (st.writer_ || !st.writeq_.empty()) return false;
    ++st.readers_;
    return true;
}

void RWMutex::runlock() const {
    State& st = *s_;
    WaitNode* next = nullptr;
    {
        std::lock_guard lk(st.lock_);
        if (st.readers_ <= 0) rt::fatal("sync: runlock of goro::RWMutex %p not read-locked", static_cast<void*>(&st));
        if (--st.readers_ == 0 && (next = st.writeq_.pop_front())) st.writer_ = true;  // handed to the writer
    }
    if (next) detail::signal(next);
}

}  // namespace goro
