// debug/assert.hpp — GORO_ASSERT and fatal(): broken invariants abort with
// "goro: ..." and the state found. On in debug builds, and in release builds
// built with -Dassertions=true (the default).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace goro::rt {
[[noreturn]] void fatal(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
}

#if !defined(NDEBUG) || defined(GORO_ASSERTIONS)
#define GORO_ASSERT(cond, fmt, ...)                                                      \
    do {                                                                                 \
        if (__builtin_expect(!(cond), 0))                                                \
            ::goro::rt::fatal("assertion failed at %s:%d: %s: " fmt, __FILE__, __LINE__, \
                              #cond __VA_OPT__(, ) __VA_ARGS__);                         \
    } while (0)
#else
#define GORO_ASSERT(cond, fmt, ...) \
    do {                            \
    } while (0)
#endif
