/// @file goro/select.hpp
/// @brief Go's select statement. (after(), the timeout case below,
/// is in goro/time.hpp; all are in goro/goro.hpp.)
///
/// @code
/// std::size_t i = goro::select(
///     goro::case_recv(ch, [&](std::optional<int> v) { /* nullopt: closed */ }),
///     goro::case_send(out, value, [&] { /* sent */ }),
///     goro::case_recv(goro::after(100ms), [&](auto) { /* timed out */ }),
///     goro::case_default([&] { /* nothing ready */ }));
/// @endcode
///
/// When several cases are ready, one is chosen uniformly at random; with none
/// ready and no case_default, select parks until one is. It returns the index
/// of the case that ran (case_default included). A case on Chan<T>::nil() is
/// never chosen. A send case on a closed channel throws ChannelClosed, as a
/// send does. select is a cancellation point when it parks.
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

#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

namespace goro {

namespace detail {

// One case of a select, type-erased for the non-template select core
// (runtime/chan/select.cpp).
struct SelectCase {
    ChanCore* core = nullptr;  // null: a nil channel or the default case
    bool is_default = false;
    bool is_send = false;
    WaitNode node;
    // Lock held: try to complete now (without parking).
    virtual ChanResult try_locked(WaitNode*& to_signal) = 0;
    // Lock held: link `node` into the channel's queue.
    virtual void enqueue_locked() = 0;
    // After the case was chosen and its operation completed: run the body.
    virtual void finish(ChanResult how) = 0;
    virtual ~SelectCase() = default;
};

std::size_t select_impl(SelectCase** cases, std::size_t n);

template <class T, class F>
struct RecvCase final : SelectCase {
    RecvCase(const Chan<T>& ch, F fn) : chan(ch), body(std::move(fn)) { core = ChanAccess<T>::state(chan); }
    ChanResult try_locked(WaitNode*& to_signal) override {
        return ChanAccess<T>::state(chan)->try_recv_locked(value, to_signal);
    }
    void enqueue_locked() override {
        node.data = &value;
        ChanAccess<T>::state(chan)->recvq_.push_back(&node);
    }
    void finish(ChanResult) override {
        if constexpr (std::is_invocable_v<F&, std::optional<T>>) body(std::move(value));
        else body();
    }
    Chan<T> chan;
    F body;
    std::optional<T> value;
};

template <class T, class F>
struct SendCase final : SelectCase {
    SendCase(const Chan<T>& ch, T v, F fn) : chan(ch), value(std::move(v)), body(std::move(fn)) {
        core = ChanAccess<T>::state(chan);
        is_send = true;
    }
    ChanResult try_locked(WaitNode*& to_signal) override {
        return ChanAccess<T>::state(chan)->try_send_locked(value, to_signal);
    }
    void enqueue_locked() override {
        node.data = &value;
        ChanAccess<T>::state(chan)->sendq_.push_back(&node);
    }
    void finish(ChanResult how) override {
        if (how == ChanResult::Closed) throw ChannelClosed("goro: send on closed channel");
        body();
    }
    Chan<T> chan;
    T value;
    F body;
};

template <class F>
struct DefaultCase final : SelectCase {
    explicit DefaultCase(F fn) : body(std::move(fn)) { is_default = true; }
    ChanResult try_locked(WaitNode*&) override { return ChanResult::WouldBlock; }
    void enqueue_locked() override {}
    void finish(ChanResult) override { body(); }
    F body;
};

struct Nothing {
    template <class... A>
    void operator()(A&&...) const noexcept {}
};

}  // namespace detail

/// case_recv(ch, fn): fn(std::optional<T>) — or fn() — runs when a value (or
/// the close) was received.
template <class T, class F = detail::Nothing>
detail::RecvCase<T, std::decay_t<F>> case_recv(const Chan<T>& ch, F&& fn = {}) {
    return detail::RecvCase<T, std::decay_t<F>>(ch, std::forward<F>(fn));
}

/// case_send(ch, v, fn): fn() runs once v was sent.
template <class T, class V, class F = detail::Nothing>
detail::SendCase<T, std::decay_t<F>> case_send(const Chan<T>& ch, V&& v, F&& fn = {}) {
    return detail::SendCase<T, std::decay_t<F>>(ch, T(std::forward<V>(v)), std::forward<F>(fn));
}

/// case_default(fn): makes select non-blocking; fn() runs when no case is ready.
template <class F = detail::Nothing>
detail::DefaultCase<std::decay_t<F>> case_default(F&& fn = {}) {
    return detail::DefaultCase<std::decay_t<F>>(std::forward<F>(fn));
}

/// select(cases...) runs exactly one case (Go's select statement): one chosen
/// at random among those ready, else case_default's if given, else it parks
/// until one is ready. Returns the index of the case that ran. See the file
/// comment for nil channels, closed channels and cancellation.
template <class... Cases>
std::size_t select(Cases&&... cases) {
    static_assert(sizeof...(Cases) > 0, "select needs at least one case");
    static_assert((std::is_base_of_v<detail::SelectCase, std::remove_reference_t<Cases>> && ...),
                  "select takes case_recv, case_send and case_default");
    detail::SelectCase* list[] = {&cases...};
    return detail::select_impl(list, sizeof...(Cases));
}

}  // namespace goro
