// examples/metrics_http.hpp — a tiny HTTP/1.1 endpoint that serves
// goro::runtime_stats() at /metrics in the Prometheus text format
// (goro::prometheus_text). Used by examples/metrics_server.cpp and by
// tests/metrics/metrics_test.cpp, which scrapes it over 127.0.0.1.
//
// One goroutine per connection; one request per connection (the answer
// says "Connection: close"): GET /metrics gets 200 and the metrics, any
// other path 404, anything else 400. serve_metrics() returns when the
// listener is closed.
#pragma once

#include <goro/goro.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace metrics_http {

inline std::string answer(std::string_view status, std::string_view type, std::string_view body) {
    std::string out = "HTTP/1.1 ";
    out += status;
    out += "\r\nContent-Type: ";
    out += type;
    out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    out += body;
    return out;
}

// The response to one request's header block.
inline std::string respond(std::string_view request) {
    const std::string_view line = request.substr(0, request.find("\r\n"));
    if (line.substr(0, 4) != "GET " || line.find(" HTTP/1.") == std::string_view::npos)
        return answer("400 Bad Request", "text/plain", "bad request\n");
    const std::string_view target = line.substr(4, line.find(' ', 4) - 4);
    if (target != "/metrics") return answer("404 Not Found", "text/plain", "try /metrics\n");
    return answer("200 OK", "text/plain; version=0.0.4; charset=utf-8", goro::prometheus_text(goro::runtime_stats()));
}

inline void serve_conn(goro::net::TcpStream conn) {
    try {
        std::string req;
        std::array<std::byte, 2048> buf;
        conn.set_read_timeout(std::chrono::seconds(5));
        while (req.find("\r\n\r\n") == std::string::npos) {
            if (req.size() > 8192) return;  // no header block that long here
            std::size_t n = conn.read(buf);
            if (n == 0) return;
            req.append(reinterpret_cast<const char*>(buf.data()), n);
        }
        const std::string out = respond(req);
        conn.write_all(std::as_bytes(std::span(out)));
    } catch (const std::system_error&) {
        // reset by the peer, timed out: drop it
    }
}

// Accepts until `ln` is closed; `conns` counts the connection goroutines
// still running (the caller waits for them).
inline void serve_metrics(goro::net::TcpListener& ln, goro::WaitGroup& conns) {
    try {
        for (;;) {
            goro::net::TcpStream c = ln.accept();
            conns.add(1);
            goro::go("metrics-conn", [c = std::move(c), &conns]() mutable {
                serve_conn(std::move(c));
                conns.done();
            });
        }
    } catch (const std::system_error&) {
        // the listener was closed
    }
}

// A client for the example and the test: GET `path` from 127.0.0.1:port,
// the whole response (headers and body) as the server sent it.
inline std::string scrape(std::uint16_t port, std::string_view path = "/metrics") {
    auto c = goro::net::TcpStream::connect("127.0.0.1", port, std::chrono::seconds(5));
    std::string req = "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    c.set_read_timeout(std::chrono::seconds(5));
    c.write_all(std::as_bytes(std::span(req)));
    std::string got;
    std::array<std::byte, 4096> buf;
    for (std::size_t n; (n = c.read(buf)) > 0;)
        got.append(reinterpret_cast<const char*>(buf.data()), n);
    return got;
}

}  // namespace metrics_http
