// hang — a program that hangs on purpose, to show what goro tells you about
// a hung program (README "Debugging"). Not part of the tour: it does not end
// by itself until HANG_SECONDS pass.
//
//   build/examples/hang            two transfers lock two accounts in opposite
//                                  orders and wait for each other for ever; a
//                                  heartbeat goroutine keeps running, so goro
//                                  sees no deadlock: the process just hangs.
//                                  Run it with GORO_DEBUG=sigquit=1 and send
//                                  SIGQUIT (kill -QUIT PID, or Ctrl-\) for the
//                                  goroutine dump, or attach gdb with
//                                  dist/gdb/goro-gdb.py. After HANG_SECONDS
//                                  (default 60) it dumps itself and exits 2.
//   build/examples/hang deadlock   the same without the heartbeat: every
//                                  goroutine is asleep, so run() reports the
//                                  deadlock with the dump and throws
//                                  goro::Deadlock (exit status 1).
//   build/examples/hang panic      a goroutine's exception escapes it: the
//                                  panic report shows where it was thrown
//                                  (GORO_TRACEBACK=all adds every goroutine).
#include <goro/debug.hpp>
#include <goro/goro.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

struct Account {
    explicit Account(const char* n) : name(n) {}
    const char* name;
    goro::Mutex mu;
    long balance = 100;
};

// Locks `from` then `to`: two transfers in opposite directions each hold the
// lock the other wants next.
[[gnu::noinline]] void transfer(Account& from, Account& to, long amount) {
    std::lock_guard a(from.mu);
    goro::sleep_for(50ms);  // long enough for the other transfer to take its first lock
    std::lock_guard b(to.mu);
    from.balance -= amount;
    to.balance += amount;
}

[[gnu::noinline]] void parse_config_line(const std::string& line) {
    if (line.find('=') == std::string::npos) throw std::invalid_argument("bad config line: '" + line + "'");
}

// At namespace scope, not in main's frame: when run() ends (here with a
// Deadlock) main's frame unwinds first, and the stuck transfers are then
// cancelled and unwind through their lock_guards, which unlock these.
Account alice("alice"), bob("bob");

int seconds_from_env() {
    const char* s = std::getenv("HANG_SECONDS");
    int n = s ? std::atoi(s) : 60;
    return n > 0 ? n : 60;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "hang";
    if (mode != "hang" && mode != "deadlock" && mode != "panic") {
        std::fprintf(stderr, "usage: %s [hang|deadlock|panic]\n", argv[0]);
        return 64;
    }
    try {
        goro::run([&] {
            if (mode == "panic") {
                goro::go("config-loader", [] { parse_config_line("listen 8080"); });
                goro::sleep_for(1s);
                return;
            }
            static goro::WaitGroup wg;
            wg.add(2);
            goro::go("transfer alice->bob", [] {
                transfer(alice, bob, 10);
                wg.done();
            });
            goro::go("transfer bob->alice", [] {
                transfer(bob, alice, 20);
                wg.done();
            });
            if (mode == "hang") {
                std::printf("pid %d: two transfers are stuck; the heartbeat goes on.\n"
                            "  with GORO_DEBUG=sigquit=1: kill -QUIT %d   (the goroutine dump, then exit 2)\n"
                            "  or: gdb -p %d -ex 'source dist/gdb/goro-gdb.py' -ex 'info goroutines'\n",
                            static_cast<int>(::getpid()), static_cast<int>(::getpid()), static_cast<int>(::getpid()));
                std::fflush(stdout);
                const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(seconds_from_env());
                goro::go("heartbeat", [give_up] {
                    goro::Ticker tick(200ms);
                    while (tick.c().recv()) {
                        if (std::chrono::steady_clock::now() < give_up) continue;
                        std::fprintf(stderr, "hang: still stuck after HANG_SECONDS; the goroutines:\n\n");
                        goro::dump_goroutines(stderr);
                        std::_Exit(2);
                    }
                });
            }
            wg.wait();  // never returns
        });
    } catch (const goro::Deadlock& e) {
        std::fprintf(stderr, "hang: %s\n", e.what());
        return 1;
    }
    return 0;
}
