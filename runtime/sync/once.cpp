// sync/once.cpp — Once: a function run once (sync.Once, std::call_once).
//
// Owns: the state of each Once. States: not done -> running (one caller runs
// its fn outside the lock) -> done; a fn that throws takes it back to not
// done. Callers that find it running park on waiters_ (the protocol of
// include/goro/detail/waitlist.hpp); the runner wakes all of them when it
// ends either way, and each looks again: done, or not done (the fn threw)
// and it runs its own fn, or running again (another woken caller won).
//
// Synchronisation: done_ is the fast path's flag, stored with release after
// fn returned and loaded with acquire by done(), so a caller that sees it
// also sees what fn wrote. running_ and waiters_ are guarded by lock_.
#include <goro/detail/waitlist.hpp>
#include <goro/sync.hpp>

#include <atomic>

namespace goro {

using detail::WaitNode;

struct Once::State {
    std::atomic<bool> done_{false};
    detail::SpinLock lock_;
    bool running_ = false;      // guarded by lock_
    detail::WaitList waiters_;  // guarded by lock_
};

Once::Once() : s_(std::make_shared<State>()) {}

bool Once::done() const noexcept {
    return s_->done_.load(std::memory_order_acquire);  // pairs with release in call_slow
}

void Once::call_slow(void* fn, void (*invoke)(void*)) const {
    State& st = *s_;
    for (;;) {
        st.lock_.lock();
        if (st.done_.load(std::memory_order_relaxed)) {  // lock_ orders it after the runner's store
            st.lock_.unlock();
            return;
        }
        if (!st.running_) break;  // ours to run, lock held
        WaitNode node;
        st.waiters_.push_back(&node);
        detail::block(st.lock_, node, detail::WaitReason::OnceDo);  // a cancellation point: throws Cancelled, unlinked
    }
    st.running_ = true;
    st.lock_.unlock();
    auto finish = [&st](bool done) {
        WaitNode* chain;
        {
            std::lock_guard lk(st.lock_);
            st.running_ = false;
            if (done) st.done_.store(true, std::memory_order_release);  // pairs with acquire in done()
            chain = st.waiters_.take_all();
        }
        detail::signal_chain(chain);
    };
    try {
        invoke(fn);
    } catch (...) {
        finish(false);
        throw;
    }
    finish(true);
}

}  // namespace goro
