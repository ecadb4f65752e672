#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmpressured stays resident, answers its watchdog, and does not hand its
protections to --exec children (TAP).

usage: test_resident.py VMPRESSURED DATADIR [--sanitizer]

  - locked memory: VmLck > 0 and the log says so; --no-mlock: VmLck 0 and
    the log says that; as nobody with RLIMIT_MEMLOCK 0 (root only: setpriv,
    prlimit) the warning names RLIMIT_MEMLOCK and CAP_IPC_LOCK and the
    daemon still serves a subscription;
  - --exec: a daemon started with oom_score_adj -500 (where this process
    may lower it: CAP_SYS_RESOURCE; skipped, saying so, elsewhere) and
    nice 5 and locked memory runs a command that reports its own oom_score_adj (0), nice (0),
    VmLck (0), blocked and ignored signals (none), and sees no WATCHDOG_*
    variable; the daemon itself keeps -500 and its lock;
  - watchdog: with a fake $NOTIFY_SOCKET and WATCHDOG_USEC=200000 the daemon
    sends READY=1, then WATCHDOG=1 repeatedly (the gaps are checked against
    the interval only loosely: machines are noisy), STOPPING=1 at SIGTERM;
    while the daemon is stopped (SIGSTOP) no ping comes; WATCHDOG_PID of
    another process: no ping; a malformed WATCHDOG_USEC is logged.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

DAEMON, DATA = sys.argv[1:3]
# ASan intercepts mlockall() and makes it a no-op that succeeds.
SANITIZER = "--sanitizer" in sys.argv
TRACE = os.path.join(DATA, "file1.vmpt")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tap import check as ok, done, skip  # noqa: E402
from daemon import cleanup, procs, scratch, text, wait_for  # noqa: E402

T = scratch("vmp-resident-")
os.chmod(T, 0o755)


def start(*args, prefix=(), env=None, name=None, pre=None, sockdir=T):
    name = name or f"d{len(procs)}"
    sock = os.path.join(sockdir, name + ".sock")
    log = os.path.join(T, name + ".log")
    p = subprocess.Popen(list(prefix) + [DAEMON, "--socket", sock, *args], stderr=open(log, "w"),
                         env=env, preexec_fn=pre)
    procs.append(p)
    up = wait_for(lambda: os.path.exists(sock) or p.poll() is not None)
    return p, sock, log, up and p.poll() is None


def status_field(pid, key):
    for line in text(f"/proc/{pid}/status").splitlines():
        if line.startswith(key + ":"):
            return line.split()[1]
    return None


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def subscribe_once(sock, line="subscribe fa low stream"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock)
    s.sendall((line + "\n").encode())
    r = s.makefile().readline()
    s.close()
    return r


try:
    # ---- locked memory ----
    p, sock, log, up = start("--trace", TRACE, "--trace-hold")
    ok(up, "a daemon starts")
    root = os.geteuid() == 0
    if SANITIZER:
        skip("memory locked", "a sanitizer build: ASan turns mlockall() into a no-op")
    elif root:
        ok(int(status_field(p.pid, "VmLck") or 0) > 0, f"as root its memory is locked (VmLck {status_field(p.pid, 'VmLck')} kB)")
        ok("memory locked, on fault, now and as it grows" in text(log), "... and the log says so")
    else:
        ok("memory locked" in text(log) or "RLIMIT_MEMLOCK" in text(log),
           "not root: the log says it locked or why it could not (RLIMIT_MEMLOCK)")
    stop(p)

    p, sock, log, up = start("--trace", TRACE, "--trace-hold", "--no-mlock")
    ok(up and status_field(p.pid, "VmLck") == "0", "--no-mlock: VmLck 0")
    ok("memory not locked (--no-mlock)" in text(log), "... and the log says so")
    stop(p)

    have_setpriv = shutil.which("setpriv") and shutil.which("prlimit")
    if SANITIZER:
        skip("as nobody with RLIMIT_MEMLOCK 0", "a sanitizer build: ASan turns mlockall() into a no-op")
    elif root and have_setpriv:
        nd = os.path.join(T, "nobody")
        os.mkdir(nd)
        os.chown(nd, 65534, 65534)
        p, sock, log, up = start("--trace", TRACE, "--trace-hold", sockdir=nd,
                                 prefix=["prlimit", "--memlock=0", "setpriv", "--reuid=65534",
                                         "--regid=65534", "--clear-groups"])
        ok(up, "as nobody with RLIMIT_MEMLOCK 0 the daemon starts")
        lg = text(log)
        ok("cannot lock memory" in lg and "RLIMIT_MEMLOCK is 0" in lg and "CAP_IPC_LOCK" in lg,
           "... the warning says why it cannot lock (RLIMIT_MEMLOCK, CAP_IPC_LOCK)")
        ok(status_field(p.pid, "VmLck") == "0", "... VmLck 0")
        ok('"ok":true' in subscribe_once(sock), "... and it serves a subscription")
        stop(p)
    else:
        skip("as nobody with RLIMIT_MEMLOCK 0", "needs root, setpriv and prlimit")

    # ---- --exec children ----
    out = os.path.join(T, "child")
    # Builtins only until the values are read: a shell that forks blocks
    # its signals meanwhile (vfork), which /proc/$$ would show.
    cmd = ("{ read a < /proc/$$/oom_score_adj; echo $a; read s < /proc/$$/stat; set -- $s; "
           "shift 18; echo $1; "
           "while read -r l; do case $l in VmLck:*|SigBlk:*|SigIgn:*) echo \"$l\";; esac; "
           "done < /proc/$$/status; "
           "env | grep -c '^WATCHDOG_' ; } > " + out + ".tmp; mv " + out + ".tmp " + out)

    def protect():
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("-500")
        except OSError:
            pass  # no CAP_SYS_RESOURCE (a container's root): checked below
        os.nice(5)

    env = dict(os.environ, WATCHDOG_USEC="60000000", NOTIFY_SOCKET=os.path.join(T, "unused"))
    env.pop("WATCHDOG_PID", None)
    p, sock, log, up = start("--trace", TRACE, "--speed", "0", "--trace-hold", "--exec",
                             "fa low " + cmd, env=env, pre=protect)
    ok(up, "a daemon with oom_score_adj -500, nice 5 and --exec starts")
    os.kill(p.pid, signal.SIGUSR1)
    got = wait_for(lambda: os.path.exists(out))
    ok(got, "the --exec command ran")
    lines = text(out).split("\n")
    fields = {}
    for ln in lines[2:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            fields[k] = v.split()[0]
    adj = text(f"/proc/{p.pid}/oom_score_adj").strip()
    if adj == "-500":
        ok(lines[0] == "0", f"the child's oom_score_adj is 0 (got {lines[0]!r})")
        ok(adj == "-500", "the daemon keeps its oom_score_adj -500")
    else:
        skip("the child's oom_score_adj back to 0",
             f"this process may not lower oom_score_adj (the daemon got {adj}: no CAP_SYS_RESOURCE here)")
    ok(len(lines) > 1 and lines[1] == "0", f"the child's nice value is 0 (got {lines[1] if len(lines) > 1 else None!r})")
    ok(fields.get("VmLck") == "0", f"the child has no locked memory (VmLck {fields.get('VmLck')})")
    ok(fields.get("SigBlk") == "0000000000000000", f"the child blocks no signal (SigBlk {fields.get('SigBlk')})")
    ok(fields.get("SigIgn") == "0000000000000000", f"the child ignores no signal (SigIgn {fields.get('SigIgn')})")
    ok(len(lines) > 5 and lines[5] == "0", "the child sees no WATCHDOG_* variable")
    nice = text(f"/proc/{p.pid}/stat").rsplit(")", 1)[-1].split()[16]
    ok(nice == "5", f"... and its nice value 5 (got {nice})")
    if root and not SANITIZER:
        ok(int(status_field(p.pid, "VmLck") or 0) > 0, "... and its locked memory")
    stop(p)

    # ---- watchdog ----
    ns_path = os.path.join(T, "notify")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(ns_path)
    ns.settimeout(0.05)

    def drain(seconds):
        got, end = [], time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                got.append((time.monotonic(), ns.recv(4096).decode()))
            except socket.timeout:
                pass
        return got

    env = dict(os.environ, NOTIFY_SOCKET=ns_path, WATCHDOG_USEC="200000")
    env.pop("WATCHDOG_PID", None)
    p, sock, log, up = start("--trace", TRACE, "--trace-hold", env=env)
    msgs = drain(2.0)
    kinds = [m for _, m in msgs]
    ok(up and kinds and kinds[0].startswith("READY=1"), "watchdog: READY=1 first")
    pings = [t for t, m in msgs if m == "WATCHDOG=1"]
    # 0.1 s apart: about 20 in 2 s; asserting 5 leaves room for a slow machine.
    ok(len(pings) >= 5, f"WATCHDOG=1 keeps coming: {len(pings)} in 2 s at WATCHDOG_USEC=0.2 s")
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    if gaps:
        gaps.sort()
        print(f"# ping gaps: median {gaps[len(gaps) // 2]:.3f} s, max {gaps[-1]:.3f} s")
        ok(gaps[len(gaps) // 2] < 0.2, "the median gap is under the watchdog interval (half of it expected)")
    ok("watchdog: WATCHDOG=1 every 0.100 s" in text(log), "the log says the watchdog is on, at half the interval")
    os.kill(p.pid, signal.SIGSTOP)
    drain(0.1)
    stopped = [m for _, m in drain(0.6) if m == "WATCHDOG=1"]
    os.kill(p.pid, signal.SIGCONT)
    ok(not stopped, "a stopped daemon sends no ping (the loop sends them)")
    ok(any(m == "WATCHDOG=1" for _, m in drain(1.0)), "... and pings again once it runs")
    p.send_signal(signal.SIGTERM)
    p.wait(10)
    ok(any(m == "STOPPING=1" for _, m in drain(0.3)), "STOPPING=1 at SIGTERM")

    env = dict(os.environ, NOTIFY_SOCKET=ns_path, WATCHDOG_USEC="200000", WATCHDOG_PID="1")
    p, sock, log, up = start("--trace", TRACE, "--trace-hold", env=env)
    msgs = drain(1.0)
    ok(up and not [m for _, m in msgs if m == "WATCHDOG=1"], "WATCHDOG_PID of another process: no ping")
    stop(p)
    drain(0.2)

    env = dict(os.environ, NOTIFY_SOCKET=ns_path, WATCHDOG_USEC="soon")
    env.pop("WATCHDOG_PID", None)
    p, sock, log, up = start("--trace", TRACE, "--trace-hold", env=env)
    # The socket file comes at bind(), before the watchdog's line is logged.
    ok(up and wait_for(lambda: "WATCHDOG_USEC=soon: not a number of microseconds; no watchdog" in text(log),
                       timeout=10),
       "a malformed WATCHDOG_USEC is logged and the daemon serves on")
    stop(p)
    ns.close()
finally:
    cleanup()
done("resident")
