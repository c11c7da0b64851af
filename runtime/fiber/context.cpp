// fiber/context.cpp — the context switch, on Boost.Context's fcontext.
//
// Owns: the only calls to jump_fcontext/make_fcontext, and the sanitizer
// fiber hooks. See context.hpp for the contract.
//
// Per switch, in order: save this thread's exception globals and errno into
// `from`; tell ASan/TSan which stack comes next; jump. When `from` is resumed
// (possibly on another thread): finish the ASan switch, record the suspended
// context of whoever resumed us, and load our exception globals and errno
// into the (possibly new) thread. The slots of that thread come with the
// resumer's Handoff (it switched on the same thread a moment ago), so a
// switch does no TLS lookup at all; they were found by thread_slots(), a
// non-inlined accessor, never through an address computed before a jump.
//
// Rejected: boost::context::fiber (allocates a control record on each new
// stack and ties the stack's lifetime to the fiber object; goro recycles
// stacks and descriptors separately); ucontext (a syscall per switch for the
// signal mask).
#include "fiber/context.hpp"

#include "debug/assert.hpp"
#include "fiber/guard.hpp"

#include <boost/context/detail/fcontext.hpp>
#include <cxxabi.h>

#include <cerrno>
#include <cstring>

#if GORO_ASAN
#include <sanitizer/asan_interface.h>
#endif
#if GORO_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace goro::rt {
namespace bctx = boost::context::detail;

namespace {

static_assert(sizeof(void*) == 8, "goro supports 64-bit targets only");

// Each thread's slots, looked up once (libstdc++ reaches its exception
// globals through __tls_get_addr): see thread_slots() below.
[[gnu::tls_model("initial-exec")]] thread_local ThreadSlots t_slots{nullptr, nullptr};

inline void save_thread_state(Context& c, const ThreadSlots& s) noexcept {
    c.eh.caught_exceptions = s.eh->caught_exceptions;
    c.eh.uncaught_exceptions = s.eh->uncaught_exceptions;
    c.saved_errno = *s.err;
}
inline void load_thread_state(const Context& c, const ThreadSlots& s) noexcept {
    s.eh->caught_exceptions = c.eh.caught_exceptions;
    s.eh->uncaught_exceptions = c.eh.uncaught_exceptions;
    *s.err = c.saved_errno;
}

inline void before_jump([[maybe_unused]] Context& from, [[maybe_unused]] Context& to,
                        [[maybe_unused]] bool final) noexcept {
#if GORO_ASAN
    __sanitizer_start_switch_fiber(final ? nullptr : &from.asan_fake_stack, to.stack_bottom, to.stack_size);
#endif
#if GORO_TSAN
    __tsan_switch_to_fiber(to.tsan_fiber, 0);
#endif
}

// On the resumed side: `self` is the context now running.
inline HandoffHeader* after_jump(Context& self, bctx::transfer_t t) noexcept {
    auto* header = static_cast<HandoffHeader*>(t.data);
#if GORO_ASAN
    const void* old_bottom = nullptr;
    std::size_t old_size = 0;
    __sanitizer_finish_switch_fiber(self.asan_fake_stack, &old_bottom, &old_size);
    // A thread's own stack (g0) learns its bounds the first time it is left.
    if (header->from->stack_bottom == nullptr) {
        header->from->stack_bottom = old_bottom;
        header->from->stack_size = old_size;
    }
#endif
    header->from->fctx = t.fctx;
    // The sender ran on this thread a moment ago: its slots are ours.
    load_thread_state(self, header->thread);
    return header;
}

// The first resume of a fresh context: find ourselves through the Handoff.
void fresh_trampoline(bctx::transfer_t t) {
    auto* header = static_cast<HandoffHeader*>(t.data);
    Context& self = *header->to;
    ContextEntry entry = self.entry;
    HandoffHeader* h = after_jump(self, t);
    entry(h);
    fatal("a goroutine context returned from its entry");
}

// The jump itself. Boost's jump_fcontext returns into the resumed context
// with an indirect jmp, not a ret, so the call that entered it leaves an
// entry on the CPU's return-stack predictor that no ret ever consumes:
// every return after a switch was then predicted one frame off (three or
// four mispredicted returns per yield). jump_to() enters jump_fcontext with
// a jmp after pushing the address of its own `ret` as the return address,
// so calls and rets stay paired: the resumed side lands on that `ret`,
// whose target is the return address the predictor holds.
#if defined(__x86_64__) && defined(__ELF__)
// (The landing `ret` is an indirect-jump target: under -fcf-protection it
// starts with endbr64, as IBT wants.)
#if defined(__CET__) && (__CET__ & 1)
#define GORO_LANDING_PAD "endbr64\n"
#else
#define GORO_LANDING_PAD ""
#endif
extern "C" bctx::transfer_t goro_jump_fcontext(bctx::fcontext_t to, void* data) noexcept;
asm(R"(
    .pushsection .text
    .p2align 4
    .globl goro_jump_fcontext
    .hidden goro_jump_fcontext
    .type goro_jump_fcontext, @function
goro_jump_fcontext:
    leaq 1f(%rip), %rax
    pushq %rax
    jmp jump_fcontext@PLT
1:
)" GORO_LANDING_PAD R"(
    ret
    .size goro_jump_fcontext, .-goro_jump_fcontext
    .popsection
)");
#undef GORO_LANDING_PAD
inline bctx::transfer_t jump_to(bctx::fcontext_t to, void* data) noexcept { return goro_jump_fcontext(to, data); }
#else
inline bctx::transfer_t jump_to(bctx::fcontext_t to, void* data) noexcept { return bctx::jump_fcontext(to, data); }
#endif

}  // namespace

// LLVM's libc++abi exports __cxa_get_globals() (extern "C", the same
// {caughtExceptions, uncaughtExceptions} layout as libsupc++'s on x86-64 and
// AArch64) but its <cxxabi.h> does not declare it.
#if defined(_LIBCPPABI_VERSION)
extern "C" void* __cxa_get_globals() noexcept;
#define GORO_CXA_GET_GLOBALS() __cxa_get_globals()
#else
#define GORO_CXA_GET_GLOBALS() abi::__cxa_get_globals()
#endif

// __cxa_get_globals() and errno's __errno_location() are declared const: the
// compiler may reuse their result across a call, which is wrong across a
// switch. This wrapper is not inlined, and the volatile asm with a memory
// clobber keeps the compiler from inferring that it is const itself.
const void* context_entry_address() noexcept { return reinterpret_cast<const void*>(&fresh_trampoline); }

bool saved_registers(const Context& c, SavedRegisters& out) noexcept {
#if defined(__x86_64__) && defined(__ELF__)
    // Boost.Context's jump_fcontext (x86_64 SysV) leaves, at fctx: the
    // MXCSR and x87 control words (8 bytes), r12, r13, r14, r15, rbx, rbp,
    // then the address it resumes at, which goro_jump_fcontext pushed (its
    // label "1", a bare ret); above that is the return address into
    // switch_context. So the suspended context is, as its caller sees it
    // once that ret has run: rip = [fctx+0x40], rsp = fctx+0x48.
    auto* f = static_cast<const std::uint64_t*>(c.fctx);
    if (!f) return false;
    out.r12 = f[1];
    out.r13 = f[2];
    out.r14 = f[3];
    out.r15 = f[4];
    out.rbx = f[5];
    out.rbp = f[6];
    out.rip = f[8];
    out.rsp = reinterpret_cast<std::uint64_t>(f + 9);
    return true;
#else
    (void)c;
    (void)out;
    return false;
#endif
}

[[gnu::noinline]] ThreadSlots thread_slots() noexcept {
    asm volatile("" ::: "memory");
    ThreadSlots s = t_slots;
    if (__builtin_expect(s.eh == nullptr, 0)) {
        s.eh = reinterpret_cast<EhState*>(GORO_CXA_GET_GLOBALS());
        s.err = &errno;
        t_slots = s;
    }
    return s;
}

void context_init(Context& ctx, const Stack& stack, ContextEntry entry) {
    ctx.fctx = bctx::make_fcontext(stack.top(), stack.size, &fresh_trampoline);
    ctx.entry = entry;
    ctx.eh = EhState{};
    ctx.saved_errno = 0;
#if GORO_ASAN
    ctx.stack_bottom = stack.base;
    ctx.stack_size = stack.size;
    ctx.asan_fake_stack = nullptr;
#endif
#if GORO_TSAN
    if (!ctx.tsan_fiber) ctx.tsan_fiber = __tsan_create_fiber(0);
#endif
}

void context_init_thread(Context& ctx) {
    enable_alt_signal_stack();  // where the overflow handler runs (fiber/guard.hpp)
    ctx.fctx = nullptr;
    ctx.eh = EhState{};
    ctx.saved_errno = 0;
#if GORO_ASAN
    ctx.stack_bottom = nullptr;
    ctx.stack_size = 0;
    ctx.asan_fake_stack = nullptr;
#endif
#if GORO_TSAN
    ctx.tsan_fiber = __tsan_get_current_fiber();
#endif
}

void context_destroy([[maybe_unused]] Context& ctx) {
#if GORO_TSAN
    if (ctx.tsan_fiber) __tsan_destroy_fiber(ctx.tsan_fiber);
    ctx.tsan_fiber = nullptr;
#endif
}

HandoffHeader* switch_context(Context& from, Context& to, HandoffHeader* h) {
    save_thread_state(from, h->thread);
    h->from = &from;
    h->to = &to;
    before_jump(from, to, false);
    bctx::transfer_t t = jump_to(to.fctx, h);
    return after_jump(from, t);
}

void switch_context_final(Context& from, Context& to, HandoffHeader* h) {
    h->from = &from;
    h->to = &to;
    before_jump(from, to, true);
    jump_to(to.fctx, h);
    fatal("a finished goroutine was resumed");
}

}  // namespace goro::rt
