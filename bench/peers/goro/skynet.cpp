// skynet (atemerev/skynet), as the Go peer writes it: node(out, num, size, div)
// sends num on out if size == 1; otherwise it makes a channel rc, spawns div
// children node(rc, num + i*(size/div), size/div, div), receives div values
// and sends their sum on out. Main times node(c, 0, SKYNET_SIZE, SKYNET_DIV)
// (1000000, 10: 1,111,111 goroutines) until the result, which must be
// SIZE(SIZE-1)/2. Figure = wall_ms_wN (wall_ms_100k_wN for SKYNET_SIZE=100000,
// the size the asyncio peer runs).
//
// SKYNET_BUF (default 0): capacity of every rc; 0 is Go's unbuffered channel.
// (Boost.Fiber's peer defaults to 16; goro follows Go.)
#include "common.hpp"

#include <goro/chan.hpp>

static void node(goro::Chan<std::uint64_t> out, std::uint64_t num, std::uint64_t size, std::uint64_t div,
                 std::size_t buf) {
    if (size == 1) {
        out.send(num);
        return;
    }
    goro::Chan<std::uint64_t> rc = buf == 0 ? goro::Chan<std::uint64_t>() : goro::Chan<std::uint64_t>(buf);
    const std::uint64_t sub = size / div;
    for (std::uint64_t i = 0; i < div; ++i)
        goro::go([rc, num, i, sub, div, buf] { node(rc, num + i * sub, sub, div, buf); });
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < div; ++i) {
        std::optional<std::uint64_t> v = rc.recv();
        if (!v) bench::fail("skynet: a node's channel was closed");
        sum += *v;
    }
    out.send(sum);
}

int main() {
    const auto size = static_cast<std::uint64_t>(bench::env_long("SKYNET_SIZE", 1000000));
    const auto div = static_cast<std::uint64_t>(bench::env_long("SKYNET_DIV", 10));
    const auto buf = static_cast<std::size_t>(bench::env_long("SKYNET_BUF", 0, /*allow_zero=*/true));
    return bench::main_guard("skynet", [&] {
        goro::run([&] {
            goro::Chan<std::uint64_t> c;
            auto t0 = bench::Clock::now();
            goro::go([c, size, div, buf] { node(c, 0, size, div, buf); });
            std::optional<std::uint64_t> result = c.recv();
            double ms = bench::ms_since(t0);
            const std::uint64_t want = size * (size - 1) / 2;
            if (!result || *result != want)
                bench::fail("skynet: got " + (result ? std::to_string(*result) : std::string("closed")) + ", want " +
                            std::to_string(want));
            // Appended piecewise: GCC 12 at -O3 gives a false -Wrestrict for
            // `"_" + std::string` here (GCC PR 105329).
            std::string metric = "wall_ms";
            if (size != 1000000) metric.append("_").append(bench::size_tag(static_cast<long>(size)));
            metric.append(bench::wsuffix());
            bench::report("skynet", metric, ms, 2, "ms");
        });
    });
}
