// http_epoll — the floor for the http_hello workload: the peers' raw server
// (bench/peers/README.md, req_per_s_raw_w1) written straight on epoll,
// one thread, no runtime, no goroutines, no parser beyond the CRLF CRLF scan.
//
// Not an example of how to write a server: it exists to measure what the
// kernel's TCP path alone costs per request on this machine, so that goro's
// and Go's figures from bench/net_http_hello.sh can be read against the
// cheapest server the workload allows. Per request it makes the fewest
// syscalls any server can: one recv (a short read means the socket is
// drained; edge-triggered epoll reports the next arrival) and one send, plus
// a share of one epoll_wait per batch of ready connections.
//
//   http_epoll        prints "port N", serves 127.0.0.1:N, exits after
//                     HTTP_SERVE_S seconds (default 60)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view kHello =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
constexpr std::size_t kBuf = 8192;

struct Conn {
    int fd = -1;
    int matched = 0;  // how much of "\r\n\r\n" the bytes read so far end with
};

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "http_epoll: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

// Counts the requests ended in data, carrying a partial CRLF CRLF across reads.
int count_requests(Conn& c, const char* data, std::size_t n) {
    static constexpr char kEnd[] = "\r\n\r\n";
    int requests = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (data[i] == kEnd[c.matched]) {
            if (++c.matched == 4) {
                ++requests;
                c.matched = 0;
            }
        } else {
            c.matched = data[i] == '\r' ? 1 : 0;
        }
    }
    return requests;
}

void drop(int ep, Conn* c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, nullptr);
    close(c->fd);
    delete c;
}

// Reads until the socket is drained (a short read), answering every request;
// false when the connection is done.
bool serve(Conn* c, std::vector<char>& out) {
    char buf[kBuf];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n == 0) return false;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno == EAGAIN;
        int requests = count_requests(*c, buf, static_cast<std::size_t>(n));
        if (requests > 0) {
            out.clear();
            for (int i = 0; i < requests; ++i) out.insert(out.end(), kHello.begin(), kHello.end());
            // 78-byte answers to a client that waits for them: the send buffer
            // has room, so one send takes all of it (a short send ends the connection).
            if (send(c->fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) return false;
        }
        if (static_cast<std::size_t>(n) < sizeof buf) return true;  // drained
    }
}

}  // namespace

int main() {
    long serve_s = 60;
    if (const char* s = std::getenv("HTTP_SERVE_S")) {
        char* end = nullptr;
        serve_s = std::strtol(s, &end, 10);
        if (*s == '\0' || *end != '\0' || serve_s <= 0) {
            std::fprintf(stderr, "http_epoll: HTTP_SERVE_S=%s: not a positive integer\n", s);
            return 2;
        }
    }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) die("bind");
    if (listen(lfd, 1024) < 0) die("listen");
    socklen_t len = sizeof addr;
    getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
    std::printf("port %u\n", unsigned(ntohs(addr.sin_port)));
    std::fflush(stdout);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the listener
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) die("epoll_ctl");

    auto stop_at = std::chrono::steady_clock::now() + std::chrono::seconds(serve_s);
    std::vector<char> out;
    epoll_event events[512];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(stop_at - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        int n = epoll_wait(ep, events, 512, static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; ++i) {
            auto* c = static_cast<Conn*>(events[i].data.ptr);
            if (c == nullptr) {
                for (;;) {
                    int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;  // EAGAIN, or EMFILE and friends: try at the next event
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    auto* nc = new Conn{fd, 0};
                    epoll_event cev{};
                    cev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
                    cev.data.ptr = nc;
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) < 0) {
                        close(fd);
                        delete nc;
                    }
                }
                continue;
            }
            if (!serve(c, out)) drop(ep, c);
        }
    }
    return 0;
}
