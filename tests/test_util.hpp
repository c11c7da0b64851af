// tests/test_util.hpp: what every goro test shares.
//
//  * scale(n): shrinks big counts under sanitizers (ASan/UBSan/TSan run 5-50x slower) or when the
//    environment says so (GORO_TEST_SCALE=<divisor>, e.g. GORO_TEST_SCALE=10).
//  * GCHECK(cond): an assertion usable from any goroutine or plain thread. Catch2 v2 is not thread-safe, so
//    only the test's own thread and the main goroutine (one sequential flow, wherever it runs) may use
//    CHECK/REQUIRE; everything else records failures here and run_at() reports them afterwards.
//  * run_at(procs, fn) / for_each_maxprocs({1, 2, 4}, body): run a body as the main goroutine of a fresh
//    runtime with `procs` workers (CONTRIBUTING.md: every behavioural test at several maxprocs).
//  * eventually(pred) / stays(pred): bounded polling, usable on goroutines and plain threads, so that a
//    broken runtime fails a test instead of hanging it.
//  * in_child(body): run body in a forked child and get its exit status and stderr (panics, deadlock
//    reports, GORO_DEBUG output: whatever ends or marks the process).
//  * EnvVar, Tracked/LiveCount, rss_bytes(), process_cpu_time(): environment, destructor counting, and
//    /proc-based resource probes.
#pragma once

#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// GORO_TEST_SANITIZED: set by tests/meson.build when b_sanitize is on; detected here as well.
#if !defined(GORO_TEST_SANITIZED)
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GORO_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer) || \
    __has_feature(undefined_behavior_sanitizer)
#define GORO_TEST_SANITIZED 1
#endif
#endif
#endif
#if !defined(GORO_TEST_SANITIZED)
#define GORO_TEST_SANITIZED 0
#endif

// GORO_TEST_TSAN: ThreadSanitizer, whose runtime counts every fiber as a thread (8128 at most at once).
#if !defined(GORO_TEST_TSAN)
#if defined(__SANITIZE_THREAD__)
#define GORO_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GORO_TEST_TSAN 1
#endif
#endif
#endif
#if !defined(GORO_TEST_TSAN)
#define GORO_TEST_TSAN 0
#endif

namespace goro_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline constexpr bool kSanitized = GORO_TEST_SANITIZED != 0 || GORO_TEST_TSAN != 0;
inline constexpr bool kThreadSanitizer = GORO_TEST_TSAN != 0;

// scale_divisor() is GORO_TEST_SCALE when set to a positive integer, else 10 in sanitized builds, else 1.
inline long scale_divisor() {
    static const long divisor = [] {
        if (const char* s = ::getenv("GORO_TEST_SCALE"); s && *s) {
            char* end = nullptr;
            long v = std::strtol(s, &end, 10);
            if (end && *end == '\0' && v > 0) return v;
        }
        return kSanitized ? 10L : 1L;
    }();
    return divisor;
}

// scale(n) is n divided by scale_divisor(), at least 1.
inline long scale(long n) { return std::max(1L, n / scale_divisor()); }

// scale_alive(n) is scale(n) for a count of goroutines alive at the same time: under TSan also at most
// 4000, since its runtime gives each fiber a thread slot and dies past 8128 of them.
inline long scale_alive(long n) { return kThreadSanitizer ? std::min(scale(n), 4000L) : scale(n); }

// ratio_slack() widens the generous timing ratios in sanitized builds, where every switch and spawn costs
// far more while a sleep still lasts as long.
inline long ratio_slack() { return kSanitized ? 10 : 1; }

// current_thread() is std::this_thread::get_id() read afresh: pthread_self(), beneath it, is declared
// const, so an inline read before a park or a yield may be reused after it, when the goroutine may be on
// another thread. Out of line, with an empty asm so that no compiler infers it const in turn.
#if defined(__GNUC__) && !defined(__clang__)
[[gnu::noipa]]
#else
[[gnu::noinline]]
#endif
inline std::thread::id
current_thread() {
    asm volatile("" ::: "memory");
    return std::this_thread::get_id();
}

// The worker counts behavioural tests run at: 1, 2, 4, and every CPU when there are more than 4.
inline std::vector<int> default_procs() {
    std::vector<int> v{1, 2, 4};
    int all = goro::num_cpu();
    if (all > 4) v.push_back(all);
    return v;
}

// ---- thread-safe failure recording --------------------------------------------------------------

struct Failures {
    std::mutex mu;
    std::vector<std::string> messages;  // guarded by mu; the first few only
    std::atomic<long> count{0};
};

inline Failures& failures() {
    static Failures f;
    return f;
}

inline void record_failure(const std::string& what, const char* file, int line) {
    Failures& f = failures();
    f.count.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> g(f.mu);
    if (f.messages.size() < 20) {
        std::ostringstream os;
        os << file << ":" << line << ": GCHECK(" << what << ") failed";
        f.messages.push_back(os.str());
    }
}

// check_no_failures() reports (through Catch, on the calling thread) every GCHECK failure recorded since the
// last call, and clears them. Call it only from the test's thread or the main goroutine.
inline void check_no_failures() {
    Failures& f = failures();
    std::vector<std::string> msgs;
    long n = 0;
    {
        std::lock_guard<std::mutex> g(f.mu);
        msgs.swap(f.messages);
        n = f.count.exchange(0, std::memory_order_relaxed);
    }
    for (const auto& m : msgs) UNSCOPED_INFO(m);
    CHECK(n == 0);
}

}  // namespace goro_test

// GCHECK(cond): usable anywhere (goroutines, plain threads); evaluates cond once; never throws.
#define GCHECK(...)                                                                                         \
    do {                                                                                                    \
        if (!static_cast<bool>(__VA_ARGS__)) ::goro_test::record_failure(#__VA_ARGS__, __FILE__, __LINE__); \
    } while (0)

namespace goro_test {

// ---- running bodies on a runtime -----------------------------------------------------------------

// run_at() runs fn as the main goroutine of a runtime with `procs` workers (and `stack_size`, 0 = default),
// returns its result, and then reports the GCHECK failures recorded meanwhile.
template <class F>
auto run_at(int procs, F&& fn, std::size_t stack_size = 0) {
    struct Report {
        ~Report() { check_no_failures(); }
    } report;
    return goro::run(goro::Config{procs, stack_size}, std::forward<F>(fn));
}

// for_each_maxprocs({1, 2, 4}, body) runs body(procs) as the main goroutine at each worker count.
template <class F>
void for_each_maxprocs(std::initializer_list<int> procs_list, F&& body) {
    for (int procs : procs_list) {
        INFO("maxprocs = " << procs);
        run_at(procs, [&] { body(procs); });
    }
}

// The same over default_procs(): 1, 2, 4 and every CPU.
template <class F>
void for_each_maxprocs(F&& body) {
    for (int procs : default_procs()) {
        INFO("maxprocs = " << procs);
        run_at(procs, [&] { body(procs); });
    }
}

// ---- bounded waiting ---------------------------------------------------------------------------

// eventually() polls pred every millisecond (goro::sleep_for: parks a goroutine, blocks a plain thread) until
// it holds or `timeout` passes; returns whether it held.
template <class P>
bool eventually(P&& pred, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        if (pred()) return true;
        if (Clock::now() >= deadline) return false;
        goro::sleep_for(1ms);
    }
}

// stays() checks that pred holds throughout `period` (polled every millisecond).
template <class P>
bool stays(P&& pred, std::chrono::milliseconds period = 30ms) {
    auto deadline = Clock::now() + period;
    do {
        if (!pred()) return false;
        goro::sleep_for(1ms);
    } while (Clock::now() < deadline);
    return pred();
}

// ---- misuse --------------------------------------------------------------------------------------

// throws_closed(fn) tells whether fn() throws goro::ChannelClosed (Go's shouldPanic in its channel tests).
template <class F>
bool throws_closed(F&& fn) {
    try {
        fn();
    } catch (const goro::ChannelClosed&) {
        return true;
    }
    return false;
}

// ---- environment ---------------------------------------------------------------------------------

// EnvVar sets (value) or unsets (nullptr) one variable for its scope and restores the old state afterwards.
class EnvVar {
public:
    EnvVar(const char* name, const char* value) : name_(name) {
        if (const char* old = ::getenv(name)) old_ = old;
        if (value) ::setenv(name, value, 1);
        else ::unsetenv(name);
    }
    ~EnvVar() {
        if (old_) ::setenv(name_, old_->c_str(), 1);
        else ::unsetenv(name_);
    }
    EnvVar(const EnvVar&) = delete;
    EnvVar& operator=(const EnvVar&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

// ---- destructor counting -------------------------------------------------------------------------

struct LiveCount {
    std::atomic<long> live{0};       // constructed and not yet destroyed
    std::atomic<long> destroyed{0};  // every destruction, copies and moved-from objects included
};

// Tracked counts its own copies in a LiveCount; put one in a goroutine's captures or frame.
class Tracked {
public:
    explicit Tracked(LiveCount& c) : c_(&c) { c_->live.fetch_add(1); }
    Tracked(const Tracked& o) : c_(o.c_) { c_->live.fetch_add(1); }
    Tracked(Tracked&& o) noexcept : c_(o.c_) { c_->live.fetch_add(1); }
    Tracked& operator=(const Tracked&) = delete;
    ~Tracked() {
        c_->live.fetch_sub(1);
        c_->destroyed.fetch_add(1);
    }

private:
    LiveCount* c_;
};

// ---- resource probes ----------------------------------------------------------------------------

// rss_bytes() is VmRSS from /proc/self/status, or 0 when unreadable.
inline long long rss_bytes() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("VmRSS:", 0) == 0) {
            long long kb = std::atoll(line.c_str() + 6);
            return kb * 1024;
        }
    }
    return 0;
}

// cpu_time_from_stat() is utime + stime of /proc/self/stat (clock ticks, 10 ms granularity), as a duration.
inline std::chrono::microseconds cpu_time_from_stat() {
    std::ifstream in("/proc/self/stat");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = all.rfind(')');  // the command name may hold spaces; fields restart after it
    if (close == std::string::npos) return std::chrono::microseconds(0);
    std::istringstream fields(all.substr(close + 2));
    std::string f;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; fields >> f; ++i) {  // field 3 is the state
        if (i == 14) utime = std::stoull(f);
        if (i == 15) {
            stime = std::stoull(f);
            break;
        }
    }
    long hz = ::sysconf(_SC_CLK_TCK);
    return std::chrono::microseconds((utime + stime) * 1000000ULL / static_cast<unsigned long long>(hz));
}

// thread_dirs() lists /proc/self/task/TID of every thread of the process now; thread_name(dir) is its
// comm (the name top -H shows), "" when unreadable.
inline std::vector<std::string> thread_dirs() {
    std::vector<std::string> dirs;
    DIR* d = ::opendir("/proc/self/task");
    if (!d) return dirs;
    while (dirent* e = ::readdir(d))
        if (e->d_name[0] != '.') dirs.push_back(std::string("/proc/self/task/") + e->d_name);
    ::closedir(d);
    return dirs;
}
inline std::string thread_name(const std::string& dir) {
    std::ifstream f(dir + "/comm");
    std::string name;
    std::getline(f, name);
    return name;
}

// process_cpu_time() is the CPU time of all threads of the process (CLOCK_PROCESS_CPUTIME_ID: ns precision).
inline std::chrono::microseconds process_cpu_time() {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return std::chrono::microseconds(static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000);
}

inline double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A child forked from a process with threads cannot start threads under TSan
// (it dies saying so), and a runtime starts threads: every test that forks a
// child which runs goro calls this first and returns when it says so.
inline bool skip_fork_under_tsan() {
    if (!kThreadSanitizer) return false;
    WARN("skipped under TSan: a child forked from a threaded process cannot start threads there");
    return true;
}

// in_child(body) forks, runs body in the child with its stderr going to a
// pipe, and returns the child's wait status and what it wrote there. The
// child exits 0 when body returns, 3 when body throws. In the child, SIGABRT,
// SIGSEGV and SIGBUS are left to their default action (Catch2's handlers would
// print a report of the parent's test; goro's own handler is installed again by
// run()), stdout goes to /dev/null and no core file is written.
struct ChildResult {
    int status = 0;
    std::string err;  // the child's stderr
    bool aborted() const { return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT; }
    bool exited_ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

inline ChildResult in_child(const std::function<void()>& body) {
    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    std::fflush(nullptr);  // or the child's copy of the buffers is written again
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(pipefd[0]);
        ::dup2(pipefd[1], 2);
        ::close(pipefd[1]);
        int devnull = ::open("/dev/null", O_WRONLY);
        if (devnull >= 0) ::dup2(devnull, 1);
        for (int sig : {SIGABRT, SIGSEGV, SIGBUS}) ::signal(sig, SIG_DFL);
        rlimit no_core{0, 0};
        ::setrlimit(RLIMIT_CORE, &no_core);
        int code = 0;
        try {
            body();
        } catch (...) {
            code = 3;
        }
        std::fflush(nullptr);
        ::_exit(code);
    }
    ::close(pipefd[1]);
    ChildResult r;
    char buf[4096];
    for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) != 0;) {
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        r.err.append(buf, static_cast<std::size_t>(n));
    }
    ::close(pipefd[0]);
    while (::waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
    }
    return r;
}

}  // namespace goro_test
