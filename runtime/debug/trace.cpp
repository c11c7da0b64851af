// debug/trace.cpp — GORO_TRACE's recording fallback and its writer (the
// design is atop debug/trace.hpp).
#include "debug/trace.hpp"

#include <goro/detail/park.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

namespace goro::rt {

[[gnu::visibility("hidden")]] std::atomic<bool> g_trace_on{false};

namespace {
// The trace being recorded, for the threads that are not workers (set
// before g_trace_on, cleared after it).
std::atomic<Trace*> g_active_trace{nullptr};

std::int64_t steady_now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

constexpr int kOutsideTid = 1'000'000;  // the track of the threads that are not workers

// A JSON writer into a string that is flushed to the file now and then.
class Out {
public:
    explicit Out(std::FILE* f) : f_(f) { s_.reserve(kFlushAt + 4096); }
    void raw(const char* s) { s_ += s; }
    void num(std::uint64_t v) {
        char b[24];
        s_.append(b, std::to_chars(b, b + sizeof b, v).ptr);
    }
    void inum(int v) {
        char b[16];
        s_.append(b, std::to_chars(b, b + sizeof b, v).ptr);
    }
    // ns (never negative) as microseconds with three decimals, exactly (the format's unit).
    void us(std::int64_t ns) {
        char b[32];
        char* p = std::to_chars(b, b + sizeof b, ns / 1000).ptr;
        const int frac = static_cast<int>(ns % 1000);
        *p++ = '.';
        *p++ = static_cast<char>('0' + frac / 100);
        *p++ = static_cast<char>('0' + frac / 10 % 10);
        *p++ = static_cast<char>('0' + frac % 10);
        s_.append(b, p);
    }
    void str(const char* s) {  // our own names: no character needs escaping but these
        s_ += '"';
        for (; *s; ++s) {
            if (*s == '"' || *s == '\\') s_ += '\\';
            s_ += *s;
        }
        s_ += '"';
    }
    // The common head of an event: {"name":...,"cat":...,"ph":...,"pid":1,"tid":...,"ts":...
    void head(const char* name, const char* cat, const char* ph, int tid, std::int64_t ts) {
        sep();
        raw("{\"name\":");
        str(name);
        raw(",\"cat\":");
        str(cat);
        raw(",\"ph\":\"");
        raw(ph);
        raw("\",\"pid\":1,\"tid\":");
        inum(tid);
        raw(",\"ts\":");
        us(ts);
    }
    void sep() {
        if (!first_) s_ += ',';
        first_ = false;
        s_ += '\n';
        if (s_.size() >= kFlushAt) flush();
    }
    void flush() {
        if (!s_.empty() && std::fwrite(s_.data(), 1, s_.size(), f_) != s_.size() && !err_) err_ = errno ? errno : EIO;
        s_.clear();
    }
    int error() const noexcept { return err_; }
    void restart_list() { first_ = true; }

private:
    static constexpr std::size_t kFlushAt = 1 << 20;
    std::FILE* f_;
    std::string s_;
    bool first_ = true;
    int err_ = 0;
};

struct Track {
    int tid;
    const TraceBuf* buf;
    std::vector<std::int64_t> ns;     // each event's time, ns since the trace started, never decreasing
    std::vector<std::uint64_t> flow;  // a ready's or a start's flow id (0: none)
};

const char* reason_name(std::uint64_t r) {
    return detail::wait_reason_name(static_cast<detail::WaitReason>(r < 256 ? r : 0));
}

}  // namespace

void trace_record(TraceBuf* buf, TraceKind k, std::uint64_t g, std::uint64_t arg) noexcept {
    if (buf) {
        buf->push(k, g, arg);
        return;
    }
    Trace* t = g_active_trace.load(std::memory_order_acquire);
    if (!t) return;
    std::lock_guard lk(t->outside_mu);
    t->outside.push(k, g, arg);
}

Trace::Trace(const TraceOptions& opts)
    : outside(opts.buffer_events, false), path_(opts.path), buffer_events_(opts.buffer_events) {
    file_ = std::fopen(path_.c_str(), "w");
    if (!file_) {
        const int e = errno;
        throw std::invalid_argument("goro: GORO_TRACE=" + path_ + " cannot be opened for writing: " +
                                    std::strerror(e));
    }
}

Trace::~Trace() {
    if (file_) std::fclose(file_);
}

void Trace::start() noexcept {
    ns0_ = steady_now_ns();
    tsc0_ = trace_clock();
    g_active_trace.store(this, std::memory_order_release);
    g_trace_on.store(true, std::memory_order_seq_cst);
}

void Trace::stop() noexcept {
    g_trace_on.store(false, std::memory_order_seq_cst);
    g_active_trace.store(nullptr, std::memory_order_release);
    tsc1_ = trace_clock();
    ns1_ = steady_now_ns();
}

void Trace::write(const std::vector<std::pair<int, const TraceBuf*>>& workers, int maxprocs) noexcept {
    std::uint64_t dropped = 0;
    int err = 0;
    try {
        std::lock_guard lk(outside_mu);
        std::vector<Track> tracks;
        for (const auto& [id, buf] : workers)
            if (buf) tracks.push_back(Track{id, buf, {}, {}});
        tracks.push_back(Track{kOutsideTid, &outside, {}, {}});

        // TSC to ns, by the two readings of start() and stop().
        const long double scale = tsc1_ > tsc0_ ? static_cast<long double>(ns1_ - ns0_) / (tsc1_ - tsc0_) : 1.0L;
        for (Track& t : tracks) {
            dropped += t.buf->dropped;
            t.ns.resize(t.buf->n);
            t.flow.assign(t.buf->n, 0);
            std::int64_t last = 0;
            for (std::uint32_t i = 0; i < t.buf->n; ++i) {
                const std::uint64_t tsc = t.buf->events[i].tsc;
                std::int64_t ns = tsc > tsc0_ ? static_cast<std::int64_t>((tsc - tsc0_) * scale) : 0;
                last = std::max(last, ns);  // one thread's clock never goes back: a migration's skew does not either
                t.ns[i] = last;
            }
        }

        // Flows: a ready, then the next start of that goroutine on any track.
        struct Ref {
            std::int64_t ns;
            std::uint32_t track, i;
            bool ready;
        };
        std::vector<Ref> refs;
        for (std::uint32_t k = 0; k < tracks.size(); ++k)
            for (std::uint32_t i = 0; i < tracks[k].buf->n; ++i) {
                const TraceKind kind = tracks[k].buf->events[i].kind;
                if (kind == TraceKind::GoReady || kind == TraceKind::GoStart)
                    refs.push_back(Ref{tracks[k].ns[i], k, i, kind == TraceKind::GoReady});
            }
        std::stable_sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) {
            return a.ns != b.ns ? a.ns < b.ns : a.ready > b.ready;  // at a tie the ready comes first
        });
        std::unordered_map<std::uint64_t, Ref> pending;  // goroutine -> its latest unconsumed ready
        std::uint64_t next_flow = 0;
        for (const Ref& r : refs) {
            const std::uint64_t g = tracks[r.track].buf->events[r.i].g;
            if (r.ready) {
                pending[g] = r;
            } else if (auto it = pending.find(g); it != pending.end()) {
                const std::uint64_t id = ++next_flow;
                tracks[it->second.track].flow[it->second.i] = id;
                tracks[r.track].flow[r.i] = id;
                pending.erase(it);
            }
        }

        Out o(file_);
        o.raw("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":\"goro GORO_TRACE\",\"maxprocs\":");
        o.num(static_cast<std::uint64_t>(maxprocs));
        o.raw(",\"buffer_events\":");
        o.num(buffer_events_);
        o.raw(",\"dropped_events\":");
        o.num(dropped);
        o.raw(",\"duration_us\":");
        o.us(ns1_ - ns0_);
        o.raw("},\"traceEvents\":[");

        // Metadata: the process and one named track per worker.
        o.sep();
        o.raw("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":\"goro\"}}");
        for (const Track& t : tracks) {
            if (t.tid == kOutsideTid && t.buf->n == 0) continue;
            char name[48];
            if (t.tid == kOutsideTid) std::snprintf(name, sizeof name, "outside the workers");
            else std::snprintf(name, sizeof name, "worker %d", t.tid);
            o.sep();
            o.raw("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":");
            o.num(static_cast<std::uint64_t>(t.tid));
            o.raw(",\"args\":{\"name\":");
            o.str(name);
            o.raw(",\"dropped_events\":");
            o.num(t.buf->dropped);
            o.raw("}}");
            o.sep();
            o.raw("{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":");
            o.num(static_cast<std::uint64_t>(t.tid));
            o.raw(",\"args\":{\"sort_index\":");
            o.num(static_cast<std::uint64_t>(t.tid));
            o.raw("}}");
        }

        char name[32];
        for (const Track& t : tracks) {
            bool running = false;
            std::uint64_t run_g = 0;
            std::int64_t run_from = 0;
            bool idle = false;
            std::int64_t idle_from = 0;
            auto close_run = [&](std::int64_t at, const char* end, const char* reason) {
                name[0] = 'G';
                *std::to_chars(name + 1, name + sizeof name - 1, run_g).ptr = '\0';
                o.head(name, "goroutine", "X", t.tid, run_from);
                o.raw(",\"dur\":");
                o.us(at - run_from);
                o.raw(",\"args\":{\"goid\":");
                o.num(run_g);
                o.raw(",\"end\":");
                o.str(end);
                if (reason) {
                    o.raw(",\"reason\":");
                    o.str(reason);
                }
                o.raw("}}");
                running = false;
            };
            auto close_idle = [&](std::int64_t at, bool truncated) {
                o.head("idle", "worker", "X", t.tid, idle_from);
                o.raw(",\"dur\":");
                o.us(at - idle_from);
                o.raw(truncated ? ",\"args\":{\"truncated\":true}}" : "}");
                idle = false;
            };
            auto instant = [&](const char* what, std::int64_t ts) {
                o.head(what, what[0] == 'c' || what[0] == 'e' ? "goroutine" : "worker", "i", t.tid, ts);
                o.raw(",\"s\":\"t\",\"args\":{");
            };
            for (std::uint32_t i = 0; i < t.buf->n; ++i) {
                const TraceEvent& e = t.buf->events[i];
                const std::int64_t ts = t.ns[i];
                switch (e.kind) {
                    case TraceKind::GoCreate:
                        instant("create", ts);
                        o.raw("\"goid\":");
                        o.num(e.g);
                        o.raw(",\"parent\":");
                        o.num(e.arg & ~kTraceSystem);
                        if (e.arg & kTraceSystem) o.raw(",\"system\":true");
                        o.raw("}}");
                        break;
                    case TraceKind::GoStart:
                        if (running) close_run(ts, "unknown", nullptr);
                        if (idle) close_idle(ts, false);
                        running = true;
                        run_g = e.g;
                        run_from = ts;
                        if (t.flow[i]) {
                            o.head("ready", "flow", "f", t.tid, ts);
                            o.raw(",\"bp\":\"e\",\"id\":");
                            o.num(t.flow[i]);
                            o.raw("}");
                        }
                        break;
                    case TraceKind::GoPark:
                    case TraceKind::GoYield:
                    case TraceKind::GoEnd:
                        if (running && run_g == e.g)
                            close_run(ts,
                                      e.kind == TraceKind::GoPark    ? "park"
                                      : e.kind == TraceKind::GoYield ? "yield"
                                                                     : "end",
                                      e.kind == TraceKind::GoPark ? reason_name(e.arg) : nullptr);
                        if (e.kind == TraceKind::GoEnd) {
                            instant("end", ts);
                            o.raw("\"goid\":");
                            o.num(e.g);
                            o.raw("}}");
                        }
                        break;
                    case TraceKind::GoReady:
                        if (t.flow[i]) {
                            // A flow starts inside a slice of its track: a
                            // wake-up from the scheduler's own code (a timer,
                            // a poll) gets an empty one to start from.
                            if (!running && !idle) {
                                o.head("wake", "worker", "X", t.tid, ts);
                                o.raw(",\"dur\":0.000}");
                            }
                            o.head("ready", "flow", "s", t.tid, ts);
                            o.raw(",\"id\":");
                            o.num(t.flow[i]);
                            o.raw(",\"args\":{\"goid\":");
                            o.num(e.g);
                            o.raw("}}");
                        }
                        break;
                    case TraceKind::Spin:
                        instant("spin", ts);
                        o.raw("}}");
                        break;
                    case TraceKind::Steal:
                        instant("steal", ts);
                        o.raw("\"victim\":");
                        o.num(e.arg >> 32);
                        o.raw(",\"goroutines\":");
                        o.num(e.arg & 0xffffffffu);
                        o.raw("}}");
                        break;
                    case TraceKind::IdleBegin:
                        if (running) close_run(ts, "unknown", nullptr);
                        idle = true;
                        idle_from = ts;
                        break;
                    case TraceKind::IdleEnd:
                        if (idle) close_idle(ts, false);
                        break;
                    case TraceKind::Netpoll:
                        instant("netpoll", ts);
                        o.raw("\"ready\":");
                        o.num(e.arg);
                        o.raw("}}");
                        break;
                    case TraceKind::Timers:
                        instant("timers", ts);
                        o.raw("\"fired\":");
                        o.num(e.arg);
                        o.raw("}}");
                        break;
                }
            }
            // A buffer that filled up ends with its last run or sleep open.
            const std::int64_t last = t.buf->n ? t.ns[t.buf->n - 1] : 0;
            if (running) close_run(last, "truncated", nullptr);
            if (idle) close_idle(last, true);
        }
        o.raw("\n]}\n");
        o.flush();
        err = o.error();
    } catch (const std::exception&) {
        err = ENOMEM;
    }
    if (std::fflush(file_) != 0 && !err) err = errno ? errno : EIO;
    if (std::ferror(file_) && !err) err = EIO;
    if (std::fclose(file_) != 0 && !err) err = errno ? errno : EIO;
    file_ = nullptr;
    if (err) {
        std::fprintf(stderr, "goro: GORO_TRACE=%s: writing the trace failed: %s\n", path_.c_str(), std::strerror(err));
    } else if (dropped > 0) {
        std::fprintf(stderr,
                     "goro: GORO_TRACE=%s: %" PRIu64
                     " events dropped (a worker's buffer of %u events filled up; GORO_TRACE_BUFFER sets it)\n",
                     path_.c_str(), dropped, buffer_events_);
    }
}

}  // namespace goro::rt
