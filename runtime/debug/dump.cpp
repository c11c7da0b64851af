// debug/dump.cpp — the goroutine dump (goro/debug.hpp): every live goroutine
// with its state, wait reason, name, stack and creator.
//
// Owns: the process-wide dump lock (one dump at a time: the symbolizer's
// state and the holds are per dump), the unwinding of suspended contexts
// (libdw's unwinder, elfutils, started from the registers fiber/context.cpp
// reads out of the saved fcontext, reading memory only inside that
// goroutine's stack), the unwinding of the caller's own stack (the C++
// runtime's _Unwind_Backtrace) and symbolization (libdw: names from the
// symbol tables, file:line from DWARF where it exists). runtime/DESIGN.md
// "The goroutine dump" argues the choices.
//
// Invariants: a goroutine's stack is read only while the goroutine cannot
// run: the caller's own stack, or a Parked G that this dump holds (status
// Held, Runtime::hold_parked): it is neither resumed nor freed until
// release_held(), which queues it if a wake-up arrived meanwhile. Fields of a
// G the dump does not hold (a running or queued goroutine) are read with
// relaxed atomic loads and only the id, status and parent id are shown: a
// goroutine that exits or is reused meanwhile is shown as it was, or not at
// all, never by reading freed memory (descriptors are type-stable and names
// of unheld goroutines are not read).
#include "debug/dump.hpp"

#include "debug/racy.hpp"

#include "fiber/context.hpp"
#include "sched/scheduler.hpp"

#include <goro/debug.hpp>
#include <goro/detail/park.hpp>

#include <cxxabi.h>
#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <unwind.h>

#include <cerrno>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace goro::rt {

using detail::G;
using detail::GStatus;

namespace {

constexpr int kMaxFrames = 64;

std::mutex g_dump_mu;  // one dump at a time

// Function names and file:line for program counters, cached per dump.
class Symbolizer {
public:
    Symbolizer() {
        static const Dwfl_Callbacks callbacks = {
            dwfl_linux_proc_find_elf,
            dwfl_standard_find_debuginfo,
            nullptr,
            nullptr,
        };
        dwfl_ = dwfl_begin(&callbacks);
        if (!dwfl_) return;
        dwfl_report_begin(dwfl_);
        int rc = dwfl_linux_proc_report(dwfl_, getpid());
        dwfl_report_end(dwfl_, nullptr, nullptr);
        if (rc != 0) {
            dwfl_end(dwfl_);
            dwfl_ = nullptr;
            return;
        }
        // The unwinder's view of "threads": one at a time, the suspended
        // context in target_. No ptrace, no /proc: memory is read directly,
        // and only inside the goroutine's stack.
        static const Dwfl_Thread_Callbacks thread_callbacks = {
            &no_next_thread, &the_target, &read_stack_word, &set_saved_registers, nullptr, nullptr,
        };
        can_unwind_ = dwfl_attach_state(dwfl_, nullptr, getpid(), &thread_callbacks, &target_);
    }
    ~Symbolizer() {
        if (dwfl_) dwfl_end(dwfl_);
    }
    Symbolizer(const Symbolizer&) = delete;
    Symbolizer& operator=(const Symbolizer&) = delete;

    // Two lines in Go's form: "function(args)\n\tfile:line +0xoff\n".
    // pc is a return address (or the resume address of a switch): it is
    // looked up at pc - 1, inside the call instruction.
    const std::string& frame(std::uintptr_t pc) {
        auto [it, fresh] = cache_.try_emplace(pc);
        if (fresh) it->second = describe(pc);
        return it->second;
    }

    // The stack of a suspended context whose registers are r and whose
    // stack is [lo, hi), up to kMaxFrames program counters, stopping before
    // the fresh-context trampoline. The caller holds the context still.
    int unwind(const SavedRegisters& r, std::uintptr_t lo, std::uintptr_t hi, std::uintptr_t* pcs);

private:
    std::string describe(std::uintptr_t pc) {
        const Dwarf_Addr look = pc - 1;
        Dwfl_Module* mod = dwfl_ ? dwfl_addrmodule(dwfl_, look) : nullptr;
        const char* sym = nullptr;
        GElf_Off off = 0;
        GElf_Sym esym;
        if (mod) sym = dwfl_module_addrinfo(mod, look, &off, &esym, nullptr, nullptr, nullptr);
        std::string s;
        if (sym) {
            int status = -1;
            char* dem = abi::__cxa_demangle(sym, nullptr, nullptr, &status);
            if (status == 0 && dem) {
                s = dem;
            } else {
                s = sym;
                s += "()";
            }
            std::free(dem);
        } else {
            s = "?()";
        }
        s += "\n\t";
        Dwfl_Line* line = mod ? dwfl_module_getsrc(mod, look) : nullptr;
        int lineno = 0;
        const char* file = line ? dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr) : nullptr;
        char buf[64];
        if (file) {
            s += file;
            std::snprintf(buf, sizeof buf, ":%d", lineno);
            s += buf;
        } else {
            const char* modname = mod ? dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr) : nullptr;
            s += modname && *modname ? modname : "?";
        }
        if (sym) std::snprintf(buf, sizeof buf, " +0x%llx\n", static_cast<unsigned long long>(off + 1));
        else std::snprintf(buf, sizeof buf, " pc=0x%llx\n", static_cast<unsigned long long>(pc));
        s += buf;
        return s;
    }

    struct Target {
        SavedRegisters regs{};
        std::uintptr_t lo = 0, hi = 0;  // the stack's bounds: no read outside them
    };
    struct Walk {
        std::uintptr_t* pcs = nullptr;
        int n = 0;
        int steps = 0;
        std::uintptr_t entry = 0;
    };

    static pid_t no_next_thread(Dwfl*, void*, void**) { return 0; }
    static bool the_target(Dwfl*, pid_t, void* target, void** thread_arg) {
        *thread_arg = target;
        return true;
    }
    // A corrupt frame can point anywhere: a read outside the stack ends the
    // trace instead of faulting.
    static bool read_stack_word(Dwfl*, Dwarf_Addr addr, Dwarf_Word* out, void* target) {
        const auto* t = static_cast<const Target*>(target);
        if (addr < t->lo || addr > t->hi || t->hi - addr < sizeof(Dwarf_Word)) return false;
        std::memcpy(out, reinterpret_cast<const void*>(static_cast<std::uintptr_t>(addr)), sizeof *out);
        return true;
    }
    // x86-64's DWARF register numbers: rbx 3, rbp 6, rsp 7, r12-r15 12-15.
    // The callee-saved registers are all that a switch preserves, and all
    // that the callers' CFI refers to.
    static bool set_saved_registers(Dwfl_Thread* thread, void* target) {
        const SavedRegisters& r = static_cast<const Target*>(target)->regs;
        const Dwarf_Word rbx = r.rbx, rbp_rsp[2] = {r.rbp, r.rsp}, r12_r15[4] = {r.r12, r.r13, r.r14, r.r15};
        if (!dwfl_thread_state_registers(thread, 3, 1, &rbx) || !dwfl_thread_state_registers(thread, 6, 2, rbp_rsp) ||
            !dwfl_thread_state_registers(thread, 12, 4, r12_r15))
            return false;
        dwfl_thread_state_register_pc(thread, r.rip);
        return true;
    }
    static int on_frame(Dwfl_Frame* frame, void* arg) {
        auto* w = static_cast<Walk*>(arg);
        Dwarf_Addr pc = 0;
        if (!dwfl_frame_pc(frame, &pc, nullptr) || pc == 0) return DWARF_CB_ABORT;
        // The trampoline is a few instructions; a return address into it
        // lies within its first 256 bytes.
        if (pc > w->entry && pc - w->entry < 256) return DWARF_CB_ABORT;
        w->pcs[w->n++] = pc;
        return w->n < kMaxFrames && ++w->steps < 4 * kMaxFrames ? DWARF_CB_OK : DWARF_CB_ABORT;
    }

    Dwfl* dwfl_ = nullptr;
    bool can_unwind_ = false;
    Target target_;
    std::unordered_map<std::uintptr_t, std::string> cache_;
};

int Symbolizer::unwind(const SavedRegisters& r, std::uintptr_t lo, std::uintptr_t hi, std::uintptr_t* pcs) {
    if (!can_unwind_) return 0;
    target_ = Target{r, lo, hi};
    Walk w;
    w.pcs = pcs;
    w.entry = reinterpret_cast<std::uintptr_t>(context_entry_address());
    dwfl_getthread_frames(dwfl_, 1, &on_frame, &w);  // ends with an error or an abort: w.n is what was found
    return w.n;
}

// The calling goroutine's own stack, with the C++ runtime's unwinder (the
// one exceptions use), up to kMaxFrames program counters, stopping before
// the fresh-context trampoline. Frames up to and including the first whose
// function starts at one of skip[0..nskip) (the dump's own, or the throw
// machinery's) are dropped; if none is found, nothing is dropped, or with
// all_if_unmarked false, nothing is returned.
// Whether the function starting at `start` is the C++ runtime's throw:
// __cxa_throw, __cxa_rethrow or std::rethrow_exception (libstdc++'s or
// libc++'s mangling). By name, not by address: under ASan, &__cxa_throw is
// the sanitizer's interceptor, not the function on the stack.
bool is_throw_function(void* start) noexcept {
    Dl_info info;
    if (!start || !::dladdr(start, &info) || !info.dli_sname || info.dli_saddr != start) return false;
    const std::string_view name = info.dli_sname;
    return name == "__cxa_throw" || name == "__cxa_rethrow" || name.starts_with("_ZSt17rethrow_exception");
}

struct SelfWalk {
    std::uintptr_t* pcs = nullptr;
    const std::uintptr_t* skip = nullptr;
    int nskip = 0;
    bool throw_names = false;  // also stop skipping at a throw function (is_throw_function)
    std::uintptr_t entry = 0;
    int n = 0;
    int steps = 0;
    bool skipping = true;
    std::uintptr_t all[kMaxFrames];
    int n_all = 0;
};

_Unwind_Reason_Code on_self_frame(_Unwind_Context* c, void* arg) {
    auto* w = static_cast<SelfWalk*>(arg);
    const std::uintptr_t ip = _Unwind_GetIP(c);
    if (ip == 0 || (ip > w->entry && ip - w->entry < 256) || ++w->steps > 4 * kMaxFrames) return _URC_END_OF_STACK;
    if (w->n_all < kMaxFrames) w->all[w->n_all++] = ip;
    if (w->skipping) {
        void* const start = _Unwind_FindEnclosingFunction(reinterpret_cast<void*>(ip - 1));
        if (std::find(w->skip, w->skip + w->nskip, reinterpret_cast<std::uintptr_t>(start)) != w->skip + w->nskip ||
            (w->throw_names && is_throw_function(start)))
            w->skipping = false;  // the marker itself is dropped too
        return _URC_NO_REASON;
    }
    w->pcs[w->n++] = ip;
    return w->n < kMaxFrames ? _URC_NO_REASON : _URC_END_OF_STACK;
}

[[gnu::noinline]] int unwind_self(std::uintptr_t* pcs, const std::uintptr_t* skip, int nskip, bool all_if_unmarked = true,
                                  bool throw_names = false) {
    SelfWalk w;
    w.pcs = pcs;
    w.skip = skip;
    w.nskip = nskip;
    w.throw_names = throw_names;
    w.entry = reinterpret_cast<std::uintptr_t>(context_entry_address());
    _Unwind_Backtrace(&on_self_frame, &w);
    if (w.skipping) {  // no marker frame was found: show all
        if (!all_if_unmarked) return 0;
        std::copy(w.all, w.all + w.n_all, pcs);
        return w.n_all;
    }
    return w.n;
}

std::uint32_t coarse_now_ms() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::uint32_t>(static_cast<std::uint64_t>(ts.tv_sec) * 1000u +
                                      static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u);
}

struct Block {
    std::uint64_t id = 0;
    std::uint64_t parent = 0;
    bool is_main = false;
    bool name_known = false;
    std::string name;
    std::string head;    // "goroutine N [state]:\n" plus the name line
    std::string frames;  // the trace
};

void append_frames(std::string& out, Symbolizer& sym, const std::uintptr_t* pcs, int n) {
    for (int i = 0; i < n; ++i) out += sym.frame(pcs[i]);
    if (n == kMaxFrames) out += "...additional frames elided...\n";
}

std::string header(std::uint64_t id, const std::string& state, const std::string* name) {
    std::string h = "goroutine " + std::to_string(id) + " [" + state + "]:\n";
    if (name && !name->empty()) h += "name: " + *name + "\n";
    return h;
}

std::string finish(const Block& b, const std::unordered_map<std::uint64_t, const Block*>& by_id) {
    std::string s = b.head + b.frames;
    if (!b.is_main) {
        if (b.parent == 0) {
            s += "created by a thread outside the runtime\n";
        } else {
            s += "created by goroutine " + std::to_string(b.parent);
            auto it = by_id.find(b.parent);
            if (it != by_id.end() && it->second->name_known && !it->second->name.empty())
                s += " (" + it->second->name + ")";
            s += "\n";
        }
    }
    s += "\n";
    return s;
}

}  // namespace

namespace {

// A goroutine's stack is small (64 KiB by default) and libdw's reading of
// the process's modules is deep: the caller's own frames are unwound on its
// stack (the unwinder needs a few KiB), and the rest of the work runs on a
// helper thread that the caller joins.
template <class F>
void off_goroutine_stack(F&& f) {
    if (!detail::current_g()) {
        f();
        return;
    }
    std::thread t(std::forward<F>(f));
    t.join();
}

void dump_locked(Runtime* r, std::FILE* out, DumpSummary* summary, const G* except, const G* self,
                 const std::uintptr_t* self_pcs, int self_n);

}  // namespace

void dump_runtime(Runtime* r, std::FILE* out, DumpSummary* summary, const G* except) {
    const G* self = detail::current_g();
    std::uintptr_t self_pcs[kMaxFrames];
    const std::uintptr_t marker = reinterpret_cast<std::uintptr_t>(&dump_runtime);
    int self_n = self ? unwind_self(self_pcs, &marker, 1) : 0;
    std::lock_guard lk(g_dump_mu);
    off_goroutine_stack([&] { dump_locked(r, out, summary, except, self, self_pcs, self_n); });
}

namespace {

void dump_locked(Runtime* r, std::FILE* out, DumpSummary* summary, const G* except, const G* self,
                 const std::uintptr_t* self_pcs, int self_n) {
    Symbolizer sym;
    std::vector<std::pair<const G*, bool>> running;
    r->running_goroutines(running);
    const std::uint32_t now_ms = coarse_now_ms();
    std::vector<Block> blocks;
    std::uintptr_t pcs[kMaxFrames];

    if (self && self != except && self->user) {
        Block b;
        b.id = self->id;
        b.parent = self->parent_id;
        b.is_main = self->is_main;
        b.name_known = true;
        if (self->name) b.name = *self->name;
        b.head = header(b.id, "running", &b.name);
        append_frames(b.frames, sym, self_pcs, self_n);
        blocks.push_back(std::move(b));
        if (summary) summary->reasons["running"]++;
    }
    for (G* chunk : r->g_chunks()) {
        for (std::size_t i = 0; i < kGChunk; ++i) {
            G* g = &chunk[i];
            if (g == self || g == except) continue;
            if (r->hold_parked(g)) {
                // Held: nothing of it changes until release_held().
                if (g->user) {
                    Block b;
                    b.id = g->id;
                    b.parent = g->parent_id;
                    b.is_main = g->is_main;
                    b.name_known = true;
                    if (g->name) b.name = *g->name;
                    std::string state = detail::wait_reason_name(g->wait_reason);
                    if (summary) summary->reasons[state]++;
                    const std::uint32_t waited = now_ms - g->ctx.wait_since_ms;  // modulo 2^32
                    if (waited >= 60000u) state += ", " + std::to_string(waited / 60000u) + " minutes";
                    b.head = header(b.id, state, &b.name);
                    int n = 0;
                    SavedRegisters regs;
                    if (saved_registers(g->ctx, regs))
                        n = sym.unwind(regs, reinterpret_cast<std::uintptr_t>(g->stack.base),
                                       reinterpret_cast<std::uintptr_t>(g->stack.top()), pcs);
                    append_frames(b.frames, sym, pcs, n);
                    blocks.push_back(std::move(b));
                }
                r->release_held(g);
                continue;
            }
            const GStatus st = g->status.load(std::memory_order_acquire);
            if (st != GStatus::Runnable && st != GStatus::Notified) continue;  // free, or parked/held by another moment
            if (!racy_load(g->user)) continue;
            Block b;
            b.id = racy_load(g->id);
            b.parent = racy_load(g->parent_id);
            b.is_main = racy_load(g->is_main);
            std::string state = "runnable";
            for (auto& [rg, blocking] : running)
                if (rg == g) state = blocking ? "syscall" : "running";
            if (summary) summary->reasons[state]++;
            b.head = header(b.id, state, nullptr);
            b.frames = state == "runnable" ? "\tgoroutine queued to run; stack unavailable\n"
                                           : "\tgoroutine running on other thread; stack unavailable\n";
            blocks.push_back(std::move(b));
        }
    }
    std::sort(blocks.begin(), blocks.end(), [](const Block& a, const Block& b) { return a.id < b.id; });
    std::unordered_map<std::uint64_t, const Block*> by_id;
    for (const Block& b : blocks) by_id.emplace(b.id, &b);
    if (summary) summary->goroutines = static_cast<int>(blocks.size());
    flockfile(out);
    for (const Block& b : blocks) {
        std::string s = finish(b, by_id);
        std::fwrite(s.data(), 1, s.size(), out);
    }
    std::fflush(out);
    funlockfile(out);
}

}  // namespace

std::string self_block(const G* g, const char* state) {
    std::uintptr_t pcs[kMaxFrames];
    // Skip to the throw site when there is one (by name, is_throw_function),
    // else to the caller.
    const std::uintptr_t self_marker = reinterpret_cast<std::uintptr_t>(&self_block);
    int n = unwind_self(pcs, nullptr, 0, false, true);
    if (n == 0) n = unwind_self(pcs, &self_marker, 1);
    std::lock_guard lk(g_dump_mu);
    std::string result;
    off_goroutine_stack([&] {
    Symbolizer sym;
    Block b;
    b.id = g->id;
    b.parent = g->parent_id;
    b.is_main = g->is_main;
    b.name_known = true;
    if (g->name) b.name = *g->name;
    b.head = header(b.id, state, &b.name);
    append_frames(b.frames, sym, pcs, n);
    result = finish(b, {});
    });
    return result;
}

namespace {
int g_sigquit_pipe[2] = {-1, -1};

void on_sigquit(int) {
    const int saved = errno;
    char c = 'q';
    [[maybe_unused]] ssize_t n = ::write(g_sigquit_pipe[1], &c, 1);  // async-signal-safe
    errno = saved;
}

void sigquit_thread() {
    char c;
    while (::read(g_sigquit_pipe[0], &c, 1) != 1) {
    }
    std::fflush(stdout);
    std::fputs("SIGQUIT: quit\n\n", stderr);
    {
        RuntimeRef ref;
        if (Runtime* r = ref.get()) dump_runtime(r, stderr);
    }
    std::fflush(stderr);
    ::_exit(2);
}
}  // namespace

void install_sigquit_dump() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (::pipe2(g_sigquit_pipe, O_CLOEXEC) != 0) return;
        std::thread(sigquit_thread).detach();
        struct sigaction sa {};
        sa.sa_handler = &on_sigquit;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        ::sigaction(SIGQUIT, &sa, nullptr);
    });
}

}  // namespace goro::rt

namespace goro {

[[gnu::noinline]] void dump_goroutines(std::FILE* out) {
    if (rt::this_m()) {
        rt::dump_runtime(rt::worker_runtime(), out);
        return;
    }
    rt::RuntimeRef ref;
    if (rt::Runtime* r = ref.get()) rt::dump_runtime(r, out);
}

}  // namespace goro
