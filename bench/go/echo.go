// echo.go: the Go side of bench/net_echo.sh (standard library only).
//
//	go run echo.go server        accept loop, one goroutine per connection, echo
//	                             with a 4096-byte buffer (as examples/echo_server.cpp);
//	                             prints "port N", exits after ECHO_SERVE_S seconds (60)
//	go run echo.go client PORT   ECHO_CONNS connections (64), each sending an
//	                             ECHO_SIZE-byte message (64) and reading the echo back,
//	                             for ECHO_SECONDS (5); prints "msgs_per_s X"
//
// Build: GOPROXY=off go build -o echo-go echo.go
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func envInt(name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo: bad %s=%s\n", name, s)
		os.Exit(2)
	}
	return v
}

func server() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	time.AfterFunc(time.Duration(envInt("ECHO_SERVE_S", 60))*time.Second, func() { os.Exit(0) })
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "accept:", err)
			os.Exit(1)
		}
		go func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}(c)
	}
}

func client(port string) {
	conns := envInt("ECHO_CONNS", 64)
	size := envInt("ECHO_SIZE", 64)
	seconds := envInt("ECHO_SECONDS", 5)
	var msgs atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", "127.0.0.1:"+port)
			if err != nil {
				fmt.Fprintln(os.Stderr, "dial:", err)
				os.Exit(1)
			}
			defer c.Close()
			out := make([]byte, size)
			in := make([]byte, size)
			for !stop.Load() {
				if _, err := c.Write(out); err != nil {
					fmt.Fprintln(os.Stderr, "write:", err)
					os.Exit(1)
				}
				if _, err := io.ReadFull(c, in); err != nil {
					fmt.Fprintln(os.Stderr, "read:", err)
					os.Exit(1)
				}
				msgs.Add(1)
			}
		}()
	}
	time.Sleep(time.Duration(seconds) * time.Second)
	stop.Store(true)
	n := msgs.Load()
	elapsed := time.Since(start).Seconds()
	wg.Wait()
	fmt.Printf("msgs %d\nmsgs_per_s %.0f\n", n, float64(n)/elapsed)
}

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "server" {
		server()
		return
	}
	if len(os.Args) >= 3 && os.Args[1] == "client" {
		client(os.Args[2])
		return
	}
	fmt.Fprintln(os.Stderr, "usage: echo server | echo client PORT")
	os.Exit(2)
}
