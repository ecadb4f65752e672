#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmpressured under the pressure it reports, in the VM suite's guest.

    vm_resident.py --source-root DIR --build-root DIR --cli PATH

One boot of the suite's 6.1-v1 configuration (vmsuite.py does the kernel,
the static programs, the initramfs and qemu; this directory is a scen dir
of its own, as --scen-dir would add it) running one workload of its own,
resident.sh: two daemons on the same listeners, one
protected (mlockall, oom_score_adj -900, as the unit runs it) and one not
(--no-mlock, 0), while the guest goes through global reclaim, a thrashing
cgroup and the OOM killer. Checks (TAP):

  - the workload did what it says: the kernel's own listeners (klisten)
    were notified at the root and in the thrashing group, the OOM killer
    killed something;
  - neither daemon was the OOM killer's victim, both ran to the end;
  - no notification lost: each daemon's client eventfd totals equal the
    kernel's own listener's, listener by listener;
  - the protected daemon's memory was locked (VmLck > 0), the other's not;
  - an --exec action of the protected daemon starts at oom_score_adj 0 and
    with no locked memory (the daemon: -900, locked);
  - RSS bounded: every 0.5 s sample of either daemon under 16 MiB (the
    unit's MemoryMin).

Measured (a benchmark: printed, never failed on): the delay, on the
capture's clock (ftrace's mono clock = the guest's CLOCK_MONOTONIC), from
the kernel's eventfd_signal() on one of the daemon's registrations to its
client's wake-up: for each wake-up, from the last such signal before it.
Median, p99 and max, per daemon, the unprotected one the baseline, and a
verdict: line. Written to BUILD/vm/resident/resident.md and .json.
"""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import vmsuite  # noqa: E402

CONF = '6.1-v1'
RSS_BOUND_KIB = 16 << 10  # the unit's MemoryMin=16M
EFD = re.compile(r'\s(\d+\.\d+): efd: \(\S+\) id=(-?\d+)')
VICTIM = re.compile(r'\s(\d+\.\d+): mark_victim: pid=(\d+)')


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else None


def lines(path, prefix):
    return [ln.split() for ln in vmsuite.read(path).splitlines() if ln.startswith(prefix)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--source-root', required=True)
    ap.add_argument('--build-root', required=True)
    ap.add_argument('--cli', required=True)
    args = ap.parse_args()
    src, build = os.path.abspath(args.source_root), os.path.abspath(args.build_root)
    cache = os.environ.get('VMP_VM_CACHE', f'{build}/vm-cache')
    rundir = f'{build}/vm/resident'
    timeout = int(os.environ.get('VMP_VM_TIMEOUT', '1200'))
    tap = vmsuite.Tap()
    try:
        vmsuite.ensure_packages()
        if not shutil.which('qemu-system-x86_64'):
            raise vmsuite.Skip('qemu-system-x86_64 is not available')
        os.makedirs(cache, exist_ok=True)
        kdir, rel = vmsuite.fetch_kernel(cache, vmsuite.CONFIGS[CONF]['suite'])
        progs, daemon_err = vmsuite.build_static(src, f'{build}/vm/bin')
        if daemon_err:
            raise vmsuite.HarnessError(daemon_err)
        scen, _ = vmsuite.scen_files([HERE])
        data = vmsuite.data_disk(cache)
    except vmsuite.Skip as e:
        print(f'1..0 # SKIP resident: {e}')
        return 0
    except (vmsuite.HarnessError, OSError) as e:
        tap.ok(False, 'resident: prepare the guest', [str(e)])
        tap.done()
        return 1
    shutil.rmtree(rundir, ignore_errors=True)
    os.makedirs(rundir)
    tmp = tempfile.mkdtemp(prefix='vm-resident.')
    try:
        initrd = f'{tmp}/initrd.gz'
        vmsuite.initramfs(initrd, kdir, progs, 'v1', tmp, scen)
        secs, console, timed_out, retried = vmsuite.boot_twice(rundir, f'{rundir}/logs', kdir, data, initrd, CONF,
                                                               ['resident'], timeout)
    except (vmsuite.HarnessError, OSError) as e:
        tap.ok(False, 'resident: boot the guest', [str(e)])
        tap.done()
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    d = f'{rundir}/out/resident'
    done = 'VM: ALLDONE' in console
    tap.ok(done and os.path.isdir(d) and not timed_out,
           f'resident: the {rel} guest ran the workload and powered off ({secs:.0f} s)',
           ([] if done else console.splitlines()[-25:])
           + ([] if retried is None else ['a first boot ran no workload; its console ended:'] + retried))
    if not os.path.isdir(d):
        tap.done()
        return 1
    pids = vmsuite.read(f'{d}/pids')
    m = re.search(r'protected (\d+) unprotected (\d+)', pids)
    dpid = {'p': int(m.group(1)), 'u': int(m.group(2))} if m else {}
    vmlck = [int(x) for x in re.findall(r'VmLck:\s+(\d+)', pids)]
    tap.ok(len(vmlck) == 2 and vmlck[0] > 0 and vmlck[1] == 0,
           f'the protected daemon has locked memory (VmLck {vmlck[0] if vmlck else "?"} kB), the other none',
           [pids])

    child = vmsuite.read(f'{d}/exec-child').split('\n')
    tap.ok(child[0].strip() == '0' and 'oom_score_adj p -900' in pids and re.search(r'VmLck:\s+0 kB', child[1] if
           len(child) > 1 else ''), f'an --exec action of the protected daemon (-900) starts at oom_score_adj '
           f'{child[0].strip() or "?"}, unlocked ({child[1].strip() if len(child) > 1 else "?"})')
    kexp = {int(f[1]): (f[2], int(f[3])) for f in lines(f'{d}/klisten', 'expect ')}
    spec_n = {s: n for s, n in kexp.values()}
    tap.ok(spec_n.get('/:low', 0) > 0 and spec_n.get('rs/t:low', 0) > 0,
           f'the kernel notified its own listeners at the root and in the thrashing group ({kexp})')
    trace = vmsuite.read(f'{d}/trace')
    victims = [(float(t), int(p)) for t, p in VICTIM.findall(trace)]
    tap.ok(bool(victims), f'the OOM killer ran ({len(victims)} victims, pids {sorted({p for _, p in victims})})',
           vmsuite.read(f'{d}/victims').splitlines())
    vtext = vmsuite.read(f'{d}/victims')
    for k, name in (('p', 'protected'), ('u', 'unprotected')):
        pid = dpid.get(k)
        tap.ok(pid is not None and f'alive {k} {pid}' in vtext and all(p != pid for _, p in victims),
               f'the {name} daemon (pid {pid}) was not the OOM victim and ran to the end')
    counts = {}
    for k, name in (('p', 'protected'), ('u', 'unprotected')):
        got = {int(f[1]): (f[2], int(f[3])) for f in lines(f'{d}/client-{k}', 'count ')}
        counts[k] = got
        tap.ok(got and all(got.get(i, (None, -1))[1] == n for i, (s, n) in kexp.items()),
               f'no notification lost through the {name} daemon: its client counts {got} = the kernel\'s')
    rss = [ln.split() for ln in vmsuite.read(f'{d}/rss').splitlines()]
    peak, low = {}, {}
    for k, col in (('p', 1), ('u', 2)):
        vals = [int(r[col]) for r in rss if len(r) > col and r[col].isdigit()]
        peak[k] = max(vals) if vals else None
        low[k] = min(vals) if vals else None
        tap.ok(bool(vals) and peak[k] < RSS_BOUND_KIB,
               f'{"protected" if k == "p" else "unprotected"} daemon RSS bounded: peak {peak[k]} KiB of '
               f'{len(vals)} samples < {RSS_BOUND_KIB} KiB')

    # Latency: kernel eventfd_signal on a daemon's registration -> its client's wake-up.
    sig = [(float(t), int(i)) for t, i in EFD.findall(trace)]
    phases = [(ln.split()[1], float(ln.split()[2])) for ln in vmsuite.read(f'{d}/meta').splitlines()
              if ln.startswith('phase ')]
    res = {}
    for k in ('p', 'u'):
        ids = {int(x) for x in vmsuite.read(f'{d}/efdids-{k}').split() if x.lstrip('-').isdigit()}
        ts = sorted(t for t, i in sig if i in ids)
        wakes = sorted(float(f[1]) for f in lines(f'{d}/client-{k}', 'efd '))
        delays, by_phase, j = [], {}, 0
        prev = -1.0
        for w in wakes:
            while j < len(ts) and ts[j] <= w:
                j += 1
            if j and ts[j - 1] > prev:
                dl = w - ts[j - 1]
                delays.append(dl)
                ph = next((n for n, t0 in reversed(phases) if t0 <= w), 'before')
                by_phase.setdefault(ph, []).append(dl)
            prev = w
        res[k] = {'wakes': len(wakes), 'signals': len(ts), 'measured': len(delays),
                  'median_ms': pct(delays, 0.5) and pct(delays, 0.5) * 1e3,
                  'p99_ms': pct(delays, 0.99) and pct(delays, 0.99) * 1e3,
                  'max_ms': max(delays) * 1e3 if delays else None,
                  'by_phase': {ph: {'n': len(v), 'median_ms': pct(v, 0.5) * 1e3, 'max_ms': max(v) * 1e3}
                               for ph, v in by_phase.items()},
                  'rss_peak_kib': peak[k], 'rss_min_kib': low[k]}
    tap.ok(res['p']['measured'] > 0 and res['u']['measured'] > 0,
           f'delays measured: {res["p"]["measured"]} (protected), {res["u"]["measured"]} (unprotected) wake-ups')

    def f(v):
        return '-' if v is None else f'{v:.2f}'
    md = ['# vmpressured under the pressure it reports', '',
          f'Kernel {rel}, cgroup v1, {vmsuite.VCPUS} vCPUs (qemu TCG), guest time {secs:.0f} s; '
          f'`python3 tests/vm/resident/vm_resident.py --source-root . --build-root build --cli build/vmpressure`.',
          'Delay: the kernel\'s eventfd_signal() on a daemon registration to its client\'s poll() wake-up, '
          'on the capture\'s clock; per wake-up, from the last signal before it.', '',
          '| daemon | wake-ups | median ms | p99 ms | max ms | RSS min, peak KiB |', '|---|---|---|---|---|---|']
    for k, name in (('u', 'unprotected (baseline)'), ('p', 'protected')):
        r = res[k]
        md.append(f'| {name} | {r["measured"]} | {f(r["median_ms"])} | {f(r["p99_ms"])} | {f(r["max_ms"])} | '
                  f'{r["rss_min_kib"]}, {r["rss_peak_kib"]} |')
    md += ['', '| phase | protected: n, median, max ms | unprotected: n, median, max ms |', '|---|---|---|']
    for ph in [p for p, _ in phases]:
        cells = []
        for k in ('p', 'u'):
            b = res[k]['by_phase'].get(ph)
            cells.append(f'{b["n"]}, {b["median_ms"]:.2f}, {b["max_ms"]:.2f}' if b else '-')
        md.append(f'| {ph} | {cells[0]} | {cells[1]} |')
    rp, ru = res['p'], res['u']
    verdict = ('protected no slower than unprotected at the median'
               if rp['median_ms'] is not None and ru['median_ms'] is not None and rp['median_ms'] <= ru['median_ms']
               else 'protected slower than unprotected at the median (TCG timing is noisy: compare runs)')
    md += ['', f'baseline: the unprotected daemon of the same run', f'verdict: {verdict}']
    text = '\n'.join(md) + '\n'
    with open(f'{rundir}/resident.md', 'w') as fh:
        fh.write(text)
    with open(f'{rundir}/resident.json', 'w') as fh:
        json.dump({'kernel': rel, 'guest_seconds': round(secs, 1), 'results': res, 'kernel_counts': kexp,
                   'client_counts': counts, 'victims': victims, 'revision': vmsuite.source_revision(src)},
                  fh, indent=1)
    tap.diag(text)
    tap.done()
    return 0


if __name__ == '__main__':
    t0 = time.monotonic()
    sys.exit(main())
