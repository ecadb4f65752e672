#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Clients survive a daemon restart (TAP).

usage: test_restart.py VMPRESSURED VMPRESSURE DATADIR

A daemon plays tests/data/anon1.vmpt (held until SIGUSR1, then at twice
real time) to a running `vmpressure watch --json` and to a protocol client
written here from docs/protocol.md ("Reconnecting"). Once both have the
trace's expected count for their listener, the daemon is killed with
SIGKILL (its socket stays behind, stale) and a new one started on the same
path, its readiness taken from READY=1 on a $NOTIFY_SOCKET of ours. Then:

  - watch says on stderr that it lost the daemon and that it reconnected,
    and prints a "gap" object (duration, the new daemon's uptime) between
    the two runs' events, without exiting;
  - the protocol client sees end-of-file, reconnects, subscribes again;
  - both are subscribed again within a second of READY=1 (the daemon's
    status counts them), and after the second SIGUSR1 both get the expected
    count again: the events after the restart are asserted one by one
    (same count, same levels as before the restart);
  - watch exits 0 on SIGTERM with a summary of both runs.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

DAEMON, CLI, DATA = sys.argv[1:4]
TRACE = os.path.join(DATA, "anon1.vmpt")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tap import check as ok, done  # noqa: E402

CGROUP, ARGS = "aa", "low,hierarchy"
T = tempfile.mkdtemp(prefix="vmp-restart-")
SOCK = os.path.join(T, "control")
procs = []


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(T, ignore_errors=True)


def wait_for(cond, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.005)
    return cond()


def expected():
    for line in open(TRACE):
        f = line.split()
        if f[:1] == ["listen"] and f[2:4] == [CGROUP, ARGS]:
            lid = f[1]
    for line in open(TRACE):
        f = line.split()
        if f[:2] == ["expect", lid]:
            return int(f[2])
    return None


class Notify:
    """A fake service manager's notification socket: READY=1 times."""

    def __init__(self):
        self.path = os.path.join(T, "notify")
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(self.path)
        self.s.settimeout(0.05)
        self.ready = []
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                m = self.s.recv(4096).decode()
            except socket.timeout:
                continue
            if m.startswith("READY=1"):
                self.ready.append(time.monotonic())


class Client:
    """docs/protocol.md, Reconnecting: on end-of-file, connect again (backing
    off), hello, subscribe again; the ids are new."""

    def __init__(self):
        self.events = []  # (run, level, count)
        self.run_no = 0
        self.reconnected_at = []
        self.lost = 0
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)

    def subscribe(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(SOCK)
        f = s.makefile("r")
        s.sendall(f"hello 1\nsubscribe {CGROUP} {ARGS} stream\n".encode())
        hello = json.loads(f.readline())
        sub = json.loads(f.readline())
        if not (hello.get("ok") and sub.get("ok")):
            raise OSError("refused: %r %r" % (hello, sub))
        s.settimeout(0.2)
        return s, f, sub["id"]

    def loop(self):
        backoff = 0.05
        while not self.stop:
            try:
                s, f, sid = self.subscribe()
            except OSError:
                time.sleep(backoff)
                backoff = min(backoff * 2, 0.5)
                continue
            backoff = 0.05
            self.run_no += 1
            if self.run_no > 1:
                self.reconnected_at.append(time.monotonic())
            while not self.stop:
                try:
                    line = f.readline()
                except (socket.timeout, TimeoutError):
                    continue
                except OSError:
                    line = ""
                if not line:
                    self.lost += 1
                    break
                ev = json.loads(line)
                if ev.get("event") == "pressure" and ev.get("id") == sid:
                    self.events.append((self.run_no, ev["level"], ev["count"]))
            s.close()


def start_daemon(n, notify):
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    log = open(os.path.join(T, f"daemon{n}.log"), "w")
    p = subprocess.Popen([DAEMON, "--socket", SOCK, "--trace", TRACE, "--speed", "2", "--trace-hold"],
                         stderr=log, env=env)
    procs.append(p)
    return p


def status():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(SOCK)
        s.sendall(b"status\n")
        return json.loads(s.makefile().readline())
    except (OSError, ValueError):
        return {}
    finally:
        s.close()


def watch_lines():
    out = []
    with open(os.path.join(T, "watch.out")) as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"bad": line})
    return out


def watch_err():
    with open(os.path.join(T, "watch.err")) as f:
        return f.read()


try:
    E = expected()
    ok(E and E > 0, f"the trace's {CGROUP} {ARGS} listener expects {E} notifications")
    notify = Notify()
    d1 = start_daemon(1, notify)
    ok(wait_for(lambda: len(notify.ready) == 1), "the first daemon is ready (READY=1)")
    w = subprocess.Popen([CLI, "watch", CGROUP, "--level", "low", "--mode", "hierarchy", "--json", "--socket", SOCK,
                          "-t", "120"], stdout=open(os.path.join(T, "watch.out"), "w"),
                         stderr=open(os.path.join(T, "watch.err"), "w"))
    procs.append(w)
    c = Client()
    c.t.start()
    ok(wait_for(lambda: "through vmpressured" in watch_err() and c.run_no == 1 and status().get("subscriptions") == 2),
       "watch and the protocol client are subscribed")
    os.kill(d1.pid, signal.SIGUSR1)
    ok(wait_for(lambda: sum(n for _, _, n in c.events) >= E and
                sum(1 for o in watch_lines() if o.get("event") == "pressure") >= E),
       "both got the first run's notifications")
    first_client = list(c.events)
    first_watch = [o for o in watch_lines() if o.get("event") == "pressure"]

    d1.kill()  # SIGKILL: no goodbye, the socket stays behind
    d1.wait()
    ok(wait_for(lambda: "lost vmpressured" in watch_err() and c.lost == 1),
       "both notice the daemon is gone (watch on stderr, the client at EOF)")
    ok(w.poll() is None, "watch keeps running without a daemon")
    time.sleep(0.3)  # a few failed attempts: the backoff
    d2 = start_daemon(2, notify)
    ok(wait_for(lambda: len(notify.ready) == 2), "the second daemon is ready (READY=1)")
    t_ready = notify.ready[1]
    ok(wait_for(lambda: status().get("subscriptions") == 2), "both are subscribed to the new daemon")
    t_both = time.monotonic()
    ok(wait_for(lambda: "reconnected to vmpressured" in watch_err()), "watch says it reconnected")
    delay_client = c.reconnected_at[0] - t_ready if c.reconnected_at else None
    print(f"# resubscribed after READY=1: client {delay_client:.3f} s, both seen in status by {t_both - t_ready:.3f} s")
    ok(t_both - t_ready < 1.0, f"both resubscribed within a second of READY=1 ({t_both - t_ready:.3f} s)")
    gaps = [o for o in watch_lines() if o.get("event") == "gap"]
    ok(len(gaps) == 1 and gaps[0].get("duration_s", 0) > 0.3 and gaps[0].get("cgroup") == CGROUP,
       f"watch printed one gap record ({gaps[0] if gaps else None})")
    ok(gaps and gaps[0].get("daemon_uptime_s") is not None and gaps[0]["daemon_uptime_s"] < gaps[0]["duration_s"],
       "... with the new daemon's uptime, shorter than the gap")

    os.kill(d2.pid, signal.SIGUSR1)
    ok(wait_for(lambda: sum(n for r, _, n in c.events if r == 2) >= E and
                sum(1 for o in watch_lines() if o.get("event") == "pressure") >= 2 * E),
       "both get notifications from the new daemon")
    time.sleep(0.2)
    second_client = [(lv, n) for r, lv, n in c.events if r == 2]
    ok(sum(n for _, n in second_client) == E, f"the client: {E} notifications after the restart, as before it")
    ok(second_client == [(lv, n) for _, lv, n in first_client], "... the same levels and counts, in order")
    lines = watch_lines()
    kinds = [o.get("event") for o in lines]
    gi = kinds.index("gap") if "gap" in kinds else -1
    before = [o for o in lines[:gi] if o.get("event") == "pressure"]
    after = [o for o in lines[gi + 1:] if o.get("event") == "pressure"]
    ok(len(before) == E and len(after) == E and all(k in ("pressure", "gap") for k in kinds),
       f"watch: {len(before)} events, the gap, {len(after)} events (want {E} each), nothing else")
    ok([o["level"] for o in after] == [o["level"] for o in first_watch],
       "watch after the restart: the same levels as before it")
    w.send_signal(signal.SIGTERM)
    ok(w.wait(10) == 0, "watch exits 0 on SIGTERM")
    ok(f"{2 * E} notifications" in watch_err(), f"... its summary counts both runs ({2 * E})")
    c.stop = True
    notify.stop = True
    d2.send_signal(signal.SIGTERM)
    ok(d2.wait(10) == 0, "the second daemon stops cleanly")
finally:
    cleanup()
done("restart")
