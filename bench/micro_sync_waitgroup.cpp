// sync_waitgroup: add(1); done(); wait() on one goroutine, never parking
// (uncontended), and a ping-pong of two goroutines that hand a turn back and
// forth through two WaitGroups, one park and one wake each way per iteration
// (pingpong); baselines: the same ping-pong on two std::threads with a
// mutex + condition_variable WaitGroup (impl=std) and with goro::WaitGroup
// used from plain threads, no runtime (impl=goro).
#include "micro_common.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace {

// The std::thread baseline's WaitGroup: a counter under a mutex, a condition
// variable for the waiter.
class StdWaitGroup {
public:
    void add(long d) {
        std::lock_guard<std::mutex> lk(mu_);
        n_ += d;
        if (n_ == 0) cv_.notify_all();
    }
    void done() { add(-1); }
    void wait() {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [this] { return n_ == 0; });
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    long n_ = 0;
};

void uncontended(benchmark::State& state) {
    goro::WaitGroup wg;
    for (auto _ : state) {
        wg.add(1);
        wg.done();
        wg.wait();
    }
    state.SetItemsProcessed(state.iterations());
}

// The turn protocol. Main: b.add(1); a.done() (releases the partner);
// b.wait(). Partner: a.wait(); a.add(1) (re-arms a before it hands the turn
// back, so main's next a.done() cannot come early); b.done(). One iteration is
// one round trip. WaitGroups are reused only after the wait they released
// returned, as Go allows.
template <class WG>
struct TurnPair {
    WG a, b;
    bool stop = false;  // written by main before a.done(); read by the partner after a.wait()

    void partner() {
        for (;;) {
            a.wait();
            bool last = stop;
            a.add(1);
            b.done();
            if (last) return;
        }
    }
    void round() {
        b.add(1);
        a.done();
        b.wait();
    }
    void finish() {
        stop = true;
        round();
    }
};

void pingpong(benchmark::State& state) {
    TurnPair<goro::WaitGroup> tp;
    tp.a.add(1);
    goro::WaitGroup exited;
    exited.add(1);
    goro::go([&] {
        tp.partner();
        exited.done();
    });
    for (auto _ : state) tp.round();
    tp.finish();
    exited.wait();
    state.SetItemsProcessed(state.iterations());
}

template <class WG>
void thread_pingpong(benchmark::State& state) {
    TurnPair<WG> tp;
    tp.a.add(1);
    std::thread partner([&] { tp.partner(); });
    for (auto _ : state) tp.round();
    tp.finish();
    partner.join();
    state.SetItemsProcessed(state.iterations());
}

void register_cases() {
    micro::go_case("sync_waitgroup_uncontended", {}, uncontended);
    micro::go_case("sync_waitgroup_pingpong", {}, pingpong);
    micro::add("sync_waitgroup_pingpong_thread/impl=std", thread_pingpong<StdWaitGroup>);
    micro::add("sync_waitgroup_pingpong_thread/impl=goro", thread_pingpong<goro::WaitGroup>);
}

}  // namespace

int main(int argc, char** argv) { return micro::main(argc, argv, register_cases); }
