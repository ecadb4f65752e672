#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The OOM forecast against its peers on the VM suite's runs (docs/forecast.md).

usage: forecast_vm.py VMPRESSURE VM_BUILD_DIR [OUT_DIR]

VM_BUILD_DIR is the VM suite's output (build/vm: one directory per kernel
configuration with study/<workload>.{samples,json} and the capture
<workload>.vmpt; tests/vm/README.md). For every configuration and
workload: each group of the workload is followed by the model (`vmpressure
forecast` on the group's samples turned into `# fcsample` lines: the group,
its ancestors within the workload, the machine), and from the same run:

  - the kernel's first medium and first critical (its captured calls
    replayed: `vmpressure replay --events`, any listener of the workload);
  - PSI triggers at lmkd's settings (some 70 ms / 1 s, full 700 ms / 1 s)
    and GLib's GMemoryMonitorPsi (some 70 ms / 2 s, some 100 ms / 2 s,
    full 100 ms / 2 s), on the OOM-ing group's memory.pressure (cgroup v1:
    the machine's), from the samples' stall totals (100 ms resolution);
  - systemd-oomd's default rule (full avg10 over 60 % for 30 s);
  - earlyoom's rule (MemAvailable under 10 % of MemTotal) and its
    per-cgroup analogue (limit - usage under 10 % of the limit).

Per OOM workload: the approach (from when the OOM-ing group's unreclaimable
memory passed half its limit to the first kill), each signal's lead (its
first firing to the kill; none after it), the forecast's eta at its first
warning against the time that remained. Per benign workload: whether each
signal fired (a false warning). Markdown and JSON per configuration, the
tuning set and the test set apart, and a verdict line. Never fails on a
missed goal; exits 0 saying so when there is no data.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

CLI, ROOT = sys.argv[1:3]
OUT = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(ROOT.rstrip("/")), "bench")
UNL = 1 << 62
PSI_RE = re.compile(r"(\S+)\[(some|full) avg10=([\d.]+) avg60=[\d.]+ avg300=[\d.]+ total=(\d+)\]")


def parse_samples(path):
    """[(t, {key: int}, {(tag, kind): (avg10, total)})]"""
    out = []
    with open(path) as f:
        for line in f:
            if not line.startswith("sample "):
                continue
            psi = {}
            for m in PSI_RE.finditer(line):
                psi[(m.group(1), m.group(2))] = (float(m.group(3)), int(m.group(4)))
            rest = PSI_RE.sub("", line).split()
            t = float(rest[1])
            kv = {}
            for i in range(2, len(rest) - 1, 2):
                try:
                    kv[rest[i]] = int(rest[i + 1])
                except ValueError:
                    pass
            out.append((t, kv, psi))
    return out


def groups_of(vmpt):
    paths = []
    with open(vmpt) as f:
        for line in f:
            if line.startswith("group "):
                p = line.split()[1]
                if p != "/":
                    paths.append(p)
    return paths


def lim(v):
    return "max" if v is None or v < 0 or v >= UNL else str(v)


def group_line(path, leaf, kv, v1, psi_kind):
    g = lambda k: kv.get(f"{leaf}.{k}")  # noqa: E731
    if v1:
        usage, mx = g("usage_in_bytes"), g("limit_in_bytes")
        if usage is None or mx is None or g("total_rss") is None:
            return f"# fcsample-cg {path} gone"
        msu, msl = g("memsw.usage_in_bytes"), g("memsw.limit_in_bytes")
        swap = "-"
        if msu is not None and msl is not None:
            sm = "max" if msl >= UNL else str(max(0, msl - (mx if mx < UNL else 0)))
            swap = f"{max(0, msu - usage)}/{sm}"
        anon, shmem, unev = g("total_rss"), g("total_shmem") or 0, g("total_unevictable") or 0
        file_lru = (g("total_active_file") or 0) + (g("total_inactive_file") or 0)
        refaults = (g("total_workingset_refault_anon") or 0) + (g("total_workingset_refault_file") or 0)
        return (f"# fcsample-cg {path} usage={usage} max={lim(mx)} high=max swap={swap} anon={anon} "
                f"shmem={shmem} unevictable={unev} file={file_lru} slab=0/0 refaults={refaults} reclaim=- "
                f"oom_kill={g('oom_kill') or 0}")
    usage, mx, anon = g("memory.current"), g("memory.max"), g("anon")
    if usage is None or mx is None or anon is None:
        return f"# fcsample-cg {path} gone"
    hi = g("memory.high")
    sc, sm = g("memory.swap.current"), g("memory.swap.max")
    swap = f"{sc}/{lim(sm)}" if sc is not None and sm is not None else "-"
    shmem = g("shmem") or 0
    # the v2 samples have no active_file/inactive_file: file less shmem is the file LRU
    file_lru = max(0, (g("file") or 0) - shmem)
    refaults = (g("workingset_refault_anon") or 0) + (g("workingset_refault_file") or 0)
    reclaim = f"{g('pgscan')}/{g('pgsteal')}" if g("pgscan") is not None and g("pgsteal") is not None else "-"
    return (f"# fcsample-cg {path} usage={usage} max={lim(mx)} high={lim(hi)} swap={swap} anon={anon} "
            f"shmem={shmem} unevictable={g('unevictable') or 0} file={file_lru} slab=0/{g('slab_unreclaimable') or 0} "
            f"refaults={refaults} reclaim={reclaim} oom_kill={g('oom_kill') or 0}")


def fcsamples(samples, chain, v1):
    """The fcsample text of a watched group: chain is [(path, leaf)], the group first."""
    lines = ["# fcsamples 1"]
    t0 = samples[0][0]
    for t, kv, psi in samples:
        tag = "/" if v1 else chain[0][1]
        p = psi.get((tag, "some")), psi.get((tag, "full"))
        ps = f"psi={p[0][0]:.2f}/{p[1][0]:.2f}" if p[0] and p[1] else "psi=-"
        m = "-"
        if "meminfo.MemTotal" in kv:
            m = (f"machine mem_total={kv['meminfo.MemTotal'] * 1024} mem_available={kv['meminfo.MemAvailable'] * 1024} "
                 f"swap_total={kv['meminfo.SwapTotal'] * 1024} swap_free={kv['meminfo.SwapFree'] * 1024} "
                 f"oom_kill={kv.get('vmstat.oom_kill', 0)}")
        lines.append(f"# fcsample {t - t0:.6f} {len(chain)} {ps} {m}")
        for path, leaf in chain:
            lines.append(group_line(path, leaf, kv, v1, None))
    return "\n".join(lines) + "\n", t0


def run_forecast(text):
    with tempfile.NamedTemporaryFile("w", suffix=".vmpt", delete=False) as f:
        f.write("# vmptrace 1\n" + text)
        name = f.name
    try:
        r = subprocess.run([CLI, "forecast", name, "--json"], capture_output=True, text=True)
    finally:
        os.unlink(name)
    if r.returncode != 0:
        return None, r.stderr.strip()
    return [json.loads(x) for x in r.stdout.splitlines() if x.strip()], None


def kernel_levels(vmpt):
    """First time any listener was notified at medium or above, and at critical (capture clock)."""
    r = subprocess.run([CLI, "replay", "--events", vmpt], capture_output=True, text=True)
    med = crit = None
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) != 3:
            continue
        try:
            t = float(f[0])
        except ValueError:
            continue
        if f[2] in ("medium", "critical") and med is None:
            med = t
        if f[2] == "critical" and crit is None:
            crit = t
    return med, crit


def psi_trigger(samples, tag, kind, stall_us, window_s):
    """First sample time at which the stall over the last window reached the threshold."""
    pts = [(t, psi[(tag, kind)][1]) for t, _, psi in samples if (tag, kind) in psi]
    j = 0
    for i, (t, tot) in enumerate(pts):
        while j < i and pts[j + 1][0] <= t - window_s:
            j += 1
        if i and t - pts[j][0] >= window_s * 0.9 - 1e-9 and tot - pts[j][1] >= stall_us:
            return t
        if i and t - pts[0][0] < window_s * 0.9 and tot - pts[0][1] >= stall_us:
            return t  # the threshold reached within less than a window
    return None


def oomd(samples, tag):
    above = None
    for t, _, psi in samples:
        v = psi.get((tag, "full"))
        if v and v[0] > 60:
            above = t if above is None else above
            if t - above >= 30:
                return t
        else:
            above = None
    return None


def earlyoom(samples):
    for t, kv, _ in samples:
        if "meminfo.MemTotal" in kv and kv["meminfo.MemAvailable"] < kv["meminfo.MemTotal"] / 10:
            return t
    return None


def headroom10(samples, leaf, v1):
    for t, kv, _ in samples:
        u = kv.get(f"{leaf}.usage_in_bytes" if v1 else f"{leaf}.memory.current")
        m = kv.get(f"{leaf}.limit_in_bytes" if v1 else f"{leaf}.memory.max")
        if u is None or m is None or m < 0 or m >= UNL:
            continue
        if m - u < m / 10:
            return t
    return None


def half_time(samples, leaf, v1):
    """When the group's unreclaimable memory (usage less page cache) passed half its limit."""
    for t, kv, _ in samples:
        if leaf is None:  # the machine
            if "meminfo.MemTotal" in kv and kv["meminfo.MemTotal"] - kv["meminfo.MemAvailable"] > kv["meminfo.MemTotal"] / 2:
                return t
            continue
        if v1:
            u, m = kv.get(f"{leaf}.usage_in_bytes"), kv.get(f"{leaf}.limit_in_bytes")
            f = (kv.get(f"{leaf}.total_active_file") or 0) + (kv.get(f"{leaf}.total_inactive_file") or 0)
        else:
            u, m = kv.get(f"{leaf}.memory.current"), kv.get(f"{leaf}.memory.max")
            f = max(0, (kv.get(f"{leaf}.file") or 0) - (kv.get(f"{leaf}.shmem") or 0))
        if u is None or m is None or m < 0 or m >= UNL:
            continue
        if u - f > m / 2:
            return t
    return None


SIGNALS = ["forecast", "kernel medium", "kernel critical", "lmkd some 70ms/1s", "lmkd full 700ms/1s",
           "GLib some 70ms/2s", "GLib some 100ms/2s", "GLib full 100ms/2s", "systemd-oomd full>60%/30s",
           "earlyoom MemAvailable<10%", "cgroup headroom<10%"]


def one(config_dir, name, v1):
    study = os.path.join(config_dir, "study")
    with open(os.path.join(study, name + ".json")) as f:
        info = json.load(f)
    samples = parse_samples(os.path.join(study, name + ".samples"))
    vmpt = os.path.join(study, name + ".vmpt")
    if not os.path.exists(vmpt):
        vmpt = os.path.join(config_dir, name + ".vmpt")
    if not samples or not os.path.exists(vmpt):
        return None
    paths = groups_of(vmpt)
    leaf = {p: p.rsplit("/", 1)[-1] for p in paths}
    ukey = "usage_in_bytes" if v1 else "memory.current"
    if not any(f"{leaf[p]}.{ukey}" in kv for _, kv, _ in samples for p in paths):
        return {"workload": name, "skipped": f"its samples have no {ukey}: made before the sampler kept the forecast's inputs"}
    kills = sorted(k["mono"] for k in info.get("oom_kills", []))
    kill = kills[0] if kills else None
    ocg = info["oom_kills"][0].get("oom_cgroup") if kills else None
    kind = "oom" if kill is not None else "benign"
    # the forecast, per watched group
    fc_first = None
    fc_eta = None
    fc_warnings = 0
    errors = []
    for p in paths:
        chain = [(q, leaf[q]) for q in paths if p == q or p.startswith(q + "/")]
        chain.sort(key=lambda x: -x[0].count("/"))
        text, t0 = fcsamples(samples, chain, v1)
        evs, err = run_forecast(text)
        if err:
            errors.append(f"{p}: {err}")
            continue
        on_path = kill is None or ocg in (None, "/") or p == ocg or p.startswith(ocg + "/")
        for e in evs:
            if e["event"] == "forecast" and e["cause"] == "eta":
                t = t0 + e["t"]
                if kill is not None and t >= kill:
                    continue
                fc_warnings += 1
                if on_path and (fc_first is None or t < fc_first):
                    fc_first, fc_eta = t, e["eta"]
    med, crit = kernel_levels(vmpt)
    tag = "/" if v1 or ocg in (None, "/") else leaf.get(ocg, "/")
    if kill is None:
        limited = [leaf[p] for p in paths]
    else:
        limited = [leaf[ocg]] if ocg in leaf else []
    h10 = [x for x in (headroom10(samples, lf, v1) for lf in limited) if x is not None]
    sig = {
        "forecast": fc_first,
        "kernel medium": med,
        "kernel critical": crit,
        "lmkd some 70ms/1s": psi_trigger(samples, tag, "some", 70000, 1.0),
        "lmkd full 700ms/1s": psi_trigger(samples, tag, "full", 700000, 1.0),
        "GLib some 70ms/2s": psi_trigger(samples, tag, "some", 70000, 2.0),
        "GLib some 100ms/2s": psi_trigger(samples, tag, "some", 100000, 2.0),
        "GLib full 100ms/2s": psi_trigger(samples, tag, "full", 100000, 2.0),
        "systemd-oomd full>60%/30s": oomd(samples, tag),
        "earlyoom MemAvailable<10%": earlyoom(samples),
        "cgroup headroom<10%": min(h10) if h10 else None,
    }
    if kill is not None:  # a signal after the kill is no warning
        sig = {k: (v if v is not None and v < kill else None) for k, v in sig.items()}
    half = half_time(samples, leaf.get(ocg) if ocg not in (None, "/") else None, v1) if kill else None
    return {
        "workload": name, "set": info.get("set"), "kind": kind, "oom_cgroup": ocg,
        "kill": kill, "approach_s": round(kill - half, 2) if kill and half and half < kill else None,
        "lead_s": {k: (round(kill - v, 2) if kill and v is not None else None) for k, v in sig.items()},
        "fired": {k: v is not None for k, v in sig.items()},
        "forecast_eta_s": fc_eta, "forecast_left_s": round(kill - fc_first, 2) if kill and fc_first else None,
        "forecast_warnings": fc_warnings, "errors": errors,
    }


def fmt(v):
    return "-" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)


def table(rows, out):
    short = ["forecast", "kernel medium", "kernel critical", "lmkd some 70ms/1s", "GLib some 70ms/2s",
             "systemd-oomd full>60%/30s", "earlyoom MemAvailable<10%", "cgroup headroom<10%"]
    oom = [r for r in rows if r["kind"] == "oom"]
    ben = [r for r in rows if r["kind"] == "benign"]
    out.append("OOM workloads: seconds of lead before the first kill (- : no signal before it)\n")
    out.append("| workload | approach s | forecast eta / left s | " + " | ".join(short) + " |")
    out.append("|---|---|---|" + "---|" * len(short))
    for r in oom:
        out.append(f"| {r['workload']} | {fmt(r['approach_s'])} | {fmt(r['forecast_eta_s'])} / {fmt(r['forecast_left_s'])} | "
                   + " | ".join(fmt(r["lead_s"][k]) for k in short) + " |")
    out.append("\nBenign workloads: did the signal fire (a false warning)?\n")
    out.append("| workload | " + " | ".join(short) + " |")
    out.append("|---|" + "---|" * len(short))
    for r in ben:
        out.append(f"| {r['workload']} | " + " | ".join("yes" if r["fired"][k] else "no" for k in short) + " |")
    out.append("\nPer signal: OOM workloads warned >= 1 s ahead, and benign workloads with a false warning\n")
    out.append("| signal | warned >= 1 s ahead | false warnings |")
    out.append("|---|---|---|")
    for k in SIGNALS:
        w = sum(1 for r in oom if r["lead_s"][k] is not None and r["lead_s"][k] >= 1)
        fw = sum(1 for r in ben if r["fired"][k])
        out.append(f"| {k} | {w}/{len(oom)} | {fw}/{len(ben)} |")


def main():
    configs = sorted(d for d in os.listdir(ROOT) if os.path.isdir(os.path.join(ROOT, d, "study"))) \
        if os.path.isdir(ROOT) else []
    if not configs:
        print(f"forecast_vm: no VM suite runs under {ROOT} (study/ directories); nothing measured")
        print("verdict: no data")
        return
    os.makedirs(OUT, exist_ok=True)
    md = ["# The OOM forecast against its peers on the VM suite's runs", "",
          f"`bench/forecast_vm.py {CLI} {ROOT}`; the forecast with its defaults (docs/forecast.md says "
          "which of its rules came after which runs). The baseline in every row is the peers' signals from "
          "the same run.", ""]
    allj = {}
    misses = {"tuning": [], "test": [], "external": []}
    judged = {"tuning": 0, "test": 0, "external": 0}
    for c in configs:
        cd = os.path.join(ROOT, c)
        names = sorted(n[:-5] for n in os.listdir(os.path.join(cd, "study"))
                       if n.endswith(".json") and n != "e2e.json"
                       and os.path.exists(os.path.join(cd, "study", n[:-5] + ".samples")))
        rows, skipped = [], []
        for n in names:
            with open(os.path.join(cd, "study", n + ".json")) as f:
                v1 = json.load(f).get("cgroup") == 1
            r = one(cd, n, v1)
            if r and "skipped" in r:
                skipped.append(r)
            elif r:
                rows.append(r)
        allj[c] = rows
        md.append(f"## {c} ({len(rows)} workloads)\n")
        if skipped:
            md.append(f"{len(skipped)} workloads left out: {skipped[0]['skipped']}.\n")
        for s in ("tuning", "test"):
            sr = [r for r in rows if r["set"] == s]
            if not sr:
                continue
            md.append(f"### {s} set\n")
            table(sr, md)
            md.append("")
        for r in rows:
            a = r["approach_s"]
            s = r["set"] if r["set"] in misses else "external"
            if r["kind"] == "oom" and a is not None and a >= 2:
                judged[s] += 1
                lead = r["lead_s"]["forecast"]
                if lead is None or lead < 1 or lead < a / 2:
                    misses[s].append(f"{r['workload']}@{c} (approach {a:.1f} s, lead "
                                     f"{'none' if lead is None else f'{lead:.1f} s'})")
            if r["kind"] == "benign":
                judged[s] += 1
                if r["fired"]["forecast"]:
                    misses[s].append(f"{r['workload']}@{c} (benign, warned)")
    md.append("Goal: every OOM whose approach lasts >= 2 s forecast >= 1 s and >= half its approach ahead; "
              "no forecast on any benign workload.\n")
    for s in ("tuning", "test", "external"):
        if judged[s]:
            md.append(f"- {s} set: {'goal met' if not misses[s] else 'goal missed'} "
                      f"({judged[s] - len(misses[s])}/{judged[s]} judged workloads"
                      + (f"; missed: {', '.join(misses[s])}" if misses[s] else "") + ")")
    md.append("")
    md.append(f"verdict: {'goal met' if not any(misses.values()) else 'goal missed'} on these runs"
              f" (test set: {'met' if not misses['test'] else 'missed'})")
    with open(os.path.join(OUT, "forecast_vm.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(OUT, "forecast_vm.json"), "w") as f:
        json.dump(allj, f, indent=1)
    print("\n".join(md))


main()
