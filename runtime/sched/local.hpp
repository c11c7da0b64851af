// sched/local.hpp — the scheduler's side of GoroutineLocal (sched/local.cpp):
// a goroutine's values are destroyed on it when its function has returned.
#pragma once

namespace goro::detail {

struct G;

// Runs the destructors of g's GoroutineLocal values (g is the calling
// goroutine) and frees its table; G::locals is null afterwards.
void destroy_goroutine_locals(G* g) noexcept;

}  // namespace goro::detail
