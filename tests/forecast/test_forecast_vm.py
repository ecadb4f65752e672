#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/forecast_vm.py on two of the VM suite's real runs (TAP).

usage: test_forecast_vm.py VMPRESSURE SOURCE_ROOT

tests/data/vm-forecast/ holds the VM suite's files of two workloads on
Debian 6.1, cgroup v2 (2026-12-02, docs/forecast.md): `creep` of boot 2,
a slow leak to its OOM kill (test set), and `burst` of boot 1, three
fills to 88 % of the limit that stop (tuning set; warned 0.13 s before a
fill stopped until the forecast's `least` rule). The benchmark replays
them through the model and the peers' rules; the test asserts what the VM
tables say of them, so a change of the model or of the script that moves
these figures fails here, without a VM:
  - creep: an OOM whose approach lasts seconds, forecast at least half of
    it (and 1 s) ahead, its eta at the warning within 30 % of the time
    that was left; the kernel's first critical under a second ahead;
  - burst: benign, no forecast, while lmkd's PSI trigger fires;
  - the verdict lines: each set's goal met, named per set;
  - a directory without runs: "verdict: no data", exit 0.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

CLI, SRC = sys.argv[1:3]
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
from tap import check, done  # noqa: E402

BENCH = os.path.join(SRC, "bench", "forecast_vm.py")
DATA = os.path.join(SRC, "tests", "data", "vm-forecast")


def main():
    out = tempfile.mkdtemp(prefix="vmp-fcvm-")
    try:
        r = subprocess.run([sys.executable, BENCH, CLI, DATA, out], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"forecast_vm.py exits 0 ({r.returncode}: {r.stderr.strip()[-300:]})")
        try:
            with open(os.path.join(out, "forecast_vm.json")) as f:
                rows = {x["workload"]: x for x in json.load(f)["6.1-v2"]}
        except (OSError, ValueError, KeyError) as e:
            check(False, f"its JSON has the 6.1-v2 rows ({e})")
            rows = {}
        c, b = rows.get("creep"), rows.get("burst")
        check(c and b and not c["errors"] and not b["errors"], "both workloads read, no errors")
        if c:
            a, lead = c["approach_s"], c["lead_s"]["forecast"]
            check(c["kind"] == "oom" and c["set"] == "test" and a is not None and a >= 2,
                  f"creep: an OOM of the test set with an approach of seconds ({a} s)")
            check(lead is not None and lead >= 1 and lead >= a / 2,
                  f"creep: forecast {lead} s ahead of the kill, at least half its approach")
            eta, left = c["forecast_eta_s"], c["forecast_left_s"]
            check(eta is not None and left and abs(eta - left) <= 0.3 * left,
                  f"creep: eta {eta} s at the warning against {left} s left")
            k = c["lead_s"]["kernel critical"]
            check(k is not None and k < 1, f"creep: the kernel's first critical {k} s ahead")
        if b:
            check(b["kind"] == "benign" and b["set"] == "tuning" and not b["fired"]["forecast"],
                  f"burst: benign, no forecast ({b['forecast_warnings']} warnings)")
            check(b["fired"]["lmkd some 70ms/1s"], "burst: lmkd's PSI trigger fires on it")
        try:
            md = open(os.path.join(out, "forecast_vm.md")).read()
        except OSError:
            md = ""
        check("- test set: goal met (1/1 judged workloads)" in md and "- tuning set: goal met (1/1 judged" in md
              and "verdict: goal met on these runs (test set: met)" in md,
              "the verdict: each set's goal met, and the whole")
        empty = os.path.join(out, "empty")
        os.makedirs(empty)
        r = subprocess.run([sys.executable, BENCH, CLI, empty, out], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and "verdict: no data" in r.stdout, f"no runs: 'verdict: no data', exit {r.returncode}")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    done("forecast_vm")


if __name__ == "__main__":
    main()
