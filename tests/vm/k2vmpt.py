#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Convert one workload's kernel capture (the guest's /out/<workload>/) into
vmptrace v1 (docs/vmptrace.md).

    k2vmpt.py DIR [SOURCE-TEXT] > file.vmpt

DIR holds what tests/vm/guest/init.sh wrote:
  groups   "group <path> <kernfs id>" (the root first), "hyp <spec>"
  klisten  cgroup v1 only: "efdid <i> <spec> <eventfd id>" and, at the end,
           "expect <i> <spec> <count>" (the kernel's deliveries)
  trace    the ftrace text of the kprobes vmp, vmprio, vmwork and efd

Listeners are klisten's registrations when there is a klisten file (their
expect records are the kernel's counts), else the hypothetical ones of the
groups file (cgroup v2: no interface, no expect records; replay gives the
kernel's truth).

A vmpressure_prio() call at priority <= 3 makes its own vmpressure(512, 0)
call, which the capture sees too; vmptrace's `prio` record stands for both,
so that inner call is dropped. A NULL memcg (global reclaim) is the root.
A group id that is not one of the workload's groups is an error (exit 3):
either a stray group or a kernel whose structure offsets differ from the
kprobes' (tests/vm/guest/init.sh), and either way the capture is not the
workload's.
"""
import re
import sys

LINE = re.compile(r'\s(\d+\.\d+): (\w+): \(\S+\)(.*)$')
KV = re.compile(r'(\w+)=(\S+)')
TASK = re.compile(r'^\s*\S.*?-(\d+)\s+\[\d+\]')


class CaptureError(Exception):
    pass


def parent_of(g):
    if g == '/':
        return '-'
    return g.rsplit('/', 1)[0] if '/' in g else '/'


def read_listeners(d):
    """[(index, group, args, eventfd id or None)], {index: expected count}"""
    listeners, expects, hyp = [], {}, []
    groups, order = {}, []
    for line in open(f'{d}/groups', errors='replace'):
        f = line.split()
        if len(f) == 3 and f[0] == 'group':
            groups[f[2]] = f[1]
            order.append(f[1])
        elif len(f) == 2 and f[0] == 'hyp':
            hyp.append(f[1])
    try:
        kl = open(f'{d}/klisten', errors='replace').read().splitlines()
    except FileNotFoundError:
        kl = None
    if kl is not None:
        for line in kl:
            f = line.split()
            if len(f) == 4 and f[0] == 'efdid':
                g, args = f[2].rsplit(':', 1)
                listeners.append((int(f[1]), g, args, int(f[3])))
            elif len(f) == 4 and f[0] == 'expect':
                expects[int(f[1])] = int(f[3])
    else:
        for i, spec in enumerate(hyp):
            g, args = spec.rsplit(':', 1)
            listeners.append((i, g, args, None))
    return groups, order, listeners, expects


def align_works(items, calls, works):
    """Two CPUs: a vmpressure() call whose probe fired just before a work
    item's may still add to the accumulator after the work took it (and the
    other way round), so time order alone can put a call in the wrong
    window. The work probe reads the accumulator the kernel is about to
    take (ts, tr); each work record is moved to just after the call that
    brings the replay's accumulator of its group to exactly that. Where no
    call does (the capture began mid-window, or a call raced even the work's
    lock), that group's remaining works keep their time order. Returns the
    number of works moved and of groups left unaligned."""
    moved, unaligned = 0, 0

    def place(wi, cs, j):
        """Put work item wi between calls cs[j-1] and cs[j] (of its group)."""
        nonlocal moved
        lo = cs[j - 1][0] if j > 0 else -1
        hi = cs[j][0] if j < len(cs) else float('inf')
        if lo < wi < hi:
            return
        moved += 1
        if j > 0:
            items[wi]['key'] = items[lo]['key'] + 0.5 + 1e-7 * (wi % 1000000)
            items[wi]['t'] = items[lo]['t']
        else:
            items[wi]['key'] = items[hi]['key'] - 0.5 + 1e-7 * (wi % 1000000)
            items[wi]['t'] = items[hi]['t']
    for g, ws in works.items():
        cs = calls.get(g, [])
        pos = 0
        for wi, ts, tr in ws:
            if ts == 0 and tr == 0:  # nothing to take
                place(wi, cs, pos)
                continue
            s_, r_, j = 0, 0, pos
            while j < len(cs) and (s_ < ts or (s_ == ts and r_ < tr and cs[j][1] == 0)):
                s_ += cs[j][1]
                r_ += cs[j][2]
                j += 1
            if s_ != ts or r_ != tr:
                unaligned += 1
                break
            place(wi, cs, j)
            pos = j
    return moved, unaligned


def convert(d, out, source='linux'):
    groups, order, listeners, expects = read_listeners(d)
    if not order or order[0] != '/':
        raise CaptureError(f'{d}/groups: no root group line')
    def gname(memcg, cg, local=False):
        if memcg is not None and int(memcg, 16) == 0:
            return '/'
        g = groups.get(cg)
        if g is None and local:
            return None
        if g is None:
            raise CaptureError(f'cgroup id {cg} is none of the workload\'s groups '
                               f'({", ".join(f"{v}={k}" for k, v in groups.items())}): '
                               'a stray group, or kprobe offsets that do not fit this kernel')
        return g

    w = out.write
    w(f'# vmptrace 1\n# source: {source}\n')
    for g in order:
        w(f'group {g} {parent_of(g)}\n')
    for idx, g, args, _ in listeners:
        w(f'listen {idx} {g} {args}\n')
    efd2l = {e: i for i, _, _, e in listeners if e is not None}
    foreign = {}
    # A prio <= 3 call's own vmpressure() is the next one of the same task.
    inner = {}  # task -> (group, gfp, index of the prio record)
    items, calls, works = [], {}, {}
    n = 0
    for line in open(f'{d}/trace', errors='replace'):
        if line.startswith('#'):
            m = re.search(r'entries-in-buffer/entries-written: (\d+)/(\d+)', line)
            if m and m.group(1) != m.group(2):
                raise CaptureError(f'the trace ring buffer overflowed: {int(m.group(2)) - int(m.group(1))} '
                                   f'of {m.group(2)} records lost (raise buffer_size_kb in guest/init.sh)')
            continue
        m = LINE.search(line)
        if not m:
            continue
        t, ev, a = m.group(1), m.group(2), dict(KV.findall(m.group(3)))
        tm = TASK.match(line)
        task = tm.group(1) if tm else None
        n += 1
        if ev == 'vmp':
            g = gname(a.get('mc'), a['cg'], local=a['tree'] == '0')
            if g is None:
                # Global reclaim makes a local-path call (tree=0) for every
                # memcg, the dying ones of earlier workloads too (on cgroup v2
                # they linger while pages are charged to them). Such calls
                # never reach a listener: they are left out, and counted.
                foreign[a['cg']] = foreign.get(a['cg'], 0) + 1
                continue
            pend = inner.pop(task, None)
            sc, rc = int(a['scanned']), int(a['reclaimed'])
            if pend and pend[:2] == (g, a['gfp']) and a['tree'] == '1' and sc == 512 and rc == 0:
                calls.setdefault(g, []).append((pend[2], sc, rc))  # the prio record stands for it
                continue
            if a['tree'] == '1':
                calls.setdefault(g, []).append((len(items), sc, rc))
            items.append({'key': float(len(items)), 't': t,
                          'text': f"vmpressure {{t}} {g} {a['tree']} {a['scanned']} {a['reclaimed']} {a['gfp']}\n"})
        elif ev == 'vmprio':
            g = gname(a.get('mc'), a['cg'])
            if int(a['prio']) <= 3:
                inner[task] = (g, a['gfp'], len(items))
            else:
                inner.pop(task, None)
            items.append({'key': float(len(items)), 't': t, 'text': f"prio {{t}} {g} {a['prio']} {a['gfp']}\n"})
        elif ev == 'vmwork':
            g = gname(None, a['id'])
            if 'ts' in a and 'tr' in a:
                works.setdefault(g, []).append((len(items), int(a['ts']), int(a['tr'])))
            items.append({'key': float(len(items)), 't': t, 'text': f'work {{t}} {g}\n'})
        elif ev == 'efd':
            i = int(a['id'])
            if i in efd2l:
                items.append({'key': float(len(items)), 't': t, 'text': f'# kernel-signal {{t}} {efd2l[i]}\n'})
    moved, unaligned = align_works(items, calls, works)
    for it in sorted(items, key=lambda it: it['key']):
        w(it['text'].replace('{t}', it['t']))
    if moved or unaligned:
        w(f'# work records placed by the accumulator they took: {moved} moved; '
          f'{unaligned} groups left in time order\n')
    if foreign:
        w(f'# left out: {sum(foreign.values())} local-path (tree=0) calls of cgroups outside the '
          f'workload (ids {" ".join(sorted(foreign))})\n')
    for idx in sorted(expects):
        w(f'expect {idx} {expects[idx]}\n')
    return n


def main():
    if len(sys.argv) < 2:
        sys.stderr.write('usage: k2vmpt.py DIR [SOURCE-TEXT]\n')
        return 64
    try:
        convert(sys.argv[1], sys.stdout, sys.argv[2] if len(sys.argv) > 2 else 'linux')
    except CaptureError as e:
        sys.stderr.write(f'k2vmpt: {sys.argv[1]}: {e}\n')
        return 3
    except (OSError, KeyError, ValueError) as e:
        sys.stderr.write(f'k2vmpt: {sys.argv[1]}: cannot read the capture: {e!r}\n')
        return 3
    return 0


if __name__ == '__main__':
    sys.exit(main())
