// goro/runtime.hpp — starting a runtime, goroutines, and the worker count.
//
//   int main() {
//       return goro::run([] {
//           goro::WaitGroup wg;
//           for (int i = 0; i < 3; ++i) {
//               wg.add();
//               goro::go([&wg, i] { std::printf("Hello %d\n", i); wg.done(); });
//           }
//           wg.wait();
//           return 0;
//       });
//   }
//
// Environment, read by run(): GORO_MAXPROCS (then GOMAXPROCS, then num_cpu())
// workers, GORO_STACK_SIZE bytes per goroutine stack (K/M suffixes; default
// 64K). A bad value makes run() throw std::invalid_argument naming it.
//
// Goroutines migrate between worker threads when they park and resume, so a
// thread_local read before a blocking call may name another thread's variable
// after it. Keep per-goroutine state in the goroutine's own frame.
#pragma once

#include <goro/detail/spawn.hpp>
#include <goro/errors.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace goro {

// Config overrides the environment, within the same limits: maxprocs 1 to
// 10000, stack_size 16 KiB to 1 GiB (rounded up to 4 KiB pages). A value
// outside them makes run() throw std::invalid_argument naming it
// ("goro: Config::stack_size=... is out of range ...").
struct Config {
    int maxprocs = 0;            // worker threads; 0 = GORO_MAXPROCS / GOMAXPROCS / num_cpu()
    std::size_t stack_size = 0;  // bytes per goroutine stack; 0 = GORO_STACK_SIZE or 64 KiB
};

namespace detail {
// Runs `main` as the main goroutine of a new runtime on the calling thread and
// returns when the runtime has ended (leftover goroutines cancelled and
// unwound). Throws Deadlock, InvalidState, or std::invalid_argument for a bad
// environment; the main goroutine's own outcome is left in the caller's slots.
void run_runtime(const Config& cfg, std::function<void()> main);
}  // namespace detail

// run() starts a runtime, runs fn as its main goroutine, and returns fn's
// result (or rethrows its exception) after every other goroutine has ended.
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

template <class F>
auto run(F&& fn) -> std::invoke_result_t<F&> {
    return run(Config{}, std::forward<F>(fn));
}

// go() starts a detached goroutine. An exception escaping fn (other than
// Cancelled) ends the process with a message naming the goroutine, as a Go
// panic does. Callable from goroutines and from plain threads while a runtime
// runs; throws InvalidState when none does.
template <class F>
void go(F&& fn) {
    detail::spawn_goroutine(std::forward<F>(fn));
}

// yield() lets other goroutines run (runtime.Gosched). On a plain thread it
// yields the thread.
void yield();

// maxprocs() is the number of worker threads running goroutines now.
int maxprocs();
// set_maxprocs(n) changes it while running and returns the previous value;
// n <= 0 only asks; n above 10000 (the environment's limit) throws
// std::invalid_argument and changes nothing. Without a running runtime it
// returns 0 and does nothing.
// New workers start at once; workers beyond n stop at their next switch. A
// runtime started with one worker keeps that worker's queue to itself (it
// needs no atomic read-modify-write there): after growing it from a plain
// thread, the new workers take goroutines queued on the first one once that
// one next switches goroutines.
int set_maxprocs(int n);
// num_cpu() is the number of CPUs this process may use (affinity mask and
// cgroup quota respected).
int num_cpu();
// num_goroutines() counts the user goroutines alive now, the main one included.
std::size_t num_goroutines();

}  // namespace goro
