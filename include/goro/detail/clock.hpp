// goro/detail/clock.hpp — the clock every wait uses, and the one rule that
// turns a user's duration or time point into a deadline. Internal: included
// by the public headers' templates, not part of the API.
//
// Every timeout in goro (sleeps, after(), park_until, wait/wait_for, the
// network's connect, read and write timeouts and wait_readable) goes through
// deadline_after() or deadline_at(), so every one saturates the same way:
//  * d <= 0 (or NaN) is "now": the wait does not wait (a poll);
//  * d at or beyond kNoDeadline (a century) is no deadline at all
//    (TimePoint::max()), so that nanoseconds::max() or hours::max() wait
//    forever instead of overflowing into the past;
//  * anything between is rounded up to the clock's tick: never shorter than
//    asked.
#pragma once

#include <chrono>
#include <type_traits>

namespace goro::detail {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Nanos = std::chrono::nanoseconds;

// kNoDeadline: the one saturation limit for durations. A century: far beyond
// any real timeout, while now + it still fits the steady clock's 64-bit
// nanoseconds (which end ~292 years after the clock's epoch, the boot).
inline constexpr std::chrono::seconds kNoDeadline{3'155'760'000};  // 100 years of 365.25 days

// deadline_after(d) is now + d, for any duration type, saturating as above.
template <class Rep, class Period>
TimePoint deadline_after(const std::chrono::duration<Rep, Period>& d) {
    auto now = Clock::now();
    if (!(d > d.zero())) return now;  // also a NaN floating-point duration
    if (std::chrono::duration<double>(d) >= std::chrono::duration<double>(kNoDeadline)) return TimePoint::max();
    return now + std::chrono::ceil<Clock::duration>(d);
}

// saturating_nanos(d) is d in nanoseconds, rounded up, with the same limits:
// 0 for d <= 0, kNoDeadline for d at or beyond it (which deadline_after()
// then reads as no deadline). For interfaces that take nanoseconds.
template <class Rep, class Period>
constexpr Nanos saturating_nanos(const std::chrono::duration<Rep, Period>& d) {
    if (!(d > d.zero())) return Nanos::zero();
    if (std::chrono::duration<double>(d) >= std::chrono::duration<double>(kNoDeadline)) return kNoDeadline;
    return std::chrono::ceil<Nanos>(d);
}

// deadline_at(t) is t on the steady clock, for a time point of any clock and
// precision; saturating like deadline_after().
template <class C, class D>
TimePoint deadline_at(const std::chrono::time_point<C, D>& t) {
    if constexpr (std::is_same_v<C, Clock>) {
        using Ticks = std::chrono::duration<double, Clock::period>;
        Ticks ticks = std::chrono::duration_cast<Ticks>(t.time_since_epoch());
        if (ticks.count() >= static_cast<double>(TimePoint::max().time_since_epoch().count())) return TimePoint::max();
        if (ticks.count() <= static_cast<double>(TimePoint::min().time_since_epoch().count())) return TimePoint::min();
        return TimePoint(std::chrono::ceil<Clock::duration>(t.time_since_epoch()));
    } else {
        // Another clock: how long until t on it, from now on ours. t and
        // C::now() meet in their common duration type: a t of coarse
        // precision far from the clock's epoch would overflow there
        // (sys_seconds::max() in nanoseconds wraps into the past), so how far
        // ahead it is is judged in floating point first; within a century of
        // now, the conversion is exact and safe.
        const auto now = C::now();
        using Seconds = std::chrono::duration<double>;
        const Seconds ahead = Seconds(t.time_since_epoch()) - Seconds(now.time_since_epoch());
        if (ahead >= Seconds(kNoDeadline)) return TimePoint::max();
        if (!(ahead > -Seconds(kNoDeadline))) return Clock::now();  // long past (or NaN)
        if (t <= now) return Clock::now();
        return deadline_after(t - now);
    }
}

}  // namespace goro::detail
