// debug/thread_name.cpp: see thread_name.hpp.
#include "debug/thread_name.hpp"

#include <pthread.h>

#include <cstdio>

namespace goro::rt {

ThreadName::ThreadName(const char* name) noexcept { set(name); }

ThreadName::ThreadName(int worker_id) noexcept {
    char name[16];
    std::snprintf(name, sizeof name, "goro-w%d", worker_id);
    set(name);
}

void ThreadName::set(const char* name) noexcept {
    saved_ = ::pthread_getname_np(::pthread_self(), old_, sizeof old_) == 0;
    ::pthread_setname_np(::pthread_self(), name);
}

ThreadName::~ThreadName() {
    if (saved_) ::pthread_setname_np(::pthread_self(), old_);
}

}  // namespace goro::rt
