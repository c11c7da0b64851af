// debug/gdb_info.hpp — what a debugger needs to find goroutines in a
// stopped process or a core file (dist/gdb/goro-gdb.py reads it).
//
// Owns: goro_debug_info, one extern "C" object with a fixed, versioned
// layout: the size of a goroutine descriptor and the offsets of the fields
// the gdb extension reads (computed by the compiler, so a change of G's
// layout cannot put the script out of step), the wait-reason names, and the
// live runtime's descriptor chunks. The extension needs no debug info for
// goro itself: it reads this object by its ELF symbol.
//
// Cost: the layout part is constant; the chunk table is written when the
// descriptor pool grows by a chunk (every kGChunk descriptors, under the
// pool's lock) and when the pool is destroyed. Nothing in the process reads
// it: only a debugger does, while the process is stopped.
#pragma once

#include <cstddef>
#include <cstdint>

namespace goro::detail {
struct G;
// Indexed by WaitReason (sched/park.cpp; wait_reason_name() reads it too).
extern const char* const kWaitReasonNames[];
}  // namespace goro::detail

extern "C" {
// Every field is 64 bits wide, so that a reader can take the object as an
// array of little-endian words. Bump version when a field changes meaning;
// add fields only at the end.
struct goro_debug_info_t {
    std::uint64_t version;         // 1
    std::uint64_t g_size;          // sizeof(G): the stride inside a chunk
    std::uint64_t chunk_len;       // descriptors per chunk (kGChunk)
    // Offsets in a G (sched/g.hpp), in bytes.
    std::uint64_t off_fctx;        // ctx.fctx: the saved fcontext of a suspended G
    std::uint64_t off_stack_base;  // stack.base (null until its first run)
    std::uint64_t off_stack_size;  // stack.size
    std::uint64_t off_status;      // status, a 32-bit GStatus
    std::uint64_t off_user;        // user (bool)
    std::uint64_t off_is_main;     // is_main (bool)
    std::uint64_t off_wait_reason; // wait_reason, an 8-bit WaitReason
    std::uint64_t off_id;          // id (64 bits)
    std::uint64_t off_name;        // name: const std::string*, null if none
    std::uint64_t off_parent_id;   // parent_id (64 bits)
    // The wait-reason names in Go's words, indexed by WaitReason.
    const char* const* wait_reason_names;
    std::uint64_t n_wait_reasons;
    // 1: libstdc++'s std::string (data pointer, then length); 2: libc++'s.
    std::uint64_t string_abi;
    // The live runtime's descriptor chunks (each chunk_len descriptors):
    // an array of nchunks pointers, or null when no runtime runs.
    goro::detail::G* const* chunks;
    std::uint64_t nchunks;
};
extern goro_debug_info_t goro_debug_info;
}

namespace goro::rt {
// Called by GPool (under its lock) when its chunk table changes.
void debug_info_set_chunks(detail::G* const* chunks, std::size_t n) noexcept;
}  // namespace goro::rt
