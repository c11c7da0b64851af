// examples/graceful.hpp — graceful shutdown for the example servers
// (http_hello --serve, echo_server --serve): Go's http.Server.Shutdown in
// miniature.
//
//   1. The server stops accepting (it closes its listener).
//   2. Connections waiting for a request (idle) are closed at once.
//   3. Busy ones finish the request in hand, answer it, and close.
//   4. At the deadline, whatever is left is closed, and its goroutine
//      cancelled (goro::Cancelled at its next blocking call: a handler
//      busy in a long computation or wait is not waited for).
//
// A connection is busy from the moment a read brings it a request's first
// bytes until its answer is written. Each connection's goroutine tells the
// registry when it changes (busy(), idle()), under one mutex with the
// shutdown, so a busy connection is never closed under its feet before the
// deadline. One race is left, as in Go: bytes that arrive just as an idle
// connection is closed are lost unanswered (the client sees the connection
// end without an answer: the request was not processed, and may be retried).
#pragma once

#include <goro/goro.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <map>
#include <type_traits>
#include <utility>

class Connections {
public:
    // A connection's registration, held by its goroutine (see serve()).
    class Entry {
    public:
        Entry(Connections& c, goro::net::Stream& s) : c_(c), s_(s) {}
        ~Entry() { c_.leave(s_); }
        Entry(const Entry&) = delete;
        Entry& operator=(const Entry&) = delete;
        // A read brought data: false if shutdown closed the connection
        // already (drop it), else it stays open until idle().
        bool busy() { return c_.set_busy(s_); }
        // The answer is written: false when shutting down (close it now).
        bool idle() { return c_.set_idle(s_); }

    private:
        Connections& c_;
        goro::net::Stream& s_;
    };

    // Called by the accept loop with each accepted stream: registers it at
    // once (so that shutdown() waits for it even if its goroutine has not
    // started) and runs handle(stream, entry) on a new goroutine.
    template <class S, class Handle>
    void serve(S&& accepted, Handle handle) {
        auto conn = std::make_unique<std::remove_cvref_t<S>>(std::forward<S>(accepted));
        goro::net::Stream& stream = *conn;
        enter(stream);
        goro::Task<void> task;
        try {
            task = goro::spawn([this, conn = std::move(conn), handle]() mutable {
                Entry entry(*this, *conn);
                handle(*conn, entry);
            });
        } catch (...) {  // no goroutine: unregister (leave() uses only the address)
            leave(stream);
            throw;
        }
        std::lock_guard lock(mu_);
        if (auto it = conns_.find(&stream); it != conns_.end()) it->second.task = std::move(task);
    }

    struct Report {
        int idle_closed = 0;    // closed while waiting for a request
        int finished = 0;       // busy at shutdown, answered before the deadline
        int forced = 0;         // still busy at the deadline, closed
    };

    // Steps 2-4; the caller has closed its listener (step 1).
    Report shutdown(std::chrono::milliseconds grace) {
        Report r;
        {
            std::lock_guard lock(mu_);
            draining_ = true;
            for (auto& [stream, conn] : conns_) {
                if (conn.busy) {
                    ++r.finished;
                } else {
                    stream->close();  // wakes its read with EBADF
                    ++r.idle_closed;
                }
            }
        }
        try {
            goro::timeout(grace, [&] { live_.wait(); });
        } catch (const goro::Timeout&) {
            std::lock_guard lock(mu_);
            for (auto& [stream, conn] : conns_) {
                stream->close();
                conn.task.cancel();
                ++r.forced;
            }
            r.finished -= r.forced;
        }
        live_.wait();  // every goroutine has let go of its stream
        return r;
    }

private:
    struct Conn {
        bool busy = false;
        goro::Task<void> task;  // its goroutine (set just after it is spawned)
    };

    void enter(goro::net::Stream& s) {
        live_.add(1);
        std::lock_guard lock(mu_);
        conns_.emplace(&s, Conn{});
        if (draining_) s.close();  // accepted just before the listener closed
    }
    void leave(goro::net::Stream& s) {
        {
            std::lock_guard lock(mu_);
            conns_.erase(&s);
        }
        live_.done();
    }
    bool set_busy(goro::net::Stream& s) {
        std::lock_guard lock(mu_);
        if (!s.is_open()) return false;
        conns_[&s].busy = true;
        return true;
    }
    bool set_idle(goro::net::Stream& s) {
        std::lock_guard lock(mu_);
        conns_[&s].busy = false;
        return !draining_;
    }

    goro::Mutex mu_;
    bool draining_ = false;                      // guarded by mu_
    std::map<goro::net::Stream*, Conn> conns_;   // guarded by mu_
    goro::WaitGroup live_;                       // connection goroutines not yet gone
};
