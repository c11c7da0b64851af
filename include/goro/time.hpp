/// @file goro/time.hpp
/// @brief sleeping; after(), the channel that receives once (time.After);
/// Timer, Ticker and after_func (time.Timer, time.Ticker, time.AfterFunc).
/// Implemented beside the timers, in runtime/time/.
///
/// @code
/// using namespace std::chrono_literals;
/// goro::run([] {
///     goro::sleep_for(10ms);                                  // time.Sleep
///     goro::sleep_until(std::chrono::steady_clock::now() + 5ms);
///     goro::Chan<int> results;
///     goro::go([results]() mutable { goro::sleep_for(1s); results.send(1); });
///     goro::select(
///         goro::case_recv(results, [](std::optional<int>) { /* in time */ }),
///         goro::case_recv(goro::after(100ms), [](auto) { /* timed out: this case */ }));
/// });
/// @endcode
///
/// A sleeping goroutine costs no thread: it waits in the runtime's timer heap
/// and the workers' idle parking folds the nearest deadline into its timeout.
/// Sleeps never end early. Both are cancellation points.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, instead of failing deep inside a header
// (the missing #include is fatal, so the compiler goes no further).
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <goro/chan.hpp>
#include <goro/detail/clock.hpp>
#include <goro/detail/park.hpp>
#include <goro/runtime.hpp>

#include <chrono>
#include <memory>
#include <type_traits>
#include <utility>

namespace goro {

namespace detail {
void sleep_until_steady(TimePoint deadline);
Chan<std::chrono::steady_clock::time_point> after_chan(TimePoint when);
struct ChanTimer;    // runtime/time/timer.cpp
struct TimerAccess;  // after_func's way in (below)

// ticker_period(d) is a Ticker's period in nanoseconds, saturating as every
// other duration does (clock.hpp): a century or more (hours::max()) ticks
// never, instead of wrapping to a negative or wrong period. Zero, NaN and
// negative periods stay zero or negative (at most a century below zero), for
// the Ticker to refuse.
template <class Rep, class Period>
constexpr std::chrono::nanoseconds ticker_period(const std::chrono::duration<Rep, Period>& d) {
    if (d > d.zero()) return saturating_nanos(d);
    if (!(d < d.zero())) return std::chrono::nanoseconds::zero();  // zero or NaN
    if (std::chrono::duration<double>(d) <= -std::chrono::duration<double>(kNoDeadline)) return -kNoDeadline;
    return std::chrono::floor<std::chrono::nanoseconds>(d);
}
}  // namespace detail

/// Any clock and precision; a time point too far ahead to represent (e.g.
/// time_point::max()) sleeps until cancelled.
template <class Clock, class Duration>
void sleep_until(const std::chrono::time_point<Clock, Duration>& t) {
    detail::sleep_until_steady(detail::deadline_at(t));
}

/// Any duration type; zero or negative yields (asyncio.sleep(0)); a century
/// or more (nanoseconds::max(), hours::max()) sleeps until cancelled.
template <class Rep, class Period>
void sleep_for(const std::chrono::duration<Rep, Period>& d) {
    detail::sleep_until_steady(detail::deadline_after(d));
}

/// after(d) is a channel that receives the time once, d from now (time.After),
/// for select's timeout cases. It never closes. A century or more
/// (hours::max()) never receives. As in Go 1.23, a channel nobody holds any
/// more takes its timer with it: dropping the last copy before d has passed
/// frees the channel and the timer at once (in a select loop, a million
/// abandoned after()s keep nothing).
template <class Rep, class Period>
Chan<std::chrono::steady_clock::time_point> after(const std::chrono::duration<Rep, Period>& d) {
    return detail::after_chan(detail::deadline_after(d));
}

/// Timer is Go's time.Timer: its channel c() receives the time once, when the
/// timer expires. Go 1.23's rules: after stop() or reset() returns, no value
/// prepared before the call is ever received (an expiry whose value nobody
/// took is taken back), and a timer nobody holds any more (neither a Timer
/// copy nor its channel) is stopped and freed. Copies share one timer.
/// A Timer needs a running runtime (else goro::InvalidState); stop() and
/// reset() may be called from any goroutine or thread.
///
/// @code
/// goro::Timer t(50ms);
/// goro::select(goro::case_recv(t.c(), [](auto) { /* expired */ }),
///              goro::case_recv(done, [&](auto) { t.stop(); }));
/// @endcode
class Timer {
public:
    /// Starts a timer that expires d from now (time.NewTimer).
    template <class Rep, class Period>
    explicit Timer(const std::chrono::duration<Rep, Period>& d) : Timer(detail::deadline_after(d)) {}

    /// The channel that receives the expiry time (Go's t.C); the nil
    /// channel for a timer made by after_func.
    const Chan<std::chrono::steady_clock::time_point>& c() const noexcept { return c_; }
    /// Stops the timer (t.Stop): true when this call kept the expiry from
    /// being received (the timer was pending, or had expired with its value
    /// not yet taken, which is discarded); false when it had already been
    /// received, or the timer was stopped. For after_func: true when fn will
    /// not run.
    bool stop() const;
    /// Re-arms it to expire d from now (t.Reset), discarding any expiry not
    /// yet received; returns what stop() would have.
    template <class Rep, class Period>
    bool reset(const std::chrono::duration<Rep, Period>& d) const {
        return reset_at(detail::deadline_after(d));
    }

private:
    friend struct detail::TimerAccess;
    explicit Timer(detail::TimePoint when);
    Timer(detail::TimePoint when, void (*run)(void*), std::shared_ptr<void> fn);  // after_func
    bool reset_at(detail::TimePoint when) const;

    Chan<std::chrono::steady_clock::time_point> c_;
    std::shared_ptr<detail::ChanTimer> t_;
};

/// Ticker is Go's time.Ticker: its channel c() receives the time every
/// period. A receiver that falls behind loses ticks instead of queueing them
/// (the channel holds at most one), and after stop() or reset() returns no
/// stale tick is received (Go 1.23). A period of zero or less throws
/// std::invalid_argument (Go panics). Copies share one ticker; one nobody
/// holds any more stops. Needs a running runtime, like Timer.
///
/// @code
/// goro::Ticker heartbeat(1s);
/// for (;;) { heartbeat.c().recv(); send_heartbeat(); }
/// @endcode
class Ticker {
public:
    /// Starts a ticker with the given period (time.NewTicker).
    template <class Rep, class Period>
    explicit Ticker(const std::chrono::duration<Rep, Period>& period)
        : Ticker(detail::ticker_period(period)) {}

    /// The channel that receives the ticks (Go's t.C).
    const Chan<std::chrono::steady_clock::time_point>& c() const noexcept { return c_; }
    /// Stops the ticks (t.Stop); a tick not yet received is discarded.
    void stop() const;
    /// Stops it and starts again with a new period (t.Reset): the next tick
    /// comes one period from now. A period of zero or less throws
    /// std::invalid_argument and changes nothing.
    template <class Rep, class Period>
    void reset(const std::chrono::duration<Rep, Period>& period) const {
        reset_period(detail::ticker_period(period));
    }

private:
    explicit Ticker(std::chrono::nanoseconds period);
    void reset_period(std::chrono::nanoseconds period) const;

    Chan<std::chrono::steady_clock::time_point> c_;
    std::shared_ptr<detail::ChanTimer> t_;
};

namespace detail {
// after_func's way into Timer: the callable is kept type-erased in the
// timer, and copied into a new goroutine each time the timer fires.
struct TimerAccess {
    template <class Fn>
    static Timer func_timer(TimePoint when, Fn&& fn) {
        using F = std::decay_t<Fn>;
        return Timer(
            when, [](void* f) { go([fn = *static_cast<F*>(f)]() mutable { fn(); }); },
            std::make_shared<F>(std::forward<Fn>(fn)));
    }
};
}  // namespace detail

/// after_func(d, fn) runs fn on a new goroutine d from now (time.AfterFunc)
/// and returns a Timer whose stop() keeps fn from running (true) or tells
/// that it has started (false), and whose reset() schedules it again. An
/// exception escaping fn is a goroutine's panic, as with go(). The returned
/// Timer's c() is the nil channel. Needs a running runtime.
template <class Rep, class Period, class Fn>
Timer after_func(const std::chrono::duration<Rep, Period>& d, Fn&& fn) {
    static_assert(std::is_invocable_v<std::decay_t<Fn>&>, "goro::after_func: fn must be callable with no arguments");
    return detail::TimerAccess::func_timer(detail::deadline_after(d), std::forward<Fn>(fn));
}

}  // namespace goro
