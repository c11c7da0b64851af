// tests/debug/gdb_target.cpp — the program that tests/debug/gdb_test.py
// debugs with dist/gdb/goro-gdb.py: goroutines parked in a channel receive,
// a sleep and a mutex lock, one spinning on another worker, and the main
// goroutine stopped at goro_test_breakpoint(). Each waits in a function of
// its own (noinline, distinctly named) that its backtrace must show.
//
// Run alone it ends by itself: main releases the spinner, the receiver and
// the mutex waiter; run() cancels the sleeper.
#include <goro/goro.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>

using namespace std::chrono_literals;

namespace {
std::atomic<int> g_about_to_park{0};
std::atomic<bool> g_spinning{false};
std::atomic<bool> g_stop{false};
}  // namespace

// The debugger's breakpoint: the main goroutine stops here, running. With
// GDBT_ABORT set it aborts instead, for a core file written by the kernel.
extern "C" [[gnu::noinline]] void goro_test_breakpoint() {
    if (std::getenv("GDBT_ABORT")) std::abort();
    asm volatile("" ::: "memory");
}

[[gnu::noinline]] void gdbt_wait_in_chan_receive(goro::Chan<int> ch) {
    g_about_to_park.fetch_add(1);
    ch.recv();
    asm volatile("" ::: "memory");  // no tail call: this frame stays on the stack
}
[[gnu::noinline]] void gdbt_wait_in_sleep() {
    g_about_to_park.fetch_add(1);
    goro::sleep_for(1h);
    asm volatile("" ::: "memory");
}
[[gnu::noinline]] void gdbt_wait_in_mutex_lock(goro::Mutex& mu) {
    g_about_to_park.fetch_add(1);
    mu.lock();
    mu.unlock();
    asm volatile("" ::: "memory");
}
// Running on a worker thread, with no goro call inside the loop.
[[gnu::noinline]] void gdbt_spin_on_cpu() {
    g_spinning.store(true);
    while (!g_stop.load(std::memory_order_relaxed)) asm volatile("pause" ::: "memory");
}

int main() {
    goro::run(goro::Config{2, 0}, [] {
        goro::Chan<int> ch;
        static goro::Mutex mu;  // outlives main's lambda: the locker unlocks it after main returns
        mu.lock();
        goro::go("gdbt-receiver", [ch] { gdbt_wait_in_chan_receive(ch); });
        goro::go("gdbt-sleeper", [] { gdbt_wait_in_sleep(); });
        goro::go("gdbt-locker", [] { gdbt_wait_in_mutex_lock(mu); });
        goro::go("gdbt-spinner", [] { gdbt_spin_on_cpu(); });
        while (g_about_to_park.load() < 3 || !g_spinning.load()) goro::sleep_for(1ms);
        goro::sleep_for(100ms);  // from "about to park" to parked
        goro_test_breakpoint();
        g_stop.store(true);
        ch.send(1);
        mu.unlock();
    });
    return 0;
}
