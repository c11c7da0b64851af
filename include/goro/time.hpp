/// @file goro/time.hpp
/// @brief sleeping, and after(), the channel that receives once
/// (time.After; implemented beside the timers, in runtime/time/).
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

#include <chrono>

namespace goro {

namespace detail {
void sleep_until_steady(TimePoint deadline);
Chan<std::chrono::steady_clock::time_point> after_chan(TimePoint when);
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

}  // namespace goro
