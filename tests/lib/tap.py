"""TAP for the Python tests: numbered checks and skips, the plan at the end.

    sys.path.insert(0, <tests/lib>); from tap import check, skip, done
"""
import sys

n = 0
failed = 0


def check(cond, what):
    """One numbered result; returns cond, so a test can go on from it."""
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}", flush=True)
    return cond


def skip(what, why):
    global n
    n += 1
    print(f"ok {n} - {what} # SKIP {why}", flush=True)


def done(name=None):
    """Print the plan (and, with a name, a summary line); exit 1 if any failed."""
    print(f"1..{n}")
    if name:
        print(f"# {name}: {n} checks, {failed} failed")
    sys.exit(1 if failed else 0)
