// task/blocking_pool.hpp — what the runtime and the tests see of the
// run_blocking pool (task/blocking_pool.cpp). Internal: the job type and
// run_blocking_job(), which the run_blocking template calls, are in
// <goro/detail/task_impl.hpp>.
#pragma once

#include <goro/detail/task_impl.hpp>

#include <cstdint>

namespace goro::detail {

// blocking_jobs_in_flight() counts run_blocking calls whose function has not
// returned yet (queued or running): a deadlock detector must treat each as a
// future wake-up. Tests read it too.
std::int64_t blocking_jobs_in_flight() noexcept;

// Limits of the run_blocking pool (documented in <goro/task.hpp>).
inline constexpr int kBlockingMaxThreads = 64;
inline constexpr int kBlockingIdleSeconds = 10;

}  // namespace goro::detail
