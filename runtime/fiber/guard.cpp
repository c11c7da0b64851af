// fiber/guard.cpp — the fault handler that names stack overflows. See
// guard.hpp for the contract.
//
// The handler runs on the thread's alternate signal stack (a goroutine that
// overflowed has no stack left to run it on). It asks the scheduler's lookup
// which goroutine runs on this thread and calls the fault an overflow when
// the fault address lies in the kGuardSize region below that goroutine's
// stack, or when the interrupted stack pointer lies below the stack's base
// (an unguarded stack's runaway recursion faults wherever it first meets an
// unmapped page or another stack's guard). Both kinds of guard
// (fiber/stack.hpp) raise SIGSEGV with the faulting address in si_addr: a
// guard region (MADV_GUARD_INSTALL) as SEGV_MAPERR, like an unmapped page, a
// PROT_NONE guard as SEGV_ACCERR. The handler reads only the address and
// the stack pointer, never si_code, so one test covers both (checked on
// both by tests/fiber/stack_safety_test.cpp). Anything else is passed on: to
// the previous SA_SIGINFO handler, to a previous plain handler, or, for the
// default action, by restoring it and returning, so that the faulting
// instruction faults again and the process dies of the signal as it would
// have without goro (a signal sent with kill() is re-raised instead).
//
// Victims: a runaway recursion on an unguarded stack writes over the stacks
// below it in its slab before it faults at the slab's bottom guard, and
// another worker may resume one of those goroutines first and crash on its
// garbage. A fault on a thread whose goroutine has an unguarded stack, that
// is not an overflow of its own, therefore waits 2 s before it is passed
// on, for the runaway to reach its guard and be named (measured: more than
// 300 ms on the loaded 2-CPU test machine, when the runaway has to fault in
// ~90 MiB of fresh stack pages on its way down). The price: a genuine crash
// of such a goroutine comes 2 s late. Guarded stacks never wait: with guard
// regions that is every stack (no runaway can reach a neighbour, so no
// victims), in the mprotect fallback the first ~16,000.
//
// Alternate stacks: enable_alt_signal_stack() maps one (64 KiB, with a guard
// page below) for each thread that runs goroutines; a thread_local frees it
// when the thread ends. A thread that already had one keeps it.
#include "fiber/guard.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace goro::rt {
namespace {

std::atomic<GoroutineLookup> g_lookup{nullptr};
struct sigaction g_old_segv;
struct sigaction g_old_bus;

constexpr std::size_t kAltStackSize = 64 * 1024;
constexpr std::size_t kAltGuard = 4096;

struct AltStack {
    void* mem = nullptr;
    ~AltStack() {
        if (!mem) return;
        stack_t off{};
        off.ss_flags = SS_DISABLE;
        ::sigaltstack(&off, nullptr);
        ::munmap(mem, kAltStackSize + kAltGuard);
    }
};
thread_local AltStack t_alt;

char* append(char* p, const char* s) noexcept {
    while (*s) *p++ = *s++;
    return p;
}
char* append_u64(char* p, std::uint64_t v) noexcept {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

void* fault_sp([[maybe_unused]] void* uc) noexcept {
#if defined(__x86_64__)
    return reinterpret_cast<void*>(static_cast<ucontext_t*>(uc)->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
    return reinterpret_cast<void*>(static_cast<ucontext_t*>(uc)->uc_mcontext.sp);
#else
    return nullptr;
#endif
}

void pass_on(int sig, siginfo_t* info, void* uc) noexcept {
    const struct sigaction& old = sig == SIGSEGV ? g_old_segv : g_old_bus;
    if (old.sa_flags & SA_SIGINFO) {
        if (old.sa_sigaction) old.sa_sigaction(sig, info, uc);
        return;
    }
    if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN && old.sa_handler) {
        old.sa_handler(sig);
        return;
    }
    // The default action: restore it; a fault recurs when we return, a
    // signal from kill() or raise() does not, so send that one again.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(sig, &dfl, nullptr);
    if (info->si_code <= 0) ::raise(sig);
}

void on_fault(int sig, siginfo_t* info, void* uc) {
    int saved_errno = errno;
    GoroutineLookup lookup = g_lookup.load(std::memory_order_acquire);
    GoroutineOnThread who;
    if (lookup && lookup(&who) && who.stack && *who.stack) {
        const char* base = static_cast<const char*>(who.stack->base);
        const char* addr = static_cast<const char*>(info->si_addr);
        const char* sp = static_cast<const char*>(fault_sp(uc));
        bool in_guard = addr < base && addr >= base - kGuardSize;
        // Below the base, but not absurdly far (a fault on a thread that is
        // between two goroutines' stacks at that moment is not an overflow).
        bool sp_below = sp && sp < base && static_cast<std::size_t>(base - sp) < (std::size_t{1} << 30);
        if (in_guard || sp_below) report_overflow(who.id, who.name, who.stack->size);
        // A goroutine on an unguarded stack crashed for another reason. It
        // may be the victim of a runaway recursion on another worker that
        // wrote over its stack and has not yet reached its slab's guard
        // (where it will be named): give that one a moment to do so.
        if (!who.stack->guarded) {
            timespec pause{2, 0};
            while (::nanosleep(&pause, &pause) != 0 && errno == EINTR) {
            }
        }
    }
    errno = saved_errno;
    pass_on(sig, info, uc);
}

}  // namespace

void report_overflow(std::uint64_t id, const char* name, std::size_t stack_size) noexcept {
    char msg[512];
    char* p = append(msg, "goro: goroutine ");
    p = append_u64(p, id);
    if (name) {
        p = append(p, " (");
        std::size_t len = ::strnlen(name, 200);
        std::memcpy(p, name, len);
        p += len;
        p = append(p, ")");
    }
    p = append(p, " overflowed its ");
    p = append_u64(p, stack_size / 1024);
    p = append(p, " KiB stack; raise GORO_STACK_SIZE\n");
    for (const char* q = msg; q < p;) {
        ssize_t n = ::write(2, q, static_cast<std::size_t>(p - q));
        if (n <= 0) break;
        q += n;
    }
    std::abort();
}

// At every runtime's start: a handler installed after ours (by the program,
// a test framework, a sanitizer) is displaced again, and becomes the one
// faults that are not goro's go to.
void install_overflow_handler(GoroutineLookup lookup) noexcept {
    g_lookup.store(lookup, std::memory_order_release);
    struct sigaction sa {};
    sa.sa_sigaction = &on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGSEGV, SIGBUS}) {
        struct sigaction cur {};
        if (::sigaction(sig, nullptr, &cur) != 0) continue;
        if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == &on_fault) continue;  // ours already
        // The old action is written before ours is in place (a fault in
        // between finds the old handler still installed).
        (sig == SIGSEGV ? g_old_segv : g_old_bus) = cur;
        ::sigaction(sig, &sa, nullptr);
    }
}

void enable_alt_signal_stack() noexcept {
    if (t_alt.mem) return;
    stack_t cur{};
    if (::sigaltstack(nullptr, &cur) == 0 && !(cur.ss_flags & SS_DISABLE)) return;  // the thread has one
    void* mem = ::mmap(nullptr, kAltStackSize + kAltGuard, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) return;  // no handler stack: a guarded overflow then dies of plain SIGSEGV
    ::mprotect(mem, kAltGuard, PROT_NONE);
    stack_t ss{};
    ss.ss_sp = static_cast<char*>(mem) + kAltGuard;
    ss.ss_size = kAltStackSize;
    if (::sigaltstack(&ss, nullptr) != 0) {
        ::munmap(mem, kAltStackSize + kAltGuard);
        return;
    }
    t_alt.mem = mem;
}

}  // namespace goro::rt
