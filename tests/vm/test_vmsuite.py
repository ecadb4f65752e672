#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The VM suite's judging and reading, without a VM: the goals of one
listener (tests/vm/vmsuite.py judge()), the OOM kills read from a
workload's trace and dmesg (oom_kills()), and the workload files of
--scen-dir (scen_files()).

    test_vmsuite.py
"""
import contextlib
import io
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'lib'))
import vmsuite  # noqa: E402
from tap import check, done  # noqa: E402


def side(events):
    """(counts, first, events) as kernel_truth()/estimator_view() give them."""
    by = {lv: 0 for lv in vmsuite.LEVELS}
    first = {}
    for t, lv, c in events:
        by[lv] += c
        first.setdefault(lv, t)
    return by, first, events


def judge(kernel, estimator):
    kb, kf, ke = side(kernel)
    eb, ef, ee = side(estimator)
    return vmsuite.judge(kb, kf, ke, eb, ef, ee)


def write(d, name, text):
    with open(os.path.join(d, name), 'w') as f:
        f.write(text)


def main():
    # The same notifications: every goal met, nothing false.
    k = [(1.0, 'low', 1), (2.0, 'medium', 1), (2.1, 'critical', 1)]
    goals, false = judge(k, [(1.1, 'low', 1), (2.5, 'medium', 1), (2.2, 'critical', 1)])
    check(all(goals.values()) and false == 0, f'the same notifications meet every goal: {goals}, {false} false')

    # A first critical 1.5 s early is a miss, however many there are.
    goals, false = judge(k, [(1.1, 'low', 1), (2.0, 'medium', 1), (0.6, 'critical', 1)])
    check(goals['first_critical_1s'] is False and goals['first_medium_1s'],
          f'a first critical 1.5 s before the kernel\'s misses first_critical_1s: {goals}')
    check(false == 1, f'and it is a false window (no kernel medium/critical within 1 s): {false}')

    # Medium/critical the kernel never sent: levels, counts and timing miss;
    # every such notification counts as false, with its count.
    goals, false = judge([(1.0, 'low', 4)], [(1.0, 'low', 4), (3.0, 'critical', 5)])
    check(not goals['levels'] and not goals['critical_50'] and goals['first_critical_1s'] is False,
          f'a critical level the kernel did not reach misses levels, critical_50, first_critical_1s: {goals}')
    check(false == 5, f'its 5 notifications are 5 false windows: {false}')
    check('first_medium_1s' not in goals, 'a level neither side reached has no timing goal')

    # Counts: low within 25 %, medium/critical within 50 %.
    goals, _ = judge([(1.0, 'low', 100)], [(1.0, 'low', 126)])
    check(not goals['low_25'], '126 low against 100 misses low_25')
    goals, _ = judge([(1.0, 'low', 100)], [(1.0, 'low', 125)])
    check(goals['low_25'], '125 low against 100 meets low_25')

    # OOM kills: the tracepoint's time and pid, the memcg from dmesg.
    d = tempfile.mkdtemp(prefix='vmsuite.')
    try:
        write(d, 'meta', 'start 10.000000\nend 14.000000\n')
        write(d, 'trace', '# tracer: nop\n'
              '             hog-246     [001] .N.1.    12.500000: mark_victim: pid=246 comm=hog total-vm=1kB\n'
              '             hog-300     [000] .....    13.250000: mark_victim: pid=300\n')
        write(d, 'log', '[ 12.49] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,'
              'oom_memcg=/ao,task_memcg=/ao/a,task=hog,pid=246,uid=0\n'
              '[ 13.24] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,'
              'global_oom,task_memcg=/gm/b,task=hog,pid=300,uid=0\n')
        kills = vmsuite.oom_kills(d)
        check(len(kills) == 2 and kills[0]['t'] == 2.5 and kills[0]['pid'] == 246,
              f'two kills, the first 2.5 s after the start, pid 246: {kills}')
        check(kills[0]['cgroup'] == 'ao/a' and kills[0]['oom_cgroup'] == 'ao'
              and kills[0]['constraint'] == 'CONSTRAINT_MEMCG',
              'a memcg OOM: the victim\'s memcg and the limited one from dmesg')
        check(kills[1]['cgroup'] == 'gm/b' and kills[1]['oom_cgroup'] == '/',
              'a global OOM (no oom_memcg in dmesg): the limited group is /')
    finally:
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)

    # --scen-dir: names must be unique and plain.
    d = tempfile.mkdtemp(prefix='vmsuite.')
    try:
        write(d, 'mine.sh', 'GROUPS="m=32M"\nLISTEN="m:low"\nworkload() { :; }\n')
        files, external = vmsuite.scen_files([d])
        check(external == ['mine'] and 'pagecache' in files, f'an added workload is external: {external}')
        write(d, 'pagecache.sh', '')
        try:
            vmsuite.scen_files([d])
            check(False, 'a workload named like one of the suite\'s is refused')
        except vmsuite.HarnessError as e:
            check('pagecache' in str(e) and 'rename' in str(e), f'a workload named like one of the suite\'s is refused: {e}')
    finally:
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)

    # A diagnostic of several lines (a guest file, a console tail) stays TAP:
    # meson fails a test on a line that is neither a result nor a comment.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        vmsuite.Tap().ok(True, 'x', ['VmLck: 1 kB\noom_score_adj p -900\n', 'one'])
    lines = out.getvalue().splitlines()
    check(lines[0] == 'ok 1 - x' and all(x.startswith('#') for x in lines[1:]) and len(lines) == 4,
          f'every line of a multi-line diagnostic is a TAP comment: {lines}')

    # A guest whose capture kernel failed (no workload ran, it crashed, it
    # hung) boots once more; one that ended by itself, or stopped on a
    # fatal error of ours, is never booted again.
    d = tempfile.mkdtemp(prefix='vmsuite.')
    done_ = 'VM: workload pagecache begin\nVM: ALLDONE\n'
    cases = [  # first console, timed out?, why (None: not booted again)
        ('[ 3.1] Kernel panic\n', False, 'ran no workload'),
        ('VM: workload modes begin\n[ 31.5] Oops: int3: 0000 [#1]\n[ 31.6] Kernel panic\n', False,
         'the kernel crashed at workload modes'),
        ('VM: workload a end\nVM: workload globaloom begin\n', True, 'the guest hung at workload globaloom'),
        ('VM: workload x begin\n', False, None),            # stopped, no crash, in time
        ('VM: workload x begin\nVM: FATAL no memory controller\n', False, None),
        (done_, False, None),
    ]
    for first_console, hung, why in cases:
        consoles = [first_console, done_]
        calls = []

        def fake_boot(rundir, *a):
            calls.append(rundir)
            c = consoles[len(calls) - 1]
            write(rundir, 'console.log', c)
            return len(calls), c, hung and len(calls) == 1
        real = vmsuite.boot, vmsuite.log
        vmsuite.boot, vmsuite.log = fake_boot, lambda m: None
        try:
            shutil.rmtree(f'{d}/logs', ignore_errors=True)
            secs, console, _, first = vmsuite.boot_twice(d, f'{d}/logs', 'k', 'data', 'ir', 'c', ['x'], 9)
        finally:
            vmsuite.boot, vmsuite.log = real
        if why is None:
            check(len(calls) == 1 and first is None, f'not booted again: {first_console!r}')
        else:
            check(len(calls) == 2 and 'ALLDONE' in console and first is not None and first[0] == why
                  and first[1] == first_console.splitlines()[-15:]
                  and os.path.exists(f'{d}/logs/console-first-boot.log'),
                  f'booted once more, "{why}", the first console kept: {calls}, {first}')
    shutil.rmtree(d, ignore_errors=True)
    done('vmsuite')


if __name__ == '__main__':
    sys.exit(main())
