// runtime/env/config.hpp: settings the runtime takes from its surroundings.
//
// Contract: this is the only part of goro that reads the environment variables GORO_MAXPROCS, GOMAXPROCS and
// GORO_STACK_SIZE, /proc or cgroup files, and the only part that counts the CPU affinity mask. (The one other
// reader of the mask is sched/scheduler.cpp's place_new_worker(), which reads and sets a new worker thread's
// mask for a moment to move it to another CPU, and counts nothing.) Everything here is called when a runtime
// starts, never on a hot path. A bad value throws std::invalid_argument whose what() names the variable and the value
// ("GORO_MAXPROCS=abc"); nothing falls back silently to a default.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace goro::rt {

inline constexpr int kMaxProcsLimit = 10000;                      // the most workers; far above any real core count
inline constexpr std::size_t kStackPageSize = 4096;               // stack sizes are rounded up to this
inline constexpr std::size_t kMinStackSize = 16 * 1024;           // below this, ordinary frames overflow the guard
inline constexpr std::size_t kMaxStackSize = 1024 * 1024 * 1024;  // 1 GiB: a typo guard, not a real need

// maxprocs_from_env() reads GORO_MAXPROCS, then GOMAXPROCS (an empty value counts as unset) and returns the
// worker count it names, or 0 when neither is set. The first one set is the one parsed: an invalid
// GORO_MAXPROCS throws even if GOMAXPROCS is valid.
int maxprocs_from_env();

// stack_size_from_env() reads GORO_STACK_SIZE (an empty value counts as unset) and returns the size in bytes,
// rounded up to kStackPageSize, or 0 when unset.
std::size_t stack_size_from_env();

// parse_maxprocs() accepts a plain decimal integer in [1, kMaxProcsLimit]: no sign, spaces or suffix.
// var_name is used only in the error message.
int parse_maxprocs(std::string_view var_name, std::string_view value);

// checked_maxprocs() is the one range check of a worker count, from the environment (parse_maxprocs),
// Config::maxprocs or set_maxprocs: n in [1, kMaxProcsLimit], else std::invalid_argument naming
// "<name>=<n>".
int checked_maxprocs(std::string_view name, std::int64_t n);

// checked_stack_size() is the one range check of a stack size, from the environment (parse_stack_size) or
// Config::stack_size: bytes in [kMinStackSize, kMaxStackSize], returned rounded up to kStackPageSize; else
// std::invalid_argument naming "<name>=<value>".
std::size_t checked_stack_size(std::string_view name, std::string_view value, std::uint64_t bytes);

// parse_stack_size() accepts decimal bytes with an optional K/k (x1024) or M/m (x1048576) suffix, in
// [kMinStackSize, kMaxStackSize] once scaled, and returns it rounded up to kStackPageSize.
std::size_t parse_stack_size(std::string_view var_name, std::string_view value);

// cpu_quota_limit() turns a CFS quota and period (microseconds) into a CPU count: ceil(quota / period), at
// least 1, or 0 meaning "no limit" when quota or period is not positive (cgroup v1 writes -1 for none).
int cpu_quota_limit(std::int64_t quota_us, std::int64_t period_us);

// num_cpu_detect() returns the CPUs this process may use: the affinity mask, further limited by the cgroup
// v2 cpu.max or v1 cpu.cfs_quota_us / cpu.cfs_period_us of its cgroup and their ancestors; at least 1.
// Computed once, on first call (thread-safe), and cached: later affinity or quota changes are not seen.
int num_cpu_detect();

// GORO_DEBUG: comma-separated key=value settings, GODEBUG-style. Keys:
//   sigquit=0|1      SIGQUIT prints the goroutine dump and exits 2
//   schedtrace=MS    a line of scheduler state every MS milliseconds (1 to
//                    3600000; 0: off), to stderr (Go's format)
//   scheddetail=0|1  with schedtrace, a line per P too
//   slow=DURATION    report goroutines that run longer than DURATION without
//                    a switch (a number with ns, us, ms or s; 0: off)
// An unknown key or a bad value throws std::invalid_argument naming it.
struct DebugOptions {
    bool sigquit = false;
    std::int64_t schedtrace_ms = 0;
    bool scheddetail = false;
    std::int64_t slow_ns = 0;
};
// A duration with a unit: "150ms", "2s", "500us", "100000ns"; nullopt if not
// one, or beyond an hour.
std::optional<std::int64_t> parse_duration_ns(std::string_view s);
DebugOptions parse_goro_debug(std::string_view var_name, std::string_view value);
DebugOptions debug_from_env();

// GORO_TRACEBACK, Go's GOTRACEBACK: what a panic prints after its first
// lines. none: nothing more; single (the default; also 1): the panicking
// goroutine's block; all (also system, 2): every goroutine's; crash: as
// all, then abort() (a core dump where the system allows one) instead of
// exit status 2. Anything else throws std::invalid_argument naming it.
enum class Traceback { None, Single, All, Crash };
Traceback parse_traceback(std::string_view var_name, std::string_view value);
Traceback traceback_from_env();

// GORO_TRACE=PATH: record a timeline of scheduler events and write it to PATH,
// in the Chrome trace event format, when run() ends (debug/trace.hpp).
// GORO_TRACE_BUFFER=N: events kept per worker (a decimal count from 1 to
// kMaxTraceBufferEvents; default kDefaultTraceBufferEvents); the events past
// N are dropped and counted. A bad GORO_TRACE_BUFFER throws
// std::invalid_argument naming it, whether or not GORO_TRACE is set.
inline constexpr std::uint32_t kDefaultTraceBufferEvents = 1u << 16;  // 2 MiB of 32-byte events per worker
inline constexpr std::uint32_t kMaxTraceBufferEvents = 1u << 24;
struct TraceOptions {
    std::string path;  // empty: no trace
    std::uint32_t buffer_events = kDefaultTraceBufferEvents;
};
std::uint32_t parse_trace_buffer(std::string_view var_name, std::string_view value);
TraceOptions trace_from_env();

}  // namespace goro::rt
