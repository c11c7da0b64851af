// http_hello — a minimal HTTP/1.1 keep-alive server that answers every
// request with "Hello, World!": an accept loop and one goroutine per
// connection.
//
// Mirrors the Go peer's raw server (bench/peers/go/http_hello.go,
// httpRaw/serveRaw): read up to 8192 bytes; every request (a header block
// ended by CRLF CRLF, matched across reads; no bodies) gets the fixed 78-byte
// response; all the responses for one read go out in one write. On top of
// that the parser here is bounded and safe on garbage: a request line that
// is not "METHOD SP target SP HTTP/1.x" gets 400 and the connection closes; a
// header block longer than 8 KiB gets 431 and the connection closes;
// "Connection: close" and HTTP/1.0 close after the response.
//
// Run:     ./build/examples/tour http_hello     serves its own client, then stops
//     or   ./build/examples/http_hello          the same, standalone
//     or   ./build/examples/http_hello --serve  a server for wrk: prints "port N",
//          exits after HTTP_SERVE_S seconds (default 60); HTTP_PORT picks the port
//          wrk -t1 -c64 -d5s http://127.0.0.1:N/
// Observe: in the tour, three keep-alive requests on one connection, two
// pipelined ones answered by one write, and a garbage request answered 400.
#include <goro/goro.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include "examples.hpp"

namespace {

constexpr std::string_view kHello =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
static_assert(kHello.size() == 78);
constexpr std::string_view kBadRequest =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
constexpr std::string_view kTooLarge =
    "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
constexpr std::size_t kMaxHeader = 8192;  // the peers read 8192 bytes at a time

bool ieq_prefix(std::string_view s, std::string_view lower_prefix) {
    if (s.size() < lower_prefix.size()) return false;
    for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != lower_prefix[i]) return false;
    }
    return true;
}

enum class Verdict { Ok, OkClose, Bad };

// parse() checks one complete header block (ending in CRLF CRLF).
Verdict parse(std::string_view req) {
    std::size_t eol = req.find("\r\n");
    std::string_view line = req.substr(0, eol);
    // METHOD: upper-case letters.
    std::size_t i = 0;
    while (i < line.size() && line[i] >= 'A' && line[i] <= 'Z') ++i;
    if (i == 0 || i > 16 || i >= line.size() || line[i] != ' ') return Verdict::Bad;
    // target: visible ASCII, no spaces.
    std::size_t t = ++i;
    while (i < line.size() && line[i] > ' ' && line[i] < 0x7f) ++i;
    if (i == t || i >= line.size() || line[i] != ' ') return Verdict::Bad;
    std::string_view version = line.substr(i + 1);
    if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' || version[7] > '9')
        return Verdict::Bad;
    bool close = version[7] == '0';  // HTTP/1.0 closes unless it asks to keep alive
    // Headers: only Connection matters here.
    for (std::size_t p = eol + 2; p < req.size();) {
        std::size_t e = req.find("\r\n", p);
        std::string_view h = req.substr(p, e - p);
        if (ieq_prefix(h, "connection:")) {
            std::string_view v = h.substr(11);
            while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
            if (ieq_prefix(v, "close")) close = true;
            if (ieq_prefix(v, "keep-alive")) close = false;
        }
        p = e + 2;
    }
    return close ? Verdict::OkClose : Verdict::Ok;
}

// serve_conn answers requests on one connection until EOF, an error, or a
// request that closes it.
void serve_conn(goro::net::TcpStream conn) {
    std::array<char, kMaxHeader> buf;
    std::size_t have = 0;     // bytes of an unfinished request kept at the front of buf
    std::size_t scanned = 0;  // of those, how many were searched for CRLF CRLF already
    std::string out;
    out.reserve(8 * kHello.size());
    try {
        for (;;) {
            std::size_t n = conn.read(std::as_writable_bytes(std::span(buf.data() + have, buf.size() - have)));
            if (n == 0) return;  // the client closed
            have += n;
            out.clear();
            bool close = false;
            std::size_t start = 0;
            std::string_view data(buf.data(), have);
            for (;;) {
                std::size_t from = std::max(start, scanned >= 3 ? scanned - 3 : 0);
                std::size_t end = data.find("\r\n\r\n", from);
                if (end == std::string_view::npos) break;
                Verdict v = parse(data.substr(start, end + 4 - start));
                start = end + 4;
                if (v == Verdict::Bad) {
                    out.append(kBadRequest);
                    close = true;
                    break;
                }
                out.append(kHello);
                if (v == Verdict::OkClose) {
                    close = true;
                    break;
                }
            }
            if (!close && start == 0 && have == buf.size()) {  // 8 KiB and no end of headers
                out.append(kTooLarge);
                close = true;
            }
            if (!out.empty()) conn.write_all(std::as_bytes(std::span(out)));
            if (close) return;
            std::memmove(buf.data(), buf.data() + start, have - start);  // keep the unfinished request
            have -= start;
            scanned = have;
        }
    } catch (const std::system_error&) {
        // reset by the peer, ...: drop the connection
    }
}

// serve() runs the accept loop until the listener is closed; `conns` counts
// the connection goroutines still running.
void serve(goro::net::TcpListener& ln, goro::WaitGroup& conns) {
    try {
        for (;;) {
            goro::net::TcpStream c = ln.accept();
            conns.add(1);
            goro::go([&conns, c = std::move(c)]() mutable {
                serve_conn(std::move(c));
                conns.done();
            });
        }
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
    goro::WaitGroup server, conns;
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

    c.close();
    ln.close();  // wakes the accept loop
    server.wait();
    conns.wait();
    std::printf("server stopped\n");
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
// stdout, exit after HTTP_SERVE_S seconds).
int serve_main() {
    long port = env_long("HTTP_PORT", 0);
    long seconds = env_long("HTTP_SERVE_S", 60);
    auto ln = goro::net::TcpListener::listen("127.0.0.1", static_cast<std::uint16_t>(port));
    std::printf("port %u\n", unsigned(ln.port()));
    std::fflush(stdout);
    static goro::WaitGroup conns;  // outlives this frame: connections may still be open at the end
    goro::WaitGroup server;
    server.add(1);
    goro::go([&] {
        serve(ln, conns);
        server.done();
    });
    goro::sleep_for(std::chrono::seconds(seconds));
    ln.close();
    server.wait();
    return 0;  // run() cancels the connections still open
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
