// chan_throughput: CHAN_PRODUCERS (4) producers send the ints [0, CHAN_N)
// (producer p the p-th contiguous slice) into one channel of capacity CHAN_CAP
// (1024); CHAN_CONSUMERS (4) consumers range over it, sum locally and send
// their sums to main; main waits for the producers (WaitGroup), closes the
// channel and collects the sums. The total must be N(N-1)/2. Figure =
// N / wall seconds / 1e6 (mmsgs_per_s_wN; higher is better). CHAN_N 10000000.
#include "common.hpp"

#include <goro/chan.hpp>

int main() {
    const long n = bench::env_long("CHAN_N", 10000000);
    const long capacity = bench::env_long("CHAN_CAP", 1024);
    const long producers = bench::env_long("CHAN_PRODUCERS", 4);
    const long consumers = bench::env_long("CHAN_CONSUMERS", 4);
    return bench::main_guard("chan_throughput", [&] {
        goro::run([&] {
            goro::Chan<long> ch(static_cast<std::size_t>(capacity));
            goro::Chan<long> sums(static_cast<std::size_t>(consumers));
            goro::WaitGroup prod;
            auto t0 = bench::Clock::now();
            prod.add(producers);
            for (long p = 0; p < producers; ++p) {
                long lo = p * n / producers, hi = (p + 1) * n / producers;
                goro::go([ch, &prod, lo, hi]() mutable {
                    for (long v = lo; v < hi; ++v) ch.send(v);
                    prod.done();
                });
            }
            for (long c = 0; c < consumers; ++c)
                goro::go([ch, sums]() mutable {
                    long s = 0;
                    for (long v : ch) s += v;
                    sums.send(s);
                });
            prod.wait();
            ch.close();
            long total = 0;
            for (long c = 0; c < consumers; ++c) {
                std::optional<long> s = sums.recv();
                if (!s) bench::fail("chan_throughput: sums closed");
                total += *s;
            }
            double secs = bench::ms_since(t0) / 1e3;
            if (total != n * (n - 1) / 2)
                bench::fail("chan_throughput: sum " + std::to_string(total) + ", want " +
                            std::to_string(n * (n - 1) / 2));
            bench::report("chan_throughput", "mmsgs_per_s" + bench::wsuffix(), n / secs / 1e6, 2, "Mmsg/s");
        });
    });
}
