// tests/consumers/meson: a meson project with goro as a subproject, found by dependency('goro').
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>

int main() {
    return goro::run([] {
        goro::Chan<int> c;
        goro::go([c]() mutable { c.send(42); });
        int v = 0;
        goro::select(goro::case_recv(c, [&](std::optional<int> x) { v = x.value_or(0); }));
        if (v != 42) return 1;
        std::printf("meson consumer: %d, goro %s\n", v, goro::version());
        return 0;
    });
}
