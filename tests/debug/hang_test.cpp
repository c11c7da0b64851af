// tests/debug/hang_test.cpp — examples/hang, the program that hangs on
// purpose (README "Debugging"), in its three modes as a user runs it: a
// SIGQUIT dump of the hung process, the deadlock report, the panic report.
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#ifdef GORO_EXAMPLES_DIR
extern char** environ;

namespace {

struct Run {
    int status = 0;
    std::string out;  // stdout and stderr together
};

// Runs examples/hang MODE with extra environment settings; with quit_after_ms
// > 0, sends it SIGQUIT once it has said that it hangs.
Run run_hang(const char* mode, std::vector<std::string> env_extra, int quit_after_ms = 0) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        std::string s = *e;
        if (s.rfind("GORO_", 0) != 0 && s.rfind("HANG_", 0) != 0) env_strings.push_back(s);
    }
    for (auto& s : env_extra) env_strings.push_back(s);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);

    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    std::string path = std::string(GORO_EXAMPLES_DIR) + "/hang";
    std::string mode_arg = mode;
    char* argv[] = {path.data(), mode_arg.data(), nullptr};
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, path.c_str(), &fa, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&fa);
    ::close(pipefd[1]);
    REQUIRE(rc == 0);
    Run r;
    char buf[4096];
    bool quit_sent = false;
    for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) {
        r.out.append(buf, static_cast<std::size_t>(n));
        if (quit_after_ms > 0 && !quit_sent && r.out.find("are stuck") != std::string::npos) {
            std::this_thread::sleep_for(std::chrono::milliseconds(quit_after_ms));
            ::kill(pid, SIGQUIT);
            quit_sent = true;
        }
    }
    ::close(pipefd[0]);
    ::waitpid(pid, &r.status, 0);
    return r;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("examples/hang: SIGQUIT dumps the hung goroutines and exits 2", "[debug][hang]") {
    Run r = run_hang("hang", {"GORO_DEBUG=sigquit=1", "HANG_SECONDS=30"}, 300);
    INFO(r.out);
    CHECK(WIFEXITED(r.status));
    CHECK(WEXITSTATUS(r.status) == 2);
    CHECK(has(r.out, "SIGQUIT: quit"));
    CHECK(has(r.out, "[sync.Mutex.Lock]:\nname: transfer alice->bob\n"));
    CHECK(has(r.out, "[sync.Mutex.Lock]:\nname: transfer bob->alice\n"));
    CHECK(has(r.out, "(anonymous namespace)::transfer("));
    CHECK(has(r.out, "name: heartbeat"));
}

TEST_CASE("examples/hang: without SIGQUIT it dumps itself after HANG_SECONDS", "[debug][hang]") {
    Run r = run_hang("hang", {"HANG_SECONDS=1"});
    INFO(r.out);
    CHECK(WEXITSTATUS(r.status) == 2);
    CHECK(has(r.out, "still stuck after HANG_SECONDS"));
    CHECK(has(r.out, "name: transfer bob->alice"));
}

TEST_CASE("examples/hang deadlock: the deadlock report", "[debug][hang]") {
    Run r = run_hang("deadlock", {});
    INFO(r.out);
    CHECK(WIFEXITED(r.status));
    CHECK(WEXITSTATUS(r.status) == 1);
    CHECK(has(r.out, "fatal error: all goroutines are asleep - deadlock!"));
    CHECK(has(r.out, "(3 goroutines: 2 sync.Mutex.Lock, 1 sync.WaitGroup.Wait)"));
    CHECK(has(r.out, "(anonymous namespace)::transfer("));
}

TEST_CASE("examples/hang panic: the panic report starts at the throw", "[debug][hang]") {
    Run r = run_hang("panic", {"GORO_TRACEBACK=all"});
    INFO(r.out);
    CHECK(WEXITSTATUS(r.status) == 2);
    // Ids come from per-worker batches: not always 2 at two workers.
    CHECK(has(r.out, "goro: panic in goroutine "));
    CHECK(has(r.out, " (config-loader): bad config line: 'listen 8080'\n"));
    CHECK(has(r.out, "exception type: std::invalid_argument"));
    const auto block = r.out.substr(r.out.find("name: config-loader\n") + 20);
    CHECK(block.rfind("(anonymous namespace)::parse_config_line(", 0) == 0);
    CHECK(has(r.out, "goroutine 1 [sleep]:"));  // GORO_TRACEBACK=all: main too
}
#endif  // GORO_EXAMPLES_DIR
