// tests/consumers/pkgconfig: built with plain g++ and `pkg-config --cflags --libs goro`.
#include <goro/goro.hpp>

#include <cstdio>
#include <cstring>

int main() {
    return goro::run([] {
        goro::Chan<int> c(1);
        goro::WaitGroup wg;
        wg.add();
        goro::go([c, &wg]() mutable {
            c.send(41);
            wg.done();
        });
        int v = *c.recv() + 1;
        wg.wait();
        if (v != 42 || std::strcmp(goro::version(), GORO_VERSION_STRING) != 0) return 1;
        std::printf("pkgconfig consumer: %d, goro %s\n", v, goro::version());
        return 0;
    });
}
