// tests/fuzz/http_parse_fuzz.cpp: libFuzzer target for the http_hello example's request parser
// (examples/http_parse.hpp), built with clang -fsanitize=fuzzer,address,undefined by tests/fuzz/run_fuzz.sh.
//
// An input is one byte that says how reads split the stream, then the bytes a client sent. The target
// feeds the stream to a RequestReader twice, once in reads as large as its room allows and once split as
// the first byte says, and checks, beyond the sanitizers' memory and UB checks:
//  * while the reader says Continue, room() is never empty (a read of 0 bytes would look like EOF);
//  * both feedings give the same replies, and the same as a reference that applies the rules to the
//    whole stream at once, without a buffer: answer each header block (ended by CRLF CRLF, at most
//    kMaxHeader bytes with its terminator) by parse(); stop after a reply that closes; TooLarge when
//    kMaxHeader bytes hold no terminator. The reference shares parse() (the request-line rules), not the
//    framing: it checks the buffering, the CRLF CRLF search across reads and the 8 KiB bound.
// A mismatch prints both reply lists and aborts, which libFuzzer reports as a crash with the input saved.
#include "http_parse.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using http_parse::kMaxHeader;
using http_parse::Next;
using http_parse::Reply;

struct Outcome {
    std::vector<Reply> replies;
    bool closed = false;
    bool operator==(const Outcome&) const = default;
};

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "http_parse_fuzz: %s\n", what);
    std::abort();
}

// Feeds `stream` in reads of at most chunk(k) bytes (the k-th read), each also bounded by room().
template <class Chunk>
Outcome feed(std::string_view stream, Chunk&& chunk) {
    // On the heap, so that ASan sees a read past its 8 KiB buffer.
    auto reader = std::make_unique<http_parse::RequestReader>();
    Outcome out;
    std::size_t pos = 0;
    for (std::size_t k = 0; pos < stream.size(); ++k) {
        std::span<char> room = reader->room();
        if (room.empty()) fail("room() is empty while the reader continues");
        std::size_t n = std::min({chunk(k), room.size(), stream.size() - pos});
        std::memcpy(room.data(), stream.data() + pos, n);
        pos += n;
        Next next = reader->consume(n, [&](Reply r) { out.replies.push_back(r); });
        if (next == Next::Close) {
            out.closed = true;
            break;
        }
    }
    return out;
}

// The rules applied to the whole stream at once.
Outcome reference(std::string_view stream) {
    Outcome out;
    std::size_t pos = 0;
    for (;;) {
        std::size_t end = stream.find("\r\n\r\n", pos);
        if (end != std::string_view::npos && end + 4 - pos <= kMaxHeader) {
            http_parse::Verdict v = http_parse::parse(stream.substr(pos, end + 4 - pos));
            pos = end + 4;
            out.replies.push_back(v == http_parse::Verdict::Bad ? Reply::BadRequest : Reply::Hello);
            if (v != http_parse::Verdict::Ok) {
                out.closed = true;
                return out;
            }
            continue;
        }
        if (stream.size() - pos >= kMaxHeader) {
            out.replies.push_back(Reply::TooLarge);
            out.closed = true;
        }
        return out;  // else: the client's stream ends inside a request
    }
}

std::string show(const Outcome& o) {
    std::string s;
    for (Reply r : o.replies) s += r == Reply::Hello ? "200 " : r == Reply::BadRequest ? "400 " : "431 ";
    s += o.closed ? "(closed)" : "(open)";
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t how = data[0];
    std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

    Outcome whole = feed(stream, [](std::size_t) { return kMaxHeader; });
    // how < 0x80: every read is how+1 bytes; else reads of 1..(how & 0x7f)+1 bytes, pseudo-random.
    std::uint32_t x = 0x9e3779b9u ^ how;
    Outcome split = feed(stream, [&](std::size_t) -> std::size_t {
        if (how < 0x80) return std::size_t{how} + 1;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return 1 + x % ((how & 0x7fu) + 1);
    });
    Outcome ref = reference(stream);
    if (!(whole == ref) || !(split == ref)) {
        std::fprintf(stderr, "reference: %s\nwhole reads: %s\nsplit reads: %s\n", show(ref).c_str(),
                     show(whole).c_str(), show(split).c_str());
        fail("the reader's replies differ from the reference");
    }
    return 0;
}
