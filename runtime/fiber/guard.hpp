// fiber/guard.hpp — naming stack overflows (the contract).
//
// Owns: the process's SIGSEGV/SIGBUS handler, the alternate signal stack of
// each worker thread it runs on, and the one message every overflow ends
// with:
//
//   goro: goroutine N (name) overflowed its 64 KiB stack; raise GORO_STACK_SIZE
//
// (without " (name)" for a goroutine that has none), then abort(). Two ways
// lead there: a fault that the handler recognises as the running
// goroutine's (the fault address in the guard below its stack, a guard
// region or a PROT_NONE guard alike, or the faulting stack pointer below
// its stack's base), and a check after the
// fact: a goroutine switching away with its stack pointer below its base,
// or ending with its unguarded stack's canary bytes written (fiber/stack.hpp
// stack_pointer_inside / stack_intact_at_exit, called by the scheduler). Faults
// that are not goro's go to the handler that was installed before ours (or
// the default action: the process dies of the signal as it would have).
//
// The fiber layer does not know goroutines: the scheduler registers a
// lookup that names the goroutine running on the calling thread. It runs
// inside the signal handler, so it must be async-signal-safe (thread-local
// reads only).
#pragma once

#include "fiber/stack.hpp"

#include <cstddef>
#include <cstdint>

namespace goro::rt {

struct GoroutineOnThread {
    const Stack* stack = nullptr;
    std::uint64_t id = 0;
    const char* name = nullptr;  // null: no name
};
// Fills *out for the goroutine running on the calling thread; false when
// the thread runs none. Async-signal-safe.
using GoroutineLookup = bool (*)(GoroutineOnThread* out) noexcept;

// Installs the fault handler (once per process; a later call only replaces
// the lookup) and remembers the handlers it displaces.
void install_overflow_handler(GoroutineLookup lookup) noexcept;
// Gives the calling thread an alternate signal stack for the handler
// (idempotent; keeps one the thread already has; freed at thread exit).
void enable_alt_signal_stack() noexcept;
// Prints the message above to stderr and aborts. Async-signal-safe.
[[noreturn]] void report_overflow(std::uint64_t id, const char* name, std::size_t stack_size) noexcept;

}  // namespace goro::rt
