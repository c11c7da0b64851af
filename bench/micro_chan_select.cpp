// chan_select: the cost of goro::select on its two paths.
//  * ready: every case can complete at once (two or four receive cases on
//    buffered channels refilled before each select): shuffle, lock in
//    address order, poll; no parking.
//  * park: the main goroutine selects over receives on two or four
//    unbuffered channels that nobody has sent to yet, so the select links one
//    node per case and parks; a partner goroutine then sends on one of them
//    (in turn) and waits on an ack channel, so one iteration is one parked
//    select, its wake-up, and the unlinking of the cases that lost.
#include "micro_common.hpp"

#include <array>
#include <atomic>

namespace {

template <std::size_t N>
void ready_loop(benchmark::State& state) {
    std::array<goro::Chan<int>, N> ch;
    for (auto& c : ch) c = goro::Chan<int>(1);
    long sum = 0;
    auto take = [&](std::optional<int> v) { sum += *v; };
    for (auto _ : state) {
        for (auto& c : ch) c.try_send(1);
        if constexpr (N == 2) {
            goro::select(goro::case_recv(ch[0], take), goro::case_recv(ch[1], take));
        } else {
            goro::select(goro::case_recv(ch[0], take), goro::case_recv(ch[1], take), goro::case_recv(ch[2], take),
                         goro::case_recv(ch[3], take));
        }
        for (auto& c : ch) c.try_recv();  // empty the others for the next round
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
}

template <std::size_t N>
void park_loop(benchmark::State& state) {
    std::array<goro::Chan<int>, N> ch;
    goro::Chan<bool> ack;
    goro::Chan<bool> stop(1);
    goro::WaitGroup wg;
    wg.add(1);
    goro::go([&] {
        // Send on channel k % N once the main goroutine waits for it, then
        // wait for its ack; end when told.
        for (std::size_t k = 0;; ++k) {
            bool quit = false;
            goro::select(goro::case_send(ch[k % N], 1), goro::case_recv(stop, [&] { quit = true; }));
            if (quit) break;
            ack.recv();
        }
        wg.done();
    });
    long sum = 0;
    auto take = [&](std::optional<int> v) { sum += *v; };
    for (auto _ : state) {
        if constexpr (N == 2) {
            goro::select(goro::case_recv(ch[0], take), goro::case_recv(ch[1], take));
        } else {
            goro::select(goro::case_recv(ch[0], take), goro::case_recv(ch[1], take), goro::case_recv(ch[2], take),
                         goro::case_recv(ch[3], take));
        }
        ack.send(true);
    }
    stop.send(true);
    wg.wait();
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
}

void register_cases() {
    micro::go_case("chan_select_ready", {"cases=2"}, [](benchmark::State& s) { ready_loop<2>(s); });
    micro::go_case("chan_select_ready", {"cases=4"}, [](benchmark::State& s) { ready_loop<4>(s); });
    micro::go_case("chan_select_park", {"cases=2"}, [](benchmark::State& s) { park_loop<2>(s); });
    micro::go_case("chan_select_park", {"cases=4"}, [](benchmark::State& s) { park_loop<4>(s); });
}

}  // namespace

int main(int argc, char** argv) { return micro::main(argc, argv, register_cases); }
