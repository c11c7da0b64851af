// crawler — fetch N web pages three ways: one after another, with a pool of 4
// threads, and with one goroutine per page; print how long each took.
//
// Mirrors the classic Python comparison (requests + ThreadPoolExecutor vs
// asyncio.gather) and Go's "fetch all URLs concurrently":
//
//     for _, u := range urls { fetch(u) }                        // sequential
//     with ThreadPoolExecutor(max_workers=4) as ex:              // 4 threads
//         list(ex.map(fetch, urls))
//     for _, u := range urls { wg.Add(1); go func(u string) {   // goroutines
//         defer wg.Done(); fetch(u) }(u) }; wg.Wait()
//
// By default the pages come from an HTTP server embedded in the program, on
// 127.0.0.1, that answers each request after a delay (CRAWL_DELAY_MS, default
// 50 ms), so the run needs no network: CRAWL_PAGES pages (default 15).
// Expect about N x delay sequentially, N/4 x delay with 4 threads, and one
// delay with goroutines. http:// URLs given on the command line of the
// standalone program are fetched instead (no TLS, no redirects).
//
// Each fetcher keeps a session, as the Python original keeps a requests
// Session per thread in threading.local: here a goro::GoroutineLocal, which
// is per goroutine on goroutines and per thread on the pool's plain threads,
// so the sequential round uses one session, the pool four, and the
// goroutine round one per page. A thread_local would not do for the
// goroutines: they share the worker threads and move between them.
//
// The thread pool uses the very same goro::net calls from plain threads:
// there they block the thread (in poll(2)) instead of parking a goroutine.
// The main goroutine waits for the threads on a goro::WaitGroup, which parks
// it, so the workers keep serving the embedded server's goroutines; a plain
// std::thread::join() here would block a worker, and at maxprocs 1 the
// server could then never answer.
//
// Run:     ./build/examples/tour crawler
//     or   ./build/examples/crawler [http://host[:port]/path ...]
#include <goro/goro.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "examples.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Url {
    std::string host;
    std::uint16_t port = 80;
    std::string path = "/";
    std::string text;
};

bool parse_url(std::string_view s, Url& u) {
    u.text = std::string(s);
    if (s.substr(0, 7) != "http://") return false;
    s.remove_prefix(7);
    std::size_t slash = s.find('/');
    std::string_view hostport = s.substr(0, slash);
    u.path = slash == std::string_view::npos ? "/" : std::string(s.substr(slash));
    std::string_view port;
    if (!hostport.empty() && hostport.front() == '[') {  // [::1]:8080
        std::size_t close = hostport.find(']');
        if (close == std::string_view::npos) return false;
        if (close + 1 < hostport.size() && hostport[close + 1] == ':') port = hostport.substr(close + 2);
        hostport = hostport.substr(1, close - 1);
    } else if (std::size_t colon = hostport.find(':'); colon != std::string_view::npos) {
        port = hostport.substr(colon + 1);
        hostport = hostport.substr(0, colon);
    }
    if (!port.empty()) u.port = static_cast<std::uint16_t>(std::atoi(std::string(port).c_str()));
    u.host = std::string(hostport);
    return !u.host.empty() && u.port != 0;
}

// A fetcher's session (a requests.Session in the Python original): made on
// a fetcher's first request, destroyed when its goroutine or thread ends.
struct Session {
    int id = 0;
    int requests = 0;
};
std::atomic<int> sessions_made{0};
goro::GoroutineLocal<Session> session([] { return Session{++sessions_made, 0}; });

// fetch() GETs one page and returns its size in bytes (headers included).
std::size_t fetch(const Url& u) {
    session->requests++;  // the calling goroutine's (or thread's) own session
    auto c = goro::net::TcpStream::connect(u.host, u.port, 10s);
    c.set_read_timeout(10s);
    std::string req = "GET " + u.path + " HTTP/1.1\r\nHost: " + u.host + "\r\nConnection: close\r\n\r\n";
    c.write_all(std::as_bytes(std::span(req)));
    std::size_t total = 0;
    std::array<std::byte, 16384> buf;
    for (std::size_t n; (n = c.read(buf)) > 0;) total += n;
    return total;
}

// The embedded server: each request is answered after `delay`.
void serve_slowly(goro::net::TcpListener& ln, goro::WaitGroup& conns, std::chrono::milliseconds delay) {
    try {
        for (;;) {
            goro::net::TcpStream c = ln.accept();
            conns.add(1);
            goro::go([&conns, delay, c = std::move(c)]() mutable {
                try {
                    std::string req;
                    std::array<std::byte, 2048> buf;
                    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192) {
                        std::size_t n = c.read(buf);
                        if (n == 0) break;
                        req.append(reinterpret_cast<const char*>(buf.data()), n);
                    }
                    goro::sleep_for(delay);  // a slow backend
                    std::string body = "<html>page " + req.substr(4, req.find(' ', 4) - 4) + "</html>\n";
                    std::string resp =
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\nConnection: close\r\n\r\n" + body;
                    c.write_all(std::as_bytes(std::span(resp)));
                } catch (const std::system_error&) {
                }
                conns.done();
            });
        }
    } catch (const std::system_error&) {
        // the listener was closed
    }
}

int env_int(const char* name, int dflt) {
    const char* s = std::getenv(name);
    return s && *s ? std::atoi(s) : dflt;
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

void crawl(const std::vector<Url>& urls) {
    std::vector<std::size_t> sizes(urls.size());

    int made = sessions_made.load();
    auto t0 = Clock::now();
    for (std::size_t i = 0; i < urls.size(); ++i) sizes[i] = fetch(urls[i]);
    double sequential = ms_since(t0);
    const int sequential_sessions = sessions_made.load() - made;
    made = sessions_made.load();

    // ThreadPoolExecutor(max_workers=4): 4 plain threads take pages by index.
    t0 = Clock::now();
    std::atomic<std::size_t> next{0};
    goro::WaitGroup pool_done;
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t) {
        pool_done.add(1);
        pool.emplace_back([&] {
            for (std::size_t i; (i = next.fetch_add(1)) < urls.size();) {
                try {
                    sizes[i] = fetch(urls[i]);
                } catch (const std::exception& e) {
                    std::printf("  %s: %s\n", urls[i].text.c_str(), e.what());
                }
            }
            pool_done.done();
        });
    }
    pool_done.wait();  // parks this goroutine; the workers keep running the server
    for (auto& t : pool) t.join();
    double threads = ms_since(t0);
    const int thread_sessions = sessions_made.load() - made;
    made = sessions_made.load();

    // One goroutine per page.
    t0 = Clock::now();
    goro::WaitGroup wg;
    for (std::size_t i = 0; i < urls.size(); ++i) {
        wg.add(1);
        goro::go([&, i] {
            try {
                sizes[i] = fetch(urls[i]);
            } catch (const std::exception& e) {
                std::printf("  %s: %s\n", urls[i].text.c_str(), e.what());
            }
            wg.done();
        });
    }
    wg.wait();
    double goroutines = ms_since(t0);
    const int goroutine_sessions = sessions_made.load() - made;

    std::size_t bytes = 0;
    for (std::size_t s : sizes) bytes += s;
    std::printf("fetched %zu pages (%zu bytes each round)\n", urls.size(), bytes);
    std::printf("  sequential:            %7.1f ms  (%d session)\n", sequential, sequential_sessions);
    std::printf("  pool of 4 threads:     %7.1f ms  (%d sessions, one per thread)\n", threads, thread_sessions);
    std::printf("  goroutine per page:    %7.1f ms  (%d sessions, one per goroutine)\n", goroutines, goroutine_sessions);
    // (The main goroutine's session may date from an earlier crawl.)
    if (sequential_sessions > 1 || thread_sessions > 4 || goroutine_sessions != static_cast<int>(urls.size()))
        throw std::runtime_error("crawler: GoroutineLocal sessions are not one per goroutine and per thread");
}

void crawl_local() {
    const int pages = env_int("CRAWL_PAGES", 15);
    const auto delay = std::chrono::milliseconds(env_int("CRAWL_DELAY_MS", 50));
    auto ln = goro::net::TcpListener::listen("127.0.0.1", 0);
    std::printf("embedded server on 127.0.0.1:%u answers after %lld ms\n", unsigned(ln.port()),
                static_cast<long long>(delay.count()));
    goro::WaitGroup server, conns;
    server.add(1);
    goro::go([&] {
        serve_slowly(ln, conns, delay);
        server.done();
    });
    std::vector<Url> urls;
    for (int i = 0; i < pages; ++i) {
        Url u;
        parse_url("http://127.0.0.1:" + std::to_string(ln.port()) + "/" + std::to_string(i), u);
        urls.push_back(u);
    }
    crawl(urls);
    ln.close();
    server.wait();
    conns.wait();
}

}  // namespace

void example_crawler() { crawl_local(); }

#ifdef GORO_EXAMPLE_STANDALONE
int main(int argc, char** argv) {
    std::vector<Url> urls;
    for (int i = 1; i < argc; ++i) {
        Url u;
        if (!parse_url(argv[i], u)) {
            std::fprintf(stderr, "crawler: not an http:// URL: %s\n", argv[i]);
            return 2;
        }
        urls.push_back(u);
    }
    return goro::run([&] {
        if (urls.empty()) crawl_local();
        else crawl(urls);
        return 0;
    });
}
#endif
