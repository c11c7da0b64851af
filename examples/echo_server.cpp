// echo_server — a TCP echo server, one goroutine per connection, and three
// clients talking to it, in one program.
//
// Mirrors the Go program:
//
//     ln, _ := net.Listen("tcp", "127.0.0.1:0")
//     go func() {
//         for {
//             conn, err := ln.Accept()
//             if err != nil { return }            // the listener was closed
//             go func(c net.Conn) { defer c.Close(); io.Copy(c, c) }(conn)
//         }
//     }()
//     for i := 0; i < 3; i++ {                    // clients, concurrently
//         go func(i int) {
//             c, _ := net.Dial("tcp", ln.Addr().String())
//             fmt.Fprintf(c, "hello from client %d\n", i)
//             line, _ := bufio.NewReader(c).ReadString('\n')
//             fmt.Print("echoed: ", line)
//         }(i)
//     }
//
// Run:     ./build/examples/tour echo_server
//     or   ./build/examples/echo_server
//     or   ./build/examples/echo_server --serve   (a bare server for bench/net_echo.sh;
//          SIGINT/SIGTERM shut it down gracefully, see serve_main)
// Observe: the port, three "echoed:" lines (in any order), then the server
// stops: close() wakes the goroutine parked in accept() with EBADF, and each
// connection's goroutine ends when its client closes (read() returns 0).
#include <goro/goro.hpp>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>

#include "examples.hpp"
#include "graceful.hpp"

namespace {

// echo copies what it reads back to the peer until end of stream (io.Copy).
void echo(goro::net::TcpStream conn) {
    std::array<std::byte, 1024> buf;
    try {
        for (std::size_t n; (n = conn.read(buf)) > 0;) conn.write_all(std::span(buf.data(), n));
    } catch (const std::system_error& e) {
        std::printf("connection: %s\n", e.what());  // reset by the peer, ...
    }
}  // conn's destructor closes it (defer c.Close())

}  // namespace

void example_echo_server() {
    auto ln = goro::net::TcpListener::listen("127.0.0.1", 0);
    std::printf("echo server listening on 127.0.0.1:%u\n", unsigned(ln.port()));

    goro::WaitGroup handlers;  // the server and its connections
    handlers.add(1);
    goro::go([&] {
        try {
            for (;;) {
                goro::net::TcpStream conn = ln.accept();
                handlers.add(1);
                goro::go([&handlers, c = std::move(conn)]() mutable {
                    echo(std::move(c));
                    handlers.done();
                });
            }
        } catch (const std::system_error&) {
            std::printf("server: listener closed, accept loop ends\n");
        }
        handlers.done();
    });

    goro::WaitGroup clients;
    for (int i = 0; i < 3; ++i) {
        clients.add(1);
        goro::go([&, i] {
            auto c = goro::net::TcpStream::connect("127.0.0.1", ln.port(), std::chrono::seconds(5));
            std::string msg = "hello from client " + std::to_string(i) + "\n";
            c.write_all(std::as_bytes(std::span(msg)));
            std::string line;
            std::array<std::byte, 64> buf;
            while (line.empty() || line.back() != '\n') {  // ReadString('\n')
                std::size_t n = c.read(buf);
                if (n == 0) break;
                line.append(reinterpret_cast<const char*>(buf.data()), n);
            }
            std::printf("echoed: %s", line.c_str());
            clients.done();
        });  // c closes here: the server's read() returns 0
    }
    clients.wait();
    ln.close();
    handlers.wait();
    std::printf("echo server stopped\n");
}

#ifdef GORO_EXAMPLE_STANDALONE
namespace {

// --serve: the benchmark server of bench/net_echo.sh: prints "port N", echoes
// until ECHO_SERVE_S seconds (default 60) have passed or SIGINT/SIGTERM
// comes, then shuts down gracefully (graceful.hpp): it stops accepting,
// closes idle connections, lets each busy one write back what it read,
// within ECHO_GRACE_MS (default 5000), and exits 0.
int serve_main() {
    const char* env = std::getenv("ECHO_SERVE_S");
    long seconds = env && *env ? std::atol(env) : 60;
    const char* grace_env = std::getenv("ECHO_GRACE_MS");
    auto grace = std::chrono::milliseconds(grace_env && *grace_env ? std::atol(grace_env) : 5000);
    goro::Chan<int> signals = goro::signal_notify({SIGINT, SIGTERM});
    auto ln = goro::net::TcpListener::listen("127.0.0.1", 0);
    std::printf("port %u\n", unsigned(ln.port()));
    std::fflush(stdout);
    Connections conns;
    goro::WaitGroup server;
    server.add(1);
    goro::go([&] {
        try {
            for (;;) {
                conns.serve(ln.accept(), [](goro::net::TcpStream& c, Connections::Entry& entry) {
                    std::array<std::byte, 1024> buf;
                    try {
                        for (std::size_t n; (n = c.read(buf)) > 0;) {
                            if (!entry.busy()) return;
                            c.write_all(std::span(buf.data(), n));
                            if (!entry.idle()) return;
                        }
                    } catch (const std::system_error&) {
                    }
                });
            }
        } catch (const std::system_error&) {
        }
        server.done();
    });
    goro::select(goro::case_recv(signals, [](auto) {}),
                 goro::case_recv(goro::after(std::chrono::seconds(seconds)), [](auto) {}));
    goro::signal_stop(signals);
    ln.close();
    server.wait();
    Connections::Report r = conns.shutdown(grace);
    std::fprintf(stderr, "echo_server: shut down: %d idle connections closed, %d busy ones finished, %d closed at the deadline\n",
                 r.idle_closed, r.finished, r.forced);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "--serve") return goro::run(serve_main);
    return goro::run([] {
        example_echo_server();
        return 0;
    });
}
#endif
