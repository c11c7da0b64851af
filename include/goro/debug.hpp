/// @file goro/debug.hpp
/// @brief See every goroutine: dump_goroutines(), the goroutine dump.
///
/// dump_goroutines() prints every live goroutine in Go's format: a header
/// with its id, what it waits for (Go's words: "chan receive",
/// "sync.Mutex.Lock", "IO wait", ...) and for how long, its name if it has
/// one, its stack with demangled function names (and file:line where debug
/// information exists), and the goroutine that started it:
///
/// @code
/// #include <goro/debug.hpp>
/// #include <goro/goro.hpp>
///
/// int main() {
///     goro::run([] {
///         goro::Chan<int> ch;
///         goro::go("reader", [ch]() mutable { ch.recv(); });
///         goro::sleep_for(10ms);
///         goro::dump_goroutines(stderr);  // goroutine 2 [chan receive]: ...
///         ch.send(1);
///     });
/// }
/// @endcode
///
/// The same dump is printed when run() finds every goroutine asleep (before
/// it throws goro::Deadlock), and on SIGQUIT when the environment has
/// GORO_DEBUG=sigquit=1 (then the process exits with status 2). A panic (an
/// exception escaping go()) prints the panicking goroutine's block with the
/// stack from where the exception was thrown; GORO_TRACEBACK=all adds every
/// other goroutine's block, `crash` then calls abort() (a core dump) instead
/// of exiting with status 2, `none` leaves only the first lines.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, as the other headers do.
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <cstdio>

namespace goro {

/// dump_goroutines(out) writes a block for every live goroutine of the
/// running runtime to `out`, sorted by id, each block written whole:
///
///     goroutine 7 [chan receive, 2 minutes]:
///     name: fetcher
///     consume(goro::Chan<int>)
///         /src/app.cpp:42 +0x1d
///     ...
///     created by goroutine 1 (main)
///
/// The state is the wait reason of a parked goroutine, with the time it has
/// waited when that is at least a minute (Go's rule); "running" for the
/// calling goroutine and for one a worker runs at this instant; "syscall" for
/// one inside goro::blocking(); "runnable" for one queued to run. The stack
/// is shown for the caller and for parked goroutines (up to 64 frames): a
/// parked goroutine is held still while its stack is read (a wake-up that
/// arrives meanwhile is delivered when the dump lets go of it), so the trace
/// is exact; another running goroutine's stack cannot be read from outside.
/// Callable from goroutines and plain threads; without a running runtime it
/// writes nothing. It allocates and takes a process-wide lock: not for
/// signal handlers. Goroutines started after the dump began may be missing.
void dump_goroutines(std::FILE* out);

}  // namespace goro
