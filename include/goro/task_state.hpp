/// @file goro/task_state.hpp
/// @brief the two enums of the asyncio layer: a task's state
/// (Task<R>::state()) and when wait() returns. Included by goro/task.hpp.
///
/// @code
/// goro::run([] {
///     std::vector<goro::Task<int>> tasks{goro::spawn([] { return 1; }), goro::spawn([] { return 2; })};
///     auto [done, pending] = goro::wait(tasks, goro::ReturnWhen::FirstCompleted);
///     bool finished = done.front().state() == goro::TaskState::Finished;   // true
///     (void)finished;
/// });
/// @endcode
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, instead of failing deep inside a header
// (the missing #include is fatal, so the compiler goes no further).
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <cstdint>

namespace goro {

/// TaskState is a task's lifecycle, as asyncio's: Pending until its function
/// ends; then Cancelled (it ended with goro::Cancelled) or Finished (a value,
/// or any other exception).
enum class TaskState : std::uint8_t { Pending, Cancelled, Finished };

/// ReturnWhen: when goro::wait returns (asyncio.FIRST_COMPLETED, ...).
enum class ReturnWhen : std::uint8_t { AllCompleted, FirstCompleted, FirstException };

}  // namespace goro
