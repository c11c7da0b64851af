// net_local.go: the Go side of bench/net_local.sh: round trips per second over UDP
// and over a Unix-domain stream socket (an abstract name) on loopback, P pairs (1,
// then 16) each making NET_N / P round trips (NET_N default 200,000) of a 32-byte
// message, as bench/net_local.cpp does for goro. Prints
// "go net_local udp_P X rt/s" and "go net_local unix_P X rt/s".
//
// Build: GOPROXY=off go build -o net_local-go net_local.go
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

const msgSize = 32

func udpRoundTrips(pairs, perPair int) float64 {
	var wg sync.WaitGroup
	servers := make([]*net.UDPConn, pairs)
	clients := make([]*net.UDPConn, pairs)
	for p := 0; p < pairs; p++ {
		s, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			panic(err)
		}
		c, err := net.DialUDP("udp", nil, s.LocalAddr().(*net.UDPAddr))
		if err != nil {
			panic(err)
		}
		servers[p], clients[p] = s, c
	}
	t0 := time.Now()
	for p := 0; p < pairs; p++ {
		wg.Add(2)
		go func(s *net.UDPConn) {
			defer wg.Done()
			buf := make([]byte, 64)
			for i := 0; i < perPair; i++ {
				n, from, err := s.ReadFromUDP(buf)
				if err != nil {
					panic(err)
				}
				s.WriteToUDP(buf[:n], from)
			}
		}(servers[p])
		go func(c *net.UDPConn) {
			defer wg.Done()
			msg := make([]byte, msgSize)
			buf := make([]byte, 64)
			for i := 0; i < perPair; i++ {
				c.Write(msg)
				if _, err := c.Read(buf); err != nil {
					panic(err)
				}
			}
		}(clients[p])
	}
	wg.Wait()
	el := time.Since(t0).Seconds()
	for p := 0; p < pairs; p++ {
		servers[p].Close()
		clients[p].Close()
	}
	return float64(pairs*perPair) / el
}

func unixRoundTrips(pairs, perPair int) float64 {
	name := "@goro-bench-go-" + strconv.Itoa(os.Getpid())
	ln, err := net.Listen("unix", name)
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	t0 := time.Now()
	for p := 0; p < pairs; p++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			c, err := net.Dial("unix", name)
			if err != nil {
				panic(err)
			}
			defer c.Close()
			msg := make([]byte, msgSize)
			buf := make([]byte, msgSize)
			for i := 0; i < perPair; i++ {
				c.Write(msg)
				if _, err := io.ReadFull(c, buf); err != nil {
					panic(err)
				}
			}
		}()
		s, err := ln.Accept()
		if err != nil {
			panic(err)
		}
		go func(s net.Conn) {
			defer wg.Done()
			defer s.Close()
			buf := make([]byte, msgSize)
			for i := 0; i < perPair; i++ {
				if _, err := io.ReadFull(s, buf); err != nil {
					panic(err)
				}
				s.Write(buf)
			}
		}(s)
	}
	wg.Wait()
	return float64(pairs*perPair) / time.Since(t0).Seconds()
}

func main() {
	n := 200000
	if s := os.Getenv("NET_N"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	for _, pairs := range []int{1, 16} {
		fmt.Printf("go net_local udp_%d %.0f rt/s\n", pairs, udpRoundTrips(pairs, n/pairs))
		fmt.Printf("go net_local unix_%d %.0f rt/s\n", pairs, unixRoundTrips(pairs, n/pairs))
	}
}
