/// @file goro/context.hpp
/// @brief Context: Go's context package — cancellation trees with deadlines
/// and request-scoped values (implemented in runtime/sync/context.cpp).
///
/// @code
/// goro::run([] {
///     auto [timed, cancel] = goro::with_timeout(goro::background(), 50ms);
///     goro::Context ctx = timed;  // a variable a lambda can capture (not a structured binding)
///     goro::Chan<int> results;
///     goro::go([ctx, results] {
///         for (int i = 0;; ++i)
///             if (goro::select(goro::case_send(results, i, [] {}),
///                              goro::case_recv(ctx.done(), [](auto) {})) == 1)
///                 return;  // the context is done: stop producing
///     });
///     results.recv();
///     cancel();  // always release a context's resources when done with it
///     ctx.done().recv();
///     std::printf("%s\n", ctx.err() == goro::ContextError::Canceled ? "canceled" : "deadline exceeded");
/// });
/// @endcode
///
/// A Context is a cheap, copyable handle. Its done() channel is closed when
/// the context is cancelled: by its cancel function, by its deadline, or
/// because its parent was; err() then says which (Canceled or
/// DeadlineExceeded). Cancelling a parent cancels every descendant at once;
/// a child never cancels its parent. A cancelled context lets go of its
/// timer and of its parent's reference to it, so a loop that makes and
/// cancels child contexts keeps nothing. Contexts work on goroutines and on
/// plain threads alike; cancelling one is safe from any thread, and twice.
///
/// Cancellation through a Context is cooperative, as in Go: code selects on
/// done() or checks err(). It does not send goro's own cancellation request
/// (Task::cancel) to anyone; a goroutine that should be interrupted inside
/// any blocking call is better run as a Task and cancelled.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, instead of failing deep inside a header
// (the missing #include is fatal, so the compiler goes no further).
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <goro/chan.hpp>
#include <goro/detail/clock.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <variant>

namespace goro {

/// Why a context is done (Go's context.Canceled and context.DeadlineExceeded);
/// None while it is not.
enum class ContextError { None, Canceled, DeadlineExceeded };

/// A key for Context values (Go uses an unexported key type; here the key
/// object's address is its identity, and V is the type of its values):
/// `inline const goro::ContextKey<std::string> request_id;`
template <class V>
struct ContextKey {
    /// The type of the values stored under this key.
    using value_type = V;
};

namespace detail {
struct ContextState;  // runtime/sync/context.cpp
}

class Context;
/// The function that cancels a context made by with_cancel, with_timeout or
/// with_deadline (Go's CancelFunc): idempotent, callable from any thread.
using CancelFunc = std::function<void()>;

/// Context carries a cancellation signal, an optional deadline and values
/// across API boundaries (Go's context.Context); see the file comment.
class Context {
public:
    /// The background context (context.Background): never done, no values.
    Context() = default;

    /// A channel closed when the context is done; the nil channel (never
    /// ready) for a context that can never be cancelled.
    Chan<std::monostate> done() const;
    /// None while not done; then Canceled or DeadlineExceeded.
    ContextError err() const noexcept;
    /// The deadline, if this context or an ancestor has one (the earliest).
    std::optional<std::chrono::steady_clock::time_point> deadline() const noexcept;

    /// The value stored for key by this context or the nearest ancestor
    /// that has one (ctx.Value), or nullptr.
    template <class V>
    const V* value(const ContextKey<V>& key) const noexcept {
        return static_cast<const V*>(find_value(&key));
    }

private:
    friend std::pair<Context, CancelFunc> with_cancel(const Context& parent);
    friend std::pair<Context, CancelFunc> with_deadline_at(const Context& parent, detail::TimePoint deadline);
    template <class V, class U>
    friend Context with_value(const Context& parent, const ContextKey<V>& key, U&& value);
    static Context with_value_erased(const Context& parent, const void* key, std::shared_ptr<const void> value);

    explicit Context(std::shared_ptr<detail::ContextState> s) noexcept : s_(std::move(s)) {}
    const void* find_value(const void* key) const noexcept;

    std::shared_ptr<detail::ContextState> s_;  // null: background
};

/// The root of every context tree (context.Background).
inline Context background() { return Context(); }

/// A child that is done when cancel is called or the parent is done
/// (context.WithCancel).
std::pair<Context, CancelFunc> with_cancel(const Context& parent);

/// A child done at the deadline too (context.WithDeadline); err() is then
/// DeadlineExceeded. A deadline already past gives a context done at once.
std::pair<Context, CancelFunc> with_deadline_at(const Context& parent, detail::TimePoint deadline);
/// with_deadline_at for a time point of any clock (context.WithDeadline).
template <class Clock, class Duration>
std::pair<Context, CancelFunc> with_deadline(const Context& parent,
                                             const std::chrono::time_point<Clock, Duration>& deadline) {
    return with_deadline_at(parent, detail::deadline_at(deadline));
}
/// with_deadline(parent, now + d) (context.WithTimeout).
template <class Rep, class Period>
std::pair<Context, CancelFunc> with_timeout(const Context& parent, const std::chrono::duration<Rep, Period>& d) {
    return with_deadline_at(parent, detail::deadline_after(d));
}

/// A child that carries key = value (context.WithValue); it is done when
/// its parent is.
template <class V, class U>
Context with_value(const Context& parent, const ContextKey<V>& key, U&& value) {
    return Context::with_value_erased(parent, &key, std::make_shared<const V>(std::forward<U>(value)));
}

}  // namespace goro
