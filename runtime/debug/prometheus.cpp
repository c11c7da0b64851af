// debug/prometheus.cpp — goro::prometheus_text(): a RuntimeStats in the
// Prometheus text exposition format (version 0.0.4).
//
// Each metric: `# HELP name text`, `# TYPE name counter|gauge`, then its
// samples. Counters end in `_total` (the format's convention, which the
// OpenMetrics parser insists on). Label values are escaped (backslash,
// double quote, newline), though the wait reasons need none.
#include <goro/metrics.hpp>

#include <cinttypes>
#include <cstdio>
#include <string>

namespace goro {

namespace {

struct Writer {
    std::string out;

    void head(const char* name, const char* type, const char* help) {
        out += "# HELP ";
        out += name;
        out += ' ';
        out += help;
        out += "\n# TYPE ";
        out += name;
        out += ' ';
        out += type;
        out += '\n';
    }
    void sample(const char* name, const std::string& labels, long double v, bool integral) {
        char buf[64];
        if (integral) std::snprintf(buf, sizeof buf, "%.0Lf", v);
        else std::snprintf(buf, sizeof buf, "%.6Lg", v);
        out += name;
        out += labels;
        out += ' ';
        out += buf;
        out += '\n';
    }
    void gauge(const char* name, const char* help, std::int64_t v) {
        head(name, "gauge", help);
        sample(name, {}, static_cast<long double>(v), true);
    }
    void gauge_u(const char* name, const char* help, std::uint64_t v) {
        head(name, "gauge", help);
        sample(name, {}, static_cast<long double>(v), true);
    }
    void counter(const char* name, const char* help, std::uint64_t v) {
        head(name, "counter", help);
        sample(name, {}, static_cast<long double>(v), true);
    }
};

std::string label(const char* key, const char* value) {
    std::string s = "{";
    s += key;
    s += "=\"";
    for (const char* c = value; *c; ++c) {
        if (*c == '\\') s += "\\\\";
        else if (*c == '"') s += "\\\"";
        else if (*c == '\n') s += "\\n";
        else s += *c;
    }
    s += "\"}";
    return s;
}

}  // namespace

std::string prometheus_text(const RuntimeStats& s) {
    Writer w;
    w.gauge("goro_up", "Whether a goro runtime is running (1) or not (0).", s.running ? 1 : 0);
    w.head("goro_uptime_seconds", "gauge", "Seconds since the runtime started.");
    w.sample("goro_uptime_seconds", {}, static_cast<long double>(s.uptime_ms) / 1000.0L, false);

    w.gauge("goro_goroutines", "Goroutines alive (started and not ended).", s.goroutines);
    w.gauge("goro_goroutines_running", "Goroutines a worker runs at this instant.", s.goroutines_running);
    w.gauge("goro_goroutines_runnable", "Goroutines waiting in a run queue for a worker.", s.goroutines_runnable);
    w.head("goro_goroutines_parked", "gauge", "Goroutines parked in a blocking call, by wait reason.");
    for (std::size_t i = 0; i < kWaitReasons; ++i)
        w.sample("goro_goroutines_parked", label("reason", wait_reason_label(i)),
                 static_cast<long double>(s.parked_by_reason[i]), true);
    w.counter("goro_goroutines_spawned_total", "Goroutines started since the runtime started.",
              s.goroutines_spawned_total);
    w.counter("goro_goroutines_ended_total", "Goroutines ended since the runtime started.", s.goroutines_ended_total);

    w.gauge("goro_maxprocs", "Workers meant to run goroutines (maxprocs).", s.maxprocs);
    w.gauge("goro_workers", "Worker threads alive, spares included.", s.workers);
    w.head("goro_workers_by_state", "gauge", "Workers by state: running a goroutine, spinning, idle, handed off.");
    w.sample("goro_workers_by_state", label("state", "running"), static_cast<long double>(s.workers_running), true);
    w.sample("goro_workers_by_state", label("state", "spinning"), static_cast<long double>(s.workers_spinning), true);
    w.sample("goro_workers_by_state", label("state", "idle"), static_cast<long double>(s.workers_idle), true);
    w.sample("goro_workers_by_state", label("state", "handed_off"), static_cast<long double>(s.workers_handed_off),
             true);
    w.counter("goro_handoffs_total", "Workers stuck in a goroutine and replaced by another.", s.handoffs_total);
    w.counter("goro_context_switches_total", "Context switches into goroutines.", s.context_switches_total);
    w.counter("goro_steals_total", "Successful steals from another worker's run queue.", s.steals_total);
    w.counter("goro_stolen_goroutines_total", "Goroutines moved by steals.", s.stolen_goroutines_total);

    w.gauge("goro_global_queue_length", "Goroutines in the global run queue.", s.global_queue_length);
    w.gauge("goro_local_queue_length", "Goroutines in the workers' local run queues.", s.local_queue_length);

    w.gauge("goro_timers_armed", "Timers armed.", s.timers_armed);
    w.gauge("goro_netpoll_waiters", "Goroutines parked in an I/O wait.", s.netpoll_waiters);
    w.counter("goro_netpoll_waits_total", "I/O waits that parked a goroutine.", s.netpoll_waits_total);
    w.counter("goro_netpoll_wakeups_total", "Goroutines readied by the netpoller.", s.netpoll_wakeups_total);

    w.gauge("goro_blocking_threads", "Threads of the run_blocking pool.", s.blocking_threads);
    w.gauge("goro_blocking_threads_idle", "Idle threads of the run_blocking pool.", s.blocking_threads_idle);
    w.gauge("goro_blocking_queue_length", "run_blocking jobs waiting for a thread.", s.blocking_queue_length);
    w.gauge("goro_blocking_jobs_in_flight", "run_blocking jobs queued or running.", s.blocking_jobs_in_flight);

    w.gauge_u("goro_stack_size_bytes", "Bytes per goroutine stack.", s.stack_size);
    w.gauge_u("goro_stacks_mapped", "Goroutine stacks mapped.", s.stacks_mapped);
    w.gauge_u("goro_stack_reserved_bytes", "Address space reserved for goroutine stacks and their guards.",
              s.stack_bytes_reserved);
    w.gauge_u("goro_stack_in_use_bytes", "Bytes of stacks bound to goroutines or cached by workers.",
              s.stack_bytes_in_use);
    w.gauge_u("goro_descriptor_reserved_bytes", "Bytes of goroutine descriptors allocated.",
              s.descriptor_bytes_reserved);
    w.gauge_u("goro_descriptor_in_use_bytes", "Bytes of descriptors of live goroutines.", s.descriptor_bytes_in_use);
    return std::move(w.out);
}

}  // namespace goro
