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

// The pool's threads (busy or idle), idle threads, and jobs queued for a
// thread, read under its lock (goro::runtime_stats()).
struct BlockingPoolCounts {
    int threads = 0, idle = 0, queued = 0;
};
BlockingPoolCounts blocking_pool_counts() noexcept;

// Limits of the run_blocking pool (documented in <goro/task.hpp>).
inline constexpr int kBlockingMaxThreads = 64;
inline constexpr int kBlockingIdleSeconds = 10;

}  // namespace goro::detail
