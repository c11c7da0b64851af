// tests/regress/out_of_fds_at_first_socket_wait_aborted_test.cpp: a runtime makes its epoll instance and
// eventfd at its first I/O wait. When the process had no descriptor left then, the process died
// ("goro: fatal: epoll_create1 failed: Too many open files", SIGABRT), where every other EMFILE was a
// clean std::system_error. Now the call that needed the netpoller throws std::system_error(EMFILE), and
// the same call works once descriptors are free again. Run in a child process with RLIMIT_NOFILE
// lowered to the lowest free descriptor number, so that no new fd can be made at all.
#include "test_util.hpp"

#include <goro/net.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

using namespace goro_test;

namespace {

// The child's whole life; returns its exit status (0: every step as expected; otherwise the step that
// went wrong).
int out_of_fds_child(int procs) {
    int sv[2], pipefd[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return 2;
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return 3;
    rlimit old{};
    if (::getrlimit(RLIMIT_NOFILE, &old) != 0) return 4;
    if (kSanitized) {
        // UBSan's vptr check makes a pipe (two fds) to probe memory when its type cache misses, and with
        // no fd to spare prints a false "invalid vptr" (recoverable: the test still passes). Fill the
        // cache with the same calls first, while descriptors are free.
        try {
            goro::run(goro::Config{procs, 0}, [&] {
                goro::Chan<int> ch;
                goro::go([ch] { ch.send(7); });
                ch.recv();
                (void)!::write(sv[1], "x", 1);
                (void)!::write(pipefd[1], "y", 1);
                goro::net::wait_readable(pipefd[0], std::chrono::seconds(5));
                char c[2];
                (void)!::read(sv[0], c, 1);
                (void)!::read(pipefd[0], c, 1);
                throw std::system_error(EMFILE, std::system_category(), "warm-up");
            });
        } catch (const std::system_error&) {
        }
    }
    int lowest_free = ::fcntl(sv[0], F_DUPFD_CLOEXEC, 0);
    if (lowest_free < 0) return 5;
    ::close(lowest_free);
    rlimit low = old;
    low.rlim_cur = static_cast<rlim_t>(lowest_free);  // a new fd would need a number >= the limit
    if (::setrlimit(RLIMIT_NOFILE, &low) != 0) return 6;
    if (::fcntl(sv[0], F_DUPFD_CLOEXEC, 0) >= 0 || errno != EMFILE) return 7;
    try {
        return goro::run(goro::Config{procs, 0}, [&]() -> int {
            // A runtime starts and runs goroutines without a descriptor to spare.
            goro::Chan<int> ch;
            goro::go([ch] { ch.send(7); });
            if (ch.recv() != 7) return 10;
            goro::net::TcpStream s = goro::net::TcpStream::from_fd(sv[0]);
            std::array<std::byte, 16> buf;
            try {
                s.read(buf);  // nothing to read: the first wait needs the netpoller
                return 11;
            } catch (const std::system_error& e) {
                if (e.code().value() != EMFILE) return 12;
            }
            try {
                goro::net::wait_readable(pipefd[0], std::chrono::seconds(5));
                return 13;
            } catch (const std::system_error& e) {
                if (e.code().value() != EMFILE) return 14;
            }
            // Descriptors back: the same calls work, the socket and the runtime are intact.
            if (::setrlimit(RLIMIT_NOFILE, &old) != 0) return 15;
            goro::go([&] {
                goro::sleep_for(std::chrono::milliseconds(20));
                (void)!::write(sv[1], "x", 1);
                (void)!::write(pipefd[1], "y", 1);
            });
            if (s.read(buf) != 1) return 16;
            if (!goro::net::wait_readable(pipefd[0], std::chrono::seconds(5))) return 17;
            return 0;
        });
    } catch (...) {
        return 30;
    }
}

}  // namespace

TEST_CASE("out_of_fds_at_first_io_wait_throws_system_error", "[regress][net]") {
    for (int procs : {1, 2}) {
        INFO("maxprocs = " << procs);
        pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) std::_Exit(out_of_fds_child(procs));
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        INFO("child: " << (WIFEXITED(status) ? "exit status " : "killed by signal ")
                       << (WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)));
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
}
