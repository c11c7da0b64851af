// blocking_gap: a ticker goroutine sleeps TICK_US (1000) in a loop and records
// the gaps between its wake-ups; after 20 ticks, one goroutine per worker
// blocks its thread for BLOCK_MS (1000) in one way, and main waits for them
// (WaitGroup):
//
//   sleep  a nanosleep system call (not goro::sleep_for)
//   pipe   a blocking read(2) on a pipe that a timer writes after BLOCK_MS
//   spin   a busy loop that calls nothing of the runtime
//
// Figures per way: max_gap_ms_WAY_wN and p99_gap_ms_WAY_wN (ideal: TICK_US)
// and wall_ms_WAY_wN, from the start of the blockers until the last is done
// (ideal: BLOCK_MS). A runtime that neither hands a blocked thread's work to
// another thread nor preempts a spinning goroutine stops the ticker for the
// whole BLOCK_MS; this program only measures, it checks nothing but that the
// ticker ticked.
//
// The pipe's writer is a goroutine, as Go's is (time.AfterFunc): it can run
// only because the runtime hands the blocked workers' places to other
// threads (runtime/sched/monitor.cpp); a runtime that cannot would hang
// here, and the compare script's timeout would report it.
#include "common.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <ctime>
#include <vector>

namespace {

void block_once(const std::string& way, std::chrono::milliseconds d) {
    if (way == "sleep") {
        timespec ts{static_cast<time_t>(d.count() / 1000), static_cast<long>(d.count() % 1000) * 1000000};
        while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    } else if (way == "pipe") {
        int p[2];
        if (::pipe(p) != 0) bench::fail("blocking_gap: pipe: " + std::to_string(errno));
        goro::Event written;
        goro::go([&p, &written, d] {
            goro::sleep_for(d);
            const char one = 1;
            if (::write(p[1], &one, 1) != 1) bench::fail("blocking_gap: write to the pipe failed");
            written.set();
        });
        char buf[1];
        for (;;) {
            ssize_t n = ::read(p[0], buf, 1);
            if (n == 1 || (n < 0 && errno != EINTR)) break;
        }
        written.wait();
        ::close(p[0]);
        ::close(p[1]);
    } else {  // spin
        const auto end = bench::Clock::now() + d;
        std::uint64_t x = 1;
        while (bench::Clock::now() < end)
            for (int i = 0; i < 1000; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
        if (x == 0) bench::fail("blocking_gap: impossible");
    }
}

double to_ms(bench::Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main() {
    const auto block = std::chrono::milliseconds(bench::env_long("BLOCK_MS", 1000));
    const auto tick = std::chrono::microseconds(bench::env_long("TICK_US", 1000));
    return bench::main_guard("blocking_gap", [&] {
        goro::run([&] {
            const int nblockers = goro::maxprocs();
            for (const std::string way : {"sleep", "pipe", "spin"}) {
                std::vector<bench::Clock::duration> gaps;
                std::atomic<bool> stop{false};
                goro::Event ticker_done;
                goro::go([&] {
                    auto prev = bench::Clock::now();
                    while (!stop.load(std::memory_order_acquire)) {
                        goro::sleep_for(tick);
                        auto now = bench::Clock::now();
                        gaps.push_back(now - prev);
                        prev = now;
                    }
                    ticker_done.set();
                });
                goro::sleep_for(20 * tick);  // the ticker is running before the blockers start
                auto start = bench::Clock::now();
                goro::WaitGroup wg;
                wg.add(nblockers);
                for (int b = 0; b < nblockers; ++b)
                    goro::go([&wg, &way, block] {
                        block_once(way, block);
                        wg.done();
                    });
                wg.wait();
                double wall = bench::ms_since(start);
                stop.store(true, std::memory_order_release);
                ticker_done.wait();
                if (gaps.empty()) bench::fail("blocking_gap: the ticker never ticked");
                std::sort(gaps.begin(), gaps.end());
                auto p99 = gaps[gaps.size() * 99 / 100];
                bench::report("blocking_gap", "max_gap_ms_" + way + bench::wsuffix(), to_ms(gaps.back()), 2, "ms");
                bench::report("blocking_gap", "p99_gap_ms_" + way + bench::wsuffix(), to_ms(p99), 2, "ms");
                bench::report("blocking_gap", "wall_ms_" + way + bench::wsuffix(), wall, 2, "ms");
            }
        });
    });
}
