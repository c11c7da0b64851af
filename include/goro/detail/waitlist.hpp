// goro/detail/waitlist.hpp — intrusive FIFO of parked waiters, and the one
// blocking loop every primitive shares. Internal.
//
// Protocol (the same for WaitGroup, Mutex, CondVar, Semaphore, Event, Chan):
//  waiter:  lock; link node; block(lk, node, ...)   -- block() unlocks
//  waker:   lock; unlink node (or a chain of nodes); unlock; signal(node)
// signal() sets node.signalled (release) and only then wakes the waiter, and
// touches nothing of the primitive, so the waiter may destroy the primitive as
// soon as it sees the flag (Go's "WaitGroup on the stack" pattern).
//
// Invariants:
//  * node.list != nullptr  <=>  the node is linked in that list; both are
//    guarded by the primitive's lock.
//  * A node is signalled at most once, and only after it was unlinked.
//  * A waiter leaves block() only when its node is unlinked and either
//    signalled (returns true), past its deadline (false) or cancelled (throws).
//    An unlinked, not yet signalled node belongs to a waker that is about to
//    signal it, so the waiter keeps parking until the flag is set.
#pragma once

#include <goro/detail/park.hpp>

#include <atomic>
#include <cstdint>
#include <optional>

namespace goro::detail {

struct WaitList;

struct WaitNode {
    WaitNode* prev = nullptr;  // guarded by the primitive's lock
    WaitNode* next = nullptr;  // guarded by the primitive's lock
    WaitList* list = nullptr;  // guarded by the primitive's lock; non-null while linked
    Waker waker;               // written before linking; read by the waker under the lock
    std::atomic<bool> signalled{false};
    void* data = nullptr;     // primitive-specific payload (a channel slot, a count...)
    std::int64_t amount = 0;  // primitive-specific (semaphore units, select case index...)
    bool ok = true;           // primitive-specific result set by the waker (e.g. closed channel)
    // A node of a select: the select's winner word, shared by all its nodes.
    // A waker must win it (claim()) before acting on the node; a node whose
    // select was already won elsewhere is stale and is simply unlinked.
    std::atomic<int>* select_winner = nullptr;
};

// claim() decides whether a waker that popped `n` may complete it. Plain
// waiters always may; a select's node only if its select is still undecided.
inline bool claim(WaitNode* n) noexcept {
    if (!n->select_winner) return true;
    int undecided = -1;
    return n->select_winner->compare_exchange_strong(
        undecided, static_cast<int>(n->amount),
        std::memory_order_acq_rel);  // pairs with the select's acquire load
}

struct WaitList {
    WaitNode* head = nullptr;
    WaitNode* tail = nullptr;

    bool empty() const noexcept { return head == nullptr; }

    void push_back(WaitNode* n) noexcept {
        n->list = this;
        n->next = nullptr;
        n->prev = tail;
        if (tail) tail->next = n;
        else head = n;
        tail = n;
    }
    void remove(WaitNode* n) noexcept {
        if (n->prev) n->prev->next = n->next;
        else head = n->next;
        if (n->next) n->next->prev = n->prev;
        else tail = n->prev;
        n->prev = n->next = nullptr;
        n->list = nullptr;
    }
    WaitNode* pop_front() noexcept {
        WaitNode* n = head;
        if (n) remove(n);
        return n;
    }
    // Unlinks every node; returns them chained through `next`.
    WaitNode* take_all() noexcept {
        WaitNode* chain = head;
        for (WaitNode* n = head; n; n = n->next) {
            n->list = nullptr;
            n->prev = nullptr;
        }
        head = tail = nullptr;
        return chain;
    }
};

// signal() hands an unlinked node back to its waiter. Call it after releasing
// the primitive's lock; never touch the node afterwards. `order`: where a
// woken goroutine queues (Waker::Order).
inline void signal(WaitNode* n, Waker::Order order = Waker::Order::Next) noexcept {
    Waker w = n->waker;
    n->signalled.store(true, std::memory_order_release);  // pairs with acquire in block()
    w.wake(order);
}
inline void signal_chain(WaitNode* chain, Waker::Order order = Waker::Order::Next) noexcept {
    while (chain) {
        WaitNode* next = chain->next;  // read before signal(): the node may vanish after it
        signal(chain, order);
        chain = next;
    }
}

// block() parks the caller until `node` is signalled. Precondition: `lk` is
// held and `node` is linked (its waker may be set already, else block sets it). Returns with `lk` released: true when signalled,
// false when `deadline` passed first (node unlinked). A cancellation request
// unlinks the node and throws Cancelled, unless the node was already taken by
// a waker, in which case the wait completes normally and the request stays
// pending for the next blocking call.
// `reason` is what the goroutine dump shows while it waits (park.hpp).
template <class Lock>
bool block(Lock& lk, WaitNode& node, WaitReason reason, const TimePoint* deadline = nullptr) {
    G* const self = current_g();  // looked up once: we stay this goroutine (or thread)
    if (!node.waker) node.waker = waker_of(self);
    lk.unlock();
    bool cancel_tried = false;
    for (;;) {
        if (node.signalled.load(std::memory_order_acquire)) return true;  // pairs with release in signal()
        bool cancel = !cancel_tried && cancel_pending(self);
        bool expired = deadline && Clock::now() >= *deadline;
        if (cancel || expired) {
            lk.lock();
            if (node.list) {
                node.list->remove(&node);
                lk.unlock();
                if (cancel) throw_cancelled();
                return false;
            }
            lk.unlock();
            // A waker owns the node now; its signal is imminent.
            cancel_tried = true;
            deadline = nullptr;
        }
        if (deadline) park_until(*deadline, reason);
        else park(reason);
    }
}

}  // namespace goro::detail
