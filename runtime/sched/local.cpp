// sched/local.cpp — GoroutineLocal's runtime side (include/goro/local.hpp):
// the keys, and the table of values each goroutine (G::locals) or plain
// thread keeps.
//
// Owns: the key registry (slots and their generations, under one mutex:
// taken only when a GoroutineLocal is constructed or destroyed) and
// LocalTable, a vector indexed by slot. A key is {slot, generation}; a
// table entry holds the generation of the key that stored it, so a value
// left behind by a destroyed GoroutineLocal is never returned for the key
// that reuses its slot (it is destroyed when that key stores, or when the
// goroutine ends).
//
// Invariants: a table is touched only by its goroutine (or thread): the
// lookups take no lock. A goroutine's table is destroyed on that goroutine
// when its function has returned (destroy_goroutine_locals, from g_entry),
// so G::locals is null whenever a G is freed. Value destructors run outside
// any goro lock and may call get() on other GoroutineLocals: destruction
// repeats until the table stays empty; values still stored after
// kDestroyRounds rounds are dropped without their destructor (pthread's
// PTHREAD_DESTRUCTOR_ITERATIONS rule).
#include "sched/local.hpp"

#include "sched/g.hpp"

#include <goro/detail/park.hpp>
#include <goro/local.hpp>

#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace goro::detail {

struct LocalTable {
    struct Entry {
        void* value = nullptr;
        void (*destroy)(void*) noexcept = nullptr;
        std::uint32_t generation = 0;
    };
    std::vector<Entry> entries;

    // Destroys every value, in slot order, each taken out of its entry just
    // before its destructor runs: a destructor still sees the values not yet
    // destroyed, and one that stores again is seen by the caller's next
    // round (has_values()).
    void destroy_all() noexcept {
        for (std::size_t i = 0; i < entries.size(); ++i) {  // size re-read: a destructor may grow it
            Entry e = std::exchange(entries[i], Entry{});
            if (e.value) e.destroy(e.value);
        }
    }
    bool has_values() const noexcept {
        for (const Entry& e : entries)
            if (e.value) return true;
        return false;
    }
};

namespace {

constexpr int kDestroyRounds = 4;

struct KeyRegistry {
    std::mutex mu;
    std::vector<std::uint32_t> generations;  // by slot: the generation of its latest key
    std::vector<std::uint32_t> free_slots;
};

KeyRegistry& registry() {
    static KeyRegistry* r = new KeyRegistry;  // never destroyed: keys may be released during static destruction
    return *r;
}

// Runs the destructors of *slot's values, in rounds while they store new
// ones; values still stored after kDestroyRounds are dropped without their
// destructor (as pthread does with thread-specific data). Frees the table.
void destroy_table(LocalTable*& slot) noexcept {
    for (int round = 0; round < kDestroyRounds && slot && slot->has_values(); ++round) slot->destroy_all();
    delete slot;
    slot = nullptr;
}

// The table of a plain thread (or of a worker thread outside a goroutine).
struct ThreadTable {
    LocalTable* table = nullptr;
    ~ThreadTable() { destroy_table(table); }
};
thread_local ThreadTable t_thread_table;

LocalTable*& table_slot() noexcept {
    if (G* g = current_g()) return g->locals;
    return t_thread_table.table;
}

}  // namespace

LocalKey local_key_acquire() {
    KeyRegistry& r = registry();
    std::lock_guard lk(r.mu);
    std::uint32_t slot;
    if (!r.free_slots.empty()) {
        slot = r.free_slots.back();
        r.free_slots.pop_back();
    } else {
        slot = static_cast<std::uint32_t>(r.generations.size());
        r.generations.push_back(0);
    }
    return LocalKey{slot, ++r.generations[slot]};
}

void local_key_release(LocalKey key) noexcept {
    KeyRegistry& r = registry();
    std::lock_guard lk(r.mu);
    try {
        r.free_slots.push_back(key.slot);
    } catch (const std::bad_alloc&) {
        // the slot is not reused: a few bytes lost, no value confused
    }
}

void* local_find(LocalKey key) noexcept {
    LocalTable* t = table_slot();
    if (!t || key.slot >= t->entries.size()) return nullptr;
    const LocalTable::Entry& e = t->entries[key.slot];
    return e.generation == key.generation ? e.value : nullptr;
}

void local_store(LocalKey key, void* value, void (*destroy)(void*) noexcept) {
    LocalTable*& t = table_slot();
    try {
        if (!t) t = new LocalTable;
        if (key.slot >= t->entries.size()) t->entries.resize(key.slot + 1);
    } catch (...) {
        destroy(value);
        throw;
    }
    LocalTable::Entry old = std::exchange(t->entries[key.slot], LocalTable::Entry{value, destroy, key.generation});
    if (old.value) old.destroy(old.value);  // a stale value of a released key, or one a factory replaced
}

void local_erase(LocalKey key) noexcept {
    LocalTable* t = table_slot();
    if (!t || key.slot >= t->entries.size()) return;
    LocalTable::Entry& e = t->entries[key.slot];
    if (e.generation != key.generation || !e.value) return;
    LocalTable::Entry old = std::exchange(e, LocalTable::Entry{});
    old.destroy(old.value);
}

void destroy_goroutine_locals(G* g) noexcept { destroy_table(g->locals); }

}  // namespace goro::detail
