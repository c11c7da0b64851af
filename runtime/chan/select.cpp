// chan/select.cpp — select and close: the non-template half of channels.
// (after() is in time/after.cpp.)
//
// Owns: Go's select algorithm (runtime/select.go) on goro's wait lists.
//  1. Shuffle the cases (the poll order: a uniformly random choice among the
//     ready ones) and sort their channels by address (the lock order).
//  2. Lock every channel, poll the cases in poll order; the first that can
//     complete does so under the locks. Else run case_default if given.
//  3. Else link one WaitNode per case into its channel's queue, all sharing
//     one `winner` word, unlock, and park. A waker must claim() a node (CAS
//     winner from -1 to the case index) before completing it, so exactly one
//     case completes; the others' nodes became stale. The nodes are linked
//     in poll order, not argument order: when several cases wait on one
//     channel, the partner that comes takes the first of them in its queue,
//     and that must be a random one, or a parked select would always
//     complete its first such case (Go links them in its lock order, which
//     is random among cases on one channel).
//  4. Wake-up: wait until the winner's node is signalled, then unlink the
//     other nodes, one channel lock at a time, and run the winner's body.
// Cancellation while parked: CAS winner from -1 to kCancelled; if that wins,
// no case can complete any more, the nodes are unlinked and Cancelled thrown.
// Holding every channel lock during steps 2-3 is what makes "nothing was
// ready" and "every node is linked" one atomic step: no wake-up is lost.
// Invariant after select returns: none of its nodes is linked anywhere (a
// million selects in a loop leave no stale waiter behind).
#include <goro/chan.hpp>
#include <goro/select.hpp>
#include <goro/time.hpp>

#include <algorithm>
#include <thread>
#include <vector>

namespace goro::detail {

namespace {

constexpr int kCancelled = -2;
constexpr std::size_t kInlineCases = 16;

std::uint64_t fast_random() noexcept {
    // Per-thread xorshift: select only needs an unbiased shuffle, not secrecy.
    thread_local std::uint64_t s = 0x2545F4914F6CDD1Dull ^ reinterpret_cast<std::uintptr_t>(&s);
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

// Small arrays on the stack for the common case, a vector beyond.
template <class T>
struct SmallArray {
    explicit SmallArray(std::size_t n) : size(n) {
        if (n > kInlineCases) {
            heap.resize(n);
            data = heap.data();
        } else {
            data = inline_buf;
        }
    }
    T& operator[](std::size_t i) noexcept { return data[i]; }
    T inline_buf[kInlineCases];
    std::vector<T> heap;
    T* data;
    std::size_t size;
};

}  // namespace

std::size_t select_impl(SelectCase** cases, std::size_t n) {
    // 1. Poll order and lock order.
    SmallArray<std::size_t> order(n);
    std::size_t default_case = n;
    for (std::size_t i = 0; i < n; ++i) {
        order[i] = i;
        if (cases[i]->is_default) default_case = i;
    }
    if (default_case == n) entry_cancellation_point();  // a select with a default never blocks
    for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[fast_random() % i]);

    SmallArray<ChanCore*> locks(n);
    std::size_t nlocks = 0;
    for (std::size_t i = 0; i < n; ++i)
        if (cases[i]->core) locks[nlocks++] = cases[i]->core;
    std::sort(locks.data, locks.data + nlocks);
    nlocks = static_cast<std::size_t>(std::unique(locks.data, locks.data + nlocks) - locks.data);
    auto lock_all = [&] {
        for (std::size_t i = 0; i < nlocks; ++i) locks[i]->lock_.lock();
    };
    auto unlock_all = [&] {
        for (std::size_t i = nlocks; i > 0; --i) locks[i - 1]->lock_.unlock();
    };

    // 2. Poll every case under all the locks.
    lock_all();
    for (std::size_t k = 0; k < n; ++k) {
        SelectCase* c = cases[order[k]];
        if (!c->core) continue;
        WaitNode* partner = nullptr;
        ChanResult r = c->try_locked(partner);
        if (r != ChanResult::WouldBlock) {
            unlock_all();
            if (partner) signal(partner);
            c->finish(r);
            return order[k];
        }
    }
    if (default_case < n) {
        unlock_all();
        cases[default_case]->finish(ChanResult::Done);
        return default_case;
    }
    if (nlocks == 0) block_forever(n == 0 ? WaitReason::SelectNoCases : WaitReason::Select);  // only nil channels: select {} parks forever

    // 3. Enqueue on every channel, in poll order, then park.
    std::atomic<int> winner{-1};
    Waker self = current_waker();
    for (std::size_t k = 0; k < n; ++k) {
        std::size_t i = order[k];
        SelectCase* c = cases[i];
        if (!c->core) continue;
        c->node.select_winner = &winner;
        c->node.amount = static_cast<std::int64_t>(i);
        c->node.waker = self;
        c->enqueue_locked();
    }
    unlock_all();

    int won;
    for (;;) {
        won = winner.load(std::memory_order_acquire);  // pairs with acq_rel CAS in claim()
        if (won >= 0) {
            if (cases[won]->node.signalled.load(std::memory_order_acquire)) break;  // pairs with release in signal()
        } else if (cancel_pending()) {
            int undecided = -1;
            if (winner.compare_exchange_strong(undecided, kCancelled, std::memory_order_acq_rel)) {
                won = kCancelled;
                break;
            }
            continue;  // a case won meanwhile: take it
        }
        park(WaitReason::Select);
    }

    // 4. Unlink the nodes that lost (the winner's was unlinked by its waker).
    for (std::size_t i = 0; i < n; ++i) {
        SelectCase* c = cases[i];
        if (!c->core || static_cast<int>(i) == won) continue;
        std::lock_guard lk(c->core->lock_);
        if (c->node.list) c->node.list->remove(&c->node);
    }
    if (won == kCancelled) throw_cancelled();
    SelectCase* c = cases[won];
    c->finish(c->node.ok ? ChanResult::Done : ChanResult::Closed);
    return static_cast<std::size_t>(won);
}

void ChanCore::close_locked_and_unlock() {
    if (closed_) {
        lock_.unlock();
        throw ChannelClosed("goro: close of closed channel");
    }
    closed_ = true;
    WaitNode* chain = nullptr;
    WaitNode* last = nullptr;
    auto take_all = [&](WaitList& q) {
        while (WaitNode* n = pop_claimable(q)) {
            n->ok = false;  // receivers: nothing; senders: throw ChannelClosed
            n->next = nullptr;
            if (last) last->next = n;
            else chain = n;
            last = n;
        }
    };
    take_all(recvq_);
    take_all(sendq_);
    lock_.unlock();
    signal_chain(chain);
}

}  // namespace goro::detail
