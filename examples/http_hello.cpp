// http_hello — a minimal HTTP/1.1 keep-alive server that answers every
// request with "Hello, World!": an accept loop and one goroutine per
// connection.
//
// Mirrors the Go peer's raw server (bench/peers/go/http_hello.go,
// httpRaw/serveRaw): read up to 8192 bytes; every request (a header block
// ended by CRLF CRLF, matched across reads; no bodies) gets the fixed 78-byte
// response; all the responses for one read go out in one write. On top of
// that the parser (http_parse.hpp, fuzzed by tests/fuzz/) is bounded and safe
// on garbage: a request line that is not "METHOD SP target SP HTTP/1.x" gets
// 400 and the connection closes; a header block longer than 8 KiB gets 431
// and the connection closes; "Connection: close" and HTTP/1.0 close after the
// response.
//
// Run:     ./build/examples/tour http_hello     serves its own client, then stops
//     or   ./build/examples/http_hello          the same, standalone
//     or   ./build/examples/http_hello --serve  a server for wrk: prints "port N",
//          exits after HTTP_SERVE_S seconds (default 60) or on SIGINT/SIGTERM,
//          gracefully (see serve_main); HTTP_PORT picks the port
//          wrk -t1 -c64 -d5s http://127.0.0.1:N/
// Observe: in the tour, three keep-alive requests on one connection, two
// pipelined ones answered by one write, a garbage request answered 400, and
// a graceful shutdown that closes the idle keep-alive connection.
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
#include "http_parse.hpp"

namespace {

constexpr std::string_view kHello =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
static_assert(kHello.size() == 78);
constexpr std::string_view kBadRequest = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
constexpr std::string_view kTooLarge =
    "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

// serve_conn answers requests on one connection until EOF, an error, a
// request that closes it, or a shutdown (graceful.hpp: the request in hand
// is answered first). `work` is time spent before each answer (--serve's
// HTTP_WORK_MS), so that requests are in flight when a shutdown comes. The
// parsing (http_parse.hpp) is the fuzzed part.
void serve_conn(goro::net::TcpStream& conn, Connections::Entry& entry, std::chrono::milliseconds work) {
    http_parse::RequestReader reader;
    std::string out;
    out.reserve(8 * kHello.size());
    try {
        for (;;) {
            std::size_t n = conn.read(std::as_writable_bytes(reader.room()));
            if (n == 0) return;             // the client closed
            if (!entry.busy()) return;      // closed by a shutdown as the bytes came
            out.clear();
            http_parse::Next next = reader.consume(n, [&](http_parse::Reply r) {
                out.append(r == http_parse::Reply::Hello        ? kHello
                           : r == http_parse::Reply::BadRequest ? kBadRequest
                                                                : kTooLarge);
            });
            if (!out.empty()) {
                if (work.count() > 0) goro::sleep_for(work);
                conn.write_all(std::as_bytes(std::span(out)));
            }
            if (next == http_parse::Next::Close) return;
            if (!reader.mid_request() && !entry.idle()) return;  // shutting down: answered, now close
        }
    } catch (const std::system_error&) {
        // reset by the peer, closed by a shutdown, ...: drop the connection
    }
}

// serve() runs the accept loop until the listener is closed; `conns` holds
// the connections for a graceful shutdown.
void serve(goro::net::TcpListener& ln, Connections& conns, std::chrono::milliseconds work = {}) {
    try {
        for (;;) conns.serve(ln.accept(), [work](goro::net::TcpStream& c, Connections::Entry& e) { serve_conn(c, e, work); });
    } catch (const std::system_error&) {
        // the listener was closed
    }
}

std::string roundtrip(goro::net::TcpStream& c, std::string_view requests, std::size_t responses) {
    c.write_all(std::as_bytes(std::span(requests)));
    std::string got;
    std::array<std::byte, 4096> buf;
    std::size_t want = responses * kHello.size();
    while (got.size() < want) {
        std::size_t n = c.read(buf);
        if (n == 0) break;
        got.append(reinterpret_cast<const char*>(buf.data()), n);
    }
    return got;
}

std::string first_line(std::string_view s) { return std::string(s.substr(0, s.find("\r\n"))); }

}  // namespace

void example_http_hello() {
    auto ln = goro::net::TcpListener::listen("127.0.0.1", 0);
    std::printf("serving on http://127.0.0.1:%u/\n", unsigned(ln.port()));
    goro::WaitGroup server;
    Connections conns;
    server.add(1);
    goro::go([&] {
        serve(ln, conns);
        server.done();
    });

    auto c = goro::net::TcpStream::connect("127.0.0.1", ln.port(), std::chrono::seconds(5));
    std::string get = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    for (int i = 1; i <= 3; ++i) {  // keep-alive: one connection, one request after the other
        std::string r = roundtrip(c, get, 1);
        std::printf("request %d: %s, body \"%s\"\n", i, first_line(r).c_str(), r.substr(r.size() - 13).c_str());
    }
    std::string two = roundtrip(c, get + get, 2);  // pipelined: both answers come in one write
    std::printf("two pipelined requests: %zu bytes back (2 x %zu)\n", two.size(), kHello.size());

    auto g = goro::net::TcpStream::connect("127.0.0.1", ln.port(), std::chrono::seconds(5));
    std::string bad = "\x16\x03\x01 garbage\r\n\r\n";  // e.g. a TLS hello sent to plain HTTP
    g.write_all(std::as_bytes(std::span(bad)));
    std::string reply;
    std::array<std::byte, 256> buf;
    for (std::size_t n; (n = g.read(buf)) > 0;) reply.append(reinterpret_cast<const char*>(buf.data()), n);
    std::printf("garbage request: %s, then the server closed the connection\n", first_line(reply).c_str());

    // A graceful shutdown: stop accepting, close the idle keep-alive
    // connection (c, still open on our side), wait for busy ones.
    ln.close();  // wakes the accept loop
    server.wait();
    Connections::Report r = conns.shutdown(std::chrono::seconds(1));
    std::string tail;
    for (std::size_t n; (n = c.read(buf)) > 0;) tail.append(reinterpret_cast<const char*>(buf.data()), n);
    std::printf("server stopped: %d idle connection closed (the client read %zu more bytes, then end of stream)\n",
                r.idle_closed, tail.size());
}

#ifdef GORO_EXAMPLE_STANDALONE
namespace {

long env_long(const char* name, long dflt) {
    const char* s = std::getenv(name);
    if (!s || !*s) return dflt;
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (*end != '\0' || v < 0) {
        std::fprintf(stderr, "http_hello: bad %s=%s\n", name, s);
        std::exit(2);
    }
    return v;
}

// --serve: the benchmark server (same contract as the Go peer: "port N" on
// stdout, exit after HTTP_SERVE_S seconds), and a server that shuts down
// gracefully on SIGINT or SIGTERM, as at the end of HTTP_SERVE_S: it stops
// accepting, closes idle connections, gives busy ones HTTP_GRACE_MS
// (default 5000) to answer the request in hand, closes the rest, prints
// what it did on stderr and exits 0. HTTP_WORK_MS (default 0) delays every
// answer, to keep requests in flight.
int serve_main() {
    long port = env_long("HTTP_PORT", 0);
    long seconds = env_long("HTTP_SERVE_S", 60);
    auto grace = std::chrono::milliseconds(env_long("HTTP_GRACE_MS", 5000));
    auto work = std::chrono::milliseconds(env_long("HTTP_WORK_MS", 0));
    goro::Chan<int> signals = goro::signal_notify({SIGINT, SIGTERM});
    auto ln = goro::net::TcpListener::listen("127.0.0.1", static_cast<std::uint16_t>(port));
    std::printf("port %u\n", unsigned(ln.port()));
    std::fflush(stdout);
    Connections conns;
    goro::WaitGroup server;
    server.add(1);
    goro::go([&] {
        serve(ln, conns, work);
        server.done();
    });
    int sig = 0;
    goro::select(goro::case_recv(signals, [&](std::optional<int> s) { sig = s.value_or(0); }),
                 goro::case_recv(goro::after(std::chrono::seconds(seconds)), [](auto) {}));
    goro::signal_stop(signals);  // a second SIGINT/SIGTERM now ends the process at once
    ln.close();
    server.wait();
    Connections::Report r = conns.shutdown(grace);
    std::fprintf(stderr, "http_hello: %s; shut down: %d idle connections closed, %d requests finished, %d connections closed at the deadline\n",
                 sig ? (sig == SIGTERM ? "SIGTERM" : "SIGINT") : "time is up", r.idle_closed, r.finished, r.forced);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "--serve") return goro::run(serve_main);
    return goro::run([] {
        example_http_hello();
        return 0;
    });
}
#endif
