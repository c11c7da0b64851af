// debug/fatal.cpp — the one place goro gives up: print and abort.
#include "debug/assert.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace goro::rt {

void fatal(const char* fmt, ...) {
    std::fflush(stdout);
    std::fputs("goro: fatal: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fputc('\n', stderr);
    std::fflush(stderr);
    std::abort();
}

}  // namespace goro::rt
