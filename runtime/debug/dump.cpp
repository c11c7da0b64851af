// debug/dump.cpp — the goroutine dump (goro/debug.hpp): every live goroutine
// with its state, wait reason, name, stack and creator.
//
// Owns: the process-wide dump lock (one dump at a time: the symbolizer's
// state and the holds are per dump), the unwinding of suspended contexts
// (libunwind, from the registers fiber/context.cpp reads out of the saved
// fcontext) and symbolization (libdw: names from the symbol tables,
// file:line from DWARF where it exists). runtime/DESIGN.md "The goroutine
// dump" argues the choices.
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

#include "fiber/context.hpp"
#include "sched/scheduler.hpp"

#include <goro/debug.hpp>
#include <goro/detail/park.hpp>

#define UNW_LOCAL_ONLY
#include <cxxabi.h>
#include <elfutils/libdwfl.h>
#include <libunwind.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
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
        }
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

    Dwfl* dwfl_ = nullptr;
    std::unordered_map<std::uintptr_t, std::string> cache_;
};

// Walks the stack that uc describes, up to kMaxFrames program counters,
// stopping before the fresh-context trampoline (nothing above it is ours).
// skip_to: when not null, frames up to and including the one whose function
// starts there are dropped (the dump's own frames, for the calling goroutine).
int unwind(unw_context_t* uc, std::uintptr_t* pcs, std::uintptr_t skip_to) {
    // libunwind's default global cache takes a lock with every signal
    // blocked (two sigprocmask calls) on each lookup: 80 us a goroutine. A
    // per-thread cache needs no lock.
    static std::once_flag policy;
    std::call_once(policy, [] { unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD); });
    unw_cursor_t c;
    if (unw_init_local(&c, uc) < 0) return 0;
    const auto entry = reinterpret_cast<std::uintptr_t>(context_entry_address());
    int n = 0;
    bool skipping = skip_to != 0;
    for (int steps = 0; n < kMaxFrames && steps < 4 * kMaxFrames; ++steps) {
        unw_word_t ip = 0;
        if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || ip == 0) break;
        // The trampoline is a few instructions; the return address into it
        // lies within its first 256 bytes. (Asking libunwind for the
        // function's start, unw_get_proc_info, costs a dl_iterate_phdr with
        // every signal blocked, per frame.)
        if (ip > entry && ip - entry < 256) break;
        unw_proc_info_t pi;
        const bool have_pi = skipping && unw_get_proc_info(&c, &pi) == 0;
        if (skipping) {
            if (have_pi && pi.start_ip == skip_to) skipping = false;  // the marker itself is dropped too
        } else {
            pcs[n++] = ip;
        }
        if (unw_step(&c) <= 0) break;
    }
    return n;
}

// The stack of a suspended context (its G held by the caller).
int unwind_suspended(const Context& ctx, std::uintptr_t* pcs) {
    SavedRegisters r;
    if (!saved_registers(ctx, r)) return 0;
    unw_context_t uc;
    unw_getcontext(&uc);  // the parts libunwind wants besides the registers
    auto& gr = uc.uc_mcontext.gregs;
    gr[REG_RIP] = static_cast<greg_t>(r.rip);
    gr[REG_RSP] = static_cast<greg_t>(r.rsp);
    gr[REG_RBP] = static_cast<greg_t>(r.rbp);
    gr[REG_RBX] = static_cast<greg_t>(r.rbx);
    gr[REG_R12] = static_cast<greg_t>(r.r12);
    gr[REG_R13] = static_cast<greg_t>(r.r13);
    gr[REG_R14] = static_cast<greg_t>(r.r14);
    gr[REG_R15] = static_cast<greg_t>(r.r15);
    return unwind(&uc, pcs, 0);
}

[[gnu::noinline]] int unwind_self(std::uintptr_t* pcs, std::uintptr_t skip_to) {
    unw_context_t uc;
    unw_getcontext(&uc);
    int n = unwind(&uc, pcs, skip_to);
    if (n == 0 && skip_to != 0) n = unwind(&uc, pcs, 0);  // the marker frame was not found: show all
    return n;
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
// stack (libunwind needs a few KiB), and the rest of the work runs on a
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
    int self_n = self ? unwind_self(self_pcs, reinterpret_cast<std::uintptr_t>(&dump_runtime)) : 0;
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
                    int n = unwind_suspended(g->ctx, pcs);
                    append_frames(b.frames, sym, pcs, n);
                    blocks.push_back(std::move(b));
                }
                r->release_held(g);
                continue;
            }
            const GStatus st = g->status.load(std::memory_order_acquire);
            if (st != GStatus::Runnable && st != GStatus::Notified) continue;  // free, or parked/held by another moment
            if (!std::atomic_ref<bool>(g->user).load(std::memory_order_relaxed)) continue;
            Block b;
            b.id = std::atomic_ref<std::uint64_t>(g->id).load(std::memory_order_relaxed);
            b.parent = std::atomic_ref<std::uint64_t>(g->parent_id).load(std::memory_order_relaxed);
            b.is_main = std::atomic_ref<bool>(g->is_main).load(std::memory_order_relaxed);
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
    int n = unwind_self(pcs, reinterpret_cast<std::uintptr_t>(&self_block));
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
