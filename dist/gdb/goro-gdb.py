# dist/gdb/goro-gdb.py — gdb commands for programs built with goro, named
# after Go's runtime-gdb.py:
#
#   info goroutines          one line per goroutine: id, state (running,
#                            runnable, or why it waits, in Go's words), name;
#                            "*" marks the goroutine of the selected thread
#   goroutine N bt [ARGS]    the backtrace of goroutine N, parked or running
#   goroutine N frame K      frame K of that backtrace
#   goroutine all bt         every goroutine's backtrace
#   goroutine N CMD...       any other gdb command, with goroutine N's stack
#                            in place of the selected thread's callers
#
# Owns: reading goroutine descriptors out of a stopped process or a core
# file, and the frame unwinder that shows a parked goroutine's stack.
# Load it with `source /path/to/goro-gdb.py` (or from ~/.gdbinit); meson
# install puts it in $datadir/goro/gdb/. runtime/DESIGN.md "The gdb
# extension" explains the technique.
#
# Where the goroutines are: the runtime keeps one extern "C" object,
# goro_debug_info (runtime/debug/gdb_info.hpp), with the size of a
# descriptor, the offsets of the fields read here, the wait-reason names and
# the live runtime's descriptor chunks. It is found by its ELF symbol, so
# goro itself needs no debug info; the program's own debug info (-g) only
# adds file:line and arguments to the frames.
#
# How a parked goroutine's stack is shown: its registers were saved by the
# context switch (Boost.Context's jump_fcontext; layout in
# runtime/fiber/context.cpp, saved_registers()). Writing them into a
# thread's registers would work on a live process only (a core file has no
# process to write to), and would change the program. Instead a frame
# unwinder, armed for one command, tells gdb that the innermost frame of the
# selected thread was called from the goroutine's saved context: frame #0
# stays the thread's own, every older frame is the goroutine's. The unwinder
# is disarmed and gdb's frame cache dropped right after the command. The
# backtrace printed here leaves out that borrowed frame #0 and numbers the
# goroutine's frames from #0.
#
# x86-64 only (as the saved-context layout is).

import re
import struct

import gdb
import gdb.unwinder

_INFO_SYMBOL = "goro_debug_info"
_INFO_FIELDS = (
    "version", "g_size", "chunk_len",
    "off_fctx", "off_stack_base", "off_stack_size", "off_status", "off_user",
    "off_is_main", "off_wait_reason", "off_id", "off_name", "off_parent_id",
    "wait_reason_names", "n_wait_reasons", "string_abi", "chunks", "nchunks",
)
_INFO_VERSION = 1

# GStatus (runtime/sched/g.hpp); debug/gdb_info.cpp static_asserts these.
_FREE, _RUNNABLE, _NOTIFIED, _PARKED, _HELD, _HELD_WOKEN = range(6)

# The callee-saved registers that the switch preserves, as gdb names them.
_SAVED_REGS = ("rip", "rsp", "rbp", "rbx", "r12", "r13", "r14", "r15")


class GoroError(Exception):
    pass


def _read(addr, size):
    return bytes(gdb.selected_inferior().read_memory(addr, size))


def _u64(addr):
    return struct.unpack("<Q", _read(addr, 8))[0]


def _address_of(symbol):
    try:
        return int(gdb.parse_and_eval("(unsigned long)&%s" % symbol))
    except gdb.error:
        return None


def _cstring(addr, limit=256):
    if not addr:
        return ""
    data = _read(addr, limit)
    end = data.find(b"\0")
    return data[: end if end >= 0 else limit].decode("utf-8", "replace")


def _std_string(addr, abi):
    """The text of the std::string at addr (the two standard libraries'
    layouts on x86-64), at most 256 bytes of it."""
    if not addr:
        return None
    try:
        if abi == 1:  # libstdc++: data pointer, length
            data, size = struct.unpack("<QQ", _read(addr, 16))
        elif abi == 2:  # libc++: low bit of the first byte says long
            head = _read(addr, 24)
            if head[0] & 1:
                size, data = struct.unpack("<QQ", head[8:24])
            else:
                size = head[0] >> 1
                return head[1 : 1 + size].decode("utf-8", "replace")
        else:
            return None
        return _read(data, min(size, 256)).decode("utf-8", "replace") if size else ""
    except gdb.MemoryError:
        return None


class _Info:
    """goro_debug_info, as the process (or core) holds it now."""

    def __init__(self):
        addr = _address_of(_INFO_SYMBOL)
        if addr is None:
            raise GoroError("%s not found: is this program linked with goro 0.2 or later?" % _INFO_SYMBOL)
        words = struct.unpack("<%dQ" % len(_INFO_FIELDS), _read(addr, 8 * len(_INFO_FIELDS)))
        for name, value in zip(_INFO_FIELDS, words):
            setattr(self, name, value)
        if self.version != _INFO_VERSION:
            raise GoroError("%s has version %d; this script reads version %d" % (_INFO_SYMBOL, self.version, _INFO_VERSION))
        self.reasons = []
        for i in range(self.n_wait_reasons):
            self.reasons.append(_cstring(_u64(self.wait_reason_names + 8 * i), 64))

    def reason(self, i):
        return self.reasons[i] if i < len(self.reasons) else "wait"


class Goroutine:
    def __init__(self, info, addr, raw):
        def field(off, fmt):
            return struct.unpack_from(fmt, raw, off)[0]

        self.addr = addr
        self.id = field(info.off_id, "<Q")
        self.status = field(info.off_status, "<I")
        self.user = field(info.off_user, "<B") != 0
        self.is_main = field(info.off_is_main, "<B") != 0
        self.reason_index = field(info.off_wait_reason, "<B")
        self.name_ptr = field(info.off_name, "<Q")
        self.parent_id = field(info.off_parent_id, "<Q")
        self.fctx = field(info.off_fctx, "<Q")
        self.stack_lo = field(info.off_stack_base, "<Q")
        self.stack_hi = self.stack_lo + field(info.off_stack_size, "<I")  # Stack::size is 32 bits
        self._info = info
        self.thread = None  # the gdb thread running it, if any

    @property
    def name(self):
        if self.name_ptr:
            return _std_string(self.name_ptr, self._info.string_abi)
        return None

    @property
    def parked(self):
        return self.status in (_PARKED, _HELD, _HELD_WOKEN)

    def state(self):
        if self.thread is not None:
            return "running"
        if self.parked:
            return self._info.reason(self.reason_index)
        return "runnable"

    def saved_registers(self):
        """The registers of its suspended context, as its switch_context
        frame sees them: runtime/fiber/context.cpp saved_registers(). At
        fctx Boost's jump_fcontext left the MXCSR and x87 control words,
        r12, r13, r14, r15, rbx, rbp, then the address it resumes at (the
        bare `ret` of goro_jump_fcontext), then the return address into
        switch_context: rip = [fctx+0x40], rsp = fctx+0x48. None when there
        is no such context (running, or never run)."""
        f = self.fctx
        if self.thread is not None or not f or not (self.stack_lo <= f < self.stack_hi):
            return None
        w = struct.unpack("<9Q", _read(f, 72))
        landing = _address_of("goro_jump_fcontext")
        if landing is not None and not (landing <= w[7] < landing + 64):
            return None  # a fresh context (make_fcontext's): it has not run yet
        return {"r12": w[1], "r13": w[2], "r14": w[3], "r15": w[4], "rbx": w[5],
                "rbp": w[6], "rip": w[8], "rsp": f + 0x48}


def _thread_stack_pointers():
    """(thread, rsp) for each thread of the inferior; keeps the selection."""
    out = []
    selected = gdb.selected_thread()
    try:
        level = gdb.selected_frame().level()
    except gdb.error:
        level = None
    try:
        for t in gdb.selected_inferior().threads():
            if not t.is_valid():
                continue
            t.switch()
            try:
                out.append((t, int(gdb.newest_frame().read_register("rsp"))))
            except gdb.error:
                pass
    finally:
        _reselect(selected, level)
    return out


def _reselect(thread, level):
    if thread is not None and thread.is_valid():
        thread.switch()
        try:
            f = gdb.newest_frame()
            for _ in range(level or 0):
                f = f.older() or f
            f.select()  # silent, unlike the frame command
        except gdb.error:
            pass


def goroutines():
    """The goroutines of the live runtime, by id; the running ones carry the
    thread whose stack pointer lies inside their stack."""
    info = _Info()
    if not info.chunks or not info.nchunks:
        return []
    sps = _thread_stack_pointers()
    out = []
    span = info.g_size * info.chunk_len
    for c in range(info.nchunks):
        chunk = _u64(info.chunks + 8 * c)
        raw = _read(chunk, span)
        for i in range(info.chunk_len):
            g = Goroutine(info, chunk + i * info.g_size, raw[i * info.g_size : (i + 1) * info.g_size])
            if g.status == _FREE or not g.user:
                continue
            if g.status in (_RUNNABLE, _NOTIFIED) and g.stack_lo:
                for t, sp in sps:
                    if g.stack_lo <= sp < g.stack_hi:
                        g.thread = t
            out.append(g)
    out.sort(key=lambda g: g.id)
    return out


def _current_goroutine(gs):
    t = gdb.selected_thread()
    if t is None:
        return None
    for g in gs:
        if g.thread is not None and g.thread.ptid == t.ptid:
            return g
    return None


class _FrameId:
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class _SavedContextUnwinder(gdb.unwinder.Unwinder):
    """Armed with a goroutine's saved registers, it says that the selected
    thread's innermost frame returns into them; disarmed, it does nothing."""

    def __init__(self):
        super().__init__("goro-saved-context")
        self.armed = None  # (thread ptid, frame 0's sp, frame 0's pc, registers)

    def __call__(self, pending):
        if self.armed is None:
            return None
        ptid, sp0, pc0, regs = self.armed
        if hasattr(pending, "level") and pending.level() != 0:
            return None
        t = gdb.selected_thread()
        if t is None or t.ptid != ptid:
            return None
        sp = pending.read_register("rsp")
        pc = pending.read_register("rip")
        if int(sp) != sp0 or int(pc) != pc0:
            return None
        unwind = pending.create_unwind_info(_FrameId(sp, pc))
        u64 = gdb.lookup_type("unsigned long")
        for name in _SAVED_REGS:
            unwind.add_saved_register(name, gdb.Value(regs[name]).cast(u64))
        return unwind


_unwinder = _SavedContextUnwinder()
gdb.unwinder.register_unwinder(None, _unwinder, replace=True)


def _run_on_saved_context(regs, command):
    """Runs command (to a string) with the selected thread's callers replaced
    by the saved context regs; leaves gdb's frames as they were."""
    frame0 = gdb.newest_frame()
    _unwinder.armed = (gdb.selected_thread().ptid, int(frame0.read_register("rsp")),
                       int(frame0.read_register("rip")), regs)
    gdb.invalidate_cached_frames()
    try:
        return gdb.execute(command, to_string=True)
    finally:
        _unwinder.armed = None
        gdb.invalidate_cached_frames()


_FRAME_LINE = re.compile(r"^#(\d+)(\s+)")


def _tidy_bt(text, borrowed):
    """bt output up to the frame of make_fcontext (the bottom of every
    goroutine stack: what lies below is not a frame). borrowed: without
    frame #0 (the thread's own), the rest numbered from #0."""
    out = []
    skipping = False
    for line in text.splitlines():
        m = _FRAME_LINE.match(line)
        if m:
            if out and " make_fcontext " in out[-1]:
                break
            n = int(m.group(1))
            skipping = borrowed and n == 0
            if borrowed and not skipping:
                number = "#%d" % (n - 1)
                pad = " " * (m.end(1) - m.start(1) + 1 - len(number))  # #10 -> #9 keeps the column
                line = number + pad + m.group(2) + line[m.end():]
        elif line.startswith("Backtrace stopped") and out and " make_fcontext " in out[-1]:
            break
        if not skipping:
            out.append(line)
    return "\n".join(out) + ("\n" if out else "")


def _one_frame(text, k):
    """Frame #k's lines out of bt output."""
    out = []
    inside = False
    for line in text.splitlines():
        m = _FRAME_LINE.match(line)
        if m:
            inside = int(m.group(1)) == k
        if inside:
            out.append(line)
    return "\n".join(out) + "\n" if out else "\t(no frame %d)\n" % k


def _header(g):
    name = g.name
    s = "goroutine %d [%s]" % (g.id, g.state())
    if name:
        s += " %s" % name
    elif g.is_main:
        s += " (main)"
    if g.thread is not None:
        s += ", on thread %d (%s)" % (g.thread.num, _lwp(g.thread))
    return s + ":"


def _lwp(t):
    pid, lwp, _ = t.ptid
    return "LWP %d" % (lwp or pid)


def _goroutine_command(g, command, is_bt, frame_arg):
    """The output of command for goroutine g."""
    if g.thread is not None:
        selected = gdb.selected_thread()
        try:
            level = gdb.selected_frame().level()
        except gdb.error:
            level = None
        try:
            g.thread.switch()
            if frame_arg is not None:
                return _one_frame(_tidy_bt(gdb.execute("bt %d" % (frame_arg + 1), to_string=True), False), frame_arg)
            text = gdb.execute(command, to_string=True)
            return _tidy_bt(text, False) if is_bt else text
        finally:
            _reselect(selected, level)
    regs = g.saved_registers()
    if regs is None:
        if g.stack_lo == 0 or g.status in (_RUNNABLE, _NOTIFIED):
            return "\t(not started yet, or between a worker and its stack: no saved context)\n"
        return "\t(no saved context)\n"
    if frame_arg is not None:
        # `frame K` prints through gdb's selection observer, which
        # to_string does not capture: take frame K out of a short bt.
        command = "bt %d" % (frame_arg + 2)
        is_bt = True
    text = _run_on_saved_context(regs, command)
    if is_bt:
        text = _tidy_bt(text, True)
    if frame_arg is not None:
        text = _one_frame(text, frame_arg)
    return text


class InfoGoroutines(gdb.Command):
    """List the goroutines of a goro program: id, state, name.
The state is "running" (with its thread), "runnable" (queued), or why it
waits, in Go's words ("chan receive", "sleep", "sync.Mutex.Lock", ...).
"*" marks the goroutine that the selected thread runs."""

    def __init__(self):
        super().__init__("info goroutines", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        try:
            gs = goroutines()
        except GoroError as e:
            raise gdb.GdbError("goro: %s" % e)
        except gdb.MemoryError as e:
            raise gdb.GdbError("goro: %s (a core file without the runtime's memory?)" % e)
        if not gs:
            gdb.write("No goroutines (no goro runtime is running).\n")
            return
        current = _current_goroutine(gs)
        for g in gs:
            mark = "*" if g is current else " "
            name = g.name or ("(main)" if g.is_main else "")
            where = ""
            if g.thread is not None:
                where = "  thread %d (%s)" % (g.thread.num, _lwp(g.thread))
            gdb.write("%s %5d %-20s %s%s\n" % (mark, g.id, g.state(), name, where))


class GoroutineCommand(gdb.Command):
    """Run a command on a goroutine's stack: goroutine N|all bt|frame K|CMD...
  goroutine 7 bt         backtrace of goroutine 7 (parked or running)
  goroutine 7 frame 2    frame 2 of that backtrace
  goroutine all bt       every goroutine's backtrace
For a parked goroutine, its frames come from its saved context (a frame
unwinder: works on a live process and on a core file alike)."""

    def __init__(self):
        super().__init__("goroutine", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if len(argv) < 2:
            raise gdb.GdbError("usage: goroutine N|all bt|frame K|COMMAND...")
        which, rest = argv[0], argv[1:]
        command = " ".join(rest)
        is_bt = rest[0] in ("bt", "backtrace", "where")
        frame_arg = None
        if rest[0] in ("frame", "f"):
            try:
                frame_arg = int(rest[1]) if len(rest) > 1 else 0
            except ValueError:
                raise gdb.GdbError("goroutine N frame K: K is a frame number")
        try:
            gs = goroutines()
            if which == "all":
                chosen = gs
            else:
                try:
                    want = int(which)
                except ValueError:
                    raise gdb.GdbError("goroutine: %r is not a goroutine id (or all)" % which)
                chosen = [g for g in gs if g.id == want]
                if not chosen:
                    raise gdb.GdbError("goroutine %d not found (info goroutines lists them)" % want)
            for g in chosen:
                gdb.write(_header(g) + "\n")
                gdb.write(_goroutine_command(g, command, is_bt, frame_arg))
                if which == "all":
                    gdb.write("\n")
        except GoroError as e:
            raise gdb.GdbError("goro: %s" % e)
        except gdb.MemoryError as e:
            raise gdb.GdbError("goro: %s (a core file without the runtime's memory?)" % e)


InfoGoroutines()
GoroutineCommand()
