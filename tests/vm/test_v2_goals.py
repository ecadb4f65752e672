#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/v2_goals --boots on two real VM runs (TAP).

usage: test_v2_goals.py V2_GOALS SOURCE_ROOT

--boots judges one boot's kernel against another boot's, by issue 10's
goals (docs/vm-fidelity.md, "The kernel against itself"). Here on the
VM suite's 6.1-v2 files kept in tests/data/vm-forecast/ (creep, burst):
  - a boot against itself: the kernel meets every goal on every listener,
    with no false window, and the estimator's rows are the per-directory
    mode's "new" rows;
  - a workload that only one boot ran is left out, and said so;
  - two runs whose listeners differ (another workload under the same
    name) are an error naming the workload, exit 1;
  - a wrong argument count is a usage error, exit 2.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

V2G, SRC = sys.argv[1:3]
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
from tap import check, done  # noqa: E402

DATA = os.path.join(SRC, "tests", "data", "vm-forecast", "6.1-v2", "study")


def run(*args):
    return subprocess.run([V2G, *args], capture_output=True, text=True, timeout=300)


def rows(text):
    """{(set, pair): (met, n, counts_met, false_w)} of the summary table."""
    got = {}
    for m in re.finditer(r"^\| (tuning|test) \| ([^|]+?) \| (\d+)/(\d+) \([^)]*\) \| (\d+)/\d+ \([^)]*\) \| (\d+)/\d+",
                         text, re.M):
        got[(m[1], m[2])] = tuple(int(m[i]) for i in (3, 4, 5, 6))
    return got


def main():
    out = tempfile.mkdtemp(prefix="vmp-v2g-")
    try:
        r = run(out, "--boots", DATA, DATA)
        check(r.returncode == 0, f"--boots A A exits 0 ({r.returncode}: {r.stderr.strip()[-300:]})")
        t = rows(r.stdout)
        for s in ("tuning", "test"):
            for p in ("kernel B against kernel A", "kernel A against kernel B"):
                met, n, counts, fw = t.get((s, p), (0, 0, 0, -1))
                check(n > 0 and met == n and counts == n and fw == 0,
                      f"{s}: {p}: {met}/{n} every goal, {counts}/{n} counts, {fw} false windows")
        check(r.stdout.count("at or above 95 %") == 2, "both verdicts: at or above 95 %")
        check(os.path.exists(os.path.join(out, "v2_goals_boots.md")), "v2_goals_boots.md written")

        # The estimator's rows against the per-directory mode's "new" rows.
        d = run(out, DATA)
        check(d.returncode == 0, f"the per-directory mode exits 0 ({d.returncode})")
        for s in ("tuning", "test"):
            m = re.search(rf"^\| study \| {s} \| new \| (\d+)/(\d+) ", d.stdout, re.M)
            e = t.get((s, "estimator on A against kernel A"))
            check(m and e and (int(m[1]), int(m[2])) == e[:2],
                  f"{s}: estimator on A {e and e[:2]} is the per-directory mode's new row {m and m.groups()}")

        # B without creep: left out.
        b = os.path.join(out, "b")
        os.mkdir(b)
        for f in os.listdir(DATA):
            if f.startswith("burst."):
                shutil.copy(os.path.join(DATA, f), b)
        r = run(out, "--boots", DATA, b)
        test_n = rows(r.stdout).get(("test", "kernel B against kernel A"), (0, -1))[1]
        check(r.returncode == 0 and "(1 workload(s) of A not run on B: left out)" in r.stdout and test_n == 0,
              f"a workload B did not run is left out ({r.returncode}, test set listeners {test_n})")

        # Another workload under creep's name: its listeners differ.
        for f in os.listdir(DATA):
            if f.startswith("burst."):
                shutil.copy(os.path.join(DATA, f), os.path.join(b, "creep." + f.split(".", 1)[1]))
        r = run(out, "--boots", DATA, b)
        check(r.returncode == 1 and "creep: the two boots' listeners differ" in r.stderr,
              f"listeners that differ: exit 1 naming the workload ({r.returncode}: {r.stderr.strip()[-200:]})")

        r = run(out, "--boots", DATA)
        check(r.returncode == 2 and "--boots takes two study directories" in r.stderr,
              f"one directory: usage error, exit 2 ({r.returncode})")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    done("v2-goals-boots")


main()
