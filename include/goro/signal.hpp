/// @file goro/signal.hpp
/// @brief Signals as channels (Go's os/signal: Notify and Stop).
///
/// @code
/// goro::run([] {
///     goro::Chan<int> sigs = goro::signal_notify({SIGINT, SIGTERM});
///     goro::Chan<int> work_done;
///     goro::select(goro::case_recv(sigs, [](std::optional<int> sig) { std::printf("got signal %d\n", *sig); }),
///                  goro::case_recv(work_done, [](auto) {}));
///     goro::signal_stop(sigs);  // SIGINT and SIGTERM act as before again
/// });
/// @endcode
///
/// signal_notify() installs goro's handler for the signals (the first time
/// one is asked for) and returns a new channel that receives the number of
/// each one delivered to the process afterwards. Several channels may ask
/// for one signal: each receives it. As in Go, a channel that is full (it
/// holds 16) loses further signals rather than blocking anyone.
///
/// No goroutine code runs in the signal handler: the handler only writes the
/// number to a pipe (async-signal-safe), and one thread of goro's, started
/// with the first call, reads it and sends to the channels. So it works with
/// any signal mask in any thread, from goroutines and plain threads, across
/// several runtimes in sequence, and with no runtime at all. While any
/// channel is subscribed, that thread counts as one that may wake a
/// goroutine, so a program waiting for a signal is not reported as
/// deadlocked.
///
/// signal_stop(ch) stops delivery to ch (Go's signal.Stop); a signal no
/// channel asks for any more gets back the disposition it had before goro's
/// handler (SIG_DFL, SIG_IGN or the program's own handler). SIGKILL, SIGSTOP
/// and numbers outside 1..64 are std::invalid_argument, and so is a signal
/// the system refuses (32 and 33, kept by the C library); a call that throws
/// subscribes nothing. A channel closed while subscribed receives nothing
/// more (close it after signal_stop).
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, instead of failing deep inside a header
// (the missing #include is fatal, so the compiler goes no further).
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <goro/chan.hpp>

#include <csignal>
#include <initializer_list>

namespace goro {

/// A new channel that receives each of `signals` delivered from now on.
Chan<int> signal_notify(std::initializer_list<int> signals);
/// Stops delivery to `ch`; restores a signal's previous disposition when no
/// channel asks for it any more. A channel never subscribed: nothing.
void signal_stop(const Chan<int>& ch);

}  // namespace goro
