#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmpressured's OOM forecasts, end to end (TAP).

usage: test_forecast.py VMPRESSURED DATADIR PROMTOOL MP_CLIENT

(environment, as for the mpwatch test: $MPWATCH_CC, $MPWATCH_SDEV_SRC,
$MPWATCH_SDEV_DEPS to build the sd-event client against libsystemd 254)

A daemon on a fixture tree of cgroup v2 files (--source v2, --cgroup-root,
--proc-root) follows app/job (100 MiB limit) for a stream client
(`subscribe app/job low stream forecast=5`) and for its metrics
(--metrics-cgroup app/job). The test grows the group's anonymous memory at
10 MiB/s by rewriting its files in place, as the kernel's change:
  - the client gets one "event":"forecast" with an eta under 5 s, its
    evidence (limit, unreclaimable growing) and a time;
  - vmpressure_oom_eta_seconds{cgroup="app/job"} is +Inf while the group
    is flat and finite while it grows, in a textfile promtool accepts;
  - an oom_kill in memory.events clears it: "event":"forecast-clear",
    cause killed;
  - `--exec 'app/job forecast=5 COMMAND'` runs for both with VMP_ETA and
    the evidence;
  - clients of systemd's memory pressure protocol on
    `--memory-pressure-endpoint 'PATH app/job forecast=5'` are woken by
    the forecast, and not before it: mp_client (the protocol by hand) and,
    where libsystemd 254 can be built against, the unmodified sd-event
    client (sdevent_client.c, sd_event_add_memory_pressure());
  - list shows the threshold; bad flags and a missing cgroup get their
    error replies; a trace source refuses forecasts (ENOTSUP), and an
    --exec on forecasts with it does not start (exit 69).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

DAEMON, DATA, PROMTOOL, MPC = sys.argv[1:5]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tap import check as ok, done, skip  # noqa: E402
# text as file_text: main() has a local `text` (the textfile) its closures would see
from daemon import sdevent_client, serving, text as file_text, wait_for  # noqa: E402

T = tempfile.mkdtemp(prefix="vmp-fcd-")
procs = []
MIB = 1 << 20


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(T, ignore_errors=True)


def put(path, text):
    with open(path, "w") as f:
        f.write(text)


def rewrite(path, text):
    """In place, same length: a reader's pread sees the old or the new."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, text.encode(), 0)
    finally:
        os.close(fd)


def stat_text(anon):
    return (f"anon {anon:020d}\nfile 00000000000000400000\nshmem 0\nactive_file 00000000000000200000\n"
            "inactive_file 00000000000000200000\nslab_reclaimable 0\nslab_unreclaimable 0\n"
            "workingset_refault_anon 0\nworkingset_refault_file 0\npgscan 0\npgsteal 0\n")


def events_text(kills):
    return f"low 0\nhigh 0\nmax 0\noom {kills}\noom_kill {kills}\n"


def fixture():
    cg, pr = os.path.join(T, "cg"), os.path.join(T, "proc")
    for d in ("app", "app/job"):
        os.makedirs(os.path.join(cg, d))
    os.makedirs(os.path.join(pr, "pressure"))
    put(os.path.join(cg, "cgroup.controllers"), "memory\n")
    for d, mx in (("app", "max"), ("app/job", str(100 * MIB))):
        g = os.path.join(cg, d)
        put(os.path.join(g, "cgroup.procs"), "")
        put(os.path.join(g, "memory.current"), f"{10 * MIB + 400000:020d}\n")
        put(os.path.join(g, "memory.max"), mx + "\n")
        put(os.path.join(g, "memory.high"), "max\n")
        put(os.path.join(g, "memory.stat"), stat_text(10 * MIB))
        put(os.path.join(g, "memory.events"), events_text(0))
        put(os.path.join(g, "memory.events.local"), events_text(0))
        put(os.path.join(g, "memory.pressure"),
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    put(os.path.join(pr, "meminfo"),
        "MemTotal: 8000000 kB\nMemAvailable: 7000000 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n")
    put(os.path.join(pr, "vmstat"), "pgscan_kswapd 0\npgscan_direct 0\npgsteal_kswapd 0\npgsteal_direct 0\n"
        "allocstall_normal 0\noom_kill 0\n")
    put(os.path.join(pr, "pressure", "memory"),
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    return cg, pr


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.settimeout(0.05)
        self.buf = b""
        self.lines = []

    def send(self, line):
        self.s.sendall(line.encode() + b"\n")

    def pump(self):
        try:
            d = self.s.recv(65536)
            self.buf += d
        except socket.timeout:
            pass
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.lines.append(json.loads(line))

    def take(self, pred, timeout=10.0):
        t = time.monotonic() + timeout
        while True:
            for i, o in enumerate(self.lines):
                if pred(o):
                    del self.lines[i]
                    return o
            if time.monotonic() > t:
                return None
            self.pump()


def metric(path, cgroup):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(f'vmpressure_oom_eta_seconds{{cgroup="{cgroup}"}} '):
                    return line.split()[-1]
    except OSError:
        pass
    return None


def main():
    cg, pr = fixture()
    job = os.path.join(cg, "app", "job")
    sock, log, prom = os.path.join(T, "s"), os.path.join(T, "log"), os.path.join(T, "m.prom")
    p = subprocess.Popen([DAEMON, "--socket", sock, "--log-file", log, "--source", "v2", "--cgroup-root", cg,
                          "--proc-root", pr, "--metrics-textfile", prom, "--metrics-interval", "0.2",
                          "--metrics-cgroup", "app/job", "--exec-interval", "0",
                          "--exec", f"app/job forecast=5 env | grep '^VMP_' | sort >{T}/exec.$VMP_EVENT.$$",
                          "--memory-pressure-endpoint", f"{T}/mp.sock app/job forecast=5"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    procs.append(p)
    if not ok(wait_for(lambda: os.path.exists(sock) and metric(prom, "app/job")), "the daemon serves, with metrics"):
        print("# " + open(log).read().replace("\n", "\n# ") if os.path.exists(log) else "# no log")
        return
    mpout = os.path.join(T, "mp.out")
    mp = subprocess.Popen([MPC], stdout=open(mpout, "w"), stderr=subprocess.DEVNULL,
                          env=dict(os.environ, MEMORY_PRESSURE_WATCH=os.path.join(T, "mp.sock")))
    procs.append(mp)

    def mp_wakes():
        try:
            with open(mpout) as f:
                w = [line.split() for line in f if line.startswith("wake ")]
            return w[-1] if w else None
        except OSError:
            return None
    ok(wait_for(lambda: "ready" in open(mpout).read() if os.path.exists(mpout) else False, timeout=10),
       "a memory-pressure client connects to the forecast endpoint")
    # sd-event does the protocol its own way (its trigger, its reads): the
    # endpoint must wake it too, not only a client written from the docs.
    sdev_exe, sdev_why = sdevent_client(T)
    sdout = os.path.join(T, "sdev.out")
    if sdev_exe:
        sdev = subprocess.Popen([sdev_exe], stdout=open(sdout, "w"), stderr=subprocess.STDOUT,
                                env=dict(os.environ, MEMORY_PRESSURE_WATCH=os.path.join(T, "mp.sock")))
        procs.append(sdev)
        ok(wait_for(lambda: "ready" in file_text(sdout), timeout=10),
           "the sd-event client connects to the forecast endpoint")
    else:
        skip("the sd-event client connects to the forecast endpoint", sdev_why)

    def sdev_wakes():
        return sum(1 for line in file_text(sdout).splitlines() if line.startswith("wake "))

    c = Client(sock)
    c.send("subscribe app/job low stream forecast=5")
    r = c.take(lambda o: o.get("reply") == "subscribe")
    ok(r and r["ok"] and r.get("forecast") == 5, f"subscribe ... forecast=5: {r}")
    sid = r["id"] if r else 0
    c.send("subscribe app/nope low stream forecast")
    r = c.take(lambda o: o.get("reply") == "subscribe")
    ok(r and not r["ok"] and r["error"] == "ENOENT", f"a missing cgroup: ENOENT ({r})")
    c.send("subscribe app/job low eventfd forecast")
    r = c.take(lambda o: o.get("reply") == "subscribe")
    ok(r and not r["ok"] and r["error"] == "EPROTO" and "stream" in r["message"], f"forecast without stream: {r}")
    c.send("list")
    r = c.take(lambda o: o.get("reply") == "list")
    ok(r and r["subscriptions"] and r["subscriptions"][0].get("forecast") == 5, "list shows the threshold")
    time.sleep(0.5)
    ok(mp_wakes() is None, "no wake while the group is flat")
    if sdev_exe:
        ok(sdev_wakes() == 0, f"... nor of the sd-event client ({sdev_wakes()} wakes)")
    else:
        skip("... nor of the sd-event client", sdev_why)
    ok(metric(prom, "app/job") == "+Inf", f"flat: vmpressure_oom_eta_seconds +Inf ({metric(prom, 'app/job')})")

    # 10 MiB/s from 10 MiB toward 100 MiB: eta 9 s, under 5 s after 4 s
    anon, t0, ev, finite = 10 * MIB, time.monotonic(), None, None
    # Growth goes on until the gauge was seen finite as well: the eta exists
    # only within the short window's reach (4 s), so the event (eta < 5 s)
    # can come before the next textfile write shows it.
    ev_t = ev_anon = None
    while time.monotonic() - t0 < 12 and (ev is None or finite is None):
        anon = int(10 * MIB + 10 * MIB * (time.monotonic() - t0))
        rewrite(os.path.join(job, "memory.stat"), stat_text(anon))
        rewrite(os.path.join(job, "memory.current"), f"{anon + 400000:020d}\n")
        m = metric(prom, "app/job")
        if m and m != "+Inf":
            finite = finite or m
        c.pump()
        if ev is None:
            ev = c.take(lambda o: o.get("event") == "forecast", timeout=0)
            if ev:
                ev_t, ev_anon = time.monotonic() - t0, anon
        time.sleep(0.05)
    ok(ev is not None, f"a forecast event while it grows ({ev_t or time.monotonic() - t0:.1f} s)")
    if ev:
        left = (100 * MIB - ev_anon) / (10 * MIB)
        ok(ev["id"] == sid and ev["cgroup"] == "app/job" and ev["cause"] == "eta" and 0 <= ev["eta"] < 5,
           f"... under the threshold: eta {ev['eta']} (about {left:.1f} s left)")
        ok(ev["limit"] == 100 * MIB and ev["growth"] > 5 * MIB and ev["decider"] == "app/job" and
           ev["time"].endswith("Z"), "... with its evidence")
    ok(finite is not None, f"growing: vmpressure_oom_eta_seconds finite ({finite})")
    w = wait_for(mp_wakes, timeout=5)
    ok(w and int(w[1]) >= 1 and int(w[5]) >= 1, f"the endpoint's client was woken by the forecast ({w})")
    if sdev_exe:
        ok(wait_for(lambda: sdev_wakes() >= 1, timeout=5),
           f"the sd-event client was woken by the forecast ({sdev_wakes()} wakes)")
    else:
        skip("the sd-event client was woken by the forecast", sdev_why)
    try:
        with open(prom) as f:
            text = f.read()
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
        if r.returncode == 127:
            skip("the textfile passes promtool check metrics", r.stderr.decode().strip())
        else:
            out = (r.stdout + r.stderr).decode().strip()
            ok(r.returncode == 0 and not out, f"the textfile passes promtool ({out or 'no problem'})")
    except OSError as e:
        skip("the textfile passes promtool check metrics", str(e))
    # the kill
    rewrite(os.path.join(job, "memory.events"), events_text(1))
    rewrite(os.path.join(job, "memory.events.local"), events_text(1))
    rewrite(os.path.join(job, "memory.stat"), stat_text(1 * MIB))
    rewrite(os.path.join(job, "memory.current"), f"{1 * MIB + 400000:020d}\n")
    r = c.take(lambda o: o.get("event") == "forecast-clear", timeout=5)
    ok(r and r["cause"] == "killed" and r["eta"] is None, f"an oom_kill clears it: {r and r['cause']}")
    def exec_file(event):
        for n in os.listdir(T):
            if n.startswith(f"exec.{event}."):
                with open(os.path.join(T, n)) as f:
                    return f.read()
        return None
    ex = wait_for(lambda: exec_file("forecast"), timeout=5)
    ok(ex and "VMP_EVENT=forecast\n" in ex and "VMP_CGROUP=app/job\n" in ex and "VMP_ETA=" in ex and
       f"VMP_LIMIT={100 * MIB}\n" in ex and "VMP_SOURCE=cgroup-v2\n" in ex,
       "--exec 'app/job forecast=5 ...' ran with the forecast's evidence")
    ex = wait_for(lambda: exec_file("forecast-clear"), timeout=5)
    ok(ex and "VMP_CAUSE=killed\n" in ex, "... and for its clearing")
    c.send(f"unsubscribe {sid}")
    r = c.take(lambda o: o.get("reply") == "unsubscribe")
    ok(r and r["ok"], "unsubscribe")
    if sdev_exe:
        # before the daemon: to sd-event its end-of-file is pressure for ever
        sdev.send_signal(signal.SIGTERM)
        ok(sdev.wait(timeout=10) == 0, "the sd-event client exits 0 on SIGTERM")
    else:
        skip("the sd-event client exits 0 on SIGTERM", sdev_why)
    p.send_signal(signal.SIGTERM)
    ok(p.wait(timeout=10) == 0, "the daemon stops cleanly")

    # a trace source has no files to forecast from
    sock2, log2 = os.path.join(T, "s2"), os.path.join(T, "log2")
    p2 = subprocess.Popen([DAEMON, "--socket", sock2, "--log-file", log2, "--trace", os.path.join(DATA, "anon1.vmpt"),
                           "--trace-hold"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    procs.append(p2)
    # "serving on" is logged once it listens; the socket file exists from bind(), before.
    if ok(wait_for(lambda: serving(log2, sock2)), "a trace daemon"):
        c2 = Client(sock2)
        c2.send("subscribe / low stream forecast")
        r = c2.take(lambda o: o.get("reply") == "subscribe")
        ok(r and not r["ok"] and r["error"] == "ENOTSUP", f"... refuses forecasts: {r}")
    r = subprocess.run([DAEMON, "--socket", os.path.join(T, "s3"), "--trace", os.path.join(DATA, "anon1.vmpt"),
                        "--exec", "/ forecast true"], capture_output=True, text=True, timeout=20)
    ok(r.returncode == 69 and "forecast" in r.stderr, f"--exec on forecasts with a trace: exit {r.returncode}")
    r = subprocess.run([DAEMON, "--socket", os.path.join(T, "s4"), "--trace", os.path.join(DATA, "anon1.vmpt"),
                        "--exec", "/ forecast=0 true"], capture_output=True, text=True, timeout=20)
    ok(r.returncode == 64 and "byte" in r.stderr, f"--exec 'CGROUP forecast=0 ...': exit {r.returncode}")
    r = subprocess.run([DAEMON, "--socket", os.path.join(T, "s5"), "--trace", os.path.join(DATA, "anon1.vmpt"),
                        "--memory-pressure-endpoint", f"{T}/mp2.sock / forecast=0"], capture_output=True, text=True,
                       timeout=20)
    ok(r.returncode == 64 and "forecast=SECONDS" in r.stderr,
       f"--memory-pressure-endpoint 'PATH CGROUP forecast=0': exit {r.returncode}")


try:
    main()
finally:
    cleanup()
done("forecast-daemon")
