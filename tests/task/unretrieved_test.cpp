// tests/task/unretrieved_test.cpp — asyncio's "Task exception was never
// retrieved": a task that failed and whose exception nobody read logs it
// (name, type, what()) when its last handle goes; get(), exception(),
// gather, gather_settled and TaskGroup retrieve it; wait() does not; a
// cancellation is never logged. Also: a done callback's goroutine is named
// after its task. At maxprocs 1 and 2.
#include <goro/debug.hpp>
#include <goro/goro.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Captures what this process writes to stderr between construction and take().
class StderrCapture {
public:
    StderrCapture() {
        std::fflush(stderr);
        file_ = std::tmpfile();
        REQUIRE(file_);
        saved_ = ::dup(2);
        REQUIRE(saved_ >= 0);
        REQUIRE(::dup2(::fileno(file_), 2) == 2);
    }
    ~StderrCapture() { restore(); }
    std::string take() {
        restore();
        std::rewind(file_);
        std::string s;
        char buf[4096];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, file_)) > 0;) s.append(buf, n);
        return s;
    }

private:
    void restore() {
        if (saved_ < 0) return;
        std::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
        saved_ = -1;
    }
    std::FILE* file_ = nullptr;
    int saved_ = -1;
};

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

template <class R>
void until_done(const goro::Task<R>& t) {
    while (!t.done()) goro::sleep_for(1ms);
}

const char* const kWords = "Task exception was never retrieved";

}  // namespace

TEST_CASE("a failed task dropped unread logs its exception", "[task][unretrieved]") {
    const int procs = GENERATE(1, 2);
    StderrCapture cap;
    goro::run(goro::Config{procs, 0}, [] {
        {
            auto t = goro::spawn("fetch-user", []() -> int { throw std::runtime_error("no such user"); });
            until_done(t);
        }
        {
            auto t = goro::spawn([] { throw std::logic_error("unnamed failure"); });
            until_done(t);
        }
    });
    const std::string err = cap.take();
    INFO(err);
    CHECK(has(err, std::string("goro: ") + kWords + ": task 'fetch-user': std::runtime_error: no such user\n"));
    CHECK(has(err, ": task 'Task-"));
    CHECK(has(err, "std::logic_error: unnamed failure\n"));
}

TEST_CASE("get, exception, gather, gather_settled and TaskGroup retrieve the exception", "[task][unretrieved]") {
    const int procs = GENERATE(1, 2);
    StderrCapture cap;
    goro::run(goro::Config{procs, 0}, [] {
        auto fail = [](const char* what) { return [what]() -> int { throw std::runtime_error(what); }; };
        {
            auto t = goro::spawn(fail("got"));
            CHECK_THROWS_AS(t.get(), std::runtime_error);
        }
        {
            auto t = goro::spawn(fail("asked"));
            until_done(t);
            CHECK(t.exception() != nullptr);
        }
        {
            // Both children failed; gather throws one, and retrieves both.
            std::vector<goro::Task<int>> ts{goro::spawn(fail("first")), goro::spawn(fail("second"))};
            CHECK_THROWS_AS(goro::gather(ts), std::runtime_error);
        }
        {
            std::vector<goro::Task<int>> ts{goro::spawn(fail("settled"))};
            auto out = goro::gather_settled(ts);
            CHECK(out.size() == 1);
        }
        {
            goro::TaskGroup group;
            group.spawn(fail("in a group"));
            CHECK_THROWS_AS(group.wait(), goro::TaskGroupError);
        }
        {
            auto t = goro::spawn([] { goro::sleep_for(1h); });
            goro::sleep_for(1ms);
            t.cancel();
            until_done(t);
            CHECK(t.cancelled());
        }
    });
    const std::string err = cap.take();
    INFO(err);
    CHECK_FALSE(has(err, kWords));
}

TEST_CASE("wait() does not retrieve: the unread exception is logged", "[task][unretrieved]") {
    StderrCapture cap;
    goro::run(goro::Config{1, 0}, [] {
        std::vector<goro::Task<int>> ts{goro::spawn("waited", []() -> int { throw std::runtime_error("seen by wait only"); })};
        auto r = goro::wait(ts, goro::ReturnWhen::FirstException);
        CHECK(r.done.size() == 1);
    });
    const std::string err = cap.take();
    INFO(err);
    CHECK(has(err, "task 'waited': std::runtime_error: seen by wait only"));
}

TEST_CASE("a done callback's goroutine is named after its task", "[task][unretrieved]") {
    const int procs = GENERATE(1, 2);
    goro::run(goro::Config{procs, 0}, [] {
        goro::Chan<std::string> dumps(1);
        auto t = goro::spawn("fetch-user", [] { return 1; });
        t.add_done_callback([dumps](const goro::Task<int>&) {
            std::FILE* f = std::tmpfile();
            goro::dump_goroutines(f);  // the callback's own block is the one [running] here
            std::rewind(f);
            std::string s;
            char buf[4096];
            for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) s.append(buf, n);
            std::fclose(f);
            dumps.send(s);
        });
        const std::string d = dumps.recv().value_or("");
        INFO(d);
        CHECK(has(d, "[running]:\nname: fetch-user (done callback)\n"));
    });
}
