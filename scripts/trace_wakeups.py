#!/usr/bin/env python3
# scripts/trace_wakeups.py — from a GORO_TRACE file of sleepers (e.g.
# bench/sleep_latency), how late each goroutine's wake-up came, split in two:
# from the end of its first run (its park) to its `ready` (the timer firing,
# minus the sleep), and from that `ready` to its next run (the wait in a run
# queue). Percentiles in microseconds. bench/RESULTS.md, "Timer bursts and
# the global queue".
#
#   GORO_MAXPROCS=2 GORO_TRACE=t.json GORO_TRACE_BUFFER=4000000 build/bench/sleep_latency
#   scripts/trace_wakeups.py t.json [SLEEP_MS=10]
import json
import sys


def percentiles(values):
    v = sorted(values)
    return "p50 %.0f  p90 %.0f  p99 %.0f  max %.0f us" % (v[len(v) // 2], v[len(v) * 9 // 10], v[len(v) * 99 // 100], v[-1])


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: trace_wakeups.py TRACE.json [SLEEP_MS]")
    sleep_us = 1000 * float(sys.argv[2]) if len(sys.argv) > 2 else 10000
    events = json.load(open(sys.argv[1]))["traceEvents"]
    parked, ready, rerun = {}, {}, {}
    for e in events:
        name, args = e.get("name", ""), e.get("args", {})
        if e.get("ph") == "X" and name.startswith("G"):
            g = args.get("goid")
            if args.get("end") == "park" and g not in parked:
                parked[g] = e["ts"] + e["dur"]
            elif args.get("end") == "end":
                rerun[g] = e["ts"]
        elif name == "ready" and e.get("ph") == "s":
            ready[args.get("goid")] = e["ts"]
    goids = [g for g in parked if g in ready and g in rerun]
    if not goids:
        sys.exit("trace_wakeups: no goroutine parked, was readied and ran again (GORO_TRACE_BUFFER too small?)")
    print("%d sleepers" % len(goids))
    print("timer fired late by  " + percentiles([ready[g] - parked[g] - sleep_us for g in goids]))
    print("ready -> run         " + percentiles([rerun[g] - ready[g] for g in goids]))


if __name__ == "__main__":
    main()
