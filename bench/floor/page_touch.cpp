// page_touch — the floor under sleep_many's fresh stacks: what one fresh page
// costs on this machine, with no runtime at all.
//
// Maps N strides of 64 KiB (a goroutine stack's spacing) and writes one byte
// near the top of each, as a goroutine's first frame does, three ways:
//   touch          the page faults in at the write;
//   populate each  one madvise(MADV_POPULATE_WRITE) per page first (timed
//                  apart), then the write;
//   populate all   one madvise over the whole mapping (16 pages a stride)
//                  first, then the writes.
// On bare metal the write after a populate costs next to nothing; in a guest
// whose page tables the host shadows (PVM), the first user-mode touch of a
// page traps to the host even after the guest kernel populated it.
//
//   page_touch [N=25000]
#include <sys/mman.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    const long n = argc > 1 ? std::atol(argv[1]) : 25000;
    if (n <= 0) {
        std::fprintf(stderr, "page_touch: N must be positive\n");
        return 2;
    }
    const std::size_t page = 4096, stride = 64 * 1024, len = static_cast<std::size_t>(n) * stride;
    const char* names[] = {"touch", "populate each", "populate all"};
    for (int mode = 0; mode < 3; ++mode) {
        void* m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) {
            std::perror("page_touch: mmap");
            return 1;
        }
        char* base = static_cast<char*>(m);
        auto t0 = std::chrono::steady_clock::now();
        bool refused = false;
        if (mode == 1)
            for (long i = 0; i < n; ++i)
                refused |= ::madvise(base + (i + 1) * stride - page, page, MADV_POPULATE_WRITE) != 0;
        if (mode == 2) refused = ::madvise(base, len, MADV_POPULATE_WRITE) != 0;
        const double populate_ms = ms_since(t0);
        const double populated_pages = mode == 2 ? static_cast<double>(len / page) : static_cast<double>(n);
        t0 = std::chrono::steady_clock::now();
        for (long i = 0; i < n; ++i) base[(i + 1) * stride - 64] = 1;
        const double touch_ms = ms_since(t0);
        std::printf("%-14s populate %7.1f ms (%5.2f us/page)%s, then touch %7.1f ms (%5.2f us/page)\n", names[mode],
                    populate_ms, mode == 0 ? 0.0 : populate_ms * 1000 / populated_pages, refused ? " REFUSED" : "", touch_ms,
                    touch_ms * 1000 / static_cast<double>(n));
        ::munmap(m, len);
    }
}
