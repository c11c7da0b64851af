// tests/regress/bad_sizes_refused_test.cpp: sizes and counts the API took without a check. Chan<int>(1 << 62)
// constructed (capacity * sizeof(T) wrapped to 0) and the next sends overflowed the heap; Config{.stack_size =
// SIZE_MAX} crashed in make_fcontext (rounded to 0 bytes) and 1 << 40 was accepted although GORO_STACK_SIZE
// stops at 1 GiB; Config{.maxprocs = 20000} was clamped silently; Semaphore(INT64_MAX).release(1) made
// available() INT64_MIN; WaitGroup::add(INT64_MAX) overflowed (signed, UB) before its check and then reported a
// negative counter; `goro::Chan<int> ch(0)` did not compile (ambiguous with the private nil constructor). Each
// is now refused with an exception naming the value, and nothing changes.
#include "test_util.hpp"

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

using namespace goro_test;

namespace {

// what_of() runs fn, which must throw E, and returns its what().
template <class E, class F>
std::string what_of(F&& fn) {
    try {
        fn();
    } catch (const E& e) {
        return e.what();
    }
    return "(nothing thrown)";
}

}  // namespace

// Go's make(chan int, 0): an integer literal 0 is a capacity, not a null pointer.
static_assert(std::is_constructible_v<goro::Chan<int>, int>);
static_assert(std::is_constructible_v<goro::Chan<int>, long>);
static_assert(std::is_constructible_v<goro::Chan<int>, unsigned>);
static_assert(std::is_constructible_v<goro::Chan<int>, std::size_t>);
static_assert(!std::is_convertible_v<int, goro::Chan<int>>);  // still explicit

TEST_CASE("chan_of_capacity_0_compiles_and_is_unbuffered", "[regress][chan]") {
    goro::Chan<int> ch(0);
    CHECK(ch.capacity() == 0);
    CHECK_FALSE(ch.is_nil());
    CHECK_FALSE(ch.try_send(1));  // no receiver, no buffer
    goro::Chan<int> two(2);
    CHECK(two.capacity() == 2);
    CHECK(two.try_send(1));
    CHECK(two.try_send(2));
    CHECK_FALSE(two.try_send(3));
}

TEST_CASE("chan_capacity_too_large_or_negative_throws", "[regress][chan]") {
    std::string w = what_of<std::length_error>([] { goro::Chan<int> c(std::size_t{1} << 62); });
    CHECK(w.find(std::to_string(std::size_t{1} << 62)) != std::string::npos);
    w = what_of<std::length_error>([] { goro::Chan<int> c(std::numeric_limits<std::size_t>::max()); });
    CHECK(w.find(std::to_string(std::numeric_limits<std::size_t>::max())) != std::string::npos);
    // The limit scales with the element: 2^61 chars would be a (huge) object, 2^61 ints would not.
    struct Big {
        char bytes[1024];
    };
    CHECK_THROWS_AS(goro::Chan<Big>(std::size_t{1} << 54), std::length_error);
    w = what_of<std::invalid_argument>([] { goro::Chan<int> c(-1); });
    CHECK(w.find("-1") != std::string::npos);
    CHECK_THROWS_AS(goro::Chan<int>(std::numeric_limits<long long>::min()), std::invalid_argument);
}

TEST_CASE("config_stack_size_takes_the_environments_limits", "[regress][runtime]") {
    auto start = [](std::size_t bytes) { goro::run(goro::Config{.maxprocs = 1, .stack_size = bytes}, [] {}); };
    const std::size_t huge = std::numeric_limits<std::size_t>::max();
    std::string w = what_of<std::invalid_argument>([&] { start(huge); });
    CHECK(w.find("Config::stack_size=" + std::to_string(huge)) != std::string::npos);
    w = what_of<std::invalid_argument>([&] { start(std::size_t{1} << 40); });  // GORO_STACK_SIZE stops at 1 GiB
    CHECK(w.find("Config::stack_size=" + std::to_string(std::size_t{1} << 40)) != std::string::npos);
    CHECK_THROWS_AS(start((std::size_t{1} << 30) + 1), std::invalid_argument);
    CHECK_THROWS_AS(start(8 * 1024), std::invalid_argument);
    // Inside the range, at both ends of it.
    CHECK_NOTHROW(start(16 * 1024));
    CHECK_NOTHROW(start(std::size_t{1} << 30));
    CHECK_NOTHROW(start(100 * 1000));  // rounded up to pages
}

TEST_CASE("config_maxprocs_takes_the_environments_limits", "[regress][runtime]") {
    auto start = [](int n) { return goro::run(goro::Config{.maxprocs = n}, [] { return goro::maxprocs(); }); };
    std::string w = what_of<std::invalid_argument>([&] { start(10001); });
    CHECK(w.find("Config::maxprocs=10001") != std::string::npos);
    w = what_of<std::invalid_argument>([&] { start(-1); });
    CHECK(w.find("Config::maxprocs=-1") != std::string::npos);
    CHECK_THROWS_AS(start(std::numeric_limits<int>::max()), std::invalid_argument);
    CHECK(start(2) == 2);
}

TEST_CASE("set_maxprocs_beyond_the_limit_throws_and_changes_nothing", "[regress][runtime]") {
    for_each_maxprocs({1, 2}, [](int procs) {
        std::string w = what_of<std::invalid_argument>([] { goro::set_maxprocs(10001); });
        CHECK(w.find("10001") != std::string::npos);
        CHECK(goro::maxprocs() == procs);
        CHECK(goro::set_maxprocs(0) == procs);  // n <= 0 still only asks
    });
}

TEST_CASE("semaphore_release_past_int64_max_throws_overflow_error", "[regress][sync]") {
    auto body = [] {
        constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
        goro::Semaphore sem(kMax);
        std::string w = what_of<std::overflow_error>([&] { sem.release(1); });
        CHECK(w.find(std::to_string(kMax)) != std::string::npos);
        CHECK(sem.available() == kMax);
        CHECK_THROWS_AS(sem.release(kMax), std::overflow_error);
        CHECK(sem.available() == kMax);
        CHECK(sem.try_acquire());
        sem.release(1);  // back to the maximum: allowed
        CHECK(sem.available() == kMax);
        CHECK_THROWS_AS(sem.release(-1), std::invalid_argument);
        CHECK_THROWS_AS(goro::Semaphore(-1), std::invalid_argument);
    };
    body();  // plain thread
    for_each_maxprocs({1, 2}, [&](int) { body(); });
}

TEST_CASE("waitgroup_add_int64_extremes_throw_before_overflowing", "[regress][sync]") {
    auto body = [] {
        constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
        constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
        goro::WaitGroup wg;
        wg.add(1);
        std::string w = what_of<std::overflow_error>([&] { wg.add(kMax); });
        CHECK(w.find(std::to_string(kMax)) != std::string::npos);
        CHECK(wg.count() == 1);
        w = what_of<std::logic_error>([&] { wg.add(kMin); });
        CHECK(w.find(std::to_string(kMin)) != std::string::npos);
        CHECK(wg.count() == 1);
        CHECK_THROWS_AS(wg.add(-2), std::logic_error);
        CHECK(wg.count() == 1);
        wg.done();
        wg.wait();
    };
    body();  // plain thread
    for_each_maxprocs({1, 2}, [&](int) { body(); });
}
