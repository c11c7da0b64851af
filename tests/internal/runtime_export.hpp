// tests/internal/runtime_export.hpp — the one door from the tests into the runtime's internals.
//
// The behavioural tests (goro_tests) see the public headers only. The unit tests of the runtime's
// cores (goro_internal_tests: tests/internal, tests/env) include this header and nothing else from
// runtime/ (the idea of Go's export_test.go): when an internal file is renamed or split, this header
// changes and the tests do not. Keep it narrow: each include below is there for the names listed
// beside it, and the tests use the aliases in goro_test::rt, not the runtime's namespaces.
//
// What the tests reach, and why:
//  * RunQueue<N> (runtime/sched/runq.hpp): a P's local queue, a template on its capacity so that a
//    test can shrink it to a few slots. G (runtime/sched/g.hpp, which runq.hpp includes) is the item
//    it holds; the tests compare pointers and write its id (to see that a taker reads what the
//    owner wrote), and hand one G to a task state as its goroutine (TaskCore::cancel() sets that
//    descriptor's cancellation flag).
//  * Timers / TimerNode (runtime/time/timers.hpp): the timer heap, used without a runtime.
//  * TaskCore / TaskShared<R> / TaskAccess / schedule_callbacks (<goro/task.hpp> and the detail
//    header behind it): the task state word, driven by plain threads playing the task's goroutine,
//    its waiters and its cancellers; clear_cancel_request and g_requests_pending (runtime/sched/g.hpp,
//    goro/detail/park.hpp) to check and undo the request a cancel() leaves on that fake goroutine.
//  * SpinLock (goro/detail/spinlock.hpp): the primitives' lock.
//  * guarded_stacks_budget (runtime/fiber/stack.hpp) and a G's Stack: the stack-overflow tests
//    (tests/fiber) spawn past the guard budget and ask whether the running goroutine's stack is guarded.
//  * StackPool / Stack / kWarmStacks (runtime/fiber/stack.hpp): the pool used without a runtime, for
//    its reservation accounting (tests/internal/stack_reservation_test.cpp); fail_slabs_after() makes
//    its next mapping fail as one out of memory would.
//  * guard_regions_in_use / force_mprotect_guards / kGuardSize / kDefaultStackSize
//    (runtime/fiber/stack.hpp): which kind of guard new slabs get, and the switch that forces the
//    mprotect fallback, so that tests/fiber runs the overflow cases on both kinds and
//    tests/fiber/guard_regions_test.cpp probes the guards of a pool's stacks.
//  * env/config.hpp: the environment parsing tested by tests/env/config_test.cpp (namespace goro::rt).
// goro_internal_dep compiles these tests with goro's own defines (GORO_ASSERTIONS, and
// GORO_RUNQ_CAPACITY when the meson option runtime_runq_capacity is set), so that an internal
// header means here what it means in the library.
#pragma once

#include "env/config.hpp"
#include "fiber/stack.hpp"
#include "sched/g.hpp"
#include "sched/runq.hpp"
#include "time/timers.hpp"

#include <goro/detail/park.hpp>
#include <goro/detail/spinlock.hpp>
#include <goro/task.hpp>

#include <cstdint>

namespace goro_test::rt {

using G = goro::detail::G;
template <std::uint32_t kCapacity>
using RunQueue = goro::rt::RunQueue<kCapacity>;

using TimerNode = goro::rt::TimerNode;
using Timers = goro::rt::Timers;
using TimePoint = goro::detail::TimePoint;

using SpinLock = goro::detail::SpinLock;

using Stack = goro::rt::Stack;
using StackPool = goro::rt::StackPool;
using goro::rt::kWarmStacks;
using goro::rt::kGuardSize;
using goro::rt::kDefaultStackSize;
// guard_regions_in_use(): slabs mapped from now on get a guard region (MADV_GUARD_INSTALL) below every
// stack; force_mprotect_guards(true) makes them use the fallback instead (false undoes it).
using goro::rt::guard_regions_in_use;
using goro::rt::force_mprotect_guards;

using TaskCore = goro::detail::TaskCore;
template <class R>
using TaskShared = goro::detail::TaskShared<R>;
using TaskAccess = goro::detail::TaskAccess;
// schedule_callbacks(task, cbs): what a task's goroutine does with the done callbacks its completion handed
// back (with no runtime running, they run on the caller).
using goro::detail::schedule_callbacks;
// The process-wide count of undelivered cancellation requests (g_cancel() adds one per fresh request).
using goro::detail::g_requests_pending;
// clear_cancel_request(g) drops g's undelivered cancellation request and its count in the process-wide
// tally, so a test that cancels a fake goroutine leaves the process as it found it.
using goro::detail::clear_cancel_request;

}  // namespace goro_test::rt
