// goro/time.hpp — sleeping. (after() is a channel: see goro/chan.hpp.)
//
// A sleeping goroutine costs no thread: it waits in the runtime's timer heap
// and the workers' idle parking folds the nearest deadline into its timeout.
// Sleeps never end early. Both are cancellation points.
#pragma once

#include <goro/detail/park.hpp>

#include <chrono>

namespace goro {

namespace detail {
void sleep_until_steady(TimePoint deadline);
}

template <class Clock, class Duration>
void sleep_until(const std::chrono::time_point<Clock, Duration>& t) {
    if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
        detail::sleep_until_steady(std::chrono::time_point_cast<detail::Clock::duration>(t));
    } else {
        auto left = t - Clock::now();
        detail::sleep_until_steady(detail::Clock::now() +
                                   std::chrono::ceil<detail::Clock::duration>(left));
    }
}

template <class Rep, class Period>
void sleep_for(const std::chrono::duration<Rep, Period>& d) {
    auto now = detail::Clock::now();
    if (d <= d.zero()) {
        detail::sleep_until_steady(now);
        return;
    }
    detail::sleep_until_steady(now + std::chrono::ceil<detail::Clock::duration>(d));
}

}  // namespace goro
