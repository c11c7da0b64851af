// rwmutex.go: the Go side of bench/rwmutex.sh: R readers (1, then 4) each take and
// release sync.RWMutex's read lock RW_N times (2,000,000) around one read of a shared
// value; prints "go rwmutex ns_per_rlock_R X ns" (wall time over one reader's count),
// as bench/rwmutex.cpp does for goro and std::shared_mutex.
//
// Build: GOPROXY=off go build -o rwmutex-go rwmutex.go
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

var shared int64 = 1

func main() {
	n := 2000000
	if s := os.Getenv("RW_N"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	for _, readers := range []int{1, 4} {
		var mu sync.RWMutex
		var wg sync.WaitGroup
		sums := make([]int64, readers)
		t0 := time.Now()
		for r := 0; r < readers; r++ {
			wg.Add(1)
			go func(r int) {
				var local int64
				for i := 0; i < n; i++ {
					mu.RLock()
					local += shared
					mu.RUnlock()
				}
				sums[r] = local
				wg.Done()
			}(r)
		}
		wg.Wait()
		ns := float64(time.Since(t0).Nanoseconds()) / float64(n)
		for _, s := range sums {
			if s != int64(n) {
				panic("wrong sum")
			}
		}
		fmt.Printf("go rwmutex ns_per_rlock_%d %.1f ns\n", readers, ns)
	}
}
