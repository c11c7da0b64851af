/// @file goro/local.hpp
/// @brief GoroutineLocal<T>: a value per goroutine (Boost.Fiber's
/// fiber_specific_ptr, Python's threading.local for goroutines).
///
/// @code
/// struct Session { int requests = 0; };
/// goro::GoroutineLocal<Session> session;  // shared by every goroutine
///
/// goro::run([&] {
///     goro::WaitGroup wg;
///     for (int i = 0; i < 3; ++i) {
///         wg.add();
///         goro::go([&, wg] {
///             session->requests++;              // this goroutine's Session
///             goro::yield();                    // may resume on another thread
///             std::printf("%d\n", session->requests);  // 1: still its own
///             wg.done();
///         });                                   // its Session is destroyed here
///     }
///     wg.wait();
/// });
/// @endcode
///
/// Why not thread_local: goroutines migrate between worker threads at any
/// goro call (a channel operation, a lock, a sleep), and many goroutines
/// share one thread, so a thread_local seen before a goro call may belong to
/// another goroutine after it. A GoroutineLocal follows its goroutine. On a
/// plain thread (and on a worker thread outside any goroutine) it is per
/// thread.
///
/// Rules:
///  * get() creates the calling goroutine's value on first use, from the
///    factory given to the constructor (default: T()); a factory that throws
///    leaves no value, and the next get() tries again.
///  * A goroutine's values are destroyed on that goroutine when its function
///    returns (or throws), in no particular order; a destructor may use goro
///    calls and other GoroutineLocals. A plain thread's values are destroyed
///    when the thread exits.
///  * Destroying the GoroutineLocal does not destroy the values goroutines
///    hold: each lives until its goroutine (or thread) ends, then is
///    destroyed as above. Use reset() to drop the calling goroutine's value
///    early.
///  * Each goroutine only ever touches its own values: no locking, and no
///    synchronisation with other goroutines is implied.
///
/// Cost: get() is one call into the library (a table lookup by a small
/// index); bench/goroutine_local.cpp compares it with thread_local.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, as the other headers do.
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <concepts>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>

namespace goro {

namespace detail {

// A GoroutineLocal's identity: a small slot index, reused after the key is
// released, and a generation that tells the slot's users apart.
struct LocalKey {
    std::uint32_t slot = 0;
    std::uint32_t generation = 0;
};
LocalKey local_key_acquire();
void local_key_release(LocalKey key) noexcept;
// The calling goroutine's (or thread's) value for key, or null.
void* local_find(LocalKey key) noexcept;
// Makes value (owned: destroy(value) frees it) the caller's value for key,
// destroying the one it replaces. If it cannot store it (no memory), it
// destroys value and throws.
void local_store(LocalKey key, void* value, void (*destroy)(void*) noexcept);
// Destroys the caller's value for key, if any.
void local_erase(LocalKey key) noexcept;

}  // namespace detail

/// GoroutineLocal<T>: each goroutine sees its own T (see the file comment).
/// Not copyable or movable; usually a global or a long-lived member.
template <class T>
class GoroutineLocal {
    static_assert(std::is_object_v<T> && !std::is_array_v<T> && std::is_destructible_v<T>,
                  "GoroutineLocal<T>: T must be a destructible object type");

public:
    /// Values are default-constructed (T()) on first use.
    GoroutineLocal()
        requires std::default_initializable<T>
        : factory_([] { return T(); }), key_(detail::local_key_acquire()) {}
    /// Values are made by factory() on first use (called on the goroutine
    /// that asks; it may use goro calls).
    template <class F>
        requires std::invocable<F&> && std::convertible_to<std::invoke_result_t<F&>, T>
    explicit GoroutineLocal(F factory) : factory_(std::move(factory)), key_(detail::local_key_acquire()) {}

    GoroutineLocal(const GoroutineLocal&) = delete;
    GoroutineLocal& operator=(const GoroutineLocal&) = delete;
    ~GoroutineLocal() { detail::local_key_release(key_); }

    /// The calling goroutine's value, created now if it has none.
    T& get() {
        if (void* v = detail::local_find(key_)) return *static_cast<T*>(v);
        return create();
    }
    /// The same as get().
    ///@{
    T& operator*() { return get(); }
    T* operator->() { return &get(); }
    ///@}

    /// The calling goroutine's value, or null if it has none yet (creates
    /// nothing).
    T* get_if_present() noexcept { return static_cast<T*>(detail::local_find(key_)); }

    /// Destroys the calling goroutine's value now, if it has one; the next
    /// get() creates a fresh one.
    void reset() noexcept { detail::local_erase(key_); }

private:
    static void destroy(void* v) noexcept { delete static_cast<T*>(v); }
    T& create() {
        T* v = new T(factory_());
        detail::local_store(key_, v, &destroy);
        return *v;
    }

    std::function<T()> factory_;
    detail::LocalKey key_;
};

}  // namespace goro
