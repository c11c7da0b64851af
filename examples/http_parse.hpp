// http_parse.hpp — the request side of the http_hello example: finding
// request header blocks in the bytes a connection reads, and judging each.
// Kept apart from the server (http_hello.cpp) so that the fuzz test
// (tests/fuzz/http_parse_fuzz.cpp) runs the very code the example serves
// with; it needs nothing but the standard library.
//
//   http_parse::RequestReader reader;
//   for (;;) {
//       std::size_t n = read(fd, reader.room().data(), reader.room().size());
//       if (n == 0) break;                          // the client closed
//       auto next = reader.consume(n, [&](http_parse::Reply r) { /* answer r */ });
//       if (next == http_parse::Next::Close) break;
//   }
//
// The rules (the Go peer's raw server, plus bounds and garbage handling):
//  * A request is a header block ended by CRLF CRLF, found across reads; no
//    bodies. Several requests in one read (pipelining) are answered in order.
//  * A request line that is not "METHOD SP target SP HTTP/1.x" (METHOD: 1 to
//    16 upper-case letters; target: visible ASCII) is BadRequest and closes.
//  * A header block that does not end within 8 KiB is TooLarge and closes.
//  * "Connection: close" (any case) and HTTP/1.0 without "Connection:
//    keep-alive" close after their answer.
// Invariants, which the fuzz test checks on every input: while consume()
// says Continue, room() is not empty (a read always has space, so a read of
// 0 bytes means end of stream); the replies depend only on the bytes, not on
// how reads split them; and nothing is read outside the buffer.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>

namespace http_parse {

enum class Verdict { Ok, OkClose, Bad };
enum class Reply { Hello, BadRequest, TooLarge };
enum class Next { Continue, Close };

inline constexpr std::size_t kMaxHeader = 8192;  // the peers read 8192 bytes at a time

// ieq_prefix(s, p): s starts with p, ignoring ASCII case (p is lower case).
inline bool ieq_prefix(std::string_view s, std::string_view lower_prefix) {
    if (s.size() < lower_prefix.size()) return false;
    for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != lower_prefix[i]) return false;
    }
    return true;
}

// parse() judges one complete header block (ending in CRLF CRLF).
inline Verdict parse(std::string_view req) {
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

// RequestReader: one connection's buffer between reads.
class RequestReader {
public:
    // Where the next read goes.
    std::span<char> room() noexcept { return std::span<char>(buf_.data() + have_, buf_.size() - have_); }
    // Whether part of a request is held, waiting for the rest of it.
    bool mid_request() const noexcept { return have_ != 0; }

    // After n bytes were read into room(): calls on_reply(Reply) once per
    // answer due, in order, and says whether to read on or close.
    template <class F>
    Next consume(std::size_t n, F&& on_reply) {
        have_ += n;
        std::size_t start = 0;  // the first byte not yet part of an answered request
        std::string_view data(buf_.data(), have_);
        for (;;) {
            std::size_t from = std::max(start, scanned_ >= 3 ? scanned_ - 3 : 0);
            std::size_t end = data.find("\r\n\r\n", from);
            if (end == std::string_view::npos) break;
            Verdict v = parse(data.substr(start, end + 4 - start));
            start = end + 4;
            if (v == Verdict::Bad) {
                on_reply(Reply::BadRequest);
                return Next::Close;
            }
            on_reply(Reply::Hello);
            if (v == Verdict::OkClose) return Next::Close;
        }
        if (start == 0 && have_ == buf_.size()) {  // 8 KiB and no end of headers
            on_reply(Reply::TooLarge);
            return Next::Close;
        }
        std::memmove(buf_.data(), buf_.data() + start, have_ - start);  // keep the unfinished request
        have_ -= start;
        scanned_ = have_;
        return Next::Continue;
    }

private:
    std::array<char, kMaxHeader> buf_;
    std::size_t have_ = 0;     // bytes of an unfinished request kept at the front of buf_
    std::size_t scanned_ = 0;  // of those, how many were searched for CRLF CRLF already
};

}  // namespace http_parse
