// fiber/context.hpp — switching between execution contexts (the contract).
//
// Owns: the machine-level switch (Boost.Context's fcontext), what must travel
// with a goroutine across a switch (the C++ exception globals and errno), and
// the sanitizer annotations that make ASan and TSan follow the switch. Nothing
// else in goro includes Boost.Context or the sanitizer interfaces.
//
// A Context is either a worker's scheduler context (g0: the worker thread's own
// stack) or a goroutine's. switch_context(from, to, h) suspends `from` and
// resumes `to`; the resumed side receives `h` and must first record the
// suspended context (done inside switch_context / the entry trampoline) and
// then carry out the action h describes (park, yield, exit: the scheduler's
// business, see sched/worker.cpp). `h` lives on the suspended stack and stays
// valid until that context is resumed again.
//
// Thread-locals read after a switch may belong to another thread: the
// exception globals (__cxa_get_globals is declared const and may be cached by
// the compiler) and errno are read only through non-inlinable accessors here.
#pragma once

#include "fiber/stack.hpp"

#include <cstddef>
#include <cstdint>

// GORO_ASAN / GORO_TSAN: the runtime is built under that sanitizer (the whole
// build is: a meson option), so the contexts carry its bookkeeping.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GORO_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define GORO_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(GORO_ASAN)
#define GORO_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(GORO_TSAN)
#define GORO_TSAN 1
#endif

namespace goro::rt {

struct Context;

// What a context saves while suspended. Layout of the C++ ABI's per-thread
// exception state (libsupc++ __cxa_eh_globals): caught-exception stack and
// uncaught count. Saving it per context makes exception state per goroutine.
struct EhState {
    void* caught_exceptions = nullptr;
    unsigned int uncaught_exceptions = 0;
    unsigned int pad_ = 0;
};

// Where the calling thread keeps its exception globals and errno: a switch
// saves the suspended context's copies from there and loads the resumed
// one's into it. thread_slots() looks them up (not inlined, cached per
// thread); a scheduler thread looks once and keeps the result.
struct ThreadSlots {
    EhState* eh = nullptr;
    int* err = nullptr;
};
ThreadSlots thread_slots() noexcept;

// Every Handoff begins with this header (Handoff derives from it): the
// sender's context, to record where it was suspended, the receiver's, and
// the slots of the thread the switch happens on (the same for both sides).
struct HandoffHeader {
    Context* from = nullptr;
    Context* to = nullptr;
    ThreadSlots thread;
};

// Entry of a fresh context: called on the new stack with the first Handoff.
using ContextEntry = void (*)(HandoffHeader* first);

struct Context {
    void* fctx = nullptr;  // Boost.Context fcontext_t while suspended
    ContextEntry entry = nullptr;
    EhState eh;
    int saved_errno = 0;
    // Not the context's: a goroutine's G keeps the time of its latest park
    // here (sched/g.hpp G::wait_since_ms), in what was padding, so that the
    // descriptor stays 192 bytes. A thread's context leaves it unused.
    std::uint32_t wait_since_ms = 0;
    // Sanitizer bookkeeping, only in sanitized builds: every goroutine
    // descriptor holds a Context, and a million of them must stay small.
#if GORO_ASAN
    const void* stack_bottom = nullptr;
    std::size_t stack_size = 0;
    void* asan_fake_stack = nullptr;
#endif
#if GORO_TSAN
    void* tsan_fiber = nullptr;
#endif
};

// Prepares `ctx` to start running `entry` on `stack` at its first resume.
// For the goroutine dump (debug/dump.cpp): the callee-saved registers of a
// suspended context, as its switch_context frame sees them (x86_64 only:
// false elsewhere, and for a context that never ran). The caller must know
// that the context stays suspended while it reads them and its stack.
struct SavedRegisters {
    std::uint64_t rip, rsp, rbp, rbx, r12, r13, r14, r15;
};
bool saved_registers(const Context& c, SavedRegisters& out) noexcept;
// The entry every fresh context starts in: an unwinder stops there.
const void* context_entry_address() noexcept;

void context_init(Context& ctx, const Stack& stack, ContextEntry entry);
// Makes `ctx` describe the calling thread's own stack (a worker's g0), and
// gives the thread an alternate signal stack (fiber/guard.hpp).
void context_init_thread(Context& ctx);
// Releases sanitizer state of a goroutine context that will never run again.
void context_destroy(Context& ctx);

// Suspends `from`, resumes `to` with `h`; h->thread must be the calling
// thread's slots. Returns the Handoff of whoever resumes `from` later (after
// recording their suspended context).
HandoffHeader* switch_context(Context& from, Context& to,
                              HandoffHeader* h);  // h: a Handoff, which derives from HandoffHeader
// The same for a context that will never be resumed (an exiting goroutine).
[[noreturn]] void switch_context_final(Context& from, Context& to, HandoffHeader* h);

}  // namespace goro::rt
