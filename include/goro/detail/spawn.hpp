// goro/detail/spawn.hpp — starting goroutines from templates. Internal.
//
// A goroutine's callable lives inside its descriptor (G) when it fits in
// kInlineFnSize bytes, else in one heap block; the runtime never copies it.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

namespace goro::detail {

struct G;

inline constexpr std::size_t kInlineFnSize = 64;

// The type-erased entry of a goroutine: run() invokes the callable and
// destroys it; discard() destroys it without running (a runtime torn down
// before the goroutine ever ran).
struct EntryOps {
    void (*run)(void* fn);
    void (*discard)(void* fn);
};

template <class Fn>
inline constexpr EntryOps entry_ops_for{
    [](void* p) {
        Fn* fn = static_cast<Fn*>(p);
        struct Destroy {
            Fn* fn;
            ~Destroy() { std::destroy_at(fn); }
        } destroy{fn};
        (*fn)();
    },
    [](void* p) { std::destroy_at(static_cast<Fn*>(p)); },
};

// Allocates a goroutine descriptor with room for a callable of `size` bytes
// and `align` alignment; *storage receives where to construct it. Throws
// InvalidState when no runtime is running.
G* g_alloc(std::size_t size, std::size_t align, void** storage);
// Gives back a descriptor whose callable failed to construct.
void g_abandon(G* g) noexcept;
// Makes the goroutine runnable. `name`, if non-null, must outlive it (a Task
// keeps its name alive); `user` is false for the runtime's own helpers, which
// num_goroutines() does not count.
// owns_name: name is a heap string that the descriptor deletes when it is
// freed (go(name, fn)); otherwise its owner (a task) outlives the goroutine.
void g_start(G* g, const EntryOps* ops, const std::string* name, bool user, bool owns_name = false) noexcept;

template <class F>
G* spawn_goroutine(F&& f, const std::string* name = nullptr, bool user = true) {
    using Fn = std::decay_t<F>;
    static_assert(alignof(Fn) <= 32768, "goro: a goroutine's callable may be aligned to at most 32768 bytes");
    void* storage = nullptr;
    G* g = g_alloc(sizeof(Fn), alignof(Fn), &storage);
    try {
        ::new (storage) Fn(std::forward<F>(f));
    } catch (...) {
        g_abandon(g);
        throw;
    }
    g_start(g, &entry_ops_for<Fn>, name, user);
    return g;
}

// Cancellation of a specific goroutine: deliver one request (see goro::Cancelled).
// spawn_goroutine with a name of its own (go(name, fn)).
template <class F>
G* spawn_named_goroutine(std::string name, F&& f) {
    using Fn = std::decay_t<F>;
    static_assert(alignof(Fn) <= 32768, "goro: a goroutine's callable may be aligned to at most 32768 bytes");
    auto owned = std::make_unique<std::string>(std::move(name));
    void* storage = nullptr;
    G* g = g_alloc(sizeof(Fn), alignof(Fn), &storage);
    try {
        ::new (storage) Fn(std::forward<F>(f));
    } catch (...) {
        g_abandon(g);
        throw;
    }
    g_start(g, &entry_ops_for<Fn>, owned.release(), true, true);
    return g;
}

void g_cancel(G* g) noexcept;

}  // namespace goro::detail
