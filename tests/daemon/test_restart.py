#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Clients survive a daemon restart (TAP).

usage: test_restart.py VMPRESSURED VMPRESSURE DATADIR

(environment, as for the mpwatch test: $MPWATCH_CC, $MPWATCH_SDEV_SRC,
$MPWATCH_SDEV_DEPS to build the sd-event client against libsystemd 254)

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

The daemon also serves a memory-pressure endpoint, whose clients cannot
reconnect (sd-event connects once; to it a dead daemon's end-of-file is
pressure for ever). Our $NOTIFY_SOCKET plays systemd's file descriptor
store: it keeps what FDSTORE=1 hands it and gives it to the second daemon
as $LISTEN_FDS/$LISTEN_FDNAMES. A raw endpoint client (written here) and,
where libsystemd 254 can be built against, the unmodified sd-event client
(sdevent_client.c) are connected across the kill:
  - neither sees end-of-file, and the sd-event client does not spin while
    the daemon is gone (without the store it runs its handler ~10^5 times a
    second);
  - the new daemon says it served the kept connections again, and each
    gets the notifications of the second run (the raw client: exactly the
    trace's count for its listener, a byte each).
"""
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

DAEMON, CLI, DATA = sys.argv[1:4]
TRACE = os.path.join(DATA, "anon1.vmpt")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tap import check as ok, done, skip  # noqa: E402
from daemon import cleanup, procs, scratch, sdevent_client, wait_for  # noqa: E402

CGROUP, ARGS = "aa", "low,hierarchy"
T = scratch("vmp-restart-")
SOCK = os.path.join(T, "control")


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
    """A fake service manager's notification socket: READY=1 times, and a
    file descriptor store (FDSTORE=1, FDSTOREREMOVE=1, by FDNAME)."""

    def __init__(self):
        self.path = os.path.join(T, "notify")
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(self.path)
        self.s.settimeout(0.05)
        self.ready = []
        self.store = {}  # name -> fd
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                data, fds, _, _ = socket.recv_fds(self.s, 4096, 16)
            except socket.timeout:
                continue
            m = data.decode()
            kv = dict(x.split("=", 1) for x in m.split("\n") if "=" in x)
            if m.startswith("READY=1"):
                self.ready.append(time.monotonic())
            if kv.get("FDSTORE") == "1" and fds:
                for fd in fds:
                    os.set_inheritable(fd, False)
                old = self.store.pop(kv.get("FDNAME", "stored"), None)
                if old is not None:
                    os.close(old)
                self.store[kv.get("FDNAME", "stored")] = fds[0]
                for fd in fds[1:]:
                    os.close(fd)
            elif kv.get("FDSTOREREMOVE") == "1":
                old = self.store.pop(kv.get("FDNAME"), None)
                if old is not None:
                    os.close(old)
            else:
                for fd in fds:
                    os.close(fd)


class EndpointClient:
    """A memory-pressure endpoint client by the protocol: connect once,
    write the trigger, count the bytes; EOF would be the end of it."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.sendall(b"some 200000 2000000\0")
        self.s.settimeout(0.2)
        self.bytes = 0
        self.eof = False
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop and not self.eof:
            try:
                b = self.s.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                b = b""
            if not b:
                self.eof = True
            self.bytes += len(b)


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
        s.sendall(f"hello 1\nsubscribe {CGROUP} {ARGS} stream\n".encode())
        self.buf = b""
        hello = json.loads(self.line(s, block=True))
        sub = json.loads(self.line(s, block=True))
        if not (hello.get("ok") and sub.get("ok")):
            raise OSError("refused: %r %r" % (hello, sub))
        s.settimeout(0.2)
        return s, sub["id"]

    def line(self, s, block=False):
        """The next line; None on a timeout; b"" at end-of-file."""
        while b"\n" not in self.buf:
            try:
                b = s.recv(65536)
            except (socket.timeout, TimeoutError):
                if block:
                    raise OSError("no reply")
                return None
            except OSError:
                b = b""
            if not b:
                return b""
            self.buf += b
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def loop(self):
        backoff = 0.05
        while not self.stop:
            try:
                s, sid = self.subscribe()
            except (OSError, ValueError):
                time.sleep(backoff)
                backoff = min(backoff * 2, 0.5)
                continue
            backoff = 0.05
            self.run_no += 1
            if self.run_no > 1:
                self.reconnected_at.append(time.monotonic())
            while not self.stop:
                line = self.line(s)
                if line is None:
                    continue
                if line == b"":
                    self.lost += 1
                    break
                ev = json.loads(line)
                if ev.get("event") == "pressure" and ev.get("id") == sid:
                    self.events.append((self.run_no, ev["level"], ev["count"]))
            s.close()

EP = os.path.join(T, "ep")
EP_ARGS = "low"


def start_daemon(n, notify, kept=None):
    """kept: the store's {name: fd}, handed over as systemd does."""
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    for k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
        env.pop(k, None)
    log = open(os.path.join(T, f"daemon{n}.log"), "w")
    argv = [DAEMON, "--socket", SOCK, "--trace", TRACE, "--speed", "2", "--trace-hold",
            "--memory-pressure-endpoint", f"{EP} {CGROUP} {EP_ARGS}"]
    pre = None
    if kept:
        names, fds = list(kept.keys()), list(kept.values())
        env["LISTEN_FDS"] = str(len(fds))
        env["LISTEN_FDNAMES"] = ":".join(names)
        # LISTEN_PID is the daemon's own pid: the shell's, which execs it.
        argv = ["sh", "-c", 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"'] + argv

        def pre():
            tmp = [fcntl.fcntl(fd, fcntl.F_DUPFD, 3 + len(fds) + 64) for fd in fds]  # out of the way of 3..
            for i, fd in enumerate(tmp):
                os.dup2(fd, 3 + i)  # inheritable
            for fd in tmp:
                os.close(fd)
    p = subprocess.Popen(argv, stderr=log, env=env, preexec_fn=pre, close_fds=not kept)
    procs.append(p)
    return p


def daemon_log(n):
    with open(os.path.join(T, f"daemon{n}.log")) as f:
        return f.read()


def ep_expected():
    lid = None
    for line in open(TRACE):
        f = line.split()
        if f[:1] == ["listen"] and f[2:4] == [CGROUP, EP_ARGS]:
            lid = f[1]
    for line in open(TRACE):
        f = line.split()
        if lid is not None and f[:2] == ["expect", lid]:
            return int(f[2])
    return None


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
    EE = ep_expected()
    ep = EndpointClient(EP)
    sdev_exe, sdev_why = sdevent_client(T)
    sdev = None
    if sdev_exe:
        sdev = subprocess.Popen([sdev_exe], env=dict(os.environ, MEMORY_PRESSURE_WATCH=EP),
                                stdout=open(os.path.join(T, "sdev.out"), "w"), stderr=subprocess.STDOUT)
        procs.append(sdev)

    def sdev_wakes():
        try:
            with open(os.path.join(T, "sdev.out")) as f:
                return sum(1 for line in f if line.startswith("wake "))
        except OSError:
            return 0

    def sdev_ready():
        try:
            with open(os.path.join(T, "sdev.out")) as f:
                return "ready" in f.read()
        except OSError:
            return False
    nclients = 2 if sdev else 1
    ok(wait_for(lambda: len(notify.store) == nclients and (not sdev or sdev_ready())),
       f"the endpoint's {nclients} client(s) are in the fd store ({sorted(notify.store)})")
    os.kill(d1.pid, signal.SIGUSR1)
    ok(wait_for(lambda: sum(n for _, _, n in c.events) >= E and
                sum(1 for o in watch_lines() if o.get("event") == "pressure") >= E and ep.bytes >= EE),
       "both got the first run's notifications, the endpoint client its bytes")
    time.sleep(0.2)
    ok(ep.bytes == EE, f"the endpoint client: {ep.bytes} bytes, one per notification of {CGROUP} {EP_ARGS} ({EE})")
    ep_first = ep.bytes
    sdev_first = sdev_wakes()
    first_client = list(c.events)
    first_watch = [o for o in watch_lines() if o.get("event") == "pressure"]

    d1.kill()  # SIGKILL: no goodbye, the socket stays behind
    d1.wait()
    ok(wait_for(lambda: "lost vmpressured" in watch_err() and c.lost == 1),
       "both notice the daemon is gone (watch on stderr, the client at EOF)")
    ok(w.poll() is None, "watch keeps running without a daemon")
    time.sleep(0.5)  # a few failed attempts: the backoff
    ok(not ep.eof, "the endpoint client does not see end-of-file: the store holds its connection")
    if sdev:
        ok(sdev_wakes() - sdev_first <= 2, f"the sd-event client does not spin while the daemon is gone "
           f"({sdev_wakes() - sdev_first} wakes in 0.5 s)")
    else:
        skip("the sd-event client across the restart", sdev_why)
    d2 = start_daemon(2, notify, kept=dict(notify.store))
    ok(wait_for(lambda: len(notify.ready) == 2), "the second daemon is ready (READY=1)")
    t_ready = notify.ready[1]
    ok(wait_for(lambda: status().get("subscriptions") == 2), "both are subscribed to the new daemon")
    t_both = time.monotonic()
    ok(wait_for(lambda: "reconnected to vmpressured" in watch_err()), "watch says it reconnected")
    # The daemon counts the subscription when it reads the request; the
    # client notes its reconnection only after reading both replies.
    ok(wait_for(lambda: c.reconnected_at), "the client has read the new daemon's replies")
    delay_client = c.reconnected_at[0] - t_ready if c.reconnected_at else float("nan")
    print(f"# resubscribed after READY=1: client {delay_client:.3f} s, both seen in status by {t_both - t_ready:.3f} s")
    ok(t_both - t_ready < 1.0, f"both resubscribed within a second of READY=1 ({t_both - t_ready:.3f} s)")
    gaps = [o for o in watch_lines() if o.get("event") == "gap"]
    ok(len(gaps) == 1 and gaps[0].get("duration_s", 0) > 0.3 and gaps[0].get("cgroup") == CGROUP,
       f"watch printed one gap record ({gaps[0] if gaps else None})")
    ok(gaps and gaps[0].get("daemon_uptime_s") is not None and gaps[0]["daemon_uptime_s"] < gaps[0]["duration_s"],
       "... with the new daemon's uptime, shorter than the gap")

    ok(f"fd store: {nclients} of {nclients} kept connections served again" in daemon_log(2),
       "the new daemon serves the kept endpoint connections again") or print(
        "# " + daemon_log(2).replace("\n", "\n# "))
    os.kill(d2.pid, signal.SIGUSR1)
    ok(wait_for(lambda: sum(n for r, _, n in c.events if r == 2) >= E and
                sum(1 for o in watch_lines() if o.get("event") == "pressure") >= 2 * E and
                ep.bytes >= ep_first + EE),
       "both get notifications from the new daemon")
    time.sleep(0.2)
    ok(ep.bytes - ep_first == EE and not ep.eof,
       f"the endpoint client: {ep.bytes - ep_first} bytes from the new daemon ({EE}), on the same connection")
    if sdev:
        ok(sdev_wakes() > sdev_first + 2, f"the sd-event client is woken by the new daemon "
           f"({sdev_wakes() - sdev_first} wakes)")
        sdev.send_signal(signal.SIGTERM)
        ok(sdev.wait(10) == 0, "the sd-event client exits 0 on SIGTERM")
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
    ep.stop = True
    notify.stop = True
    d2.send_signal(signal.SIGTERM)
    ok(d2.wait(10) == 0, "the second daemon stops cleanly")
finally:
    cleanup()
done("restart")
