#!/usr/bin/env python3
"""trace_svg.py: draw a GORO_TRACE file (Chrome trace event JSON) as an SVG timeline.

    scripts/trace_svg.py TRACE.json OUT.svg [--width PX] [--from US] [--to US] [--title TEXT]

One row per worker track, one box per goroutine run (labelled G<id> when it fits; the colour follows the
goroutine), grey boxes for a worker's idle sleeps, ticks for spins/steals/netpoll/timers, and a line from
each ready to the run it caused. --from/--to (microseconds) cut a window out of a long trace. Only the
standard library; the JSON is what goro writes (README, "Observability").
"""
import argparse
import colorsys
import html
import json
import sys

ROW_H = 26
ROW_GAP = 8
LEFT = 90
TOP = 40
AXIS_H = 30


def colour(goid):
    hue = (goid * 0.61803398875) % 1.0  # golden-ratio steps: neighbours get distant hues
    r, g, b = colorsys.hls_to_rgb(hue, 0.62, 0.55)
    return "#%02x%02x%02x" % (int(r * 255), int(g * 255), int(b * 255))


def nice_step(span, ticks=8):
    raw = span / ticks
    mag = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("out")
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--from", dest="t0", type=float, default=None, help="window start, us")
    ap.add_argument("--to", dest="t1", type=float, default=None, help="window end, us")
    ap.add_argument("--title", default=None)
    a = ap.parse_args()

    with open(a.trace) as f:
        doc = json.load(f)
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    names, boxes, idles, marks, flows = {}, [], [], [], {}
    for e in events:
        ph = e.get("ph")
        if ph == "M" and e.get("name") == "thread_name":
            names[e["tid"]] = e["args"]["name"]
        elif ph == "X" and e.get("cat") == "goroutine":
            boxes.append((e["tid"], e["ts"], e["dur"], e["args"]["goid"], e["args"].get("end", ""),
                          e["args"].get("reason", "")))
        elif ph == "X" and e.get("name") == "idle":
            idles.append((e["tid"], e["ts"], e["dur"]))
        elif ph == "i" and e.get("cat") == "worker":
            marks.append((e["tid"], e["ts"], e["name"]))
        elif ph in ("s", "f"):
            flows.setdefault(e["id"], {})[ph] = (e["tid"], e["ts"])
    if not boxes:
        sys.exit("trace_svg: no goroutine runs in %s" % a.trace)

    t0 = a.t0 if a.t0 is not None else min(b[1] for b in boxes)
    t1 = a.t1 if a.t1 is not None else max(b[1] + b[2] for b in boxes)
    t1 = max(t1, t0 + 1)
    tids = sorted(t for t in names if any(b[0] == t for b in boxes) or any(i[0] == t for i in idles))
    row = {t: i for i, t in enumerate(tids)}
    plot_w = a.width - LEFT - 20
    height = TOP + len(tids) * (ROW_H + ROW_GAP) + AXIS_H + 30

    def x(t):
        return LEFT + (t - t0) / (t1 - t0) * plot_w

    def y(tid):
        return TOP + row[tid] * (ROW_H + ROW_GAP)

    def visible(ts, dur=0):
        return ts + dur >= t0 and ts <= t1

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="11">' % (a.width, height),
           '<rect width="100%" height="100%" fill="white"/>']
    other = doc.get("otherData", {}) if isinstance(doc, dict) else {}
    span = "%.1f ms" % ((t1 - t0) / 1000) if t1 - t0 >= 1000 else "%.1f us" % (t1 - t0)
    title = a.title or "goro trace: %d goroutine runs on %d workers, %s from %.3f ms%s" % (
        sum(1 for b in boxes if visible(b[1], b[2])), len(tids), span, t0 / 1000,
        ", %d events dropped" % other["dropped_events"] if other.get("dropped_events") else "")
    out.append('<text x="%d" y="20" font-size="14">%s</text>' % (LEFT, html.escape(title)))
    for tid in tids:
        out.append('<text x="8" y="%.1f">%s</text>' % (y(tid) + ROW_H * 0.65, html.escape(names[tid])))
        out.append('<rect x="%d" y="%.1f" width="%d" height="%d" fill="#f4f4f4"/>' % (LEFT, y(tid), plot_w, ROW_H))
    for tid, ts, dur in idles:
        if tid in row and visible(ts, dur):
            x0, x1 = max(x(ts), LEFT), min(x(ts + dur), LEFT + plot_w)
            out.append('<rect x="%.2f" y="%.1f" width="%.2f" height="%d" fill="#d8d8d8"><title>idle %.3f us'
                       '</title></rect>' % (x0, y(tid) + ROW_H * 0.35, max(x1 - x0, 0.5), ROW_H * 0.3, dur))
    for tid, ts, dur, goid, end, reason in boxes:
        if tid not in row or not visible(ts, dur):
            continue
        x0, x1 = max(x(ts), LEFT), min(x(ts + dur), LEFT + plot_w)
        w = max(x1 - x0, 1.0)
        tip = "G%d: %.3f us at %.3f us, then %s%s" % (goid, dur, ts, end, (" (" + reason + ")") if reason else "")
        out.append('<rect x="%.2f" y="%.1f" width="%.2f" height="%d" fill="%s" stroke="#333" stroke-width="0.3">'
                   '<title>%s</title></rect>' % (x0, y(tid), w, ROW_H, colour(goid), html.escape(tip)))
        label = "G%d" % goid
        if w >= 7 * len(label) + 4:
            out.append('<text x="%.2f" y="%.1f" text-anchor="middle">%s</text>' % (
                (x0 + x1) / 2, y(tid) + ROW_H * 0.65, label))
    for tid, ts, name in marks:
        if tid in row and visible(ts):
            out.append('<line x1="%.2f" x2="%.2f" y1="%.1f" y2="%.1f" stroke="#c00" stroke-width="1">'
                       '<title>%s</title></line>' % (x(ts), x(ts), y(tid) + ROW_H, y(tid) + ROW_H + 4, name))
    for ends in flows.values():
        if "s" in ends and "f" in ends:
            (st, sts), (ft, fts) = ends["s"], ends["f"]
            if st in row and ft in row and visible(sts) and visible(fts):
                # An arc from the waker (its row's top) to the run it caused.
                x0, y0, x1, y1 = x(sts), y(st), x(fts), y(ft)
                lift = min(ROW_GAP + 6, 4 + abs(x1 - x0) / 4)
                out.append('<path d="M%.2f,%.1f Q%.2f,%.1f %.2f,%.1f" fill="none" stroke="#2060c0" stroke-width="0.9" '
                           'stroke-opacity="0.8"/>' % (x0, y0, (x0 + x1) / 2, min(y0, y1) - lift, x1, y1))
    axis_y = TOP + len(tids) * (ROW_H + ROW_GAP) + 5
    out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>' % (LEFT, LEFT + plot_w, axis_y, axis_y))
    step = nice_step(t1 - t0)
    t = t0
    while t <= t1 + 1e-9:
        label = "+%g ms" % ((t - t0) / 1000) if step >= 100 else "+%g us" % (t - t0)
        out.append('<line x1="%.2f" x2="%.2f" y1="%d" y2="%d" stroke="black"/><text x="%.2f" y="%d" '
                   'text-anchor="middle">%s</text>' % (x(t), x(t), axis_y, axis_y + 5, x(t), axis_y + 18, label))
        t += step
    out.append('<text x="%d" y="%d" fill="#555">boxes: goroutine runs (hover for how each ended); grey: idle; '
               'blue arcs: ready &#8594; the run it caused; red ticks: spin/steal/netpoll/timers</text>' % (LEFT, height - 8))
    out.append("</svg>")
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
