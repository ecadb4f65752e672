#!/usr/bin/env python3
"""vmpressure plot's SVGs, checked against the replay of the same file.

For every trace in DATADIR, and for an empty and a huge synthetic one: the
SVG is well-formed XML, self-contained (no script, no external reference),
has the file's name in its title, one series per `group` record, and as
many notification markers per listener (the sum of their data-n) as
`vmpressure replay` counts for it. Then the errors: a malformed trace, an
unwritable output. TAP on stdout.
usage: check_svg.py VMPRESSURE DATADIR
"""
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

V, D = sys.argv[1], sys.argv[2]
NS = "{http://www.w3.org/2000/svg}"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tap import check, done  # noqa: E402



def replay_counts(path):
    out = subprocess.run([V, "replay", path], capture_output=True, text=True, check=True).stdout
    return {int(a): int(b) for a, b in (l.split() for l in out.splitlines())}


def plot(path, svg):
    return subprocess.run([V, "plot", path, "-o", svg], capture_output=True, text=True)


def tag(e):
    return e.tag[len(NS):] if e.tag.startswith(NS) else e.tag


def check_plot(path, label):
    svg = os.path.join(tmp, os.path.basename(path) + ".svg")
    r = plot(path, svg)
    check(r.returncode == 0 and "runtime error" not in r.stderr and "Sanitizer" not in r.stderr,
          "%s: plot exits 0, cleanly (%s)" % (label, " | ".join(r.stderr.strip().splitlines())[-300:]))
    try:
        root = ET.parse(svg).getroot()
    except (ET.ParseError, OSError) as e:
        check(False, "%s: well-formed XML (%s)" % (label, e))
        return None
    check(tag(root) == "svg" and root.tag.startswith(NS), "%s: well-formed XML, an <svg> root" % label)
    els = list(root.iter())
    check(not any(tag(e) in ("script", "foreignObject", "image", "use") for e in els),
          "%s: no script, no embedded or external object" % label)
    text = open(svg, encoding="utf-8").read()  # must be valid UTF-8
    check(not re.search(r"href|url\(|@import|<style", text), "%s: no external reference (href, url(), @import)" % label)
    title = root.find(NS + "title")
    check(title is not None and os.path.basename(path) in (title.text or ""),
          "%s: the title names the file" % label)
    groups = [l.split(b" ")[1].decode("utf-8", "replace").replace("\ufffd", "?")
              for l in open(path, "rb") if l.startswith(b"group ")]
    series = [e for e in els if e.get("class") == "series"]
    check(len(series) == len(groups) and sorted(e.get("data-group") for e in series) == sorted(groups),
          "%s: one series per group (%d, %d)" % (label, len(series), len(groups)))
    counts = replay_counts(path)
    marks = {}
    for e in els:
        if e.get("class") == "mk":
            lid = int(e.get("data-listener"))
            marks[lid] = marks.get(lid, 0) + int(e.get("data-n"))
    bad = [(i, marks.get(i, 0), c) for i, c in counts.items() if marks.get(i, 0) != c]
    check(not bad and set(marks) <= set(counts),
          "%s: markers per listener == replay's notifications (%d listeners, %d notifications%s)"
          % (label, len(counts), sum(counts.values()), "; differ: %s" % bad[:5] if bad else ""))
    lanes = [e for e in els if e.get("class") == "lane"]
    check(len(lanes) == len(counts), "%s: one row per listener" % label)
    bands = sorted(e.get("data-level") for e in els if e.get("class") == "band")
    check(bands == ["critical", "low", "medium"], "%s: the three level bands" % label)
    return root, text


tmp = tempfile.mkdtemp(prefix="vmp-plot-")
try:
    traces = sorted(f for f in os.listdir(D) if f.endswith(".vmpt"))
    check(len(traces) >= 4, "the traces of %s (%d)" % (D, len(traces)))
    for f in traces:
        res = check_plot(os.path.join(D, f), f)
        if res:
            check("every window and every notification drawn" in res[1], "%s: drawn whole (not decimated)" % f)

    # an empty trace: the root alone
    empty = os.path.join(tmp, "empty.vmpt")
    open(empty, "w").write("# vmptrace 1\ngroup / -\n")
    res = check_plot(empty, "empty trace")
    check(res is not None and "no window was evaluated" in res[1], "empty trace: says there is nothing to draw")

    # a huge one: 200,000 windows at two groups, 3 listeners
    huge = os.path.join(tmp, "huge.vmpt")
    with open(huge, "w") as h:
        h.write("group / -\ngroup a /\ngroup a/b a\nlisten 0 a low,hierarchy\nlisten 1 a/b medium\nlisten 2 / critical\n")
        for i in range(200000):
            g = "a/b" if i % 3 else "a"
            h.write("vmpressure %d.%06d %s 1 512 %d 0xca\n" % (i // 10000, (i % 10000) * 100, g, (i * 37) % 512))
    res = check_plot(huge, "huge trace")
    if res:
        check("decimated:" in res[1], "huge trace: says it is decimated")
        size = os.path.getsize(os.path.join(tmp, "huge.vmpt.svg"))
        check(size < 4 << 20, "huge trace: the SVG stays small (%d bytes for 200,000 windows)" % size)

    # a zoom: --from/--to draw the range's notifications, as replay --events
    # times them
    a1 = os.path.join(D, "anon1.vmpt")
    ev = subprocess.run([V, "replay", "--events", "--quiet", a1], capture_output=True, text=True,
                        check=True).stdout.split("\n")
    want = {}
    for l in ev:
        if l and 16.0 <= float(l.split()[0]) <= 16.1:
            want[int(l.split()[1])] = want.get(int(l.split()[1]), 0) + 1
    zs = os.path.join(tmp, "zoom.svg")
    r = subprocess.run([V, "plot", a1, "--from", "16.0", "--to", "16.1", "-o", zs], capture_output=True)
    got = {}
    if r.returncode == 0:
        for e in ET.parse(zs).getroot().iter():
            if e.get("class") == "mk":
                got[int(e.get("data-listener"))] = got.get(int(e.get("data-listener")), 0) + int(e.get("data-n"))
    check(r.returncode == 0 and got == want and sum(want.values()) > 0,
          "--from 16.0 --to 16.1: the range's notifications per listener (%s)" % sorted(want.items()))
    # The final burst gets room: anon1's 147 critical notifications (listener
    # 2) fall in its last tenth of a second, under 1 % of a linear axis;
    # by default they must spread over a fifth of the chart (170 px of 850).
    def spread(args):
        svg = os.path.join(tmp, "spread.svg")
        subprocess.run([V, "plot", a1, "-o", svg] + args, capture_output=True, check=True)
        xs = []
        for e in ET.parse(svg).getroot().iter():
            if e.get("class") == "mk" and e.get("data-listener") == "2":
                xs.append(float(e.get("x")) + 4)
        return (max(xs) - min(xs)) if xs else 0, open(svg, encoding="utf-8").read()
    wide, text = spread([])
    narrow, ltext = spread(["--linear"])
    check(wide >= 170 and narrow < 30,
          "anon1: the final burst's critical notifications span %.0f px (--linear: %.0f px)" % (wide, narrow))
    check("stretched where windows are dense" in text and "stretched" not in ltext,
          "anon1: the time axis says it is stretched, and --linear that it is not")
    check("timing" not in text and "the time the kernel evaluated it" in text,
          "anon1: the subtitle says in words what the times are")
    r = subprocess.run([V, "plot", a1, "--from", "2", "--to", "1", "-o", zs], capture_output=True)
    check(r.returncode == 2, "--from after --to: exit 2")
    r = subprocess.run([V, "plot", a1, "--from", "x", "-o", zs], capture_output=True)
    check(r.returncode == 2, "--from x: exit 2")

    # names that are not plain ASCII: UTF-8 kept, other bytes replaced, and
    # the SVG stays well-formed (the reader takes any byte above space)
    odd = os.path.join(tmp, "caf\u00e9 & <odd>.vmpt")
    with open(odd, "wb") as h:
        h.write(b"group / -\ngroup caf\xc3\xa9 /\ngroup x\xff\xfe&<'\"> /\ngroup caf\xc3\xa9/" + b"\xe2\x82\xac" * 20 +
                b" caf\xc3\xa9\nlisten 0 caf\xc3\xa9 low,hierarchy\nlisten 1 x\xff\xfe&<'\"> low\n")
        for i in range(40):
            h.write(b"vmpressure %d.5 " % i + (b"x\xff\xfe&<'\">" if i % 2 else b"caf\xc3\xa9/" + b"\xe2\x82\xac" * 20) +
                    b" 1 512 100 0xca\n")
    res = check_plot(odd, "odd names")
    check(res is not None and "caf\u00e9/\u20ac" in res[1] and "x??&amp;&lt;&apos;&quot;&gt;" in res[1],
          "odd names: UTF-8 kept, other bytes as '?', markup escaped")

    # errors
    bad = os.path.join(tmp, "bad.vmpt")
    open(bad, "w").write("group / -\nvmpressure 1.0 / 1 12x 0 0xca\n")
    r = plot(bad, os.path.join(tmp, "bad.svg"))
    check(r.returncode == 2 and ":2:" in r.stderr, "malformed trace: exit 2, the line named")
    check(not os.path.exists(os.path.join(tmp, "bad.svg")), "malformed trace: no SVG written")
    r = plot(os.path.join(D, traces[0]), os.path.join(tmp, "no", "such", "x.svg"))
    check(r.returncode == 74 and "no/such/x.svg" in r.stderr, "unwritable output: exit 74, the path named")
    r = plot(os.path.join(tmp, "missing.vmpt"), os.path.join(tmp, "m.svg"))
    check(r.returncode == 74 and "missing.vmpt" in r.stderr, "unreadable trace: exit 74, the path named")
    r = subprocess.run([V, "plot"], capture_output=True)
    check(r.returncode == 64, "plot without FILE: exit 64")
    r = subprocess.run([V, "plot", "--help"], capture_output=True, text=True)
    check(r.returncode == 0 and "-o" in r.stdout, "plot --help")
finally:
    subprocess.run(["rm", "-rf", tmp])

done("plot")
