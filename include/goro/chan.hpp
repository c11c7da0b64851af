/// @file goro/chan.hpp
/// @brief Go's channels.
///
/// @code
/// goro::Chan<int> ch;            // unbuffered: a send waits for a receiver
/// goro::go([=] { ch.send(42); ch.close(); });
/// for (int v : ch) std::printf("%d\n", v);   // range: until closed and drained
/// @endcode
///
/// A Chan<T> is a cheap, copyable, thread-safe handle; copies name the same
/// channel. Operations park the goroutine (or block a plain thread). Semantics
/// are Go's: FIFO buffer of capacity(); close() lets receivers drain what is
/// buffered and then get std::nullopt, and makes every blocked or later sender
/// throw ChannelClosed; closing twice throws ChannelClosed. Chan<T>::nil() is
/// the nil channel: its send and recv block forever, and select never picks
/// it. select is in goro/select.hpp, after() in goro/time.hpp (both in
/// goro/goro.hpp).
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, instead of failing deep inside a header
// (the missing #include is fatal, so the compiler goes no further).
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <goro/detail/chan_core.hpp>
#include <goro/detail/waitlist.hpp>
#include <goro/errors.hpp>

#include <concepts>
#include <cstddef>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <mutex>
#include <optional>
#include <utility>

namespace goro {

/// Chan<T> is Go's `chan T`: a cheap, copyable handle to a channel of T
/// values, usable from goroutines and plain threads (see the file comment
/// for the semantics). Copies name the same channel.
template <class T>
class Chan {
public:
    /// The element type.
    using value_type = T;

    /// Chan() and Chan(0) are unbuffered. A capacity whose buffer
    /// (capacity * sizeof(T) bytes) would not fit in memory throws
    /// std::length_error, a negative one std::invalid_argument; both name it.
    ///@{
    Chan() : state_(std::make_shared<detail::ChanState<T>>(0)) {}
    explicit Chan(std::size_t capacity)
        : state_(std::make_shared<detail::ChanState<T>>(detail::checked_capacity(capacity, sizeof(T)))) {}
    ///@}
    /// Any integer: Chan<int> ch(0) is Go's make(chan int, 0).
    template <std::integral I>
    requires(!std::same_as<I, bool>) explicit Chan(I capacity) : Chan(detail::nonnegative_capacity(capacity)) {}

    /// nil() is the nil channel (Go's `var ch chan T`).
    static Chan nil() { return Chan(NilTag{}); }
    /// Whether this is the nil channel.
    bool is_nil() const noexcept { return state_ == nullptr; }

    /// send() blocks until a receiver takes v (unbuffered) or v is buffered.
    /// Throws ChannelClosed if the channel is or becomes closed (v not sent).
    //
    // Inlined into the caller whatever its -O level: the fast path (room in
    // the buffer, nobody waiting) is a few instructions beside the lock,
    // while a call, and at -O2 the std::optional returned through memory,
    // cost as much again (bench/RESULTS.md, "-O2 and -O3"). The rest is
    // out of line (send_slow).
    [[gnu::always_inline]] inline void send(T v) const {
        detail::ChanState<T>* s = state_.get();
        if (s) [[likely]] {
            detail::entry_cancellation_point();
            s->lock_.lock();
            if (s->try_buffer_fast_locked(v)) [[likely]] {
                s->lock_.unlock();
                return;
            }
        }
        send_slow(s, v);
    }

    /// recv() blocks for a value; nullopt once the channel is closed and drained.
    [[gnu::always_inline]] inline std::optional<T> recv() const {  // inlined: see send()
        std::optional<T> out;
        detail::ChanState<T>* s = state_.get();
        if (s) [[likely]] {
            detail::entry_cancellation_point();
            s->lock_.lock();
            if (s->try_unbuffer_fast_locked(out)) [[likely]] {
                s->lock_.unlock();
                return out;
            }
        }
        recv_slow(s, out);
        return out;
    }

    /// try_send() never blocks: false (v left unmoved) when it would.
    /// Throws ChannelClosed on a closed channel, as send() does.
    ///@{
    bool try_send(T&& v) const { return try_send_impl(v); }
    bool try_send(const T& v) const {
        T copy(v);
        return try_send_impl(copy);
    }
    ///@}

    /// try_recv() never blocks: nullopt when nothing is ready (or closed and drained).
    std::optional<T> try_recv() const {
        detail::entry_preempt_point();  // a hog asked to yield does it here (runtime.hpp)
        if (!state_) return std::nullopt;
        auto& s = *state_;
        std::optional<T> out;
        detail::WaitNode* partner = nullptr;
        s.lock_.lock();
        s.try_recv_locked(out, partner);
        s.lock_.unlock();
        if (partner) detail::signal(partner);
        return out;
    }

    /// close() wakes every receiver and every blocked sender (which throws).
    void close() const {
        if (!state_) throw ChannelClosed("goro: close of nil channel");
        state_->lock_.lock();
        state_->close_locked_and_unlock();
    }

    /// Whether close() has been called (buffered values may remain).
    bool closed() const noexcept {
        if (!state_) return false;
        std::lock_guard lk(state_->lock_);
        return state_->closed_;
    }
    /// size() is the number of buffered values (Go's len), capacity() Go's cap.
    ///@{
    std::size_t size() const noexcept {
        if (!state_) return 0;
        std::lock_guard lk(state_->lock_);
        return state_->count_;
    }
    std::size_t capacity() const noexcept { return state_ ? state_->capacity_ : 0; }
    ///@}

    /// Two handles are equal when they name the same channel (as Go's ==).
    friend bool operator==(const Chan& a, const Chan& b) noexcept { return a.state_ == b.state_; }

    /// Range-for support: `for (T v : ch)` receives until closed and drained.
    class iterator {
    public:
        /// An input iterator's member types and operations: ++ receives the
        /// next value; it equals end() once the channel is closed and drained.
        ///@{
        using iterator_category = std::input_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = T*;
        using reference = T&&;

        iterator() = default;
        explicit iterator(const Chan* ch) : ch_(ch) { ++*this; }
        /// The received value, as an rvalue: `for (T v : ch)` moves it out,
        /// so move-only T works (bind it with `auto&&` or `const T&` to keep
        /// it in place).
        T&& operator*() { return std::move(*cur_); }
        T* operator->() { return &*cur_; }
        iterator& operator++() {
            cur_ = ch_->recv();
            if (!cur_) ch_ = nullptr;
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.ch_ == b.ch_; }
        ///@}

    private:
        const Chan* ch_ = nullptr;
        std::optional<T> cur_;
    };
    /// begin() receives the first value (parking until one comes); end() is
    /// the closed-and-drained position.
    ///@{
    iterator begin() const { return iterator(this); }
    iterator end() const { return iterator(); }
    ///@}

private:
    template <class U>
    friend struct detail::ChanAccess;

    struct NilTag {};
    explicit Chan(NilTag) noexcept {}
    explicit Chan(std::shared_ptr<detail::ChanState<T>> s) noexcept : state_(std::move(s)) {}  // ChanAccess::adopt

    // The rest of send(): s is null (the nil channel) or locked by send(),
    // and its fast path did not apply.
    [[gnu::noinline]] void send_slow(detail::ChanState<T>* s, T& v) const {
        if (!s) detail::block_forever(detail::WaitReason::ChanSendNil);
        detail::WaitNode* partner = nullptr;
        switch (s->try_send_locked(v, partner)) {
            case detail::ChanResult::Done:
                s->lock_.unlock();
                if (partner) detail::signal(partner);
                return;
            case detail::ChanResult::Closed: s->lock_.unlock(); throw ChannelClosed("goro: send on closed channel");
            case detail::ChanResult::WouldBlock: break;
        }
        detail::WaitNode node;
        node.data = &v;
        s->sendq_.push_back(&node);
        detail::block(s->lock_, node, detail::WaitReason::ChanSend);
        if (!node.ok) throw ChannelClosed("goro: send on closed channel");
    }

    // The rest of recv(), as send_slow. `out` is empty on entry.
    [[gnu::noinline]] void recv_slow(detail::ChanState<T>* s, std::optional<T>& out) const {
        if (!s) detail::block_forever(detail::WaitReason::ChanReceiveNil);
        detail::WaitNode* partner = nullptr;
        switch (s->try_recv_locked(out, partner)) {
            case detail::ChanResult::Done:
                s->lock_.unlock();
                if (partner) detail::signal(partner);
                return;
            case detail::ChanResult::Closed: s->lock_.unlock(); return;
            case detail::ChanResult::WouldBlock: break;
        }
        detail::WaitNode node;
        node.data = &out;
        s->recvq_.push_back(&node);
        detail::block(s->lock_, node, detail::WaitReason::ChanReceive);  // out stays nullopt when woken by close()
    }

    bool try_send_impl(T& v) const {
        detail::entry_preempt_point();  // a hog asked to yield does it here (runtime.hpp)
        if (!state_) return false;
        auto& s = *state_;
        detail::WaitNode* partner = nullptr;
        s.lock_.lock();
        detail::ChanResult r = s.try_send_locked(v, partner);
        s.lock_.unlock();
        if (r == detail::ChanResult::Closed) throw ChannelClosed("goro: send on closed channel");
        if (partner) detail::signal(partner);
        return r == detail::ChanResult::Done;
    }

    std::shared_ptr<detail::ChanState<T>> state_;
};

}  // namespace goro
