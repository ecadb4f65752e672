#!/usr/bin/env python3
"""vmpressure plot's SVGs as a browser shows them: headless Chromium takes a
screenshot of the plot of every trace in DATADIR and of an empty trace; the
PNG must exist and not be blank. The PNG is decoded with zlib alone (no
extra Python package): a screenshot of a plot has thousands of pixels that
are not the white background, and coloured ones (bands, series, markers).
Skips (TAP "1..0 # SKIP") where chromium is not installed: scripts/deps.sh
plot installs it. TAP on stdout.
usage: render.py VMPRESSURE DATADIR
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

V, D = sys.argv[1], sys.argv[2]
browser = shutil.which("chromium") or shutil.which("chromium-browser")
if not browser:
    print("1..0 # SKIP chromium is not installed (scripts/deps.sh plot installs it)")
    sys.exit(0)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tap import check, done  # noqa: E402



def png_pixels(path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB/RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        ln, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + ln]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + ln
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("unsupported PNG (depth %d, colour type %d)" % (depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def svg_size(svg):
    head = open(svg, encoding="utf-8").read(600)
    w = int(head.split('width="', 1)[1].split('"', 1)[0])
    h = int(head.split('height="', 1)[1].split('"', 1)[0])
    return w, h


tmp = tempfile.mkdtemp(prefix="vmp-render-")
try:
    empty = os.path.join(tmp, "empty.vmpt")
    open(empty, "w").write("group / -\nlisten 0 / low\n")
    cases = [(os.path.join(D, f), f, 0.05) for f in sorted(os.listdir(D)) if f.endswith(".vmpt")]
    for trace, label, min_ink in cases + [(empty, "empty trace", 0.01)]:
        svg = os.path.join(tmp, label.replace(" ", "-") + ".svg")
        png = svg[:-4] + ".png"
        r = subprocess.run([V, "plot", trace, "-o", svg], capture_output=True, text=True)
        check(r.returncode == 0, "%s: plot exits 0" % label)
        w, h = svg_size(svg)
        try:
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--user-data-dir=" + os.path.join(tmp, "profile"), "--window-size=%d,%d" % (w, h),
                            "--screenshot=" + png, "file://" + svg],
                           capture_output=True, timeout=120, cwd=tmp)
        except subprocess.TimeoutExpired:
            pass
        check(os.path.isfile(png) and os.path.getsize(png) > 0, "%s: chromium wrote a screenshot" % label)
        if not os.path.isfile(png):
            continue
        try:
            pw, ph, bpp, rows = png_pixels(png)
        except (ValueError, zlib.error, TypeError) as e:
            check(False, "%s: the screenshot decodes (%s)" % (label, e))
            continue
        check((pw, ph) == (w, h), "%s: the screenshot is the SVG's size (%dx%d)" % (label, pw, ph))
        ink = colour = 0
        for line in rows:
            for i in range(0, len(line), bpp):
                r_, g_, b_ = line[i], line[i + 1], line[i + 2]
                if r_ < 245 or g_ < 245 or b_ < 245:
                    ink += 1
                if max(r_, g_, b_) - min(r_, g_, b_) > 40:
                    colour += 1
        share = ink / float(pw * ph)
        check(share >= min_ink, "%s: not blank (%.1f %% of the pixels are not background)" % (label, 100 * share))
        check(colour > 1000, "%s: in colour: bands, lines, markers (%d coloured pixels)" % (label, colour))
        keep = os.environ.get("VMP_PLOT_PNG_DIR")
        if keep:
            shutil.copy(png, os.path.join(keep, os.path.basename(png)))
finally:
    shutil.rmtree(tmp, ignore_errors=True)

done("plot-render")
