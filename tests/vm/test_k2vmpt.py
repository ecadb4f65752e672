#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The capture's conversion (tests/vm/k2vmpt.py) on made-up captures of two
CPUs, where time order alone puts calls in the wrong window.

    test_k2vmpt.py VMPRESSURE-CLI

Each case is a guest output directory written here (groups, trace) whose
work records carry the accumulator each work found at its entry (ts, tr);
the kernel's windows are known by construction. The checks: the converted
vmptrace, replayed (`vmpressure replay --events`), gives one low
notification per window the kernel evaluated, where the time order would
give another count; a carried-over root accumulator becomes a record; a
call that scanned nothing adds nothing; a vmpressure_prio() call's own
vmpressure() call is told from another task's.
"""
import io
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'lib'))
import k2vmpt  # noqa: E402
from tap import check, done  # noqa: E402

G = 675  # the kernfs id of group g


def vmp(task, cpu, t, scanned, reclaimed, tree=1, gfp='0x100cca', root=False):
    mc = '0x0000000000000000' if root else '0xffff8e9e4b32b000'
    return (f'           hog-{task}     [{cpu:03d}] .....  {t:10.6f}: vmp: (vmpressure+0x0/0x150) '
            f'gfp={gfp} mc={mc} cg={G} tree={tree} scanned={scanned} reclaimed={reclaimed}')


def prio(task, cpu, t, p):
    return (f'           hog-{task}     [{cpu:03d}] .....  {t:10.6f}: vmprio: (vmpressure_prio+0x0/0x30) '
            f'gfp=0x100cca mc=0xffff8e9e4b32b000 cg={G} prio={p}')


def work(t, ts, tr, gid=G):
    return (f'     kworker/0:1-17      [000] .....  {t:10.6f}: vmwork: (vmpressure_work_fn+0x0/0x140) '
            f'w=0xffff8e9e4b32b488 id={gid} ts={ts} tr={tr}')


def convert(lines, listen='g:low', root_id=1):
    d = tempfile.mkdtemp(prefix='k2vmpt.')
    with open(f'{d}/groups', 'w') as f:
        f.write(f'group / {root_id}\ngroup g {G}\nhyp {listen}\n')
    with open(f'{d}/trace', 'w') as f:
        f.write('# tracer: nop\n#\n')
        f.write('\n'.join(sorted(lines, key=lambda l: float(l.split(': ')[0].split()[-1]))) + '\n')
    out = io.StringIO()
    k2vmpt.convert(d, out)
    for name in os.listdir(d):
        os.unlink(f'{d}/{name}')
    os.rmdir(d)
    return out.getvalue()


def events(cli, vmpt):
    with tempfile.NamedTemporaryFile('w', suffix='.vmpt', delete=False) as f:
        f.write(vmpt)
    try:
        r = subprocess.run([cli, 'replay', '--events', f.name], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.unlink(f.name)
    if r.returncode != 0:
        return None
    return [f for f in (line.split() for line in r.stdout.splitlines()) if len(f) == 3]


def main():
    if len(sys.argv) != 2:
        sys.stderr.write('usage: test_k2vmpt.py VMPRESSURE-CLI\n')
        return 64
    cli = sys.argv[1]

    # The worker's lock came late: a call probed just after the first
    # work's entry went into its window, and the next work found nothing.
    late = [vmp(1, 1, 1.000, 300, 300), vmp(1, 1, 1.001, 300, 300), work(1.002, 600, 600),
            vmp(2, 1, 1.0021, 26, 26), work(1.004, 0, 0),
            vmp(1, 1, 1.010, 520, 520), work(1.011, 520, 520)]
    out = convert(late)
    ev = events(cli, out)
    check(ev is not None and len(ev) == 2,
          f'a late lock: 2 windows evaluated, as the kernel did (time order gives 3): got {ev and len(ev)}')
    check('1 works moved' in out, 'a late lock: the vmptrace says it moved the work record')

    # A reclaimer stalled between its probe and its add: its call missed
    # the work whose entry came first, and the next work took it alone.
    stall = [vmp(1, 1, 2.000, 300, 300), vmp(2, 0, 2.001, 300, 300), vmp(1, 1, 2.002, 26, 26),
             work(2.010, 600, 600), work(2.020, 26, 26)]
    out = convert(stall)
    ev = events(cli, out)
    check(ev is not None and len(ev) == 2,
          f'a stalled add: 2 windows evaluated, as the kernel did (time order gives 1): got {ev and len(ev)}')
    order = [l.split()[0] + (l.split()[4] if l.startswith('vmp') else '') for l in out.splitlines()
             if l.startswith(('vmpressure', 'work'))]
    check(order.index('vmpressure26') > order.index('work'),
          f'a stalled add: the stalled call comes after the work it missed: {order}')

    # A reclaimer stalled through two works: its call joins the third.
    stall2 = [vmp(3, 1, 2.500, 26, 26), vmp(1, 0, 2.501, 300, 300), vmp(1, 0, 2.502, 300, 300),
              work(2.503, 600, 600), vmp(1, 0, 2.504, 520, 520), work(2.505, 520, 520),
              work(2.520, 26, 26)]
    out = convert(stall2)
    ev = events(cli, out)
    check(ev is not None and len(ev) == 3,
          f'a call stalled through two works: 3 windows, as the kernel did (time order gives 2): got {ev and len(ev)}')

    # The root's accumulator carried over from before the capture.
    carry = [vmp(1, 0, 3.000, 100, 100, root=True), work(3.001, 612, 612, gid=1)]
    out = convert(carry, listen='/:low')
    check('vmpressure' in out and ' / 1 512 512 ' in out,
          'a carried-over root accumulator becomes a record of what the capture missed')
    ev = events(cli, out)
    check(ev is not None and len(ev) == 1, f'the carried-over window: one notification: got {ev and len(ev)}')

    # A call that scanned nothing adds nothing (its reclaimed is dropped):
    # the work's entry values are explained without it.
    zero = [vmp(1, 0, 4.000, 0, 8), vmp(1, 0, 4.001, 520, 520), work(4.002, 520, 520)]
    out = convert(zero)
    check('left in time order' not in out, 'a zero-scanned call with reclaimed pages: aligned, not left out')

    # vmpressure_prio() at priority <= 3 makes its own vmpressure(512, 0)
    # call: the next call of the same task, not another task's on the
    # other CPU in between.
    pr = [prio(1, 0, 5.000, 3), vmp(2, 1, 5.0001, 512, 0), vmp(1, 0, 5.0002, 512, 0),
          work(5.001, 1024, 0)]
    out = convert(pr)
    lines = [l for l in out.splitlines() if l.startswith(('prio', 'vmpressure'))]
    check(len(lines) == 2 and lines[1].startswith('prio') and lines[0].split()[3:6] == ['1', '512', '0'],
          f'the prio record stands for its own call, where that call adds; the other task\'s stays: {lines}')
    done('k2vmpt')


if __name__ == '__main__':
    sys.exit(main())
