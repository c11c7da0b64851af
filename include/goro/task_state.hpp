// goro/task_state.hpp — the two enums of the asyncio layer: a task's state
// (Task<R>::state()) and when wait() returns. Included by goro/task.hpp.
#pragma once

#include <cstdint>

namespace goro {

// TaskState is a task's lifecycle, as asyncio's: Pending until its function
// ends; then Cancelled (it ended with goro::Cancelled) or Finished (a value,
// or any other exception).
enum class TaskState : std::uint8_t { Pending, Cancelled, Finished };

// ReturnWhen: when goro::wait returns (asyncio.FIRST_COMPLETED, ...).
enum class ReturnWhen : std::uint8_t { AllCompleted, FirstCompleted, FirstException };

}  // namespace goro
