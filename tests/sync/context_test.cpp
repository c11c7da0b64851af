// tests/sync/context_test.cpp: goro::Context (runtime/sync/context.cpp): cancel functions, deadlines,
// parent-to-child propagation (never child-to-parent), values, done() in select, plain threads, and no
// leak: trees of 10,000 contexts cancelled from the root leave no live state behind.
#include "test_util.hpp"

#include <goro/context.hpp>

#include <string>
#include <thread>
#include <vector>

namespace goro::detail {
extern std::atomic<long> g_live_contexts;  // runtime/sync/context.cpp
}

using namespace goro_test;

namespace {
inline const goro::ContextKey<std::string> kRequestId;
inline const goro::ContextKey<int> kUser;
}  // namespace

TEST_CASE("context_background_is_never_done", "[sync][context]") {
    goro::Context bg = goro::background();
    CHECK(bg.done().is_nil());
    CHECK(bg.err() == goro::ContextError::None);
    CHECK_FALSE(bg.deadline().has_value());
    CHECK(bg.value(kUser) == nullptr);
}

TEST_CASE("context_cancel_closes_done_and_reaches_every_descendant", "[sync][context]") {
    for_each_maxprocs([](int) {
        auto [root, cancel_root] = goro::with_cancel(goro::background());
        auto [child, cancel_child] = goro::with_cancel(root);
        auto valued = goro::with_value(child, kUser, 7);
        auto [grandchild, cancel_grandchild] = goro::with_cancel(valued);
        auto [other, cancel_other] = goro::with_cancel(root);

        // A child never cancels its parent.
        cancel_other();
        CHECK(other.err() == goro::ContextError::Canceled);
        CHECK(root.err() == goro::ContextError::None);

        goro::WaitGroup wg;
        std::atomic<int> woken{0};
        for (const goro::Context& c : {root, child, valued, grandchild}) {
            wg.add();
            goro::go([c, &wg, &woken] {
                GCHECK(!c.done().recv().has_value());  // closed: nullopt (GCHECK: Catch's CHECK is not thread-safe)
                woken.fetch_add(1);
                wg.done();
            });
        }
        goro::sleep_for(5ms);
        CHECK(woken.load() == 0);
        cancel_root();
        wg.wait();
        CHECK(woken.load() == 4);
        for (const goro::Context& c : {root, child, valued, grandchild})
            CHECK(c.err() == goro::ContextError::Canceled);
        cancel_root();  // twice: nothing
        cancel_grandchild();
        cancel_child();
        CHECK(*valued.value(kUser) == 7);
        check_no_failures();
    });
}

TEST_CASE("context_deadline_exceeded_and_inherited", "[sync][context]") {
    for_each_maxprocs([](int) {
        auto t0 = std::chrono::steady_clock::now();
        auto [ctx, cancel] = goro::with_timeout(goro::background(), 30ms);
        auto [later, cancel_later] = goro::with_timeout(ctx, 1h);  // the parent's deadline is earlier
        REQUIRE(ctx.deadline().has_value());
        CHECK(later.deadline() == ctx.deadline());
        int which = goro::select(goro::case_recv(later.done(), [](auto) {}),
                                 goro::case_recv(goro::after(5s), [](auto) {}));
        CHECK(which == 0);
        CHECK(std::chrono::steady_clock::now() - t0 >= 30ms);
        CHECK(ctx.err() == goro::ContextError::DeadlineExceeded);
        CHECK(later.err() == goro::ContextError::DeadlineExceeded);
        cancel();  // after the deadline: err stays DeadlineExceeded
        CHECK(ctx.err() == goro::ContextError::DeadlineExceeded);
        cancel_later();

        auto [past, cancel_past] = goro::with_deadline(goro::background(), std::chrono::steady_clock::now() - 1s);
        CHECK(past.err() == goro::ContextError::DeadlineExceeded);
        cancel_past();
    });
}

TEST_CASE("context_cancel_before_deadline_says_canceled_and_stops_the_timer", "[sync][context]") {
    run_at(2, [] {
        auto [ctx, cancel] = goro::with_timeout(goro::background(), 20ms);
        cancel();
        CHECK(ctx.err() == goro::ContextError::Canceled);
        goro::sleep_for(40ms);
        CHECK(ctx.err() == goro::ContextError::Canceled);
    });
}

TEST_CASE("context_values_nearest_wins", "[sync][context]") {
    auto a = goro::with_value(goro::background(), kRequestId, std::string("outer"));
    auto b = goro::with_value(a, kUser, 1);
    auto c = goro::with_value(b, kRequestId, std::string("inner"));
    CHECK(*c.value(kRequestId) == "inner");
    CHECK(*b.value(kRequestId) == "outer");
    CHECK(*c.value(kUser) == 1);
    CHECK(a.value(kUser) == nullptr);
    CHECK(c.done().is_nil());  // no cancellable ancestor
}

TEST_CASE("context_child_of_a_done_parent_is_done_at_once", "[sync][context]") {
    auto [p, cancel] = goro::with_cancel(goro::background());
    cancel();
    auto [c, cancel_c] = goro::with_cancel(p);
    CHECK(c.err() == goro::ContextError::Canceled);
    CHECK_FALSE(c.done().try_recv().has_value());
    CHECK(c.done().closed());
    cancel_c();
}

TEST_CASE("context_works_on_plain_threads_without_a_runtime", "[sync][context]") {
    auto [ctx, cancel] = goro::with_timeout(goro::background(), 20ms);
    CHECK_FALSE(ctx.done().recv().has_value());  // a plain thread blocks on done() until the deadline
    CHECK(ctx.err() == goro::ContextError::DeadlineExceeded);
    cancel();
    auto [c2, cancel2] = goro::with_cancel(goro::background());
    std::thread t([cancel2 = cancel2] { cancel2(); });
    c2.done().recv();
    t.join();
    CHECK(c2.err() == goro::ContextError::Canceled);
}

// A tree of 10,000 contexts (a wide level, then chains under it, one 2,000 deep) cancelled from the root:
// every done() closes, and once the handles are gone no state is left (nor any kept by a cancelled
// child's entry in its parent).
TEST_CASE("context_tree_of_10000_cancelled_from_the_root_frees_everything", "[sync][context]") {
    const long before = goro::detail::g_live_contexts.load();
    for_each_maxprocs([](int) {
        std::vector<goro::Context> all;
        std::vector<goro::CancelFunc> cancels;
        auto [root, cancel_root] = goro::with_cancel(goro::background());
        for (int i = 0; i < 8000; ++i) {
            const goro::Context& parent = i < 100 ? root : all[static_cast<std::size_t>(i % 100)];
            auto [c, cancel] = (i % 3 == 0) ? goro::with_timeout(parent, 1h) : goro::with_cancel(parent);
            all.push_back(c);
            cancels.push_back(cancel);
        }
        goro::Context deep = root;
        for (int i = 0; i < 2000; ++i) {
            auto [c, cancel] = goro::with_cancel(deep);
            deep = c;
            all.push_back(c);
            cancels.push_back(cancel);
        }
        // Cancelling some children first removes them from their parents.
        for (std::size_t i = 0; i < cancels.size(); i += 7) cancels[i]();
        cancel_root();
        long open = 0;
        for (const goro::Context& c : all)
            if (!c.done().closed() || c.err() == goro::ContextError::None) ++open;
        CHECK(open == 0);
    });
    CHECK(goro::detail::g_live_contexts.load() == before);
}

TEST_CASE("context_made_and_cancelled_in_a_loop_keeps_nothing", "[sync][context]") {
    const long before = goro::detail::g_live_contexts.load();
    run_at(2, [] {
        auto [root, cancel_root] = goro::with_cancel(goro::background());
        for (int i = 0; i < 5000; ++i) {
            auto [c, cancel] = goro::with_timeout(root, 1h);
            cancel();
        }
        CHECK(goro::detail::g_live_contexts.load() >= 1);
        cancel_root();
    });
    CHECK(goro::detail::g_live_contexts.load() == before);
}
