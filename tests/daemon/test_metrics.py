#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmpressured's Prometheus metrics, end to end (TAP).

usage: test_metrics.py VMPRESSURED VMPRESSURE DATADIR PROMTOOL

A daemon plays tests/data/anon1.vmpt (--trace-hold, then SIGUSR1, in real
time) with two --metrics-cgroup listeners and a client's, serving HTTP on
127.0.0.1 (port 0: the kernel picks one; the log says which) and writing a
textfile every 0.2 s. Scrapes before, during and after the run:
  - the counters only ever grow, and some scrape and some textfile read
    saw them part-way;
  - the final counts by level equal `vmpressure replay --events` for the
    trace's listener with the same cgroup and args (not hard-coded), and
    the scanned/reclaimed/pressure series equal what a stream client of
    the same listener was sent;
  - both expositions pass `promtool check metrics` (PROMTOOL is
    tests/daemon/promtool.sh; skipped, saying so, where there is none);
  - HTTP: the content type, HEAD, 404, 405, 400, 414, 431, an idle
    connection does not hold up a scrape, the connection limit;
  - errors: a textfile directory that does not exist (logged with the
    path, the daemon serves on, the file appears once the directory
    does), a port in use, non-loopback and malformed addresses, a cgroup
    that does not exist, bad option combinations.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

DAEMON, CLI, DATA, PROMTOOL = sys.argv[1:5]
TRACE = os.path.join(DATA, "anon1.vmpt")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tap import check as ok, done, skip  # noqa: E402




T = tempfile.mkdtemp(prefix="vmp-metrics-")
procs = []


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(T, ignore_errors=True)


def start(*args, log=None):
    """A daemon with a private socket; returns (proc, socket path, log path)."""
    sock = os.path.join(T, f"s{len(procs)}")
    log = log or os.path.join(T, f"log{len(procs)}")
    p = subprocess.Popen([DAEMON, "--socket", sock, "--log-file", log, *args],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    procs.append(p)
    return p, sock, log


def wait_for(pred, timeout=20.0, step=0.02):
    t = time.monotonic() + timeout
    while time.monotonic() < t:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def port_of(log):
    m = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", read(log))
    return int(m.group(1)) if m else None


def http(port, raw, timeout=10.0):
    """Send raw bytes, return (status, headers dict, body bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(raw)
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


def get(port, path="/metrics", method="GET"):
    return http(port, f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def parse(text):
    """{(name, frozenset(labels)): value}"""
    out = {}
    for ln in text.splitlines():
        if not ln or ln.startswith("#"):
            continue
        m = SAMPLE.match(ln)
        if not m:
            out[("__unparsed__", ln)] = 0
            continue
        labels = {}
        for k, v in LABEL.findall(m.group(3) or ""):
            labels[k] = re.sub(r'\\(.)', lambda x: "\n" if x.group(1) == "n" else x.group(1), v)
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return out


def val(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def promtool_check(text, what):
    try:
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True,
                           timeout=60)
    except OSError as e:
        skip(what, f"cannot run promtool: {e}")
        return
    if r.returncode == 127:
        skip(what, r.stderr.decode().strip())
        return
    out = (r.stdout + r.stderr).decode().strip()
    ok(r.returncode == 0 and not out, f"{what} (promtool: {out or 'no problem'})")


def expected_counts(extra):
    """{(cgroup, args): {level: count}} from `vmpressure replay --events`,
    of the trace with `extra` listeners added after its own."""
    ids, lines = {}, []
    for ln in open(TRACE):
        f = ln.split()
        if len(f) >= 4 and f[0] == "listen":
            ids[f[1]] = (f[2], f[3])
        elif ids and extra:
            for cg, args in extra:
                i = str(len(ids))
                ids[i] = (cg, args)
                lines.append(f"listen {i} {cg} {args}\n")
            extra = None
        lines.append(ln)
    path = os.path.join(T, "with-extra.vmpt")
    with open(path, "w") as f:
        f.writelines(lines)
    r = subprocess.run([CLI, "replay", "--events", path], capture_output=True, text=True, check=True)
    counts = {k: {"low": 0, "medium": 0, "critical": 0} for k in ids.values()}
    for ln in r.stdout.splitlines():
        f = ln.split()
        if len(f) == 3:
            counts[ids[f[1]]][f[2]] += 1
    return counts


def counts_of(samples, cgroup, args):
    return {lv: val(samples, "vmpressure_notifications_total", cgroup=cgroup, args=args, level=lv)
            for lv in ("low", "medium", "critical")}


def total(c):
    return sum(v or 0 for v in c.values())


def main():
    exp = expected_counts([("aa", "medium,hierarchy")])
    L1 = ("aa", "low,hierarchy")   # independent of other listeners (spec §8)
    L2 = ("aa", "critical,local")
    ok(total(exp[L1]) > 0 and exp[L2]["critical"] > 0,
       f"the replay's counts for aa low,hierarchy {exp[L1]} and aa critical,local {exp[L2]}")

    # ---- the pressure run --------------------------------------------------
    pdir = os.path.join(T, "prom")
    os.mkdir(pdir)
    tf = os.path.join(pdir, "vmpressured.prom")
    d, sock, log = start("--trace", TRACE, "--speed", "1", "--trace-hold",
                         "--metrics-cgroup", "aa", "--metrics-cgroup", "/aa/:critical,local",
                         "--metrics-listen", "127.0.0.1:0", "--metrics-textfile", tf,
                         "--metrics-interval", "0.2")
    port = wait_for(lambda: port_of(log))
    if not ok(port and wait_for(lambda: os.path.exists(sock)), "the daemon is up; the log names the port"):
        print(read(log))
        return
    st, hdrs, body = get(port)
    ok(st == 200 and hdrs.get("content-type") == "text/plain; version=0.0.4; charset=utf-8",
       f"GET /metrics: 200, Content-Type {hdrs.get('content-type')}")
    ok(hdrs.get("content-length") == str(len(body)), "Content-Length is the body's")
    s0 = parse(body.decode())
    ok(counts_of(s0, *L1) == {"low": 0, "medium": 0, "critical": 0},
       "before the run: the --metrics-cgroup listener's counters are there, at 0")
    ok(counts_of(s0, *L2) == {"low": None, "medium": None, "critical": 0},
       "a critical listener has only the critical series")
    ok(val(s0, "vmpressure_level", cgroup="aa", args="low,hierarchy") == 0, "level 0 before any")
    ok(val(s0, "vmpressure_last_notification_timestamp_seconds", cgroup="aa", args="low,hierarchy") is None,
       "no last-notification time before any")
    ok(not any(k[0] == "__unparsed__" for k in s0), "every sample line parses")
    ok(wait_for(lambda: os.path.exists(tf)), "the textfile is written at startup")
    promtool_check(body.decode(), "the HTTP exposition passes promtool check metrics")
    promtool_check(read(tf), "the textfile passes promtool check metrics")
    st, hdrs, hbody = get(port, method="HEAD")
    ok(st == 200 and hbody == b"" and int(hdrs.get("content-length", "0")) > 0, "HEAD: 200, a length, no body")

    # A client of the same listener (shared), and one of its own.
    c = socket.socket(socket.AF_UNIX)
    c.connect(sock)
    c.sendall(b"subscribe aa low,hierarchy stream\nsubscribe aa medium,hierarchy stream\n")
    cf = c.makefile("rb")
    r1 = json.loads(cf.readline())
    r2 = json.loads(cf.readline())
    ok(r1.get("ok") and r2.get("ok"), "a client subscribes to the same listener and to another")
    s1 = parse(get(port)[2].decode())
    ok(val(s1, "vmpressure_level", cgroup="aa", args="medium,hierarchy") == 0 and
       val(s1, "vmpressured_subscriptions") == 2 and val(s1, "vmpressured_listeners") == 3 and
       val(s1, "vmpressured_clients") == 1,
       "the client's own listener has series; the shared one is one listener (3 in all)")

    # Run: scrape and read the textfile as it goes.
    d.send_signal(signal.SIGUSR1)
    final = total(exp[L1])
    seen_http, seen_file = [], []
    t_end = time.monotonic() + 60
    while time.monotonic() < t_end:
        s = parse(get(port)[2].decode())
        seen_http.append(s)
        f = parse(read(tf))
        if f:
            seen_file.append(f)
        if total(counts_of(s, *L1)) >= final and f and total(counts_of(f, *L1)) >= final:
            break
        time.sleep(0.05)

    def monotonic(seq, what):
        good = True
        for a, b in zip(seq, seq[1:]):
            for k, v in a.items():
                if k[0].endswith("_total") and k[0].startswith("vmpressure_") and k in b and b[k] < v:
                    good = False
        ok(good, f"{what}: no counter ever goes down ({len(seq)} reads)")

    monotonic(seen_http, "HTTP scrapes")
    monotonic(seen_file, "textfile reads")
    mid = [total(counts_of(s, *L1)) for s in seen_http]
    ok(any(0 < x < final for x in mid), f"a scrape saw the run part-way ({sorted(set(mid))[:6]}...)")
    midf = [total(counts_of(s, *L1)) for s in seen_file]
    ok(any(0 < x < final for x in midf), "a textfile read saw the run part-way")

    # Final: the replay's counts, by level, for both listeners.
    sf = seen_http[-1]
    ok(counts_of(sf, *L1) == {k: float(v) for k, v in exp[L1].items()},
       f"aa low,hierarchy: {counts_of(sf, *L1)} = the replay's {exp[L1]}")
    time.sleep(0.5)  # both --metrics-cgroup counts settle: the trace is done
    sf = parse(get(port)[2].decode())
    ok(counts_of(sf, *L2)["critical"] == exp[L2]["critical"],
       f"aa critical,local: {counts_of(sf, *L2)['critical']} = the replay's {exp[L2]['critical']}")
    L3 = ("aa", "medium,hierarchy")
    e3 = {k: (float(v) if k != "low" else None) for k, v in exp[L3].items()}
    ok(counts_of(sf, *L3) == e3 and total(e3) > 0,
       f"the client's aa medium,hierarchy: {counts_of(sf, *L3)} = the replay's {exp[L3]}")
    wait_for(lambda: counts_of(parse(read(tf)), *L2)["critical"] == exp[L2]["critical"], 5)
    tfs = parse(read(tf))
    ok(all(tfs.get(k) == v for k, v in sf.items() if k[0].startswith("vmpressure_")),
       "the textfile's vmpressure_ series equal the scrape's")

    # The stream client of the same listener: same counts, same evidence.
    c.settimeout(10)
    by, scanned, reclaimed, last_p = {"low": 0, "medium": 0, "critical": 0}, 0, 0, None
    while sum(by.values()) < final:
        ev = json.loads(cf.readline())
        if ev.get("event") == "pressure" and ev.get("id") == r1["id"]:
            by[ev["level"]] += ev["count"]
            scanned += ev["scanned"]
            reclaimed += ev["reclaimed"]
            last_p = ev["pressure"]
    lab = {"cgroup": "aa", "args": "low,hierarchy"}
    ok({k: float(v) for k, v in by.items()} == counts_of(sf, *L1), "the stream client got the same counts")
    ok(val(sf, "vmpressure_scanned_pages_total", **lab) == scanned and scanned > 0,
       f"scanned pages = the sum of the events' evidence ({scanned})")
    ok(val(sf, "vmpressure_reclaimed_pages_total", **lab) == reclaimed,
       f"reclaimed pages = the sum of the events' evidence ({reclaimed})")
    ok(last_p is not None and abs(val(sf, "vmpressure_pressure_ratio", **lab) - last_p / 100) < 1e-9,
       f"pressure ratio = the last event's pressure / 100 ({last_p})")
    ok(val(sf, "vmpressure_level", **lab) == 3, "level 3 (critical) right after critical windows")
    lt = val(sf, "vmpressure_last_notification_timestamp_seconds", **lab)
    ok(lt is not None and abs(lt - time.time()) < 60, "the last notification's time is now-ish Unix time")
    ps = val(sf, "process_start_time_seconds")
    ok(ps is not None and abs(ps - time.time()) < 300 and val(sf, "process_resident_memory_bytes") > 0 and
       val(sf, "process_open_fds") > 3 and val(sf, "process_max_fds") > 0 and
       val(sf, "process_cpu_seconds_total") >= 0, "process_* values")
    promtool_check(get(port)[2].decode(), "after the run: the exposition passes promtool check metrics")
    ok(sorted(os.listdir(pdir)) == ["vmpressured.prom"], f"no temporary file left: {os.listdir(pdir)}")

    # The client goes: its own listener's series go with it; the pinned stay.
    cf.close()
    c.close()
    wait_for(lambda: val(parse(get(port)[2].decode()), "vmpressured_clients") == 0, 5)
    s = parse(get(port)[2].decode())
    ok(val(s, "vmpressure_level", cgroup="aa", args="medium,hierarchy") is None and
       val(s, "vmpressure_level", **lab) is not None, "a client's listener ends with it; --metrics-cgroup's stays")

    # ---- HTTP refusals ------------------------------------------------------
    st, hdrs, b = get(port, "/")
    ok(st == 404, f"GET /: 404 ({b.decode().strip()})")
    st, hdrs, b = get(port, "/metrics", "POST")
    ok(st == 405 and hdrs.get("allow") == "GET, HEAD", "POST /metrics: 405, Allow: GET, HEAD")
    st, _, b = http(port, b"HELLO\r\n\r\n")
    ok(st == 400, f"garbage: 400 ({b.decode().strip()})")
    st, _, b = http(port, b"GET /metrics HTTP/1.1\r\n\r\n")
    ok(st == 400, "HTTP/1.1 without Host: 400")
    st, _, b = http(port, b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    ok(st == 414, "a 2000-byte request line: 414")
    st, _, b = http(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"p" * 10000 + b"\r\n\r\n")
    ok(st == 431, "a 10 KB header: 431")
    st, _, _ = http(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
    ok(st == 400, "a request body: 400")
    idle = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic()
    st = get(port)[0]
    ok(st == 200 and time.monotonic() - t0 < 2, "an idle connection does not hold up a scrape")
    idle.close()
    idles = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
    time.sleep(0.2)
    t0 = time.monotonic()
    st = get(port)[0]
    dt = time.monotonic() - t0
    ok(st == 200, f"16 idle connections: the 17th is answered, not held up ({dt:.1f} s)")
    # ... because the oldest idle one was closed to make room for it
    # (slowloris, issue 12), and the rest by their 5 s deadline.
    idles[0].settimeout(1)
    try:
        first = idles[0].recv(1) == b""
    except OSError:
        first = True
    ok(first, "... the oldest idle connection was closed for it")
    closed = 0
    for s_ in idles:
        s_.settimeout(8)
        try:
            closed += s_.recv(1) == b""
        except OSError:
            closed += 1
        s_.close()
    ok(closed == 16, f"... and the others by their deadline ({closed}/16)")
    ok(d.poll() is None, "the daemon is still running")

    d.send_signal(signal.SIGTERM)
    rc = d.wait(10)
    ok(rc == 0 and not os.path.exists(tf), f"SIGTERM: exit {rc}, the textfile removed")

    # ---- errors ---------------------------------------------------------------
    nodir = os.path.join(T, "nodir")
    tf2 = os.path.join(nodir, "x.prom")
    d, sock, log = start("--trace", TRACE, "--trace-hold", "--metrics-textfile", tf2,
                         "--metrics-interval", "0.1", "--metrics-listen", "127.0.0.1:0")
    port = wait_for(lambda: port_of(log))
    ok(port and wait_for(lambda: "No such file or directory" in read(log), 5) and d.poll() is None,
       "a textfile directory that does not exist: logged, the daemon runs on")
    ok(f"metrics textfile {tf2}: cannot create {nodir}/.x.prom." in read(log), "... the message names the path")
    s = parse(get(port)[2].decode()) if port else {}
    ok(val(s, "vmpressure_level", cgroup="/", args="low,hierarchy") == 0,
       "no --metrics-cgroup: the root with low,hierarchy, served over HTTP")
    time.sleep(0.5)
    ok(read(log).count("cannot create") == 1, "the failure is logged once, not every tick")
    os.mkdir(nodir)
    ok(wait_for(lambda: os.path.exists(tf2), 5) and wait_for(lambda: "written again" in read(log), 5),
       "once the directory exists the file is written, and the log says so")
    d.send_signal(signal.SIGTERM)
    d.wait(10)

    notdir = os.path.join(T, "afile")
    open(notdir, "w").close()
    d, sock, log = start("--trace", TRACE, "--metrics-textfile", os.path.join(notdir, "x.prom"))
    ok(wait_for(lambda: "Not a directory" in read(log), 5) and d.poll() is None,
       "a textfile below a regular file: logged (Not a directory), the daemon runs on")
    d.send_signal(signal.SIGTERM)
    d.wait(10)

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    bport = busy.getsockname()[1]
    d, sock, log = start("--trace", TRACE, "--metrics-listen", f"127.0.0.1:{bport}")
    rc = d.wait(10)
    ok(rc == 73 and f"cannot listen on 127.0.0.1:{bport} (--metrics-listen): Address already in use" in read(log),
       f"a port in use: exit {rc}, the address and the reason")
    ok(not os.path.exists(sock), "... and the control socket is not left behind")
    busy.close()

    def usage(args, want, what):
        p = subprocess.run([DAEMON, "--socket", os.path.join(T, "u"), "--trace", TRACE, *args],
                           capture_output=True, text=True, timeout=10)
        ok(p.returncode == 64 and want in p.stderr, f"{what}: exit {p.returncode}: {p.stderr.splitlines()[0] if p.stderr else ''}")

    for a in ("0.0.0.0:9101", "192.0.2.1:80", "[::]:9101", "[2001:db8::1]:80"):
        usage(["--metrics-listen", a], "not a loopback address", f"--metrics-listen {a} refused")
    usage(["--metrics-listen", "127.0.0.1"], "ADDRESS:PORT", "an address without a port")
    usage(["--metrics-listen", "127.0.0.1:65536"], "the port must be", "a port past 65535")
    usage(["--metrics-listen", "example.com:80"], "not an IP address", "a host name")
    usage(["--metrics-listen", "127.0.0.1:0", "--metrics-cgroup", "aa:bogus"], "bad args 'bogus'",
          "--metrics-cgroup with bad args")
    usage(["--metrics-listen", "127.0.0.1:0", "--metrics-cgroup", "a/../b"], "bad cgroup path",
          "--metrics-cgroup with '..'")
    usage(["--metrics-cgroup", "aa"], "need --metrics-textfile or --metrics-listen",
          "--metrics-cgroup without an output")
    usage(["--metrics-textfile", os.path.join(T, "x.prom"), "--metrics-interval", "0"], "from 0.1",
          "--metrics-interval 0")
    d, sock, log = start("--trace", TRACE, "--metrics-listen", "127.0.0.1:0", "--metrics-cgroup", "nosuch")
    rc = d.wait(10)
    ok(rc == 69 and "--metrics-cgroup nosuch: no such cgroup" in read(log), f"a cgroup that does not exist: exit {rc}")


try:
    main()
finally:
    cleanup()
done()
