// worker_pool — three workers share a jobs channel and report on a results channel.
//
// Mirrors the Go program of Go by Example, "Worker Pools" (with a WaitGroup to close results):
//
//     func worker(id int, jobs <-chan int, results chan<- int) {
//         for j := range jobs {
//             fmt.Println("worker", id, "started  job", j)
//             time.Sleep(time.Second)
//             fmt.Println("worker", id, "finished job", j)
//             results <- j * 2
//         }
//     }
//
//     func main() {
//         const numJobs = 5
//         jobs := make(chan int, numJobs)
//         results := make(chan int, numJobs)
//         var wg sync.WaitGroup
//         for w := 1; w <= 3; w++ {
//             wg.Add(1)
//             go func() { defer wg.Done(); worker(w, jobs, results) }()
//         }
//         for j := 1; j <= numJobs; j++ {
//             jobs <- j
//         }
//         close(jobs)
//         go func() { wg.Wait(); close(results) }()
//         sum := 0
//         for r := range results {
//             sum += r
//         }
//         fmt.Println("sum of results:", sum)
//     }
//
// Run:     ./build/examples/tour worker_pool
//     or   ./build/examples/worker_pool
// Observe: workers 1-3 start jobs 1-3 at once, then pick up jobs 4 and 5 as they free up (the order of
// the started/finished lines varies from run to run, as in Go). The 5 jobs of 100 ms each take about
// 200 ms, not 500 ms: three run at a time. The sum of the results is always 30.
#include <goro/goro.hpp>

#include <chrono>
#include <cstdio>

#include "examples.hpp"

namespace {

using namespace std::chrono_literals;

void worker(int id, goro::Chan<int> jobs, goro::Chan<int> results) {
    for (int j : jobs) {
        std::printf("worker %d started  job %d\n", id, j);
        goro::sleep_for(100ms);  // an expensive task (Go: a second)
        std::printf("worker %d finished job %d\n", id, j);
        results.send(j * 2);
    }
}

}  // namespace

void example_worker_pool() {
    constexpr int num_jobs = 5;
    goro::Chan<int> jobs(num_jobs);
    goro::Chan<int> results(num_jobs);
    goro::WaitGroup wg;

    auto start = std::chrono::steady_clock::now();
    for (int w = 1; w <= 3; ++w) {
        wg.add(1);
        goro::go([w, jobs, results, &wg] {
            worker(w, jobs, results);
            wg.done();  // Go: defer wg.Done()
        });
    }
    for (int j = 1; j <= num_jobs; ++j) jobs.send(j);
    jobs.close();  // the workers' range loops end once the jobs are taken

    // Close results once every worker is done, so that the range below ends.
    goro::Chan<int> closed(1);
    goro::go([&wg, results, closed] {
        wg.wait();
        results.close();
        closed.send(1);
    });
    int sum = 0;
    for (int r : results) sum += r;
    closed.recv();  // the closer has finished with wg (which lives on this stack)
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    std::printf("sum of results: %d (5 jobs of 100 ms on 3 workers took %lld ms)\n", sum,
                static_cast<long long>(took.count()));
}

GORO_EXAMPLE_MAIN(example_worker_pool)
