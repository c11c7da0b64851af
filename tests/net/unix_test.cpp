// tests/net/unix_test.cpp: goro::net's Unix-domain stream sockets (UnixListener, UnixStream) and the
// Stream base they share with TCP: echo by path and by abstract name, a function that serves any
// Stream&, the socket file's life (removed on close, a stale one refused or replaced when asked, a
// live one or a non-socket never touched), bad names, timeouts, cancellation, close waking accept,
// plain threads, pair(). Every case runs at maxprocs 1 and 2.
#include "test_util.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>
#include <system_error>
#include <thread>

using namespace goro_test;
using goro::net::Stream;
using goro::net::TcpListener;
using goro::net::TcpStream;
using goro::net::UnixListener;
using goro::net::UnixStream;

namespace {

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::string read_exactly(Stream& s, std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
        std::size_t k = s.read(std::as_writable_bytes(std::span(out.data() + got, n - got)));
        if (k == 0) break;
        got += k;
    }
    out.resize(got);
    return out;
}

int errno_of(const std::system_error& e) { return e.code().value(); }

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

// A fresh directory for socket files, removed with what is left in it.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/goro-unix-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    std::string file(const std::string& name) const { return path + "/" + name; }
};

// Echoes one connection until EOF. Takes the base: TCP and Unix alike.
void echo(Stream& c) {
    std::array<std::byte, 4096> buf;
    for (std::size_t n; (n = c.read(buf)) > 0;) c.write_all(std::span(buf.data(), n));
}

// Serves echo on every connection of ln until ln is closed.
template <class Listener>
void serve_echo(Listener& ln, goro::WaitGroup& wg) {
    wg.add(1);
    goro::go([&ln, &wg] {
        try {
            for (;;) {
                auto c = ln.accept();
                goro::go([c = std::move(c)]() mutable {
                    try {
                        echo(c);
                    } catch (const std::system_error&) {
                    }
                });
            }
        } catch (const std::system_error& e) {
            GCHECK(errno_of(e) == EBADF);  // closed
        }
        wg.done();
    });
}

std::string unique_abstract_name() { return "@goro-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()); }

}  // namespace

TEST_CASE("unix_echo_by_path_and_by_abstract_name", "[net][unix]") {
    for_each_maxprocs({1, 2}, [](int) {
        TempDir dir;
        for (std::string name : {dir.file("echo.sock"), unique_abstract_name()}) {
            UnixListener ln = UnixListener::listen(name);
            CHECK(ln.path() == name);
            goro::WaitGroup wg;
            serve_echo(ln, wg);
            goro::WaitGroup clients;
            const int n = scale(20);
            for (int i = 0; i < n; ++i) {
                clients.add(1);
                goro::go([&, i] {
                    UnixStream c = UnixStream::connect(name, std::chrono::seconds(5));
                    std::string msg = "hello " + std::to_string(i) + std::string(static_cast<std::size_t>(i) * 1000, 'x');
                    c.write_all(bytes(msg));
                    GCHECK(read_exactly(c, msg.size()) == msg);
                    c.shutdown_write();
                    GCHECK(read_exactly(c, 1).empty());  // EOF after the echo
                    clients.done();
                });
            }
            clients.wait();
            ln.close();
            wg.wait();
        }
    });
}

TEST_CASE("unix_and_tcp_streams_serve_through_one_Stream_function", "[net][unix]") {
    for_each_maxprocs({1, 2}, [](int) {
        TempDir dir;
        UnixListener uln = UnixListener::listen(dir.file("s"));
        TcpListener tln = TcpListener::listen("127.0.0.1", 0);
        goro::WaitGroup wg;
        serve_echo(uln, wg);
        serve_echo(tln, wg);
        UnixStream u = UnixStream::connect(dir.file("s"));
        TcpStream t = TcpStream::connect("127.0.0.1", tln.port());
        for (Stream* s : {static_cast<Stream*>(&u), static_cast<Stream*>(&t)}) {
            s->write_all(bytes("same code"));
            CHECK(read_exactly(*s, 9) == "same code");
        }
        u.close();
        t.close();
        uln.close();
        tln.close();
        wg.wait();
    });
}

TEST_CASE("unix_listener_removes_its_socket_file_and_only_its_own", "[net][unix]") {
    for_each_maxprocs({1, 2}, [](int) {
        TempDir dir;
        std::string path = dir.file("life.sock");
        {
            UnixListener ln = UnixListener::listen(path);
            CHECK(exists(path));
            ln.close();
            CHECK_FALSE(exists(path));
            ln.close();  // idempotent
        }
        {
            UnixListener ln = UnixListener::listen(path);
            UnixListener moved = std::move(ln);  // the file goes with the socket
            CHECK(exists(path));
        }
        CHECK_FALSE(exists(path));  // the destructor removed it

        // A file that replaced ours meanwhile is not ours to remove.
        UnixListener ln = UnixListener::listen(path);
        REQUIRE(::unlink(path.c_str()) == 0);
        std::ofstream(path) << "someone else's";
        ln.close();
        CHECK(exists(path));
    });
}

TEST_CASE("unix_listen_on_an_existing_path", "[net][unix]") {
    for_each_maxprocs({1, 2}, [](int) {
        TempDir dir;
        std::string path = dir.file("stale.sock");
        // A stale socket file: bound by a socket that is gone, without unlink.
        {
            int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
            sockaddr_un sun{};
            sun.sun_family = AF_UNIX;
            std::snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path.c_str());
            REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
            ::close(fd);
        }
        REQUIRE(exists(path));
        try {
            UnixListener::listen(path);
            FAIL("listen on a stale socket file succeeded without replace_stale");
        } catch (const std::system_error& e) {
            CHECK(errno_of(e) == EADDRINUSE);
            CHECK(std::string(e.what()).find("stale") != std::string::npos);
            CHECK(std::string(e.what()).find(path) != std::string::npos);
        }
        CHECK_THROWS_AS(UnixStream::connect(path), std::system_error);  // ECONNREFUSED: nobody listens

        UnixListener::Options replace;
        replace.replace_stale = true;
        UnixListener ln = UnixListener::listen(path, replace);
        goro::WaitGroup wg;
        serve_echo(ln, wg);
        UnixStream c = UnixStream::connect(path);
        c.write_all(bytes("x"));
        CHECK(read_exactly(c, 1) == "x");

        // A live listener is never replaced, even when asked.
        try {
            UnixListener::listen(path, replace);
            FAIL("a live listener's socket was replaced");
        } catch (const std::system_error& e) {
            CHECK(errno_of(e) == EADDRINUSE);
        }
        c.close();
        ln.close();
        wg.wait();

        // Nor is a file that is not a socket.
        std::string plain = dir.file("data.txt");
        std::ofstream(plain) << "keep me";
        CHECK_THROWS_AS(UnixListener::listen(plain, replace), std::system_error);
        CHECK(exists(plain));
    });
}

TEST_CASE("unix_bad_names_are_refused_by_name", "[net][unix]") {
    for_each_maxprocs({1, 2}, [](int) {
        std::string too_long = "/tmp/" + std::string(200, 'n');
        try {
            UnixListener::listen(too_long);
            FAIL("a 205-byte socket path was accepted");
        } catch (const std::system_error& e) {
            CHECK(errno_of(e) == ENAMETOOLONG);
        }
        try {
            UnixStream::connect("@" + std::string(108, 'a'));
            FAIL("a 108-byte abstract name was accepted");
        } catch (const std::system_error& e) {
            CHECK(errno_of(e) == ENAMETOOLONG);
        }
        for (std::string bad : {std::string(), std::string("@"), std::string("a\0b", 3)}) {
            try {
                UnixListener::listen(bad);
                FAIL("an empty or NUL-holding name was accepted");
            } catch (const std::system_error& e) {
                CHECK(errno_of(e) == EINVAL);
            }
        }
        try {
            UnixStream::connect("/tmp/goro-no-such-dir-" + std::to_string(::getpid()) + "/s");
            FAIL("connect to a missing path succeeded");
        } catch (const std::system_error& e) {
            CHECK(errno_of(e) == ENOENT);
        }
        // The longest name that fits works (107 bytes, abstract).
        std::string longest = "@" + std::string(107, 'z');
        UnixListener ln = UnixListener::listen(longest);
        UnixStream c = UnixStream::connect(longest);
        UnixStream s = ln.accept();
        CHECK(s.is_open());
    });
}

TEST_CASE("unix_timeouts_cancellation_and_close", "[net][unix]") {
    using namespace std::chrono_literals;
    for_each_maxprocs({1, 2}, [](int) {
        std::string name = unique_abstract_name();
        UnixListener ln = UnixListener::listen(name);
        UnixStream c = UnixStream::connect(name, 1s);
        UnixStream s = ln.accept();
        CHECK(c.peer_path() == name);
        CHECK(s.peer_path().empty());  // the client's socket has no name

        s.set_read_timeout(10ms);
        std::array<std::byte, 4> buf;
        CHECK_THROWS_AS(s.read(buf), goro::Timeout);
        c.write_all(bytes("ok"));
        CHECK(read_exactly(s, 2) == "ok");  // usable after the timeout

        // A read parked when the goroutine is cancelled throws Cancelled.
        auto reader = goro::spawn([&] {
            std::array<std::byte, 4> buf;
            c.read(buf);
        });
        goro::sleep_for(5ms);
        reader.cancel();
        CHECK_THROWS_AS(reader.get(), goro::Cancelled);

        // close() wakes a parked accept with EBADF.
        auto acceptor = goro::spawn([&] { ln.accept(); });
        goro::sleep_for(5ms);
        ln.close();
        try {
            acceptor.get();
            FAIL("accept returned after close");
        } catch (const std::system_error& e) {
            CHECK(errno_of(e) == EBADF);
        }
    });
}

TEST_CASE("unix_from_a_plain_thread_and_pair", "[net][unix]") {
    for_each_maxprocs({1, 2}, [](int) {
        TempDir dir;
        std::string path = dir.file("plain.sock");
        UnixListener ln = UnixListener::listen(path);
        goro::WaitGroup wg;
        serve_echo(ln, wg);
        std::string got;
        std::thread plain([&] {
            UnixStream c = UnixStream::connect(path);
            c.write_all(bytes("from a thread"));
            got = read_exactly(c, 13);
        });
        goro::run_blocking([&] { plain.join(); });
        CHECK(got == "from a thread");

        auto [a, b] = UnixStream::pair();
        goro::go([b = std::move(b)]() mutable { echo(b); });
        a.write_all(bytes("paired"));
        CHECK(read_exactly(a, 6) == "paired");
        CHECK(a.peer_path().empty());
        a.close();
        ln.close();
        wg.wait();
    });
}
