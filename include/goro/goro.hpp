/// @file goro/goro.hpp
/// @brief everything: goroutines, channels and select, sync, time,
/// the asyncio-style tasks, and the network. See README.md for a tour.
///
/// @code
/// #include <goro/goro.hpp>
/// int main() {
///     return goro::run([] {
///         goro::Chan<int> ch;
///         goro::go([ch]() mutable { ch.send(6 * 7); });        // Go side
///         auto task = goro::spawn([] { return 1; });           // asyncio side
///         return *ch.recv() == 42 && task.get() == 1 ? 0 : 1;
///     });
/// }
/// @endcode
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, instead of failing deep inside a header
// (the missing #include is fatal, so the compiler goes no further).
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <goro/chan.hpp>
#include <goro/context.hpp>
#include <goro/debug.hpp>
#include <goro/errors.hpp>
#include <goro/local.hpp>
#include <goro/net.hpp>
#include <goro/metrics.hpp>
#include <goro/runtime.hpp>
#include <goro/select.hpp>
#include <goro/signal.hpp>
#include <goro/sync.hpp>
#include <goro/task.hpp>
#include <goro/task_group.hpp>
#include <goro/time.hpp>
#include <goro/version.hpp>
