#!/usr/bin/env python3
# tests/debug/gdb_test.py — the gdb extension (dist/gdb/goro-gdb.py) on a
# live process and on a core file.
#
#   gdb_test.py GDB PROGRAM GORO_GDB_PY WORKDIR
#
# PROGRAM is tests/debug/gdb_target: goroutines parked in a channel receive,
# a sleep and a mutex lock, one spinning on a worker, and main stopped at
# goro_test_breakpoint(). First gdb runs it to that breakpoint, lists the
# goroutines, prints every goroutine's backtrace (goroutine all bt) and
# writes a core file (gcore); then a second gdb opens PROGRAM with that core
# and does the same through `goroutine N bt`, one id at a time. Each
# goroutine must show its state and, in its backtrace, its own function.
#
# Exit 0: passed; 1: failed; 77 (meson: skipped): gdb cannot trace here
# (no ptrace permission) or has no Python.
import os
import re
import resource
import shutil
import subprocess
import sys

# name -> (state in `info goroutines`, the function its backtrace must show)
EXPECTED = {
    "gdbt-receiver": ("chan receive", "gdbt_wait_in_chan_receive"),
    "gdbt-sleeper": ("sleep", "gdbt_wait_in_sleep"),
    "gdbt-locker": ("sync.Mutex.Lock", "gdbt_wait_in_mutex_lock"),
    "gdbt-spinner": ("running", "gdbt_spin_on_cpu"),
    "(main)": ("running", "goro_test_breakpoint"),
}

LINE = re.compile(r"^([* ])\s+(\d+) (.{20}) (\S*)")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)


def run_gdb(gdb, args, commands, timeout=180):
    argv = [gdb, "-batch", "-nx", "-ex", "set pagination off", "-ex", "set width 0"]
    for c in commands:
        argv += ["-ex", c]
    argv += args
    env = dict(os.environ)
    # LeakSanitizer cannot run under ptrace; the process is killed anyway.
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    # A timeout kills gdb with SIGKILL; the traced program then runs on and ends by itself.
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, env=env)
    return p.stdout


def parse_list(out):
    """name -> (id, state, marked) from `info goroutines`."""
    found = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            found[m.group(4) or "?"] = (int(m.group(2)), m.group(3).strip(), m.group(1) == "*")
    return found


def blocks(out):
    """id -> the lines of its `goroutine N bt` block."""
    result = {}
    current = None
    for line in out.splitlines():
        m = re.match(r"^goroutine (\d+) \[", line)
        if m:
            current = int(m.group(1))
            result.setdefault(current, [])  # goroutine N frame K repeats the header: append
        elif current is not None:
            result[current].append(line)
    return result


def check_session(label, out, live):
    listed = parse_list(out)
    for name, (state, _) in EXPECTED.items():
        check(name in listed, "%s: info goroutines lists %s" % (label, name))
        if name in listed:
            check(listed[name][1] == state, "%s: %s is %r, expected %r" % (label, name, listed[name][1], state))
    if live and "(main)" in listed:
        check(listed["(main)"][2], "%s: the main goroutine (the selected thread's) is marked *" % label)
    bts = blocks(out)
    for name, (state, fn) in EXPECTED.items():
        if name not in listed:
            continue
        gid = listed[name][0]
        bt = "\n".join(bts.get(gid, []))
        check(gid in bts, "%s: a backtrace block for goroutine %d (%s)" % (label, gid, name))
        check(re.search(r"^#\d+ .*\b%s\b" % fn, bt, re.M) is not None,
              "%s: goroutine %d (%s) backtrace shows %s" % (label, gid, name, fn))
        if state != "running":
            # Parked: its frames are its own, none borrowed from the thread gdb used.
            check("goro_test_breakpoint" not in bt, "%s: goroutine %d (%s) backtrace has no borrowed frame" % (label, gid, name))
            check(re.search(r"^#0 .*switch_context", bt, re.M) is not None,
                  "%s: goroutine %d (%s) backtrace starts in switch_context" % (label, gid, name))
    return listed


def check_core(gdb, program, script, core, label, stacks):
    # Ids differ from run to run (each worker takes them in batches): list first.
    listed = parse_list(run_gdb(gdb, [program, core], ["source " + script, "info goroutines"]))
    ids = sorted(v[0] for v in listed.values())
    commands = ["source " + script, "info goroutines"] + ["goroutine %d bt" % i for i in ids]
    if "gdbt-receiver" in listed:
        commands.append("goroutine %d frame 1" % listed["gdbt-receiver"][0])
    out = run_gdb(gdb, [program, core], commands)
    print("---- %s ----\n%s" % (label, out))
    if not stacks:
        listed_core = parse_list(out)
        if not listed_core:
            # gcore of an ASan process misses even the program's own mapping.
            print("NOTE: %s could not copy the runtime's memory: only a clean error is checked" % label)
            check("Python Exception" not in out and "goro: " in out, "%s: a clean goro: error, no Python exception" % label)
            return
        print("NOTE: %s lacks the goroutine stacks (guard regions): only `info goroutines` is checked" % label)
        for name, (state, _) in EXPECTED.items():
            check(listed_core.get(name, (0, None))[1] == state, "%s: info goroutines shows %s as %s" % (label, name, state))
        return
    check_session(label, out, False)
    check("You can't do that without a process" not in out, "%s: no command needed a live process" % label)
    if "gdbt-receiver" in listed:
        tail = out.split("goroutine %d [chan receive]" % listed["gdbt-receiver"][0])[-1]
        check(re.search(r"^#1 .*Runtime::g_switch_away", tail, re.M) is not None,
              "%s: goroutine N frame 1 prints the goroutine's frame #1" % label)


def kernel_core(program, workdir):
    """Runs PROGRAM with GDBT_ABORT=1 (it aborts at the breakpoint) and
    returns the core file the kernel wrote in workdir, or None."""
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if pattern.startswith("|") or "/" in pattern:
        return None
    env = dict(os.environ, GDBT_ABORT="1")
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0:disable_coredump=0"

    def allow_core():
        soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))

    subprocess.run([program], cwd=workdir, env=env, preexec_fn=allow_core, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cores = [os.path.join(workdir, n) for n in os.listdir(workdir) if n.startswith("core")]
    return max(cores, key=os.path.getmtime) if cores else None


def main():
    gdb, program, script, workdir = sys.argv[1:5]
    program, script, workdir = (os.path.abspath(p) for p in (program, script, workdir))
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    core = os.path.join(workdir, "gdb_target.core")

    probe = run_gdb(gdb, [], ["python print('python-ok')"], timeout=60)
    if "python-ok" not in probe:
        print("SKIP: this gdb has no Python:\n" + probe)
        return 77

    # Auto-load: the program (linked to libgoro) names the installed script
    # in its .debug_gdb_scripts section; gdb lists it (loaded once installed
    # and allowed by the auto-load safe-path; here, before any install, not).
    scripts = run_gdb(gdb, [program], ["info auto-load python-scripts"], timeout=60)
    check(re.search(r"^(Yes|No)\s+\S*/share/goro/gdb/goro-gdb\.py\s*$", scripts, re.M) is not None,
          "gdb lists goro-gdb.py among the program's auto-load scripts:\n" + scripts)

    # No gcore of an AddressSanitizer build: its shadow memory (terabytes of
    # address space, unreadable to some gdbs, read as zeros by others) went
    # into a 78 GB core with gdb 13.1 on Linux 6.18 and filled the disk. The
    # kernel leaves the shadow out of its own cores (ASan marks it
    # MADV_DONTDUMP), so the kernel's core is still checked below.
    with open(program, "rb") as f:
        asan = b"__asan_init" in f.read()
    live = run_gdb(gdb, ["--args", program], [
        "source " + script,
        "break goro_test_breakpoint",
        "run",
        "info goroutines",
        "goroutine all bt",
    ] + ([] if asan else ["gcore " + core]) + [
        "kill",
    ])
    with open(os.path.join(workdir, "live.txt"), "w") as f:
        f.write(live)
    if "ptrace: Operation not permitted" in live or "Could not trace the inferior" in live:
        print("SKIP: gdb cannot trace here:\n" + live)
        return 77
    print("---- live process ----\n" + live)
    listed = check_session("live", live, True)

    if asan:
        print("NOTE: an ASan build: no gcore (see above)")
    else:
        check(os.path.exists(core), "gcore wrote " + core)
    # gdb's gcore (13 at least) stops copying a mapping at the first page it
    # cannot read, and a guard region (Linux 6.13+, fiber/stack.cpp) is such a
    # page: its core then lacks the goroutine stacks, and only the goroutine
    # list is checked on it (in an ASan build it misses more: then only that
    # the script fails cleanly). A core written by the kernel has them all.
    gcore_complete = "Memory read failed for corefile section" not in live
    if os.path.exists(core):
        check_core(gdb, program, script, core, "gcore", gcore_complete)
        os.remove(core)  # of no use once checked
    kcore = kernel_core(program, workdir)
    if kcore:
        check_core(gdb, program, script, kcore, "kernel core", True)
        os.remove(kcore)
    else:
        print("NOTE: no core file from the kernel here (core_pattern is a pipe or a path elsewhere)")
        if not asan:
            check(gcore_complete,
                  "a core file with the goroutine stacks (gcore's is incomplete here, and the kernel wrote none)")

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
