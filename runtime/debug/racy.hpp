// debug/racy.hpp — racy_load(): a relaxed atomic load of a plain field that
// another thread may be writing, for the debugging readers (the goroutine
// dump, the running-goroutine scan) that look at descriptors they do not
// own. A torn or stale value is acceptable to them; undefined behaviour is
// not, so the read is atomic. std::atomic_ref would say the same, but
// libc++ 14 (Debian 12's) does not have it; the builtin works with both
// GCC and clang.
#pragma once

#include <type_traits>

namespace goro::rt {

template <class T>
T racy_load(const T& field) noexcept {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "racy_load: a word-sized field");
    T value;
    __atomic_load(&field, &value, __ATOMIC_RELAXED);
    return value;
}

template <class T>
void racy_store(T& field, T value) noexcept {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "racy_store: a word-sized field");
    __atomic_store(&field, &value, __ATOMIC_RELAXED);
}

}  // namespace goro::rt
