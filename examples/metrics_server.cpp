// metrics_server — goro::runtime_stats() served at /metrics in the
// Prometheus text format, beside a small workload: producers and consumers
// on a channel, a few goroutines parked on a channel nobody sends to, a
// ticker, and a run_blocking job now and then.
//
// Run:     ./build/examples/tour metrics_server     scrapes itself twice, prints a few series, stops
//     or   ./build/examples/metrics_server          the same, standalone
//     or   ./build/examples/metrics_server --serve  prints "port N" and serves for METRICS_SERVE_S
//          seconds (default 30; METRICS_PORT picks the port), then stops by itself:
//          curl http://127.0.0.1:N/metrics   (or point a Prometheus scrape job at it)
// Observe: goro_goroutines_parked{reason="chan receive"} counts the parked
// readers, the spawned/ended counters and context switches grow between
// the two scrapes.
#include <goro/goro.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <thread>

#include "examples.hpp"
#include "metrics_http.hpp"

namespace {

// The workload: runs until `stop` is closed; `done` counts its goroutines.
void workload(goro::Chan<int> stop, goro::WaitGroup& done) {
    goro::Chan<int> jobs(16), idle;
    for (int i = 0; i < 5; ++i) {  // parked on a channel nobody sends to, until stop
        done.add(1);
        goro::go("idle-reader", [stop, idle, &done] {
            goro::select(goro::case_recv(stop, [](auto) {}), goro::case_recv(idle, [](auto) {}));
            done.done();
        });
    }
    for (int i = 0; i < 3; ++i) {  // consumers
        done.add(1);
        goro::go("consumer", [jobs, &done]() mutable {
            for (int v : jobs) (void)v;
            done.done();
        });
    }
    done.add(1);
    goro::go("producer", [stop, jobs, &done]() mutable {
        goro::Ticker tick(std::chrono::milliseconds(5));
        auto ticks = tick.c();
        for (int n = 0;; ++n) {
            bool stopped = false;
            goro::select(goro::case_recv(stop, [&](auto) { stopped = true; }), goro::case_recv(ticks, [](auto) {}));
            if (stopped) break;
            for (int k = 0; k < 20; ++k) jobs.send(k);
            goro::go([] {});  // a short-lived goroutine: spawned and ended grow
            if (n % 20 == 0) goro::run_blocking([] { std::this_thread::sleep_for(std::chrono::milliseconds(1)); });
        }
        jobs.close();
        done.done();
    });
}

std::string_view body_of(std::string_view response) {
    auto at = response.find("\r\n\r\n");
    return at == std::string_view::npos ? std::string_view() : response.substr(at + 4);
}

// The lines of `body` that start with one of `names`.
void print_series(std::string_view body, std::initializer_list<std::string_view> names) {
    while (!body.empty()) {
        auto nl = body.find('\n');
        std::string_view line = body.substr(0, nl);
        body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
        for (std::string_view n : names)
            if (line.substr(0, n.size()) == n && line.size() > n.size() && (line[n.size()] == ' ' || line[n.size()] == '{'))
                std::printf("  %.*s\n", static_cast<int>(line.size()), line.data());
    }
}

struct Server {
    goro::net::TcpListener ln;
    goro::WaitGroup accept_done, conns;
    explicit Server(std::uint16_t port) : ln(goro::net::TcpListener::listen("127.0.0.1", port)) {
        accept_done.add(1);
        goro::go("metrics-accept", [this] {
            metrics_http::serve_metrics(ln, conns);
            accept_done.done();
        });
    }
    void stop() {
        ln.close();
        accept_done.wait();
        conns.wait();
    }
};

}  // namespace

void example_metrics_server() {
    goro::Chan<int> stop;
    goro::WaitGroup work;
    workload(stop, work);
    Server server(0);
    std::printf("serving http://127.0.0.1:%u/metrics\n", unsigned(server.ln.port()));
    for (int scrape = 1; scrape <= 2; ++scrape) {
        goro::sleep_for(std::chrono::milliseconds(100));
        std::string r = metrics_http::scrape(server.ln.port());
        std::printf("scrape %d: %s, %zu bytes\n", scrape, r.substr(0, r.find("\r\n")).c_str(), body_of(r).size());
        print_series(body_of(r), {"goro_goroutines", "goro_goroutines_spawned_total", "goro_context_switches_total"});
        // One reason of the parked series: the five idle readers wait in a select.
        auto body = body_of(r);
        auto at = body.find("goro_goroutines_parked{reason=\"select\"}");
        if (at != std::string_view::npos)
            std::printf("  %.*s\n", static_cast<int>(body.find('\n', at) - at), body.data() + at);
    }
    stop.close();
    work.wait();
    server.stop();
    std::printf("stopped\n");
}

#ifdef GORO_EXAMPLE_STANDALONE
namespace {

long env_long(const char* name, long dflt) {
    const char* s = std::getenv(name);
    if (!s || !*s) return dflt;
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (*end != '\0' || v < 0 || v > 65535 * 100) {
        std::fprintf(stderr, "metrics_server: bad %s=%s\n", name, s);
        std::exit(2);
    }
    return v;
}

// --serve: "port N" on stdout, then serve for METRICS_SERVE_S seconds.
int serve_main() {
    const long port = env_long("METRICS_PORT", 0);
    const long seconds = env_long("METRICS_SERVE_S", 30);
    goro::Chan<int> stop;
    goro::WaitGroup work;
    workload(stop, work);
    Server server(static_cast<std::uint16_t>(port));
    std::printf("port %u\n", unsigned(server.ln.port()));
    std::fflush(stdout);
    goro::sleep_for(std::chrono::seconds(seconds));
    stop.close();
    work.wait();
    server.stop();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        if (argc > 1 && std::string_view(argv[1]) == "--serve") return goro::run(serve_main);
        return goro::run([] {
            example_metrics_server();
            return 0;
        });
    } catch (const std::exception& e) {  // a bad GORO_DEBUG, no port to listen on, ...
        std::fprintf(stderr, "metrics_server: error: %s\n", e.what());
        return 1;
    }
}
#endif
