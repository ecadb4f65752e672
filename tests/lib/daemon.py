"""The Python daemon tests' common ground: a scratch directory and the
processes started in it, both gone however the test ends; waiting for a
condition; reading a file that may not exist (yet).

    sys.path.insert(0, <tests/lib>)
    from daemon import cleanup, procs, scratch, text, wait_for
    T = scratch("vmp-NAME-")        # each Popen: procs.append(p)
    try: ... finally: cleanup()
"""
import shutil
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
