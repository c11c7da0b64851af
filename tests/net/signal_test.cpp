// tests/net/signal_test.cpp: goro::signal_notify / signal_stop (runtime/netpoll/signal.cpp): signals
// arrive in order on every subscribed channel, at maxprocs 1 and 2 and on plain threads, a program waiting
// for a signal is not a deadlock, stop restores the previous disposition, bad signals are refused and a
// refused call subscribes nothing, and a subscribed channel closed does not end the process.
#include "test_util.hpp"

#include <goro/signal.hpp>

#include <csignal>
#include <thread>

using namespace goro_test;

TEST_CASE("signals_arrive_in_order_on_every_channel", "[net][signal]") {
    for_each_maxprocs({1, 2}, [](int) {
        goro::Chan<int> a = goro::signal_notify({SIGUSR1, SIGUSR2});
        goro::Chan<int> b = goro::signal_notify({SIGUSR2});
        std::raise(SIGUSR1);
        std::raise(SIGUSR2);
        CHECK(a.recv() == SIGUSR1);
        CHECK(a.recv() == SIGUSR2);
        CHECK(b.recv() == SIGUSR2);
        goro::signal_stop(a);
        goro::signal_stop(b);
    });
}

TEST_CASE("waiting_for_a_signal_is_not_a_deadlock", "[net][signal]") {
    // Only a signal can release main: the reader thread must count as one that may call in.
    std::thread later([] {
        std::this_thread::sleep_for(700ms);  // past the deadlock watch's 300 ms grace
        ::kill(::getpid(), SIGUSR1);
    });
    int got = 0;
    CHECK_NOTHROW(goro::run(goro::Config{2, 0}, [&] {
        goro::Chan<int> sigs = goro::signal_notify({SIGUSR1});
        got = *sigs.recv();
        goro::signal_stop(sigs);
    }));
    later.join();
    CHECK(got == SIGUSR1);
}

namespace {
volatile std::sig_atomic_t g_own_handler_ran = 0;
extern "C" void own_handler(int) { g_own_handler_ran = 1; }
}  // namespace

TEST_CASE("signal_stop_restores_the_previous_disposition", "[net][signal]") {
    struct sigaction mine = {};
    mine.sa_handler = own_handler;
    sigemptyset(&mine.sa_mask);
    struct sigaction before = {};
    REQUIRE(::sigaction(SIGUSR2, &mine, &before) == 0);
    goro::Chan<int> a = goro::signal_notify({SIGUSR2});
    goro::Chan<int> b = goro::signal_notify({SIGUSR2});
    goro::signal_stop(a);
    std::raise(SIGUSR2);  // b still subscribes: goro's handler
    CHECK(b.recv() == SIGUSR2);
    CHECK(g_own_handler_ran == 0);
    goro::signal_stop(b);
    std::raise(SIGUSR2);  // nobody left: the program's own handler again
    CHECK(g_own_handler_ran == 1);
    goro::signal_stop(b);  // twice: nothing
    ::sigaction(SIGUSR2, &before, nullptr);
}

TEST_CASE("signal_notify_refuses_what_cannot_be_caught", "[net][signal]") {
    CHECK_THROWS_AS(goro::signal_notify({SIGKILL}), std::invalid_argument);
    CHECK_THROWS_AS(goro::signal_notify({SIGSTOP}), std::invalid_argument);
    CHECK_THROWS_AS(goro::signal_notify({0}), std::invalid_argument);
    CHECK_THROWS_AS(goro::signal_notify({65}), std::invalid_argument);
}

TEST_CASE("signal_notify_that_fails_subscribes_nothing", "[net][signal]") {
    // 32 and 33 pass the 1..64 check but the C library keeps them (sigaction: EINVAL). SIGUSR2, listed
    // first, used to stay subscribed to the channel the failed call never returned: swallowed for good.
    struct sigaction mine = {};
    mine.sa_handler = own_handler;
    sigemptyset(&mine.sa_mask);
    struct sigaction before = {};
    REQUIRE(::sigaction(SIGUSR2, &mine, &before) == 0);
    g_own_handler_ran = 0;
    CHECK_THROWS_AS(goro::signal_notify({SIGUSR2, 32}), std::invalid_argument);
    std::raise(SIGUSR2);
    CHECK(g_own_handler_ran == 1);  // the program's own handler, not goro's
    ::sigaction(SIGUSR2, &before, nullptr);
}

TEST_CASE("a_subscribed_channel_closed_does_not_end_the_process", "[net][signal]") {
    // The reader thread try_sends to every subscriber: a closed channel threw ChannelClosed on that thread,
    // and the process ended (std::terminate). Now it just receives nothing; the next subscriber still does.
    goro::Chan<int> closed = goro::signal_notify({SIGUSR2});
    goro::Chan<int> open = goro::signal_notify({SIGUSR2});
    closed.close();
    std::raise(SIGUSR2);
    CHECK(open.recv() == SIGUSR2);
    goro::signal_stop(closed);
    goro::signal_stop(open);
}
