// sleep_rounds.go: the Go side of bench/sleep_rounds.sh: sleep_many
// (bench/peers/README.md) ROUNDS times in one process, so that the first
// round's cost of fresh memory shows beside the later rounds'. Prints
// "go sleep_rounds round_K_ms V" for K = 0 .. ROUNDS-1, as
// bench/sleep_rounds.cpp does for goro; with LIVE_PEAK=1 also
// round_K_peak_live, the most sleepers started and not done at once
// (counted the same way, and with the same cost to the times).
//
// Build: GOPROXY=off go build -o sleep_rounds-go sleep_rounds.go
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func envInt(name string, fallback int) int {
	v := os.Getenv(name)
	if v == "" {
		return fallback
	}
	x, err := strconv.Atoi(v)
	if err != nil || x <= 0 {
		fmt.Fprintf(os.Stderr, "sleep_rounds: %s=%s is not a positive integer\n", name, v)
		os.Exit(2)
	}
	return x
}

func main() {
	n := envInt("SLEEP_N", 100000)
	rounds := envInt("ROUNDS", 4)
	d := time.Duration(envInt("SLEEP_MS", 10)) * time.Millisecond
	countLive := os.Getenv("LIVE_PEAK") != "" && os.Getenv("LIVE_PEAK") != "0"
	for r := 0; r < rounds; r++ {
		var wg sync.WaitGroup
		var live, peak int64
		t0 := time.Now()
		wg.Add(n)
		for i := 0; i < n; i++ {
			go func() {
				if countLive {
					v := atomic.AddInt64(&live, 1)
					for p := atomic.LoadInt64(&peak); v > p && !atomic.CompareAndSwapInt64(&peak, p, v); p = atomic.LoadInt64(&peak) {
					}
				}
				time.Sleep(d)
				if countLive {
					atomic.AddInt64(&live, -1)
				}
				wg.Done()
			}()
		}
		wg.Wait()
		fmt.Printf("go sleep_rounds round_%d_ms %.2f\n", r, float64(time.Since(t0).Nanoseconds())/1e6)
		if countLive {
			fmt.Printf("go sleep_rounds round_%d_peak_live %d\n", r, atomic.LoadInt64(&peak))
		}
	}
}
