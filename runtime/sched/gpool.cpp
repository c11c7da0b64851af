// sched/gpool.cpp — goroutine descriptors: where a G comes from and where
// it goes when its goroutine ends.
//
// Owns: GPool (gpool.hpp) and the Runtime's calls on it, alloc_g() and
// free_g(). Two tiers, as Go's gfget/gfput:
//  * each P keeps a free list of its own (P::free_gs, owner only, no lock),
//    refilled with one whole batch from the pool when empty, and handed back
//    whole when it reaches kLocalCacheMax, so a P that only exits goroutines
//    feeds one that only spawns them, one lock round trip per 32;
//  * the pool keeps the batches under mu_ (a SpinLock, rank GPool: the
//    innermost level of DESIGN.md's lock order; nothing is called while it
//    is held). A plain thread takes and gives single descriptors there.
// Descriptors come in chunks of kGChunk that are never freed before the
// runtime ends (type-stable: a stale Waker may still name a G, so a G's
// memory must stay a G). A fresh chunk is allocated and its descriptors
// constructed outside mu_ (that is where the first-touch page faults are);
// only linking it in is done under the lock.
//
// A descriptor's state on the way: Free (status) while in a list; alloc_g()
// hands it out still Free, and only start_g() (api.cpp) makes it Runnable.
#include "sched/gpool.hpp"

#include "debug/gdb_info.hpp"
#include "debug/racy.hpp"
#include "sched/scheduler.hpp"

#include <cerrno>
#include <mutex>
#include <new>
#include <system_error>

namespace goro::rt {

GPool::~GPool() {
    debug_info_set_chunks(nullptr, 0);
#if GORO_TSAN
    for (auto& chunk : chunks_)
        for (std::size_t i = 0; i < kGChunk; ++i) context_destroy(chunk[i].ctx);
#endif
}

// A fresh chunk is allocated and its descriptors constructed without mu_:
// that is where the first-touch page faults happen (a dozen per chunk), and
// a spin lock held across them kept the other workers spinning (a quarter
// of spawn_join's time at two workers). Only linking it in, as batches of
// the size a P refills with, is done under the lock.
void GPool::add_chunk() {
    std::unique_ptr<G[]> chunk(new G[kGChunk]);
    for (std::size_t i = 0; i < kGChunk; ++i) chunk[i].next = (i + 1) % kGBatch ? &chunk[i + 1] : nullptr;
    std::lock_guard lk(mu_);
    batches_.reserve(batches_.size() + kGChunk / kGBatch);  // may throw: nothing linked yet
    chunks_.reserve(chunks_.size() + 1);
    chunk_index_.reserve(chunks_.size() + 1);
    G* gs = chunk.get();
    chunks_.push_back(std::move(chunk));
    chunk_index_.push_back(gs);
    debug_info_set_chunks(chunk_index_.data(), chunk_index_.size());
    for (std::size_t i = 0; i < kGChunk; i += kGBatch) batches_.push_back(Batch{&gs[i], kGBatch});
}

// A whole batch: O(1) under the lock, no walk over descriptors that are cold
// in this cache.
G* GPool::take_batch(int& count) {
    for (;;) {
        {
            std::lock_guard lk(mu_);
            if (!batches_.empty()) {
                Batch b = batches_.back();
                batches_.pop_back();
                count = b.count;
                return b.head;
            }
        }
        add_chunk();
    }
}

G* GPool::take_one() {
    for (;;) {
        {
            std::lock_guard lk(mu_);
            if (!batches_.empty()) {
                Batch& b = batches_.back();
                G* g = b.head;
                b.head = g->next;
                if (--b.count == 0) batches_.pop_back();
                return g;
            }
        }
        add_chunk();
    }
}

void GPool::give_batch(G* head, int count) {
    std::lock_guard lk(mu_);
    batches_.push_back(Batch{head, count});
}

std::vector<G*> GPool::chunks() const {
    std::lock_guard lk(mu_);
    return chunk_index_;
}

// ---------------------------------------------------------------- the Runtime's side

namespace {
G* alloc_g_local(GPool& pool, P* p) {
    if (!p->free_gs) p->free_gs = pool.take_batch(p->n_free_gs);
    G* g = p->free_gs;
    p->free_gs = g->next;
    --p->n_free_gs;
    return g;
}
}  // namespace

// The descriptor, a heap block for a big callable and the reservation of a
// stack are taken here, in the spawner: running out of any is a
// std::system_error from go()/spawn(), never another goroutine's failure.
// (The stack itself is bound at the goroutine's first run, worker.cpp
// bind_stack, from the capacity reserved here: binding it here made
// spawn_join 50x slower, a spawner that outruns the workers faulting in a
// stack per queued goroutine.)
G* Runtime::alloc_g(std::size_t fn_size, std::size_t fn_align, void** storage) {
    M* m = this_m();
    P* p = m ? m->p : nullptr;
    take_stack_credit(p);  // throws std::system_error: nothing taken yet
    G* g;
    try {
        g = p ? alloc_g_local(gpool_, p) : gpool_.take_one();
    } catch (const std::bad_alloc&) {
        return_stack_credit(p);
        throw std::system_error(ENOMEM, std::generic_category(), "goro: no memory for a goroutine descriptor");
    }
    g->next = nullptr;
    detail::clear_cancel_request(g);  // not yet visible to anyone; normally cleared at its last exit
    racy_store(g->user, true);  // the dump reads a G's fields racily (debug/racy.hpp)
    racy_store(g->is_main, false);
    g->name = nullptr;
    if (fn_size <= detail::kInlineFnSize && fn_align <= alignof(std::max_align_t)) {
        g->fn = g->inline_fn;
    } else {
        void* fn = ::operator new(fn_size, std::align_val_t(fn_align), std::nothrow);
        if (!fn) {
            g->fn = nullptr;
            free_g(p, g);
            return_stack_credit(p);
            throw std::system_error(ENOMEM, std::generic_category(), "goro: no memory for a goroutine's function");
        }
        g->fn = fn;
        g->fn_align = static_cast<std::uint16_t>(fn_align);
    }
    *storage = g->fn;
    return g;
}

void Runtime::free_g(P* p, G* g) {
    GORO_ASSERT(g->locals == nullptr, "goroutine %llu freed with its GoroutineLocal values",
                static_cast<unsigned long long>(g->id));  // they are destroyed on it as it ends (local.cpp)
    detail::clear_cancel_request(g);  // a request it never received no longer counts
    g->cancels.store(0, std::memory_order_relaxed);  // the next goroutine on it starts with none
    if (g->fn_on_heap()) ::operator delete(g->fn, std::align_val_t(g->fn_align));
    g->fn = nullptr;
    g->ops = nullptr;
    if (g->owns_name) {
        g->owns_name = false;
        delete g->name;
    }
    g->name = nullptr;
    g->status.store(GStatus::Free, std::memory_order_release);  // stale ready()s now see Free and do nothing
    if (!p) {
        g->next = nullptr;
        gpool_.give_batch(g, 1);
        return;
    }
    g->next = p->free_gs;
    p->free_gs = g;
    if (++p->n_free_gs >= kLocalCacheMax) {
        // Hand the whole local list over as one batch, so a P that only
        // exits goroutines feeds one that only spawns them.
        gpool_.give_batch(p->free_gs, p->n_free_gs);
        p->free_gs = nullptr;
        p->n_free_gs = 0;
    }
}

}  // namespace goro::rt
