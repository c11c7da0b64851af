// sync/context.cpp — Context (include/goro/context.hpp): Go's context trees.
//
// Owns: ContextState, one node of a tree. A cancellable node (with_cancel,
// with_deadline) has its own done channel; a value node (with_value) has
// none and answers done() and err() from its nearest cancellable ancestor
// (`cancel_src`), as Go's valueCtx does. Every node holds its parent
// strongly, so cancel_src (a plain pointer: the node itself, or an
// ancestor) lives at least as long as the node.
//
// Invariants, under a cancellable node's `mu`:
//  * err == None  <=>  its done channel is open; err is set once, and the
//    channel is then closed (outside mu), never reopened.
//  * A live, not-done cancellable node is in its cancellable ancestor's
//    `children`; a node that is cancelled (by its CancelFunc or deadline)
//    removes itself, so cancelled children cost their ancestor nothing (Go's
//    removeChild). The ancestor holds children strongly: a child that
//    nobody else holds (its done() channel may be held alone) is still
//    cancelled with its ancestor, and cancelling it frees it.
//  * A node's deadline timer holds the node weakly, and is stopped when the
//    node is cancelled.
//  * A live child and its cancellable ancestor hold each other: a tree whose
//    cancel functions are never called is never freed (Go's rule is the
//    same: "failing to call cancel leaks the context until its parent is
//    cancelled"); cancelling breaks the cycle.
//
// Cancelling walks the subtree with an explicit stack, not recursion, so a
// chain of 10,000 contexts cannot overflow a goroutine's stack. Locks: one
// node's mu at a time (a SpinLock; never held while closing a channel or
// stopping a timer, which take their own locks).
#include <goro/context.hpp>
#include <goro/detail/spinlock.hpp>
#include <goro/errors.hpp>
#include <goro/time.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace goro::detail {

// Live ContextStates: tests check that cancelled trees leave none behind.
std::atomic<long> g_live_contexts{0};

struct ContextState {
    std::shared_ptr<ContextState> parent;  // null: a child of background
    ContextState* cancel_src = nullptr;    // this node if cancellable, else the nearest such ancestor (or null)
    std::optional<TimePoint> deadline;     // own or inherited: the earliest
    const void* key = nullptr;             // a value node's key
    std::shared_ptr<const void> value;     // a value node's value

    // Cancellable nodes only:
    SpinLock mu;
    ContextError err = ContextError::None;                        // guarded by mu
    std::vector<std::shared_ptr<ContextState>> children;          // guarded by mu
    std::optional<Timer> timer;                                   // guarded by mu: the deadline's
    Chan<std::monostate> done_ch = Chan<std::monostate>::nil();   // set before the node is shared

    ContextState() { g_live_contexts.fetch_add(1, std::memory_order_relaxed); }
    // Dropping the last handle of a deep chain frees the chain in a loop,
    // not by recursion through `parent` (2,000 nested releases overflowed a
    // 64 KiB goroutine stack): a destructor running inside another one only
    // hands its parent to the outermost, which releases them one by one.
    ~ContextState() {
        thread_local std::vector<std::shared_ptr<ContextState>>* releasing = nullptr;
        if (releasing) {
            releasing->push_back(std::move(parent));
        } else {
            std::vector<std::shared_ptr<ContextState>> list;
            releasing = &list;
            list.push_back(std::move(parent));
            while (!list.empty()) {
                std::shared_ptr<ContextState> p = std::move(list.back());
                list.pop_back();
                p.reset();  // may push its own parent onto the list
            }
            releasing = nullptr;
        }
        g_live_contexts.fetch_sub(1, std::memory_order_relaxed);
    }
    ContextState(const ContextState&) = delete;
    ContextState& operator=(const ContextState&) = delete;
};

namespace {

// Cancels `root` and its subtree with `why`, then takes root out of its
// cancellable ancestor's children. Cancelling a done node does nothing.
void cancel_tree(const std::shared_ptr<ContextState>& root, ContextError why) {
    std::vector<std::shared_ptr<ContextState>> todo{root};
    std::vector<Timer> timers;
    bool root_was_live = false;
    while (!todo.empty()) {
        std::shared_ptr<ContextState> n = std::move(todo.back());
        todo.pop_back();
        std::vector<std::shared_ptr<ContextState>> kids;
        {
            std::lock_guard lk(n->mu);
            if (n->err != ContextError::None) continue;  // done already (cancelled twice, or by its deadline)
            n->err = why;
            kids.swap(n->children);
            if (n->timer) {
                timers.push_back(std::move(*n->timer));
                n->timer.reset();
            }
        }
        if (n == root) root_was_live = true;
        n->done_ch.close();  // wakes every receiver (and select) on done()
        for (auto& k : kids) todo.push_back(std::move(k));
    }
    for (Timer& t : timers) t.stop();  // outside every context's lock
    if (root_was_live && root->parent && root->parent->cancel_src) {
        ContextState& anc = *root->parent->cancel_src;
        std::lock_guard lk(anc.mu);
        auto it = std::find(anc.children.begin(), anc.children.end(), root);
        if (it != anc.children.end()) anc.children.erase(it);
    }
}

// A cancellable child of `parent` (null: background), linked into its
// cancellable ancestor, or done at once if that ancestor is.
std::shared_ptr<ContextState> new_cancellable(const std::shared_ptr<ContextState>& parent) {
    auto s = std::make_shared<ContextState>();
    s->parent = parent;
    s->cancel_src = s.get();
    s->done_ch = Chan<std::monostate>();
    if (parent) s->deadline = parent->deadline;
    if (parent && parent->cancel_src) {
        ContextState& anc = *parent->cancel_src;
        ContextError parent_err;
        {
            std::lock_guard lk(anc.mu);
            parent_err = anc.err;
            if (parent_err == ContextError::None) anc.children.push_back(s);
        }
        if (parent_err != ContextError::None) {
            s->err = parent_err;  // not shared yet: no lock needed
            s->done_ch.close();
        }
    }
    return s;
}

CancelFunc cancel_func(const std::shared_ptr<ContextState>& s) {
    // Weak: holding a CancelFunc does not keep a cancelled context alive.
    return [w = std::weak_ptr<ContextState>(s)] {
        if (std::shared_ptr<ContextState> s = w.lock()) cancel_tree(s, ContextError::Canceled);
    };
}

}  // namespace
}  // namespace goro::detail

namespace goro {

using detail::ContextState;

Chan<std::monostate> Context::done() const {
    if (!s_ || !s_->cancel_src) return Chan<std::monostate>::nil();
    return s_->cancel_src->done_ch;
}

ContextError Context::err() const noexcept {
    if (!s_ || !s_->cancel_src) return ContextError::None;
    ContextState& c = *s_->cancel_src;
    std::lock_guard lk(c.mu);
    return c.err;
}

std::optional<std::chrono::steady_clock::time_point> Context::deadline() const noexcept {
    if (!s_) return std::nullopt;
    return s_->deadline;
}

const void* Context::find_value(const void* key) const noexcept {
    for (const ContextState* n = s_.get(); n; n = n->parent.get())
        if (n->key == key) return n->value.get();
    return nullptr;
}

Context Context::with_value_erased(const Context& parent, const void* key, std::shared_ptr<const void> value) {
    auto s = std::make_shared<ContextState>();
    s->parent = parent.s_;
    s->cancel_src = parent.s_ ? parent.s_->cancel_src : nullptr;
    if (parent.s_) s->deadline = parent.s_->deadline;
    s->key = key;
    s->value = std::move(value);
    return Context(std::move(s));
}

std::pair<Context, CancelFunc> with_cancel(const Context& parent) {
    auto s = detail::new_cancellable(parent.s_);
    CancelFunc cancel = detail::cancel_func(s);
    return {Context(std::move(s)), std::move(cancel)};
}

std::pair<Context, CancelFunc> with_deadline_at(const Context& parent, detail::TimePoint deadline) {
    // A parent's earlier deadline already covers the child (Go does the same).
    if (parent.s_ && parent.s_->deadline && *parent.s_->deadline <= deadline) return with_cancel(parent);
    auto s = detail::new_cancellable(parent.s_);
    s->deadline = deadline;
    CancelFunc cancel = detail::cancel_func(s);
    std::weak_ptr<ContextState> weak = s;
    auto expire = [weak] {
        if (std::shared_ptr<ContextState> s = weak.lock()) detail::cancel_tree(s, ContextError::DeadlineExceeded);
    };
    if (detail::Clock::now() >= deadline) {
        expire();
    } else {
        std::optional<Timer> t;
        try {
            // With a runtime, its timer heap does the timing: after_func
            // starts a goroutine that cancels the tree at the deadline.
            t.emplace(after_func(deadline - detail::Clock::now(), expire));
        } catch (const InvalidState&) {
            // No runtime: a plain thread does it, holding the node weakly.
            std::thread([expire, deadline] {
                std::this_thread::sleep_until(deadline);
                expire();
            }).detach();
        }
        if (t) {
            bool keep;
            {
                std::lock_guard lk(s->mu);
                keep = s->err == ContextError::None;
                if (keep) s->timer = std::move(*t);
            }
            if (!keep) t->stop();  // cancelled meanwhile (by its parent); outside mu
        }
    }
    return {Context(std::move(s)), std::move(cancel)};
}

}  // namespace goro
