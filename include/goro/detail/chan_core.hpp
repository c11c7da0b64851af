// goro/detail/chan_core.hpp — the state behind a Chan<T>, and what chan.hpp
// and select.hpp share (ChanAccess), so that neither includes the other.
// Internal.
//
// Owns: the buffer ring and the two wait queues of one channel (Go's hchan).
// Invariants (checked by the typed operations below, under lock_):
//  * count_ > 0 (items buffered)  =>  no receiver waits in recvq_ that is
//    claimable; a receiver that arrives takes from the buffer first.
//  * count_ < capacity_           =>  no sender waits in sendq_ that is
//    claimable; a sender that arrives buffers at once.
//  * Unbuffered (capacity_ == 0): a value moves from a sender's frame
//    straight into a receiver's frame (the receiver's WaitNode::data), never
//    through the channel.
//  * closed_ never goes back to false; after close, recvq_ and sendq_ are
//    empty (every waiter was woken: receivers with nothing, senders with
//    ok = false, which makes them throw ChannelClosed).
// Synchronisation: everything is guarded by lock_ (a SpinLock: the critical
// sections are a few moves). Wakers complete a node under lock_ and signal()
// it after unlocking (waitlist.hpp); a select's node must be claim()ed first.
// select locks several channels at once, always in address order, and no
// other code holds two channel locks: no lock-order cycle is possible.
#pragma once

#include <goro/detail/waitlist.hpp>

#include <memory>
#include <utility>
#include <goro/errors.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace goro {
template <class T>
class Chan;  // goro/chan.hpp
}

namespace goro::detail {

enum class ChanResult { Done, WouldBlock, Closed };

// checked_capacity() refuses a capacity whose buffer of elem_size-byte slots
// could not exist (more than PTRDIFF_MAX bytes, the most one object may span;
// Go's makechan "size out of range") with std::length_error naming it, so
// that capacity * elem_size never wraps (and slot()'s 2 * capacity neither).
inline std::size_t checked_capacity(std::size_t capacity, std::size_t elem_size) {
    if (capacity > static_cast<std::size_t>(PTRDIFF_MAX) / elem_size)
        throw std::length_error("goro: Chan capacity " + std::to_string(capacity) + " is too large (" +
                                std::to_string(elem_size) + "-byte elements)");
    return capacity;
}
// nonnegative_capacity() is a capacity of any integer type as a size_t; a
// negative one throws std::invalid_argument naming it.
template <std::integral I>
std::size_t nonnegative_capacity(I capacity) {
    if constexpr (std::is_signed_v<I>) {
        if (capacity < 0)
            throw std::invalid_argument("goro: Chan capacity " + std::to_string(capacity) + " is negative");
    }
    if constexpr (sizeof(I) > sizeof(std::size_t)) {
        if (capacity > static_cast<I>(SIZE_MAX))
            throw std::length_error("goro: Chan capacity is too large (beyond SIZE_MAX)");
    }
    return static_cast<std::size_t>(capacity);
}

struct ChanCore {
    explicit ChanCore(std::size_t capacity) : capacity_(capacity) {}

    SpinLock lock_;
    WaitList recvq_;  // guarded by lock_; node->data: std::optional<T>* to fill
    WaitList sendq_;  // guarded by lock_; node->data: T* to take from
    const std::size_t capacity_;
    std::size_t count_ = 0;  // guarded by lock_
    std::size_t head_ = 0;   // guarded by lock_: index of the oldest buffered item
    bool closed_ = false;    // guarded by lock_

    // Pops the first waiter of q that may be completed, dropping stale
    // select nodes. Lock held.
    static WaitNode* pop_claimable(WaitList& q) noexcept {
        while (WaitNode* n = q.pop_front()) {
            if (claim(n)) return n;
        }
        return nullptr;
    }

    // close(): lock held on entry, released on return; wakes everyone.
    void close_locked_and_unlock();
};

template <class T>
struct ChanState : ChanCore {
    explicit ChanState(std::size_t capacity)
        : ChanCore(capacity),
          buf_(capacity ? static_cast<T*>(::operator new(sizeof(T) * capacity, std::align_val_t(alignof(T))))
                        : nullptr) {}
    ~ChanState() {
        for (std::size_t i = 0; i < count_; ++i) slot(head_ + i)->~T();
        if (buf_) ::operator delete(buf_, std::align_val_t(alignof(T)));
    }
    ChanState(const ChanState&) = delete;
    ChanState& operator=(const ChanState&) = delete;

    // slot(i) for i < 2 * capacity_ (head_ + count_ at most): a compare
    // instead of a division on every operation.
    T* slot(std::size_t i) noexcept { return buf_ + (i < capacity_ ? i : i - capacity_); }

    // The fast paths, which chan.hpp forces inline into every send and recv
    // (a few loads and stores beside the lock): a buffered value moves in
    // or out when nobody waits on the other side. Lock held. False leaves
    // everything as it was; the full operation below then decides.
    bool try_buffer_fast_locked(T& v) {
        if (count_ >= capacity_ || closed_ || !recvq_.empty()) return false;
        ::new (slot(head_ + count_)) T(std::move(v));
        ++count_;
        return true;
    }
    bool try_unbuffer_fast_locked(std::optional<T>& out) {
        if (count_ == 0 || !sendq_.empty()) return false;
        T* s = slot(head_);
        out.emplace(std::move(*s));
        s->~T();
        head_ = head_ + 1 == capacity_ ? 0 : head_ + 1;
        --count_;
        return true;
    }

    // Lock held. On Done, `v` was moved from and *to_signal (if set) must be
    // signalled after unlocking.
    ChanResult try_send_locked(T& v, WaitNode*& to_signal) {
        if (closed_) return ChanResult::Closed;
        if (WaitNode* r = pop_claimable(recvq_)) {
            static_cast<std::optional<T>*>(r->data)->emplace(std::move(v));
            r->ok = true;
            to_signal = r;
            return ChanResult::Done;
        }
        if (count_ < capacity_) {
            ::new (slot(head_ + count_)) T(std::move(v));
            ++count_;
            return ChanResult::Done;
        }
        return ChanResult::WouldBlock;
    }

    // Lock held. Done: `out` holds a value. Closed: closed and drained.
    ChanResult try_recv_locked(std::optional<T>& out, WaitNode*& to_signal) {
        if (count_ > 0) {
            T* s = slot(head_);
            out.emplace(std::move(*s));
            s->~T();
            head_ = head_ + 1 == capacity_ ? 0 : head_ + 1;
            --count_;
            // A parked sender may now buffer its value (FIFO order kept).
            if (WaitNode* w = pop_claimable(sendq_)) {
                ::new (slot(head_ + count_)) T(std::move(*static_cast<T*>(w->data)));
                ++count_;
                w->ok = true;
                to_signal = w;
            }
            return ChanResult::Done;
        }
        if (WaitNode* w = pop_claimable(sendq_)) {
            out.emplace(std::move(*static_cast<T*>(w->data)));
            w->ok = true;
            to_signal = w;
            return ChanResult::Done;
        }
        return closed_ ? ChanResult::Closed : ChanResult::WouldBlock;
    }

private:
    T* buf_;
};

// ChanAccess<T> reaches a Chan<T>'s state (select's cases). Chan<T> befriends
// it; its uses are instantiated where Chan<T> is complete.
// The runtime's after() also makes a Chan from a state it owns (with a
// deleter that cancels its timer) and keeps a weak reference to it.
template <class T>
struct ChanAccess {
    static ChanState<T>* state(const Chan<T>& ch) noexcept { return ch.state_.get(); }
    static Chan<T> adopt(std::shared_ptr<ChanState<T>> s) noexcept { return Chan<T>(std::move(s)); }
};

}  // namespace goro::detail
