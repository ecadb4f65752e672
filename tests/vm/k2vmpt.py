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
import bisect
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
    """Two CPUs: the kernel's work item takes a group's accumulator under
    its lock, and a vmpressure() call adds to it under the same lock, each
    a little after its probe fired. Under TCG on a busy host a vCPU can
    stall for milliseconds between the two, so time order alone can put a
    call in the wrong window: a call probed before a work's entry but added
    after it (the reclaimer stalled), or calls probed after its entry but
    taken by it (the worker stalled before its lock). The work probe reads
    the accumulator at the work's entry (ts, tr), which says which.

    For each group, with its calls in time order: a forward search over its
    works, state (e, d) = the calls probed before position e, less d (a
    call deferred: probed, not yet added; at most one, the last call of
    its task before the work's entry, since a task adds its call before it
    makes the next). Work k's entry values must equal the calls since the
    previous window (plus a call deferred from it, less one deferred now);
    the previous work may have taken more than its entry values (calls up
    to j, when its lock came late). Among the explanations the one whose
    calls lag their probes least is taken. Each work record is then placed
    just after the last call it took, and a deferred call's record just
    after the work it missed. A group's first work may find more than the
    capture shows (the root's accumulator carries over from earlier
    workloads): that remainder is returned as carry[g]. Where nothing
    explains the entry values, that group keeps its time order. Returns
    (works moved, calls moved, groups left in time order, carry)."""
    # Calls probed after a work's entry but added before its probe read the
    # accumulator (the probe's event is stamped before it reads: a vCPU
    # stalled in between lets the other CPU's calls in), within LATE s.
    SKEW, LATE = 64, 0.02
    # Calls probed before a work's entry and added after it: at most one
    # per task (a task adds its call before it makes the next).
    TASKS = 8
    moved, deferred, unaligned, carry = 0, 0, 0, {}
    for g, ws in works.items():
        cs = calls.get(g, [])
        idx = [c[0] for c in cs]  # item indices
        ckey = [items[i]['key'] for i in idx]  # their order (a prio record sits where its call adds)
        val = [(c[1], c[2]) for c in cs]
        task = [c[3] for c in cs]
        tc = [float(items[c[0]]['t']) for c in cs]
        tw = [float(items[wi]['t']) for wi, _, _ in ws]
        tpos = [bisect.bisect_left(ckey, items[wi]['key']) for wi, _, _ in ws]
        P = [(0, 0)]
        for sc, rc in val:
            P.append((P[-1][0] + sc, P[-1][1] + rc))
        # last[k]: calls before tpos[k] that are their task's last before it
        last = []
        for t in tpos:
            seen, lst = set(), []
            for x in range(t - 1, -1, -1):
                if task[x] in seen:
                    continue
                seen.add(task[x])
                lst.append(x)
                if len(seen) >= 4:
                    break
            last.append(lst)
        ts0, tr0 = ws[0][1], ws[0][2]
        add0 = (0, 0)
        if ts0 >= P[tpos[0]][0] and tr0 >= P[tpos[0]][1]:
            add0 = (ts0 - P[tpos[0]][0], tr0 - P[tpos[0]][1])

        at = {}  # prefix sum -> the positions with it
        for x, v in enumerate(P):
            at.setdefault(v, []).append(x)
        TC = [0.0]
        for x in tc:
            TC.append(TC[-1] + x)

        def delay(i, j, t):  # how far the calls i..j-1 lie from time t (in all)
            return abs(TC[j] - TC[i] - (j - i) * t)

        def between(i, j):
            x, y = P[j][0] - P[i][0], P[j][1] - P[i][1]
            if i == 0:
                x, y = x + add0[0], y + add0[1]
            return x, y
        states = {(0, -1): (0.0, None)}
        back = []
        for k in range(len(ws)):
            want, t = (ws[k][1], ws[k][2]), tpos[k]
            nxt = {}

            def offer(key, c, how):
                if key not in nxt or c < nxt[key][0]:
                    nxt[key] = (c, how)
            for (pos, dfr), (cost, _) in states.items():
                extra = val[dfr] if dfr >= 0 else (0, 0)
                for e in range(max(pos, t - TASKS if dfr < 0 else t), min(len(cs), t + SKEW) + 1):
                    if e < t and not all(x in last[k] for x in range(e, t)):
                        continue  # a task's calls before its last one were added
                    if e > t and tc[e - 1] - tw[k] > LATE:
                        break
                    c0 = cost + (10 * delay(t, e, tw[k]) if e > t else 0.0)
                    lag = delay(e, t, tw[k]) if e < t else 0.0
                    base = between(pos, e)
                    base = (base[0] + extra[0], base[1] + extra[1])
                    if base == want:
                        offer((e, -1), c0 + lag, (pos, dfr, pos, -1))
                    if dfr >= 0 and base != want and not any(task[x] == task[dfr] for x in range(pos, e)):
                        # still not added (its task stalled through another work)
                        if (base[0] - extra[0], base[1] - extra[1]) == want:
                            offer((e, dfr), c0 + lag + abs(tw[k] - tc[dfr]), (pos, dfr, pos, dfr))
                    for d in last[k]:
                        if pos <= d < e and d != dfr and (base[0] - val[d][0], base[1] - val[d][1]) == want:
                            offer((e, d), c0 + lag + abs(tw[k] - tc[d]), (pos, dfr, pos, d))
                    if k and dfr < 0:
                        need = (P[e][0] - want[0], P[e][1] - want[1])
                        for j in at.get(need, ()):
                            if pos < j <= e and between(j, e) == want:
                                offer((e, -1), c0 + lag + delay(pos, j, tw[k - 1]),
                                      (pos, dfr, j, -1))
            if len(nxt) > 16:  # the cheapest explanations are enough to go on from
                nxt = dict(sorted(nxt.items(), key=lambda kv: kv[1][0])[:16])
            back.append(nxt)
            states = nxt
            if not states:
                break
        if not states:
            unaligned += 1
            continue
        if add0 != (0, 0):
            carry[g] = add0
        key = min(states, key=lambda x: states[x][0])
        sol = []
        for k in range(len(ws) - 1, -1, -1):
            pos, dfr, j, d = back[k][key][1]
            sol.append((key[0], j, d))
            key = (pos, dfr)
        sol.reverse()
        # work k took the calls up to take[k]: the next work's j, or its own e
        take = [sol[k + 1][1] if k + 1 < len(sol) else sol[k][0] for k in range(len(sol))]
        for k, ((wi, _, _), j) in enumerate(zip(ws, take)):
            lo = ckey[j - 1] if j > 0 else -1.0
            hi = ckey[j] if j < len(ckey) else float('inf')
            d = sol[k][2]
            wk = items[wi]['key']
            if not (lo < wk < hi):
                moved += 1
                ref = items[idx[j - 1]] if j > 0 else items[idx[j]]
                items[wi]['key'] = ref['key'] + (1e-3 if j > 0 else -1e-3) + 1e-9 * k
                items[wi]['t'] = ref['t']
            if d >= 0:  # the deferred call: just after the (last) work it missed
                deferred += 1 if k + 1 == len(sol) or sol[k + 1][2] != d else 0
                items[idx[d]]['key'] = items[wi]['key'] + 1e-10
                items[idx[d]]['t'] = items[wi]['t']
    return moved, deferred, unaligned, carry


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
                # The prio record stands for it, and moves to where it adds
                # (the task may have stalled between the two probes).
                items[pend[2]]['key'] = len(items) - 0.5
                items[pend[2]]['t'] = t
                calls.setdefault(g, []).append((pend[2], sc, rc, task))
                continue
            if a['tree'] == '1':
                # what it adds to the accumulator: nothing when its gfp could
                # not be relieved by userspace (no HIGHMEM, MOVABLE, IO or FS
                # bit) or when it scanned nothing (its reclaimed is dropped)
                if not (int(a['gfp'], 16) & 0xca) or sc == 0:
                    sc = rc = 0
                calls.setdefault(g, []).append((len(items), sc, rc, task))
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
    moved, deferred, unaligned, carry = align_works(items, calls, works)
    t0 = items[0]['t'] if items else '0.000000'
    for g, (sc, rc) in sorted(carry.items()):
        w(f'# the accumulator of {g} held this before the capture began (its first work took it):\n')
        w(f'vmpressure {t0} {g} 1 {sc} {rc} 0xcc0\n')
    for it in sorted(items, key=lambda it: it['key']):
        w(it['text'].replace('{t}', it['t']))
    if moved or deferred or unaligned:
        w(f'# work records placed by the accumulator they took: {moved} works moved, '
          f'{deferred} calls deferred past a work; {unaligned} groups left in time order\n')
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
