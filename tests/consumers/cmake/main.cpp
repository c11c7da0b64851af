// tests/consumers/cmake: built by CMake through find_package(goro 0.2 REQUIRED) and goro::goro.
#include <goro/goro.hpp>

#include <cstdio>

int main() {
    return goro::run([] {
        auto t = goro::spawn([] { return 6 * 7; });
        int v = t.get();
        if (v != 42 || GORO_VERSION_MAJOR != 0 || GORO_VERSION_MINOR < 2) return 1;
        std::printf("cmake consumer: %d, goro %s\n", v, goro::version());
        return 0;
    });
}
