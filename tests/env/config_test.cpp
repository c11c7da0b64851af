// tests/env/config_test.cpp: runtime/env/config (environment parsing, CPU detection).
#include "internal/runtime_export.hpp"  // env/config.hpp

#include <catch2/catch.hpp>
#include <stdlib.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

using namespace goro::rt;

namespace {

// EnvVar sets (or unsets) one variable for a test's scope and restores the old state afterwards.
class EnvVar {
public:
    EnvVar(const char* name, const char* value) : name_(name) {
        if (const char* old = ::getenv(name)) old_ = old;
        value ? ::setenv(name, value, 1) : ::unsetenv(name);
    }
    ~EnvVar() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }
    EnvVar(const EnvVar&) = delete;
    EnvVar& operator=(const EnvVar&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

// what_of() runs fn, which must throw std::invalid_argument, and returns its message.
template <typename F>
std::string what_of(F fn) {
    try {
        fn();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    FAIL("no std::invalid_argument thrown");
    return {};
}

}  // namespace

TEST_CASE("maxprocs_env_valid_values_parse") {
    EnvVar go("GOMAXPROCS", nullptr);
    for (auto [text, want] : {std::pair{"1", 1}, {"4", 4}, {"0016", 16}, {"10000", 10000}}) {
        EnvVar goro("GORO_MAXPROCS", text);
        CHECK(maxprocs_from_env() == want);
    }
}

TEST_CASE("maxprocs_env_unset_or_empty_is_zero") {
    EnvVar go("GOMAXPROCS", nullptr);
    {
        EnvVar goro("GORO_MAXPROCS", nullptr);
        CHECK(maxprocs_from_env() == 0);
    }
    EnvVar goro("GORO_MAXPROCS", "");
    CHECK(maxprocs_from_env() == 0);
}

TEST_CASE("maxprocs_env_abc_throws_naming_variable") {
    EnvVar go("GOMAXPROCS", nullptr);
    for (const char* bad : {"abc", "0", "-3", "99999999999", "10001", "4x", " 2", "+2", "1.5"}) {
        EnvVar goro("GORO_MAXPROCS", bad);
        std::string what = what_of([] { maxprocs_from_env(); });
        INFO(what);
        CHECK(what.find("GORO_MAXPROCS=" + std::string(bad)) != std::string::npos);
    }
}

TEST_CASE("maxprocs_env_falls_back_to_gomaxprocs") {
    EnvVar goro("GORO_MAXPROCS", nullptr);
    EnvVar go("GOMAXPROCS", "3");
    CHECK(maxprocs_from_env() == 3);
}

TEST_CASE("maxprocs_env_goro_wins_over_gomaxprocs") {
    EnvVar goro("GORO_MAXPROCS", "5");
    EnvVar go("GOMAXPROCS", "3");
    CHECK(maxprocs_from_env() == 5);
}

TEST_CASE("maxprocs_env_bad_gomaxprocs_throws_naming_gomaxprocs") {
    EnvVar goro("GORO_MAXPROCS", nullptr);
    EnvVar go("GOMAXPROCS", "abc");
    CHECK(what_of([] { maxprocs_from_env(); }).find("GOMAXPROCS=abc") != std::string::npos);
}

TEST_CASE("maxprocs_env_bad_goro_throws_even_with_valid_gomaxprocs") {
    EnvVar goro("GORO_MAXPROCS", "abc");
    EnvVar go("GOMAXPROCS", "3");
    CHECK(what_of([] { maxprocs_from_env(); }).find("GORO_MAXPROCS=abc") != std::string::npos);
}

TEST_CASE("stack_size_suffixes_parse") {
    CHECK(parse_stack_size("V", "64K") == 65536);
    CHECK(parse_stack_size("V", "64k") == 65536);
    CHECK(parse_stack_size("V", "1M") == 1048576);
    CHECK(parse_stack_size("V", "1m") == 1048576);
    CHECK(parse_stack_size("V", "1024M") == kMaxStackSize);
    CHECK(parse_stack_size("V", "16384") == kMinStackSize);
}

TEST_CASE("stack_size_rounds_up_to_page") {
    CHECK(parse_stack_size("V", "20000") == 20480);
    CHECK(parse_stack_size("V", "20480") == 20480);
}

TEST_CASE("stack_size_bad_values_throw_naming_variable") {
    for (const char* bad : {"12Q", "", "K", "-5", "0", "1.5M", "64 K", "99999999999999999999", "18014398509481984K",
                            "16383", "1025M", "2G"}) {
        std::string what = what_of([bad] { parse_stack_size("GORO_STACK_SIZE", bad); });
        INFO(what);
        CHECK(what.find("GORO_STACK_SIZE=" + std::string(bad)) != std::string::npos);
    }
}

TEST_CASE("stack_size_env_12Q_throws_naming_variable") {
    EnvVar stack("GORO_STACK_SIZE", "12Q");
    CHECK(what_of([] { stack_size_from_env(); }).find("GORO_STACK_SIZE=12Q") != std::string::npos);
}

TEST_CASE("stack_size_env_unset_is_zero_and_set_parses") {
    {
        EnvVar stack("GORO_STACK_SIZE", nullptr);
        CHECK(stack_size_from_env() == 0);
    }
    EnvVar stack("GORO_STACK_SIZE", "256K");
    CHECK(stack_size_from_env() == 256 * 1024);
}

TEST_CASE("cpu_quota_limit_rounds_up") {
    CHECK(cpu_quota_limit(-1, 100000) == 0);
    CHECK(cpu_quota_limit(100000, 0) == 0);
    CHECK(cpu_quota_limit(50000, 100000) == 1);
    CHECK(cpu_quota_limit(100000, 100000) == 1);
    CHECK(cpu_quota_limit(150000, 100000) == 2);
    CHECK(cpu_quota_limit(400000, 100000) == 4);
}

TEST_CASE("num_cpu_detect_is_within_hardware_concurrency") {
    int n = num_cpu_detect();
    CHECK(n >= 1);
    if (unsigned hw = std::thread::hardware_concurrency(); hw > 0) CHECK(n <= static_cast<int>(hw));
    CHECK(num_cpu_detect() == n);
}

TEST_CASE("trace_buffer_parses_counts_in_range_and_rejects_the_rest") {
    CHECK(parse_trace_buffer("GORO_TRACE_BUFFER", "1") == 1);
    CHECK(parse_trace_buffer("GORO_TRACE_BUFFER", "65536") == 65536);
    CHECK(parse_trace_buffer("GORO_TRACE_BUFFER", "16777216") == kMaxTraceBufferEvents);
    for (const char* bad : {"", "0", "16777217", "-1", "+5", " 5", "5 ", "1k", "abc", "99999999999999999999"}) {
        INFO(bad);
        CHECK(what_of([bad] { parse_trace_buffer("GORO_TRACE_BUFFER", bad); })
                  .find(std::string("GORO_TRACE_BUFFER=") + bad + " is not valid") != std::string::npos);
    }
}

TEST_CASE("trace_env_unset_is_off_and_set_is_read") {
    {
        EnvVar trace("GORO_TRACE", nullptr);
        EnvVar buffer("GORO_TRACE_BUFFER", nullptr);
        TraceOptions o = trace_from_env();
        CHECK(o.path.empty());
        CHECK(o.buffer_events == kDefaultTraceBufferEvents);
    }
    EnvVar trace("GORO_TRACE", "/tmp/t.json");
    EnvVar buffer("GORO_TRACE_BUFFER", "100");
    TraceOptions o = trace_from_env();
    CHECK(o.path == "/tmp/t.json");
    CHECK(o.buffer_events == 100);
}
