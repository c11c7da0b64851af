// debug/thread_name.hpp — names goro's threads as top -H, ps -L and gdb show them: workers "goro-w0",
// "goro-w1", ... (by M id), run_blocking's pool threads "goro-blocking", the monitor "goro-monitor".
//
// ThreadName sets the calling thread's name (pthread_setname_np; Linux keeps 15 bytes) for its lifetime and
// puts back the name the thread had before: run() makes the caller's own thread worker 0 for the
// runtime's lifetime, and the program's name for that thread comes back when run() returns. Failures are
// ignored (a name is a debugging aid, never worth an error).
#pragma once

namespace goro::rt {

class ThreadName {
public:
    explicit ThreadName(const char* name) noexcept;
    // "goro-w<worker_id>".
    explicit ThreadName(int worker_id) noexcept;
    ~ThreadName();
    ThreadName(const ThreadName&) = delete;
    ThreadName& operator=(const ThreadName&) = delete;

private:
    void set(const char* name) noexcept;
    char old_[16] = {};
    bool saved_ = false;
};

}  // namespace goro::rt
