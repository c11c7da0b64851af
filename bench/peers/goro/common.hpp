// Scaffolding shared by goro's versions of the peer workloads
// (bench/peers/README.md defines each workload): positive-integer
// environment knobs, the clock, VmRSS, the "_wN" worker suffix and the report
// line. Every figure is printed as
//
//   goro WORKLOAD METRIC VALUE UNIT
//
// with the same WORKLOAD and METRIC names as the Go, Boost.Fiber and asyncio
// peers, so bench/compare.sh can set them side by side. A wrong answer or a
// bad knob ends the process with a non-zero status and a message on stderr.
//
// Workers: goro::run() reads GORO_MAXPROCS, then GOMAXPROCS, then num_cpu();
// wsuffix() asks the running runtime (goro::maxprocs()), so call it inside run.
#pragma once

#include <goro/goro.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>

namespace bench {

using Clock = std::chrono::steady_clock;

// fail() reports a wrong answer and ends the process at once with status 1:
// std::_Exit, not exit, because it may be called from any goroutine while the
// runtime's workers are still running.
[[noreturn]] inline void fail(const std::string& what) {
    std::fflush(stdout);
    std::fprintf(stderr, "goro-peers: %s\n", what.c_str());
    std::fflush(stderr);
    std::_Exit(1);
}

// env_long() reads a positive integer knob; unset or empty gives `def`, and a
// value that is not a positive integer ends the process with status 2.
// allow_zero admits 0 too (SKYNET_BUF=0 means unbuffered).
inline long env_long(const char* name, long def, bool allow_zero = false) {
    const char* s = std::getenv(name);
    if (s == nullptr || *s == '\0') return def;
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(s, &end, 10);
    bool digits_only = true;
    for (const char* p = s; *p != '\0'; ++p) digits_only = digits_only && *p >= '0' && *p <= '9';
    if (!digits_only || *end != '\0' || errno == ERANGE || v < 0 || (v == 0 && !allow_zero)) {
        std::fprintf(stderr, "goro-peers: %s=\"%s\" is not a %s integer\n", name, s,
                     allow_zero ? "non-negative" : "positive");
        std::_Exit(2);
    }
    return v;
}

// wsuffix() is "_wN" for the N workers of the running runtime.
inline std::string wsuffix() { return "_w" + std::to_string(goro::maxprocs()); }

// size_tag(100000) is "100k", as in the peers' metric names.
inline std::string size_tag(long n) {
    if (n % 1000000 == 0) return std::to_string(n / 1000000) + "m";
    if (n % 1000 == 0) return std::to_string(n / 1000) + "k";
    return std::to_string(n);
}

inline double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

inline double ns_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
}

inline void report(const char* workload, const std::string& metric, double value, int decimals, const char* unit) {
    std::printf("goro %s %s %.*f %s\n", workload, metric.c_str(), decimals, value, unit);
    std::fflush(stdout);
}

// rss_bytes() is VmRSS from /proc/self/status.
inline long rss_bytes() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6) * 1024;
    fail("no VmRSS in /proc/self/status");
}

// main_guard() runs a workload's body and turns an escaping exception (a bad
// GORO_MAXPROCS from run(), Deadlock, ...) into a message and status 1.
template <class Body>
int main_guard(const char* workload, Body&& body) {
    try {
        body();
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "goro-peers: %s: %s\n", workload, e.what());
    } catch (...) {
        std::fprintf(stderr, "goro-peers: %s: unknown exception\n", workload);
    }
    return 1;
}

}  // namespace bench
