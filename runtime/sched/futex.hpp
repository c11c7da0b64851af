// sched/futex.hpp — blocking an OS thread on a 32-bit word (Linux futex).
//
// Used by idle workers and by plain threads parked in goro primitives. The
// deadline is a steady_clock time point, which on Linux is CLOCK_MONOTONIC,
// the clock FUTEX_WAIT_BITSET measures absolute timeouts against.
#pragma once

#include <goro/detail/park.hpp>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <ctime>

namespace goro::rt {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t), "futex word layout");

// Sleeps while *word == expected, until woken or `deadline` (if any). May
// return spuriously: callers loop on their own condition.
inline void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                       const detail::TimePoint* deadline = nullptr) noexcept {
    if (deadline) {
        if (*deadline == detail::TimePoint::max()) deadline = nullptr;
    }
    if (deadline) {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline->time_since_epoch()).count();
        if (ns < 0) ns = 0;
        timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
        ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected,
                  &ts, nullptr, FUTEX_BITSET_MATCH_ANY);
    } else {
        ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT | FUTEX_PRIVATE_FLAG, expected, nullptr,
                  nullptr, 0);
    }
}

inline void futex_wake(std::atomic<std::uint32_t>* word, int count = 1) noexcept {
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, nullptr,
              nullptr, 0);
}

}  // namespace goro::rt
