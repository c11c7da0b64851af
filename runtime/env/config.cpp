// runtime/env/config.cpp: environment variables, CPU count and cgroup quota.
//
// Owns: parsing GORO_MAXPROCS / GOMAXPROCS / GORO_STACK_SIZE (and GORO_DEBUG, GORO_TRACEBACK, GORO_TRACE,
// GORO_TRACE_BUFFER), and detecting how many CPUs the process may
// use. It decides nothing: the scheduler picks maxprocs (Config, then the environment, then num_cpu()) and
// fiber/ applies the stack size. What else in goro may read the same sources: the contract atop config.hpp.
//
// Rules:
//   - A set variable must parse completely or the call throws std::invalid_argument naming the variable and
//     the value ("goro: GORO_MAXPROCS=abc is not ..."). No silent default, no clamping, no partial parse:
//     "4x", " 2", "+2" and "-3" are all errors. An empty value means unset, as in Go.
//   - num_cpu_detect() = min(affinity mask count, tightest cgroup CPU quota on the path to the root), >= 1.
//     A quota is ceil(quota / period): 1.5 CPUs worth of quota keeps 2 workers busy (the JDK's container
//     support rounds the same way).
//   - Unreadable or missing /proc and cgroup files mean "no limit", never an error: num_cpu() must work in
//     any sandbox.
//
// Rejected designs:
//   - std::stoi / strtol: both skip leading spaces, accept signs and stop at the first bad char, so "4x" and
//     " 2" would pass. std::from_chars over an all-digit string is exact.
//   - Reading only /sys/fs/cgroup/cpu.max: a quota may be set on a parent cgroup, so we walk from the process's
//     own cgroup (from /proc/self/cgroup) up to the mount root and keep the smallest limit.
//   - Recomputing on every call: cgroup reads cost syscalls, and a changing answer would surprise callers.
//
// Sources: Linux Documentation/admin-guide/cgroup-v2.rst ("cpu.max"), Documentation/scheduler/sched-bwc.rst
// (CFS bandwidth control, v1 cfs_quota_us / cfs_period_us), cgroups(7) for /proc/self/cgroup.
#include "env/config.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

namespace goro::rt {
namespace {

[[noreturn]] void throw_bad_value(std::string_view var, std::string_view value, std::string_view why) {
    std::string msg = "goro: ";
    msg.append(var).append("=").append(value).append(" ").append(why);
    throw std::invalid_argument(msg);
}

// parse_digits() returns the value of a non-empty all-digit string, or nullopt (also on uint64 overflow).
std::optional<std::uint64_t> parse_digits(std::string_view s) {
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// env_value() returns the variable's value, or nullopt when it is unset or empty.
std::optional<std::string_view> env_value(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string_view(v);
}

// ---- CPU detection ----

std::optional<std::string> read_first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    return line;
}

std::optional<std::int64_t> parse_int64(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.remove_suffix(1);
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// v2 cpu.max holds "$MAX $PERIOD", MAX being "max" when unlimited.
int cpu_max_limit(const std::string& dir) {
    auto line = read_first_line(dir + "/cpu.max");
    if (!line) return 0;
    std::string_view s = *line;
    auto space = s.find(' ');
    if (space == std::string_view::npos) return 0;
    auto quota = parse_int64(s.substr(0, space));  // nullopt for "max"
    auto period = parse_int64(s.substr(space + 1));
    return quota && period ? cpu_quota_limit(*quota, *period) : 0;
}

int cfs_quota_limit(const std::string& dir) {
    auto quota = read_first_line(dir + "/cpu.cfs_quota_us");
    auto period = read_first_line(dir + "/cpu.cfs_period_us");
    if (!quota || !period) return 0;
    auto q = parse_int64(*quota);
    auto p = parse_int64(*period);
    return q && p ? cpu_quota_limit(*q, *p) : 0;
}

// Cgroup paths of this process from /proc/self/cgroup ("id:controllers:path"); empty when not found.
struct OwnCgroups {
    std::string v2;      // from the "0::path" line
    std::string v1_cpu;  // from the line whose controller list contains "cpu"
};

bool lists_cpu_controller(std::string_view controllers) {
    while (!controllers.empty()) {
        auto comma = controllers.find(',');
        if (controllers.substr(0, comma) == "cpu") return true;
        if (comma == std::string_view::npos) break;
        controllers.remove_prefix(comma + 1);
    }
    return false;
}

OwnCgroups read_own_cgroups() {
    OwnCgroups own;
    std::ifstream in("/proc/self/cgroup");
    for (std::string line; std::getline(in, line);) {
        std::string_view s = line;
        auto c1 = s.find(':');
        auto c2 = c1 == std::string_view::npos ? c1 : s.find(':', c1 + 1);
        if (c2 == std::string_view::npos) continue;
        std::string_view id = s.substr(0, c1), controllers = s.substr(c1 + 1, c2 - c1 - 1), path = s.substr(c2 + 1);
        if (id == "0" && controllers.empty()) own.v2 = path;
        else if (lists_cpu_controller(controllers)) own.v1_cpu = path;
    }
    return own;
}

// tightest_limit() applies limit_of() to mount + path and each ancestor up to mount, and returns the smallest
// positive result (0 = no limit). In a container without a cgroup namespace the path may not exist under the
// mount; those directories are skipped and the mount root, which is then the container's cgroup, still counts.
template <typename LimitOf>
int tightest_limit(const std::string& mount, std::string path, LimitOf limit_of) {
    int best = 0;
    for (;;) {
        while (!path.empty() && path.back() == '/') path.pop_back();
        int n = limit_of(mount + path);
        if (n > 0 && (best == 0 || n < best)) best = n;
        if (path.empty()) return best;
        auto slash = path.rfind('/');
        path.erase(slash == std::string::npos ? 0 : slash);
    }
}

int cgroup_cpu_limit() {
    OwnCgroups own = read_own_cgroups();
    int best = 0;
    auto tighten = [&best](int n) {
        if (n > 0 && (best == 0 || n < best)) best = n;
    };
    tighten(tightest_limit("/sys/fs/cgroup", own.v2, cpu_max_limit));
    for (const char* mount : {"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"}) {
        tighten(tightest_limit(mount, own.v1_cpu, cfs_quota_limit));
    }
    return best;
}

// affinity_count() counts the affinity mask, growing the set past 1024 CPUs when the kernel asks (EINVAL).
int affinity_count() {
    for (int ncpu = CPU_SETSIZE; ncpu <= (1 << 20); ncpu *= 2) {
        cpu_set_t* set = CPU_ALLOC(ncpu);
        if (set == nullptr) break;
        std::size_t size = CPU_ALLOC_SIZE(ncpu);
        int rc = sched_getaffinity(0, size, set);
        int err = errno;
        int count = rc == 0 ? CPU_COUNT_S(size, set) : 0;
        CPU_FREE(set);
        if (rc == 0 && count > 0) return count;
        if (rc != 0 && err != EINVAL) break;
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? static_cast<int>(online) : 1;
}

int detect_cpus() {
    int n = affinity_count();
    int quota = cgroup_cpu_limit();
    if (quota > 0) n = std::min(n, quota);
    return std::max(n, 1);
}

const std::string kBadWorkerCount =
    "is not a valid worker count (want an integer from 1 to " + std::to_string(kMaxProcsLimit) + ")";

}  // namespace

int parse_maxprocs(std::string_view var_name, std::string_view value) {
    auto v = parse_digits(value);
    if (!v || *v < 1 || *v > static_cast<std::uint64_t>(kMaxProcsLimit)) {
        throw_bad_value(var_name, value, kBadWorkerCount);
    }
    return static_cast<int>(*v);
}

int checked_maxprocs(std::string_view name, std::int64_t n) {
    if (n < 1 || n > kMaxProcsLimit) {
        throw_bad_value(name, std::to_string(n), kBadWorkerCount);
    }
    return static_cast<int>(n);
}

std::size_t checked_stack_size(std::string_view name, std::string_view value, std::uint64_t bytes) {
    if (bytes < kMinStackSize || bytes > kMaxStackSize) {
        throw_bad_value(name, value, "is out of range (want a stack size from 16K to 1024M, i.e. 1 GiB)");
    }
    return static_cast<std::size_t>((bytes + kStackPageSize - 1) / kStackPageSize * kStackPageSize);
}

std::size_t parse_stack_size(std::string_view var_name, std::string_view value) {
    std::string_view digits = value;
    std::uint64_t scale = 1;
    if (!digits.empty()) {
        switch (digits.back()) {
            case 'K':
            case 'k': scale = 1024; break;
            case 'M':
            case 'm': scale = 1024 * 1024; break;
            default: break;
        }
        if (scale != 1) digits.remove_suffix(1);
    }
    auto v = parse_digits(digits);
    if (!v || *v > std::numeric_limits<std::uint64_t>::max() / scale) {
        throw_bad_value(var_name, value, "is not a valid stack size (want bytes, optionally with a K or M suffix)");
    }
    return checked_stack_size(var_name, value, *v * scale);
}

int maxprocs_from_env() {
    for (const char* name : {"GORO_MAXPROCS", "GOMAXPROCS"}) {
        if (auto value = env_value(name)) return parse_maxprocs(name, *value);
    }
    return 0;
}

std::optional<std::int64_t> parse_duration_ns(std::string_view s) {
    std::size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
    auto n = parse_digits(s.substr(0, digits));
    if (!n) return std::nullopt;
    const std::string_view unit = s.substr(digits);
    std::uint64_t scale;
    if (unit == "ns") scale = 1;
    else if (unit == "us") scale = 1'000;
    else if (unit == "ms") scale = 1'000'000;
    else if (unit == "s") scale = 1'000'000'000;
    else return std::nullopt;
    constexpr std::uint64_t kHour = 3'600'000'000'000;
    if (*n > kHour / scale) return std::nullopt;
    return static_cast<std::int64_t>(*n * scale);
}

DebugOptions parse_goro_debug(std::string_view var_name, std::string_view value) {
    DebugOptions o;
    std::string_view rest = value;
    while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (item.empty()) continue;
        auto eq = item.find('=');
        std::string_view key = item.substr(0, eq);
        std::string_view v = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
        auto flag = [&](bool& out) {
            if (v == "1") out = true;
            else if (v == "0") out = false;
            else
                throw_bad_value(var_name, value,
                                "is not valid: " + std::string(key) + " takes 0 or 1, not '" + std::string(v) + "'");
        };
        if (key == "sigquit") {
            flag(o.sigquit);
        } else if (key == "scheddetail") {
            flag(o.scheddetail);
        } else if (key == "schedtrace") {
            auto ms = parse_digits(v);
            if (!ms || *ms > 3'600'000)
                throw_bad_value(var_name, value,
                                "is not valid: schedtrace takes milliseconds from 0 to 3600000, not '" +
                                    std::string(v) + "'");
            o.schedtrace_ms = static_cast<std::int64_t>(*ms);
        } else if (key == "slow") {
            auto ns = parse_duration_ns(v);
            if (!ns)
                throw_bad_value(var_name, value,
                                "is not valid: slow takes a duration with a unit (ns, us, ms, s; e.g. 100ms), not '" +
                                    std::string(v) + "'");
            o.slow_ns = *ns;
        } else {
            throw_bad_value(var_name, value,
                            "is not valid: unknown key '" + std::string(key) +
                                "' (known: sigquit, schedtrace, scheddetail, slow)");
        }
    }
    return o;
}

DebugOptions debug_from_env() {
    auto value = env_value("GORO_DEBUG");
    return value ? parse_goro_debug("GORO_DEBUG", *value) : DebugOptions{};
}

Traceback parse_traceback(std::string_view var_name, std::string_view value) {
    if (value == "none" || value == "0") return Traceback::None;
    if (value == "single" || value == "1" || value.empty()) return Traceback::Single;
    if (value == "all" || value == "system" || value == "2") return Traceback::All;
    if (value == "crash") return Traceback::Crash;
    throw_bad_value(var_name, value, "is not valid (want none, single, all, system or crash)");
}

Traceback traceback_from_env() {
    auto value = env_value("GORO_TRACEBACK");
    return value ? parse_traceback("GORO_TRACEBACK", *value) : Traceback::Single;
}

std::uint32_t parse_trace_buffer(std::string_view var_name, std::string_view value) {
    auto n = parse_digits(value);
    if (!n || *n < 1 || *n > kMaxTraceBufferEvents)
        throw_bad_value(var_name, value,
                        "is not valid: want a count of events per worker from 1 to " +
                            std::to_string(kMaxTraceBufferEvents));
    return static_cast<std::uint32_t>(*n);
}

TraceOptions trace_from_env() {
    TraceOptions o;
    if (auto value = env_value("GORO_TRACE_BUFFER")) o.buffer_events = parse_trace_buffer("GORO_TRACE_BUFFER", *value);
    if (auto value = env_value("GORO_TRACE")) o.path = std::string(*value);
    return o;
}

std::size_t stack_size_from_env() {
    auto value = env_value("GORO_STACK_SIZE");
    return value ? parse_stack_size("GORO_STACK_SIZE", *value) : 0;
}

int cpu_quota_limit(std::int64_t quota_us, std::int64_t period_us) {
    if (quota_us <= 0 || period_us <= 0) return 0;
    std::int64_t n = quota_us / period_us + (quota_us % period_us != 0 ? 1 : 0);
    return static_cast<int>(std::clamp<std::int64_t>(n, 1, std::numeric_limits<int>::max()));
}

int num_cpu_detect() {
    static const int cpus = detect_cpus();  // C++11 magic static: computed once, thread-safe
    return cpus;
}

}  // namespace goro::rt
