// tests/metrics/trace_test.cpp — GORO_TRACE (the timeline trace): the file
// a known program leaves is strict JSON in the Chrome trace event format,
// with every goroutine's create and end, one track per worker whose
// goroutine runs never overlap, ready->run flows that pair up, park
// reasons; a tiny GORO_TRACE_BUFFER drops events, counts them and still
// writes a valid file; a bad path or buffer size is a std::invalid_argument
// naming the variable; a write failure at the end is a stderr line and the
// program's result stands. At maxprocs 1 and 2.
#include "test_util.hpp"

#include <goro/goro.hpp>
#include <goro/metrics.hpp>

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

using namespace std::chrono_literals;
using goro_test::EnvVar;
using goro_test::run_at;

namespace {

// ---------------------------------------------------------------- a strict JSON parser (RFC 8259)

struct Json;
using JsonObject = std::map<std::string, Json>;
using JsonArray = std::vector<Json>;
struct Json {
    std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<JsonArray>, std::shared_ptr<JsonObject>> v;
    bool is_object() const { return std::holds_alternative<std::shared_ptr<JsonObject>>(v); }
    bool is_array() const { return std::holds_alternative<std::shared_ptr<JsonArray>>(v); }
    bool is_number() const { return std::holds_alternative<double>(v); }
    bool is_string() const { return std::holds_alternative<std::string>(v); }
    const JsonObject& obj() const { return *std::get<std::shared_ptr<JsonObject>>(v); }
    const JsonArray& arr() const { return *std::get<std::shared_ptr<JsonArray>>(v); }
    double num() const { return std::get<double>(v); }
    const std::string& str() const { return std::get<std::string>(v); }
    bool has(const char* k) const { return is_object() && obj().count(k) != 0; }
    const Json& operator[](const char* k) const {
        auto it = obj().find(k);
        if (it == obj().end()) throw std::runtime_error(std::string("no key ") + k);
        return it->second;
    }
};

class JsonParser {
public:
    explicit JsonParser(const std::string& s) : s_(s) {}
    Json parse() {
        Json j = value();
        ws();
        if (i_ != s_.size()) fail("trailing characters");
        return j;
    }

private:
    [[noreturn]] void fail(const char* what) {
        throw std::runtime_error("JSON: " + std::string(what) + " at offset " + std::to_string(i_));
    }
    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    bool eat(char c) {
        ws();
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    void expect(char c) {
        if (!eat(c)) fail((std::string("expected ") + c).c_str());
    }
    void literal(const char* w) {
        for (; *w; ++w, ++i_)
            if (i_ >= s_.size() || s_[i_] != *w) fail("bad literal");
    }
    Json value() {
        ws();
        if (i_ >= s_.size()) fail("unexpected end");
        const char c = s_[i_];
        if (c == '{') {
            ++i_;
            auto o = std::make_shared<JsonObject>();
            if (!eat('}')) {
                do {
                    ws();
                    if (i_ >= s_.size() || s_[i_] != '"') fail("expected a key");
                    std::string k = string();
                    expect(':');
                    if (!o->emplace(k, value()).second) fail("duplicate key");
                } while (eat(','));
                expect('}');
            }
            return Json{o};
        }
        if (c == '[') {
            ++i_;
            auto a = std::make_shared<JsonArray>();
            if (!eat(']')) {
                do a->push_back(value());
                while (eat(','));
                expect(']');
            }
            return Json{a};
        }
        if (c == '"') return Json{string()};
        if (c == 't') {
            literal("true");
            return Json{true};
        }
        if (c == 'f') {
            literal("false");
            return Json{false};
        }
        if (c == 'n') {
            literal("null");
            return Json{nullptr};
        }
        return Json{number()};
    }
    std::string string() {
        ++i_;  // the opening quote
        std::string out;
        for (;;) {
            if (i_ >= s_.size()) fail("unterminated string");
            const char c = s_[i_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= s_.size()) fail("unterminated escape");
            const char e = s_[i_++];
            switch (e) {
                case '"': case '\\': case '/': out += e; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u':
                    for (int k = 0; k < 4; ++k, ++i_)
                        if (i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_]))) fail("bad \\u");
                    out += '?';
                    break;
                default: fail("bad escape");
            }
        }
    }
    double number() {
        const std::size_t start = i_;
        auto digits = [&] {
            const std::size_t d = i_;
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
            if (i_ == d) fail("expected a digit");
        };
        if (s_[i_] == '-') ++i_;
        if (i_ < s_.size() && s_[i_] == '0') ++i_;  // no leading zeros
        else digits();
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            digits();
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            digits();
        }
        return std::stod(s_.substr(start, i_ - start));
    }
    const std::string& s_;
    std::size_t i_ = 0;
};

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string temp_dir() {
    char tmpl[] = "/tmp/goro-trace-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    return tmpl;
}

// ---------------------------------------------------------------- what a trace must hold

struct Summary {
    std::map<double, double> create_parent;  // goid -> parent, user goroutines
    std::multiset<double> ends;              // goids
    std::size_t runs = 0;
    std::size_t flows = 0;
    std::set<std::string> park_reasons;
    double dropped = -1;
    std::set<double> worker_tracks;
};

// Checks the shape every trace must have and summarises it; REQUIREs fail
// the test on a violation.
Summary check_trace(const std::string& path) {
    const std::string text = read_file(path);
    INFO(path << ": " << text.substr(0, 400));
    Json root;
    REQUIRE_NOTHROW(root = JsonParser(text).parse());
    REQUIRE(root.is_object());
    REQUIRE(root["traceEvents"].is_array());
    Summary s;
    s.dropped = root["otherData"]["dropped_events"].num();
    std::map<double, std::vector<std::pair<double, double>>> runs_by_tid;  // tid -> (ts, end)
    std::map<double, int> flow_starts, flow_ends;
    std::map<double, std::string> names;
    for (const Json& e : root["traceEvents"].arr()) {
        REQUIRE(e.is_object());
        REQUIRE(e["ph"].is_string());
        REQUIRE(e["pid"].is_number());
        const std::string ph = e["ph"].str();
        if (ph == "M") {
            if (e["name"].str() == "thread_name") names[e["tid"].num()] = e["args"]["name"].str();
            continue;
        }
        REQUIRE(e["ts"].is_number());
        REQUIRE(e["ts"].num() >= 0);
        const double tid = e["tid"].num();
        if (ph == "X") {
            REQUIRE(e["dur"].num() >= 0);
            runs_by_tid[tid].emplace_back(e["ts"].num(), e["ts"].num() + e["dur"].num());
            if (e["cat"].str() == "goroutine") {
                ++s.runs;
                REQUIRE(e["name"].str() == "G" + std::to_string(static_cast<long long>(e["args"]["goid"].num())));
                if (e["args"]["end"].str() == "park") s.park_reasons.insert(e["args"]["reason"].str());
            }
        } else if (ph == "i") {
            const std::string& n = e["name"].str();
            if (n == "create" && !e["args"].has("system")) {
                CHECK(s.create_parent.emplace(e["args"]["goid"].num(), e["args"]["parent"].num()).second);
            } else if (n == "end") {
                s.ends.insert(e["args"]["goid"].num());
            }
        } else if (ph == "s") {
            ++flow_starts[e["id"].num()];
        } else if (ph == "f") {
            REQUIRE(e["bp"].str() == "e");
            ++flow_ends[e["id"].num()];
        } else {
            FAIL("unexpected phase " << ph);
        }
    }
    // Complete events on one track never overlap (one goroutine at a time per worker).
    for (auto& [tid, v] : runs_by_tid) {
        INFO("tid " << tid);
        REQUIRE(names.count(tid) == 1);
        std::sort(v.begin(), v.end());
        for (std::size_t i = 1; i < v.size(); ++i) REQUIRE(v[i - 1].second <= v[i].first + 1e-9);
        s.worker_tracks.insert(tid);
    }
    // Every flow has its two ends, once each.
    CHECK(flow_starts == flow_ends);
    for (auto& [id, n] : flow_starts) CHECK(n == 1);
    s.flows = flow_starts.size();
    return s;
}

// Hand-offs seen by the last twenty_goroutines(): a worker the monitor finds
// stuck (slow under sanitizers) gives its P to a spare, which traces on a track
// of its own.
std::uint64_t g_handoffs = 0;

// 20 goroutines: each waits on a channel for its turn, passes it on, then
// ends; main waits for them all.
void twenty_goroutines() {
    constexpr int n = 20;
    std::vector<goro::Chan<int>> chans;
    for (int i = 0; i <= n; ++i) chans.emplace_back();
    goro::WaitGroup wg;
    for (int i = 0; i < n; ++i) {
        wg.add(1);
        goro::go([&, i] {
            int v = *chans[i].recv();
            chans[i + 1].send(v + 1);
            wg.done();
        });
    }
    chans[0].send(0);
    REQUIRE(*chans[n].recv() == n);
    wg.wait();
    g_handoffs = goro::runtime_stats().handoffs_total;
}

}  // namespace

TEST_CASE("trace: 20 goroutines leave 21 creates and ends, per-worker runs that never overlap, flows",
          "[metrics][trace]") {
    for (int procs : {1, 2}) {
        INFO("maxprocs = " << procs);
        const std::string path = temp_dir() + "/trace.json";
        {
            EnvVar trace("GORO_TRACE", path.c_str());
            EnvVar buffer("GORO_TRACE_BUFFER", nullptr);
            run_at(procs, twenty_goroutines);
        }
        const Summary s = check_trace(path);
        CHECK(s.dropped == 0);
        // The main goroutine (parent 0) and its 20 children, each created and ended once.
        REQUIRE(s.create_parent.size() == 21);
        double main_id = -1;
        for (auto& [goid, parent] : s.create_parent)
            if (parent == 0) main_id = goid;
        REQUIRE(main_id > 0);
        std::size_t children = 0;
        for (auto& [goid, parent] : s.create_parent) {
            CHECK(s.ends.count(goid) == 1);
            if (parent == main_id) ++children;
        }
        CHECK(children == 20);
        // Every goroutine ran at least once; waits on the channels show as
        // parks with their reason, and their wake-ups as flows.
        CHECK(s.runs >= 21);
        CHECK(s.park_reasons.count("chan receive") == 1);
        CHECK(s.flows >= 20);
        // One track per worker thread that ran goroutines: the procs, and a spare per hand-off.
        CHECK(s.worker_tracks.size() <= static_cast<std::size_t>(procs) + g_handoffs);
        std::remove(path.c_str());
    }
}

TEST_CASE("trace: a tiny GORO_TRACE_BUFFER drops events, counts them and still writes a valid file",
          "[metrics][trace]") {
    if (goro_test::skip_fork_under_tsan()) return;
    for (int procs : {1, 2}) {
        INFO("maxprocs = " << procs);
        const std::string path = temp_dir() + "/trace.json";
        const goro_test::ChildResult r = goro_test::in_child([&] {
            ::setenv("GORO_TRACE", path.c_str(), 1);
            ::setenv("GORO_TRACE_BUFFER", "16", 1);
            run_at(procs, twenty_goroutines);
        });
        const std::string& err = r.err;
        INFO(err);
        REQUIRE(r.exited_ok());
        const Summary s = check_trace(path);
        CHECK(s.dropped > 0);
        CHECK(err.find("events dropped") != std::string::npos);
        CHECK(err.find("GORO_TRACE_BUFFER") != std::string::npos);
        std::remove(path.c_str());
    }
}

TEST_CASE("trace: an unwritable GORO_TRACE or a bad GORO_TRACE_BUFFER fails run() naming it", "[metrics][trace]") {
    {
        EnvVar trace("GORO_TRACE", "/nonexistent-goro-dir/trace.json");
        bool ran = false;
        try {
            run_at(1, [&] { ran = true; });
            FAIL("run() accepted an unwritable GORO_TRACE");
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            CHECK(what.find("GORO_TRACE=/nonexistent-goro-dir/trace.json") != std::string::npos);
        }
        CHECK_FALSE(ran);
    }
    for (const char* bad : {"abc", "0", "-5", "16x", "99999999999"}) {
        INFO(bad);
        EnvVar buffer("GORO_TRACE_BUFFER", bad);
        EnvVar trace("GORO_TRACE", "/tmp/goro-trace-never-written.json");
        try {
            run_at(1, [] {});
            FAIL("run() accepted GORO_TRACE_BUFFER=" << bad);
        } catch (const std::invalid_argument& e) {
            CHECK(std::string(e.what()).find(std::string("GORO_TRACE_BUFFER=") + bad) != std::string::npos);
        }
    }
    // Unset or empty: no trace, and run() works as ever.
    EnvVar trace("GORO_TRACE", "");
    CHECK(run_at(2, [] { return 7; }) == 7);
}

TEST_CASE("trace: a failure writing at the end is a stderr line naming the path; run() returns the result",
          "[metrics][trace]") {
    if (goro_test::skip_fork_under_tsan()) return;
    // /dev/full opens, and every write to it fails with ENOSPC.
    const goro_test::ChildResult r = goro_test::in_child([] {
        ::setenv("GORO_TRACE", "/dev/full", 1);
        const int result = run_at(2, [] {
            twenty_goroutines();
            return 42;
        });
        if (result != 42) throw std::runtime_error("run() returned " + std::to_string(result));
    });
    const std::string& err = r.err;
    INFO(err);
    CHECK(r.exited_ok());
    CHECK(err.find("goro: GORO_TRACE=/dev/full: writing the trace failed") != std::string::npos);
}
