// debug/gdb_info.cpp — goro_debug_info, the gdb extension's way in (see
// gdb_info.hpp; the reader is dist/gdb/goro-gdb.py).
//
// Owns: the object's constant part (sizes and offsets, taken by the
// compiler), the one writer of its chunk table, and the .debug_gdb_scripts
// entry that makes gdb auto-load goro-gdb.py.
#include "debug/gdb_info.hpp"

#include "sched/gpool.hpp"

#include <atomic>
#include <cstddef>
#include <string>

// offsetof on G (standard layout: no bases, no virtuals, one access level).
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
#endif

namespace {
using goro::detail::G;
using goro::detail::GStatus;
using goro::rt::Context;
using goro::rt::Stack;

// goro-gdb.py spells these values out (its GStatus table): change both.
static_assert(static_cast<int>(GStatus::Free) == 0 && static_cast<int>(GStatus::Runnable) == 1 &&
              static_cast<int>(GStatus::Notified) == 2 && static_cast<int>(GStatus::Parked) == 3 &&
              static_cast<int>(GStatus::Held) == 4 && static_cast<int>(GStatus::HeldWoken) == 5);
static_assert(sizeof(GStatus) == 4 && sizeof(goro::detail::WaitReason) == 1);
static_assert(sizeof(bool) == 1 && sizeof(void*) == 8);
static_assert(sizeof(goro::rt::Stack::size) == 4, "goro-gdb.py reads Stack::size as 32 bits");

constexpr std::uint64_t string_abi() {
#if defined(_LIBCPP_VERSION)
    return 2;
#else
    return 1;
#endif
}
}  // namespace

extern "C" {
// Not const: the chunk table changes. [[gnu::used]]: a debugger is its only reader.
[[gnu::used]] goro_debug_info_t goro_debug_info = {
    1,
    sizeof(G),
    goro::rt::kGChunk,
    offsetof(G, ctx) + offsetof(Context, fctx),
    offsetof(G, stack) + offsetof(Stack, base),
    offsetof(G, stack) + offsetof(Stack, size),
    offsetof(G, status),
    offsetof(G, user),
    offsetof(G, is_main),
    offsetof(G, wait_reason),
    offsetof(G, id),
    offsetof(G, name),
    offsetof(G, parent_id),
    goro::detail::kWaitReasonNames,
    static_cast<std::uint64_t>(goro::detail::WaitReason::Count_),
    string_abi(),
    nullptr,
    0,
};
}

namespace goro::rt {

void debug_info_set_chunks(G* const* chunks, std::size_t n) noexcept {
    // Read by no thread of this process; the compiler must still not drop
    // or reorder the stores past the table's own writes.
    goro_debug_info.chunks = chunks;
    goro_debug_info.nchunks = n;
    std::atomic_signal_fence(std::memory_order_seq_cst);
}

}  // namespace goro::rt

// gdb's auto-load for programs linked to a static library: an entry in the
// .debug_gdb_scripts section (gdb manual, "The .debug_gdb_scripts section")
// naming the script, here where `meson install` puts it (GORO_GDB_SCRIPT,
// from meson.build). Type 1 is a Python file. gdb loads it once the directory
// is in its auto-load safe-path, and otherwise says which line to add. The
// section is not allocated (no memory at run time) and the linker merges the
// entries of every object that has one. This object is always linked in:
// the descriptor pool registers its chunks here (gpool.cpp).
#if defined(GORO_GDB_SCRIPT) && defined(__ELF__)
asm(".pushsection \".debug_gdb_scripts\", \"MS\", @progbits, 1\n"
    ".byte 1\n"
    ".asciz \"" GORO_GDB_SCRIPT "\"\n"
    ".popsection\n");
#endif
