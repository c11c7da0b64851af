// debug/dump.hpp — the goroutine dump's internal entry points (dump.cpp):
// goro::dump_goroutines() and the reports that print it (the deadlock report
// in sched/idle.cpp, SIGQUIT, a goroutine's panic in sched/worker.cpp).
#pragma once

#include "env/config.hpp"
#include "sched/g.hpp"

#include <cstdio>
#include <map>
#include <string>

namespace goro::rt {

class Runtime;

// What a dump saw: how many goroutines, and how many wait for each reason.
struct DumpSummary {
    int goroutines = 0;
    std::map<std::string, int> reasons;  // wait reason (or "running", ...) -> count
};

// Writes every goroutine of r to out (see goro/debug.hpp); the block of
// `except` (the panicking goroutine, printed apart) is left out. Fills
// *summary when given.
void dump_runtime(Runtime* r, std::FILE* out, DumpSummary* summary = nullptr, const detail::G* except = nullptr);

// The header and stack of the calling goroutine g (it is running: its own
// stack is unwound directly), as dump_runtime prints it, with `state` in the
// brackets (e.g. "running"). For a panic's report: when an exception is
// being thrown (the caller is under __cxa_throw, __cxa_rethrow or
// std::rethrow_exception), the stack starts at the throw site.
std::string self_block(const detail::G* g, const char* state);

// Panics (sched/worker.cpp). install_panic_handler(), once per process at
// the first run(): goro's std::terminate handler, which reports a terminate
// on a goroutine with an exception in flight as that goroutine's panic and
// passes any other terminate to the handler installed before it.
// set_traceback() records GORO_TRACEBACK (read by each run()) for panics.
void install_panic_handler();
void set_traceback(Traceback t) noexcept;
Traceback traceback_setting() noexcept;

// GORO_DEBUG=sigquit=1 (run_runtime): from now on SIGQUIT prints
// "SIGQUIT: quit" and the goroutine dump to stderr and exits with status 2,
// as Go does. The handler only writes a byte to a pipe; a thread of its own
// (started here, once per process) does the dump. Installed once; it stays.
void install_sigquit_dump();

}  // namespace goro::rt
