// pingpong: main and one echo goroutine bounce an int over two unbuffered
// channels ping and pong; the echo receives v until ping is closed and sends
// v+1, and main checks every reply. Figure = wall / PINGPONG_N (1000000)
// (ns_per_roundtrip_wN).
#include "common.hpp"

#include <goro/chan.hpp>

int main() {
    const long n = bench::env_long("PINGPONG_N", 1000000);
    return bench::main_guard("pingpong", [&] {
        goro::run([&] {
            goro::Chan<long> ping, pong;
            goro::go([ping, pong]() mutable {
                for (long v : ping) pong.send(v + 1);
                pong.close();
            });
            auto t0 = bench::Clock::now();
            for (long i = 0; i < n; ++i) {
                ping.send(i);
                std::optional<long> v = pong.recv();
                if (!v || *v != i + 1)
                    bench::fail("pingpong: got " + (v ? std::to_string(*v) : std::string("closed")) + ", want " +
                                std::to_string(i + 1));
            }
            double ns = bench::ns_since(t0);
            ping.close();
            if (pong.recv().has_value()) bench::fail("pingpong: the echo sent after ping was closed");
            bench::report("pingpong", "ns_per_roundtrip" + bench::wsuffix(), ns / n, 1, "ns");
        });
    });
}
