// idle_wakeups: how often an idle runtime wakes its threads. After a burst
// of work (10,000 goroutines through a channel, so that every worker and the
// monitor have been busy), the main goroutine sleeps IDLE_S (10) seconds;
// the program sums the context switches (voluntary + involuntary, from
// /proc/self/task/*/status) of all its threads over that sleep and prints
//   goro idle_wakeups ctxt_switches_wN VALUE switches
// Ideal: a handful (the sleep's own timer). Used for issue 14's "the monitor
// sleeps when the runtime is idle" (bench/RESULTS.md); build it against an
// older libgoro by hand for the before/after (the command is there).
#include <goro/goro.hpp>

#include <dirent.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

namespace {

// Context switches per thread (tid -> voluntary + involuntary).
std::map<std::string, long> switches_by_thread() {
    std::map<std::string, long> out;
    DIR* d = ::opendir("/proc/self/task");
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/status");
        long n = 0;
        for (std::string line; std::getline(in, line);)
            if (line.rfind("voluntary_ctxt_switches:", 0) == 0 || line.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
                n += std::atol(line.c_str() + line.find(':') + 1);
        out[e->d_name] = n;
    }
    ::closedir(d);
    return out;
}

// The switches made between two snapshots: threads that ended meanwhile
// count what they made before the second (at least one: their end is not
// seen, so it is counted as one switch), new threads all of theirs.
long switches_between(const std::map<std::string, long>& a, const std::map<std::string, long>& b) {
    long total = 0;
    for (const auto& [tid, n] : b) {
        auto it = a.find(tid);
        total += n - (it == a.end() ? 0 : it->second);
    }
    for (const auto& [tid, n] : a)
        if (!b.count(tid)) total += 1;
    return total;
}

}  // namespace

int main() {
    const char* s = std::getenv("IDLE_S");
    const int idle_s = s ? std::atoi(s) : 10;
    goro::run([&] {
        goro::Chan<int> ch(64);
        goro::WaitGroup wg;
        for (int i = 0; i < 10000; ++i) {
            wg.add();
            goro::go([&, i] {
                ch.send(i);
                wg.done();
            });
        }
        long sum = 0;
        for (int i = 0; i < 10000; ++i) sum += *ch.recv();
        wg.wait();
        goro::sleep_for(std::chrono::milliseconds(100));  // let spinning and lingering settle
        const auto before = switches_by_thread();
        goro::sleep_for(std::chrono::seconds(idle_s));
        const auto after = switches_by_thread();
        std::printf("goro idle_wakeups ctxt_switches_w%d %ld switches (threads %zu -> %zu; sum %ld)\n",
                    goro::maxprocs(), switches_between(before, after), before.size(), after.size(), sum);
    });
}
