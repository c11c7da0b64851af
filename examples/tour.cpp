// tour — runs the examples one after another, in one process, on one runtime.
//
//     ./build/examples/tour                 every example, in registry order
//     ./build/examples/tour NAME...         only those, in the order given
//     ./build/examples/tour --list          names and descriptions
//
// One goro::run hosts the whole tour: its main goroutine calls each
// example_<name>() in turn, printing "=== name: description ===" first. After
// each example the tour checks that the example left the runtime as it found
// it: every goroutine it started has ended (num_goroutines() is back to 1,
// the tour's own main goroutine, within a second) and maxprocs() is unchanged.
// A broken check, or an exception out of an example, is reported on stderr,
// the tour goes on with the next example, and exits with status 1 at the end.
// An unknown NAME exits with status 2 before anything runs.
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include "examples.hpp"

#ifdef GORO_EXAMPLE_BUILT_COUNT
// examples/meson.build passes the length of its example_names list.
static_assert(goro_examples::kExampleCount == GORO_EXAMPLE_BUILT_COUNT,
              "examples/meson.build (example_names) and examples.hpp (GORO_EXAMPLES) "
              "must list the same examples");
#endif

namespace {

using goro_examples::Example;
using goro_examples::kExamples;

const Example* find_example(std::string_view name) {
    for (const Example& e : kExamples) {
        if (e.name == name) return &e;
    }
    return nullptr;
}

void print_usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: tour [--list | NAME...]\n"
                 "  runs every example (or the NAMEs given) on one goro runtime\n");
}

void print_list() {
    for (const Example& e : kExamples) {
        std::printf("%-24.*s %.*s\n", static_cast<int>(e.name.size()), e.name.data(),
                    static_cast<int>(e.description.size()), e.description.data());
    }
}

// Waits up to a second for the goroutines an example started to finish
// unwinding (a goroutine may still be returning after its wg.done()).
bool goroutines_drained() {
    using namespace std::chrono_literals;
    auto deadline = std::chrono::steady_clock::now() + 1s;
    while (goro::num_goroutines() > 1) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        goro::sleep_for(1ms);
    }
    return true;
}

// Runs one example on the calling goroutine; false if it failed a check.
bool run_one(const Example& e) {
    const int maxprocs_before = goro::maxprocs();
    std::printf("=== %.*s: %.*s ===\n", static_cast<int>(e.name.size()), e.name.data(),
                static_cast<int>(e.description.size()), e.description.data());
    std::fflush(stdout);

    bool ok = true;
    try {
        e.fn();
    } catch (const std::exception& ex) {
        std::fflush(stdout);
        std::fprintf(stderr, "tour: %.*s threw: %s\n", static_cast<int>(e.name.size()), e.name.data(), ex.what());
        ok = false;
    } catch (...) {
        std::fflush(stdout);
        std::fprintf(stderr, "tour: %.*s threw a non-std exception\n", static_cast<int>(e.name.size()), e.name.data());
        ok = false;
    }
    std::fflush(stdout);

    if (!goroutines_drained()) {
        std::fprintf(stderr, "tour: %.*s left %zu goroutine(s) running\n", static_cast<int>(e.name.size()),
                     e.name.data(), goro::num_goroutines() - 1);
        ok = false;
    }
    if (goro::maxprocs() != maxprocs_before) {
        std::fprintf(stderr, "tour: %.*s changed maxprocs from %d to %d\n", static_cast<int>(e.name.size()),
                     e.name.data(), maxprocs_before, goro::maxprocs());
        goro::set_maxprocs(maxprocs_before);
        ok = false;
    }
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<const Example*> chosen;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--list") {
            print_list();
            return 0;
        }
        if (arg == "-h" || arg == "--help") {
            print_usage(stdout);
            return 0;
        }
        const Example* e = find_example(arg);
        if (e == nullptr) {
            std::fprintf(stderr, "tour: no example named '%s' (tour --list names them)\n", argv[i]);
            return 2;
        }
        chosen.push_back(e);
    }
    if (chosen.empty()) {
        for (const Example& e : kExamples) chosen.push_back(&e);
    }

    return goro::run([&chosen] {
        int failed = 0;
        for (const Example* e : chosen) {
            if (!run_one(*e)) ++failed;
        }
        if (failed > 0) {
            std::fprintf(stderr, "tour: %d of %zu example(s) failed\n", failed, chosen.size());
            return 1;
        }
        return 0;
    });
}
