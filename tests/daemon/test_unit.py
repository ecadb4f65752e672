#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmpressured.service checked, and its system-call filter exercised (TAP).

usage: test_unit.py VMPRESSURED UNIT SECCOMP_RUN DATADIR [--sanitizer]

  - `systemd-analyze verify --man=no` accepts the unit as meson generated it
    (ExecStart= pointed at the built daemon, which is the only change);
    skipped, saying so, without systemd-analyze;
  - the filter: the unit's SystemCallFilter= lines expanded into system
    calls the way systemd does it: each allow line's groups (`systemd-analyze
    syscall-filter @GROUP`, groups within groups expanded too) plus the calls
    systemd always permits (systemd.exec(5): execve, exit, exit_group,
    getrlimit, rt_sigreturn, sigreturn), less every `~` line's; everything
    else EPERM (SystemCallErrorNumber=EPERM). seccomp_run loads that filter
    (libseccomp2, at run time) and execs the daemon;
  - under it, with its protections on: the memory locked (as root), the
    watchdog pinging a fake $NOTIFY_SOCKET, a memory-pressure endpoint
    client handed to the fd store, and a subscribe/notify round trip (an
    eventfd and a stream both counting the trace's notifications);
  - the harness is no placebo: the same filter without the @memlock calls
    makes the daemon log that it cannot lock (EPERM) and serve on.
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
import threading
import time

DAEMON, UNIT, SECCOMP_RUN, DATA = sys.argv[1:5]
SANITIZER = "--sanitizer" in sys.argv
TRACE = os.path.join(DATA, "file1.vmpt")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tap import check as ok, done, skip  # noqa: E402

ALWAYS = ["execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "sigreturn"]
T = tempfile.mkdtemp(prefix="vmp-unit-")
procs = []


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(T, ignore_errors=True)


def wait_for(cond, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def expand(group, seen):
    """The system calls of a systemd group, its groups expanded."""
    if group in seen:
        return set()
    seen.add(group)
    out = subprocess.run(["systemd-analyze", "syscall-filter", group], capture_output=True, text=True)
    calls = set()
    lines = out.stdout.splitlines()
    for line in lines[1:]:  # the first line is the group's own name
        w = line.strip()
        if not w or w.startswith("#"):
            continue
        calls |= expand(w, seen) if w.startswith("@") else {w}
    return calls


def derive(unit_text, drop=()):
    allow, deny = set(ALWAYS), set()
    for m in re.finditer(r"^SystemCallFilter=(.*)$", unit_text, re.M):
        v = m.group(1).strip()
        target = deny if v.startswith("~") else allow
        for item in v.lstrip("~").split():
            target |= expand(item, set()) if item.startswith("@") else {item}
    for g in drop:
        allow -= expand(g, set())
    return sorted(allow - deny), allow, deny


class Notify(threading.Thread):
    def __init__(self, path):
        super().__init__(daemon=True)
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(path)
        self.s.settimeout(0.05)
        self.msgs, self.fds, self.stop = [], [], False
        self.start()

    def run(self):
        while not self.stop:
            try:
                data, fds, _, _ = socket.recv_fds(self.s, 4096, 4)
            except socket.timeout:
                continue
            self.msgs.append(data.decode())
            self.fds += fds


def run_daemon(name, syscalls):
    lst = os.path.join(T, name + ".syscalls")
    with open(lst, "w") as f:
        f.write("\n".join(syscalls) + "\n")
    notify = Notify(os.path.join(T, name + ".notify"))
    sock = os.path.join(T, name + ".sock")
    ep = os.path.join(T, name + ".ep")
    log = os.path.join(T, name + ".log")
    env = dict(os.environ, NOTIFY_SOCKET=notify.s.getsockname(), WATCHDOG_USEC="200000")
    env.pop("WATCHDOG_PID", None)
    p = subprocess.Popen([SECCOMP_RUN, lst, DAEMON, "--socket", sock, "--trace", TRACE, "--speed", "0",
                          "--trace-hold", "--memory-pressure-endpoint", f"{ep} fa low"],
                         stderr=open(log, "w"), env=env)
    procs.append(p)
    up = wait_for(lambda: os.path.exists(sock) or p.poll() is not None) and p.poll() is None
    return p, sock, ep, log, notify, up


try:
    if not shutil.which("systemd-analyze"):
        print("1..0 # SKIP no systemd-analyze (Debian: systemd) to verify the unit and expand its filter")
        sys.exit(0)
    unit_text = text(UNIT)
    m = re.search(r"^ExecStart=(\S+)", unit_text, re.M)
    ok(m is not None, f"the unit has an ExecStart= ({m.group(1) if m else None})")
    unit = os.path.join(T, "vmpressured.service")
    with open(unit, "w") as f:
        f.write(unit_text.replace(m.group(0), "ExecStart=" + os.path.abspath(DAEMON)))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", unit], capture_output=True, text=True)
    msg = (r.stdout + r.stderr).strip()
    ok(r.returncode == 0 and "vmpressured.service" not in msg,
       "systemd-analyze verify --man=no: no complaint" + (f" ({msg!r})" if msg else ""))

    calls, allow, deny = derive(unit_text)
    ok(len(calls) > 100 and "mlockall" in calls and "timerfd_settime" in calls and "sendmsg" in calls
       and "setrlimit" not in calls and "mount" not in calls,
       f"the unit's filter: {len(allow)} allowed less {len(deny)} denied = {len(calls)} calls "
       "(mlockall, timerfd_settime, sendmsg in; setrlimit, mount out)")

    if SANITIZER:
        skip("the daemon under the unit's filter",
             "a sanitizer build: its runtime makes system calls of its own that the unit never sees")
        done("unit")
    p, sock, ep, log, notify, up = run_daemon("full", calls)
    if p.poll() == 77 or "no libseccomp.so.2" in text(log):
        skip("the daemon under the unit's filter", "no libseccomp.so.2 (Debian: libseccomp2)")
        done("unit")
    ok(up, "the daemon starts under the unit's system-call filter")
    ok("system calls allowed" in text(log), "... seccomp_run loaded it: " + text(log).split("\n")[0])
    if os.geteuid() == 0:
        ok("memory locked, on fault, now and as it grows" in text(log), "its memory is locked under the filter")
    else:
        skip("memory locked under the filter", "not root: RLIMIT_MEMLOCK decides, not the filter")
    ok(wait_for(lambda: notify.msgs.count("WATCHDOG=1") >= 3), "the watchdog pings through the filter")
    e = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    e.connect(ep)
    e.sendall(b"some 200000 2000000\0")
    ok(wait_for(lambda: any(m.startswith("FDSTORE=1") for m in notify.msgs) and notify.fds),
       "an endpoint client goes to the fd store (sendmsg with SCM_RIGHTS)")
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect(sock)
    c.sendall(b"subscribe fa low eventfd stream\n")
    data, fds, _, _ = socket.recv_fds(c, 4096, 1)
    reply = json.loads(data.split(b"\n")[0])
    ok(reply.get("ok") and len(fds) == 1, "subscribe with an eventfd and a stream: ok, the eventfd passed")
    expect = None
    for line in open(TRACE):
        f = line.split()
        if f[:1] == ["listen"] and f[2:4] == ["fa", "low"]:
            lid = f[1]
        if f[:1] == ["expect"] and f[1] == lid:
            expect = int(f[2])
    os.kill(p.pid, signal.SIGUSR1)
    buf, stream = data.split(b"\n", 1)[1], 0
    end = time.monotonic() + 20
    while stream < expect and time.monotonic() < end:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            o = json.loads(line)
            if o.get("event") == "pressure":
                stream += o["count"]
        if stream >= expect:
            break
        try:
            buf += c.recv(65536)
        except socket.timeout:
            break
    time.sleep(0.1)
    efd = int.from_bytes(os.read(fds[0], 8), "little")
    ok(stream == expect and efd == expect,
       f"the round trip: stream {stream}, eventfd {efd}, the trace's expect {expect}")
    e.settimeout(2)
    try:
        got = len(e.recv(65536))
    except OSError:
        got = 0
    ok(got > 0, f"the endpoint client was woken ({got} bytes)")
    p.send_signal(signal.SIGTERM)
    ok(p.wait(10) == 0, "... and it stops cleanly under the filter (exit 0)")
    ok("Operation not permitted" not in text(log), "nothing it needs was refused (no EPERM in its log)")
    notify.stop = True
    c.close()
    e.close()

    if os.geteuid() == 0:
        no_lock, _, _ = derive(unit_text, drop=["@memlock"])
        p, sock, ep, log, notify, up = run_daemon("nolock", no_lock)
        ok(up and "cannot lock memory (mlockall: Operation not permitted" in text(log),
           "without @memlock in the filter the daemon says it cannot lock (EPERM) and serves on")
        p.send_signal(signal.SIGTERM)
        p.wait(10)
        notify.stop = True
    else:
        skip("the filter without @memlock", "not root: mlockall may fail for RLIMIT_MEMLOCK anyway")
finally:
    cleanup()
done("unit")
