"""The Python daemon tests' common ground: a scratch directory and the
processes started in it, both gone however the test ends; waiting for a
condition; reading a file that may not exist (yet); the sd-event client
built against libsystemd 254.

    sys.path.insert(0, <tests/lib>)
    from daemon import cleanup, procs, scratch, text, wait_for
    T = scratch("vmp-NAME-")        # each Popen: procs.append(p)
    try: ... finally: cleanup()
"""
import os
import shutil
import subprocess
import tempfile
import time

procs = []
_dirs = []


def scratch(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    _dirs.append(d)
    return d


def cleanup():
    """Kill what is still running of procs, remove the scratch directories."""
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    for d in _dirs:
        shutil.rmtree(d, ignore_errors=True)


def wait_for(cond, timeout=20.0, step=0.01):
    """cond()'s first true value within timeout seconds, else its last."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def text(path):
    """A file's text ("" while it does not exist); bytes that are not UTF-8
    are replaced, so that a log with a stray byte is still searched."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def serving(log, sock):
    """Has the daemon logged that it serves on sock? Wait for this, not for
    the socket file: bind() makes the file before listen() makes it answer,
    and a client connecting in between is refused as if no daemon ran."""
    return f"serving on {sock} " in text(log)


def sdevent_client(outdir):
    """tests/daemon/sdevent_client.c built into outdir against the
    libsystemd >= 254 that scripts/deps.sh test unpacks (Debian 12's 252
    lacks sd_event_add_memory_pressure()), from the environment the meson
    test gives: $MPWATCH_CC, $MPWATCH_SDEV_SRC, $MPWATCH_SDEV_DEPS.
    (the executable, None), or (None, why it cannot be built)."""
    cc, src, deps = (os.environ.get(k) for k in ("MPWATCH_CC", "MPWATCH_SDEV_SRC", "MPWATCH_SDEV_DEPS"))
    if not (cc and src and deps):
        return None, "no $MPWATCH_CC/$MPWATCH_SDEV_SRC/$MPWATCH_SDEV_DEPS"
    hdr = os.path.join(deps, "usr/include/systemd/sd-event.h")
    if not os.path.exists(hdr) or "sd_event_add_memory_pressure" not in open(hdr).read():
        return None, f"no libsystemd >= 254 in {deps} (`sh scripts/deps.sh test` unpacks one)"
    exe = os.path.join(outdir, "sdevent_client")
    lib = os.path.join(deps, "lib")
    r = subprocess.run(cc.split() + ["-std=c11", "-D_GNU_SOURCE", "-I" + os.path.join(deps, "usr/include"), src,
                                     "-o", exe, "-L" + lib, "-Wl,-rpath," + lib, "-lsystemd"],
                       capture_output=True, text=True)
    if r.returncode:
        return None, "cannot build it: " + r.stderr.strip().replace("\n", " ")[:200]
    return exe, None
