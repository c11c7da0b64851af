/// @file goro/runtime.hpp
/// @brief starting a runtime, goroutines, and the worker count.
///
/// @code
/// int main() {
///     return goro::run([] {
///         goro::WaitGroup wg;
///         for (int i = 0; i < 3; ++i) {
///             wg.add();
///             goro::go([&wg, i] { std::printf("Hello %d\n", i); wg.done(); });
///         }
///         wg.wait();
///         return 0;
///     });
/// }
/// @endcode
///
/// Environment, read by run(): GORO_MAXPROCS (then GOMAXPROCS, then num_cpu())
/// workers, GORO_STACK_SIZE bytes per goroutine stack (K/M suffixes; default
/// 64K). A bad value makes run() throw std::invalid_argument naming it.
///
/// Goroutines migrate between worker threads when they park and resume, so a
/// thread_local read before a blocking call may name another thread's variable
/// after it. Keep per-goroutine state in the goroutine's own frame.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, instead of failing deep inside a header
// (the missing #include is fatal, so the compiler goes no further).
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <goro/detail/park.hpp>
#include <goro/detail/spawn.hpp>
#include <goro/errors.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace goro {

/// Config overrides the environment, within the same limits: maxprocs 1 to
/// 10000, stack_size 16 KiB to 1 GiB (rounded up to 4 KiB pages). A value
/// outside them makes run() throw std::invalid_argument naming it
/// ("goro: Config::stack_size=... is out of range ...").
struct Config {
    int maxprocs = 0;            ///< worker threads; 0 = GORO_MAXPROCS / GOMAXPROCS / num_cpu()
    std::size_t stack_size = 0;  ///< bytes per goroutine stack; 0 = GORO_STACK_SIZE or 64 KiB
};

namespace detail {
// Runs `main` as the main goroutine of a new runtime on the calling thread and
// returns when the runtime has ended (leftover goroutines cancelled and
// unwound). Throws Deadlock, InvalidState, or std::invalid_argument for a bad
// environment; the main goroutine's own outcome is left in the caller's slots.
void run_runtime(const Config& cfg, std::function<void()> main);
}  // namespace detail

/// run() starts a runtime, runs fn as its main goroutine, and returns fn's
/// result (or rethrows its exception) after every other goroutine has ended.
template <class F>
auto run(Config cfg, F&& fn) -> std::invoke_result_t<F&> {
    using R = std::invoke_result_t<F&>;
    std::exception_ptr error;
    if constexpr (std::is_void_v<R>) {
        detail::run_runtime(cfg, [&] {
            try {
                fn();
            } catch (...) {
                error = std::current_exception();
            }
        });
        if (error) std::rethrow_exception(error);
    } else {
        std::optional<R> result;
        detail::run_runtime(cfg, [&] {
            try {
                result.emplace(fn());
            } catch (...) {
                error = std::current_exception();
            }
        });
        if (error) std::rethrow_exception(error);
        return std::move(*result);
    }
}

/// run(fn) is run(Config{}, fn): the worker count and stack size from the
/// environment.
template <class F>
auto run(F&& fn) -> std::invoke_result_t<F&> {
    return run(Config{}, std::forward<F>(fn));
}

/// go() starts a detached goroutine. An exception escaping fn (other than
/// Cancelled) ends the process with a message naming the goroutine, as a Go
/// panic does. Callable from goroutines and from plain threads while a runtime
/// runs; throws InvalidState when none does.
///
/// A goroutine that has started 256 goroutines without parking or yielding
/// in between yields at its next go() or spawn(), to the back of the queue
/// behind them (as Go's preemption paces a spawning loop): a loop of go()
/// cannot queue goroutines faster than they start. A plain thread's go()
/// never yields.
template <class F>
void go(F&& fn) {
    detail::spawn_goroutine(std::forward<F>(fn));
    detail::entry_preempt_point();  // a hog asked to yield does it here (see below)
}

/// go(name, fn) is go(fn) for a goroutine with a name: the goroutine dump
/// (goro/debug.hpp) and a panic's message show it. The descriptor keeps its
/// own copy of the name until the goroutine ends.
template <class F>
void go(std::string name, F&& fn) {
    detail::spawn_named_goroutine(std::move(name), std::forward<F>(fn));
    detail::entry_preempt_point();
}

/// yield() lets other goroutines run (runtime.Gosched). On a plain thread it
/// yields the thread.
void yield();

/// maxprocs() is the number of worker threads meant to run goroutines (Go's
/// GOMAXPROCS). A worker that a goroutine blocks in plain code does not count
/// while it is blocked (see "Blocking in plain code" below): the process
/// may then have more threads running goroutines than this, never fewer.
int maxprocs();
/// set_maxprocs(n) changes it while running and returns the previous value;
/// n <= 0 only asks; n above 10000 (the environment's limit) throws
/// std::invalid_argument and changes nothing; if the system refuses a new
/// worker thread (out of memory or of threads), it throws std::system_error
/// and keeps the old count. Without a running runtime it returns 0 and does
/// nothing.
/// New workers start at once; workers beyond n stop at their next switch. A
/// runtime started with one worker keeps that worker's queue to itself (it
/// needs no atomic read-modify-write there): after growing it from a plain
/// thread, the new workers take goroutines queued on the first one once that
/// one next switches goroutines.
int set_maxprocs(int n);
// ---- Blocking in plain code (Go's guarantee for unmodified code)
//
// A goroutine may call code that blocks its thread — ::read on a pipe,
// ::nanosleep, std::this_thread::sleep_for, a std::mutex held elsewhere, a
// database client's blocking socket — or compute for long without a goro
// call. No change to that code is needed; the runtime's monitor thread
// watches the workers:
//  * a worker whose thread sleeps in the kernel inside one goroutine is
//    blocked: once goroutines wait for it (in its queue, or with no other
//    worker free: in the global queue, on a due timer, on ready I/O),
//    another thread starts running them in its place, typically within a
//    fraction of a millisecond of the work falling due (a few ms at worst),
//    so that maxprocs workers keep running goroutines;
//  * a goroutine that has computed for 10 ms without a goro call is a hog:
//    its next goro call yields (every blocking call, try_send, try_recv,
//    go, spawn, preempt_point), and its worker is replaced as
//    above if goroutines wait. goro cannot interrupt C++ code, so until the
//    hog reaches a goro call maxprocs + 1 threads use CPU (Go's preemption
//    bounds CPU use by GOMAXPROCS; goro bounds how long others wait).
// When the goroutine switches again, the extra worker stops at its next
// scheduling point (at most a few ms later). Extra threads are reused, end
// after 10 idle seconds, and count against the cap of 10000 workers
// (beyond it the waiting goroutines wait for a worker to come back). A
// goroutine inside such a call is never taken for a deadlock, and run()'s
// shutdown and cancellation wait for it to return to goro.

namespace detail {
// goro::blocking()'s marker: the P it entered on (null on a plain thread).
class BlockingMark {
public:
    BlockingMark() noexcept;
    ~BlockingMark();
    BlockingMark(const BlockingMark&) = delete;
    BlockingMark& operator=(const BlockingMark&) = delete;

private:
    void* p_ = nullptr;
    std::uint32_t seq_ = 0;
};
}  // namespace detail

/// blocking(fn) calls fn() right here, on this thread and stack, and returns
/// its result (or lets its exception through): thread_locals, locks held and
/// references stay valid, unlike run_blocking(), which hops to a pool
/// thread. It tells the runtime that fn may block the thread: if goroutines
/// wait now, another worker takes over at once (no wait for the monitor's
/// look), and later waiters are handed over at its next look; at fn's
/// return the extra worker is given back at once. A quick call while
/// nothing waits costs a few loads and stores (bench/RESULTS.md). fn should
/// not itself park in goro calls (it may, but the marker then lapses). From
/// a plain thread it is a plain call.
///
/// @code
/// goro::go([&] {
///     std::string row = goro::blocking([&] { return db.query_blocking(sql); });
///     results.send(std::move(row));
/// });
/// @endcode
template <class F>
decltype(auto) blocking(F&& fn) {
    detail::BlockingMark mark;
    return std::invoke(std::forward<F>(fn));
}

/// preempt_point() yields if the monitor asked the running goroutine to (it
/// has run 10 ms without a goro call), else costs one relaxed load. For loops
/// that compute for long and call nothing of goro:
///
/// @code
/// for (std::size_t i = 0; i < n; ++i) {
///     crunch(i);
///     if (i % 1024 == 0) goro::preempt_point();
/// }
/// @endcode
///
/// It never throws (cancellation is delivered at blocking calls, not here).
/// On a plain thread it does nothing.
inline void preempt_point() noexcept { detail::entry_preempt_point(); }

/// num_cpu() is the number of CPUs this process may use (affinity mask and
/// cgroup quota respected).
int num_cpu();
/// num_goroutines() counts the user goroutines alive now, the main one included.
std::size_t num_goroutines();

}  // namespace goro
