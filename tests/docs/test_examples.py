#!/usr/bin/env python3
"""Every shell example of the README and the man pages, run as printed.

    test_examples.py SOURCE_ROOT BUILD_DIR

What an example is: in README.md, a fenced block whose info string is `sh`
(other blocks, ``` alone or ```c, are not run); in man/*.[1-8], every
.nf/.fi block of the EXAMPLES section. In a block whose lines start with a
prompt (`$ ` or, for root, `# `), each prompt line (and the lines that
continue it after a `\\`, `|` or `&&`) is a command and the lines up to the
next prompt are the output it prints; in a block without prompts every
line is a command and no output is claimed.

How they run: one after the other, each block's commands in order, as
`sh -c 'COMMAND'` in a temporary directory that links `tests`, `scripts` and
`build` to the tree (the README's commands name them so), with the build
tree's `vmpressure` and `vmpressured` first on PATH (the examples call the
installed programs), and a standard input that stays open and silent, a
terminal nobody types into. A command that ends with `&` is started and left
running until its block ends, one second given to it before the next
command; any other command gets SIGINT, as a user's Ctrl-C, 3 s after it
said it runs until Ctrl-C (watch's "Ctrl-C to stop", the daemon's
"serving on"), or if it has not exited after 10 s (120 s for
scripts/monitor.sh, which may build first). Then its exit status must be 0
(or the shell's 130 for the SIGINT), and its output must have the printed
output's shape (stdout and stderr together, or stdout alone where the
example leaves out a summary on stderr): line for line, where a printed
`...` line stands for any number of lines and `...` inside a line for any
text, numbers may differ, and so may the level words (low, medium,
critical, none). A client of the daemon (socat) must still be running when
stopped: a subscription lasts until Ctrl-C.

Where they run: as root, in a private mount namespace (unshare -m, and a
network namespace with only its loopback, unshare -n, where `ip` can bring
it up: the metrics example's port is the test's own) where
  - /run is a fresh tmpfs, so the daemon's /run/vmpressure/control is the
    test's own;
  - the memory cgroup hierarchy (/sys/fs/cgroup/memory on cgroup v1, or
    /sys/fs/cgroup on v2) is a bind mount of a cgroup the test creates
    below its own (removed however the test ends), holding the cgroups
    the examples name (mygroup, system.slice, ...): `/` in an example is
    that cgroup, and nothing of the host's other cgroups is touched;
  - /proc/sys/vm is a bind mount of an empty directory, so that an action
    that drops the page cache writes a file there instead;
  - `sudo` is `exec "$@"` and `systemctl` a stand-in that logs its
    arguments (actions call it).
Commands that cannot run here are skipped, saying why: installing
packages or into /usr/local (the package and install suites do that in a
chroot and a destdir), systemd's (without a running systemd),
scripts/test.sh (this test is part of it), everything needing root when
not root; and the commands after a skipped one in the same block.
"""
import os
import re
import shutil
import signal
import selectors
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tap import check, skip, done  # noqa: E402

SRC = os.path.abspath(sys.argv[1])
BUILD = os.path.abspath(sys.argv[2])
IN_NS = len(sys.argv) > 3 and sys.argv[3] == "--in-namespace"
ROOT = os.geteuid() == 0
FIXTURE_CGROUPS = ["mygroup", "batch", "system.slice", "system.slice/batch.service",
                   "system.slice/web.service", "user.slice"]


# ---- extraction ---------------------------------------------------------
def readme_blocks(path):
    blocks, cur, lang, start = [], None, None, 0
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if cur is None and line.startswith("```"):
                lang, cur, start = line[3:].strip(), [], i + 1
            elif cur is not None and line == "```":
                if lang == "sh":
                    blocks.append((f"README.md:{start}", cur))
                cur = None
            elif cur is not None:
                cur.append(line)
    return blocks


def unroff(line):
    out = line.replace("\\(aq", "'").replace("\\(dq", '"').replace("\\-", "-")
    out = out.replace("\\e", "\\").replace("\\&", "").replace("\\\\", "\\")
    return re.sub(r"\\f[BIRP]", "", out)


def man_blocks(path):
    blocks, cur, in_ex, start = [], None, False, 0
    name = os.path.basename(path)
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if line.startswith(".SH"):
                in_ex = line.split(None, 1)[1:] == ["EXAMPLES"]
                continue
            if not in_ex:
                continue
            if line.startswith(".nf"):
                cur, start = [], i + 1
            elif line.startswith(".fi") and cur is not None:
                blocks.append((f"man/{name}:{start}", cur))
                cur = None
            elif cur is not None and not line.startswith(".") and not line.startswith("'\\\""):
                cur.append(unroff(line))
    return blocks


def commands(lines):
    """[(command, root, [expected lines])] of a block."""
    prompted = any(re.match(r"[$#] ", l) for l in lines)
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if prompted and not re.match(r"[$#] ", line):
            if out:
                out[-1][2].append(line)
            continue
        if not line.strip():
            continue
        root = prompted and line.startswith("# ")
        cmd = line[2:] if prompted else line
        while re.search(r"(\\|\||&&)$", cmd) and i < len(lines):
            cmd += "\n" + lines[i]
            i += 1
        out.append((cmd, root, []))
    return out


# ---- shape --------------------------------------------------------------
LEVEL = r"(?:none|low|medium|critical)"


def line_re(text):
    parts = []
    for piece in re.split(r"(\.\.\.|\d+(?:\.\d+)?|\b(?:none|low|medium|critical)\b)", text):
        if piece == "...":
            parts.append(".*")
        elif re.fullmatch(r"\d+(?:\.\d+)?", piece or "x"):
            parts.append(r"\d+(?:\.\d+)?")
        elif piece in ("none", "low", "medium", "critical"):
            parts.append(LEVEL)
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts) + r"\Z")


def shape_matches(expected, actual):
    """Does actual (lines) have expected's shape? (A small backtracking match.)"""
    exp = [("gap", None) if e.strip() == "..." else ("line", line_re(e)) for e in expected]
    memo = {}

    def m(i, j):
        if (i, j) in memo:
            return memo[(i, j)]
        if i == len(exp):
            r = j == len(actual)
        elif exp[i][0] == "gap":
            r = any(m(i + 1, k) for k in range(j, len(actual) + 1))
        else:
            r = j < len(actual) and bool(exp[i][1].match(actual[j])) and m(i + 1, j + 1)
        memo[(i, j)] = r
        return r
    return m(0, 0)


# ---- what may not run here ----------------------------------------------
def skip_reason(cmd, root):
    c = cmd.strip()
    if c.startswith("./scripts/test.sh"):
        return "the whole test suite, which runs this test"
    if re.search(r"\bapt(-get)? install\b|\bdpkg-buildpackage\b", c):
        return "installs packages on this machine: the package suite builds and installs them in a chroot"
    if re.search(r"\bmeson (setup|install)\b", c):
        return "configures or installs a build: the install suite runs meson install into a destdir"
    if "systemctl" in c.split("--exec")[0] and not os.path.isdir("/run/systemd/system"):
        return "needs a running systemd"
    if "curl" in c and not shutil.which("curl"):
        return "no curl"
    if not IN_NS:
        if root or re.search(r"\bsudo\b|vmpressured|\brecord\b|run\.vmpt|mygroup", c) \
                or not re.search(r"--trace|\bcalc\b|\breplay\b", c):
            return "needs root: it runs in a private mount namespace over a cgroup of the test's own"
    return None


# ---- running --------------------------------------------------------------
def run_block(where, cmds, work, env):
    background = []
    skipped = None
    for cmd, root, expected in cmds:
        first = cmd.splitlines()[0][:70]
        what = f"{where}: {first}"
        why = skipped and f"follows a skipped command ({skipped})" or skip_reason(cmd, root)
        if why:
            skip(what, why)
            skipped = skipped or first
            continue
        bg = cmd.rstrip().endswith("&")
        text = cmd.rstrip()[:-1] if bg else cmd
        p = subprocess.Popen(["sh", "-c", text], cwd=work, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.PIPE,
                             start_new_session=True)
        if bg:
            background.append((p, what, expected))
            time.sleep(1)
            continue
        limit = 120 if "monitor.sh" in cmd else 10
        out, rc, stopped = finish(p, limit)
        judge(what, out, rc, stopped, expected)
        if "socat" in cmd:
            # A subscription lasts until Ctrl-C: a client whose input ended
            # after the request would have exited after the reply.
            check(stopped, f"{what}: still subscribed when stopped (socat did not exit after the reply)")
    for p, what, expected in background:
        out, rc, stopped = finish(p, 0)
        judge(what + " (in the background)", out, rc, stopped, expected, bg=True)


READY = re.compile(rb"Ctrl-C to stop|^vmpressured: serving on ", re.M)


def finish(p, limit):
    """Wait for p, SIGINT to its group at the limit (or 3 s after it said it
    runs until Ctrl-C); its output as [(stream, line)] in arrival order."""
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ, "out")
    sel.register(p.stderr, selectors.EVENT_READ, "err")
    bufs = {"out": b"", "err": b""}
    lines = []
    start = time.monotonic()
    deadline = start + limit if limit else start
    ready = False
    stopped = False
    killed = False
    while sel.get_map():
        now = time.monotonic()
        if now >= deadline and not stopped:
            stopped = True
            os.killpg(p.pid, signal.SIGINT)
            deadline = now + 10
        elif now >= deadline and not killed:
            killed = True
            os.killpg(p.pid, signal.SIGKILL)
            deadline = now + 3600
        for key, _ in sel.select(timeout=max(0.01, deadline - now)):
            data = os.read(key.fileobj.fileno(), 65536)
            if not data:
                sel.unregister(key.fileobj)
                continue
            bufs[key.data] += data
            *done_lines, bufs[key.data] = bufs[key.data].split(b"\n")
            lines += [(key.data, l) for l in done_lines]
            if not ready and not stopped and READY.search(data):
                ready = True
                deadline = min(deadline, time.monotonic() + 3)
    for k in ("out", "err"):
        if bufs[k]:
            lines.append((k, bufs[k]))
    p.wait()
    p.stdin.close()
    return [(k, l.decode("utf-8", "replace")) for k, l in lines], p.returncode, stopped


def judge(what, out, rc, stopped, expected, bg=False):
    lines = [l for _, l in out]
    stdout = [l for k, l in out if k == "out"]
    # Ctrl-C as the user pressed it: the printed "^C" is our SIGINT.
    expected = [e for e in expected if e.strip() != "^C"]
    # sh reports the death of a pipeline's first command by SIGINT as 130.
    good = rc == 0 or (stopped and rc in (130, -signal.SIGINT))
    if not check(good, f"{what}: exit status {rc}" + (" (stopped by SIGINT)" if stopped else "")):
        for line in lines[-15:]:
            print("#   " + line)
    if expected or not bg:
        # What the example shows is the terminal: both streams, or (where
        # the example leaves the summaries out) standard output alone.
        ok = not expected or shape_matches(expected, lines) or shape_matches(expected, stdout)
        if not check(ok, f"{what}: prints what the example shows ({len(lines)} lines)"):
            print("# expected:")
            for e in expected:
                print("#   " + e)
            print("# got:")
            for line in lines[:30]:
                print("#   " + line)


def self_test():
    """The shape rules themselves can fail."""
    check(shape_matches(["66 medium"], ["70 critical"]) and not shape_matches(["66 medium"], ["66 mediums"])
          and shape_matches(["a", "...", "z"], ["a", "b", "c", "z"]) and not shape_matches(["a", "z"], ["a", "b", "z"])
          and shape_matches(['{"id":1,...}'], ['{"id":12,"x":true}']) and not shape_matches(["x"], []),
          "the output-shape rule tells a match from a mismatch")


def cgroup_root():
    if os.path.isfile("/sys/fs/cgroup/memory/cgroup.event_control"):
        with open("/proc/self/cgroup") as fh:
            rel = next((l.split(":", 2)[2].strip() for l in fh if l.split(":")[1] == "memory"), None)
        return "/sys/fs/cgroup/memory", rel
    if os.path.isfile("/sys/fs/cgroup/cgroup.controllers"):
        with open("/proc/self/cgroup") as fh:
            rel = next((l.split(":", 2)[2].strip() for l in fh if l.startswith("0::")), None)
        return "/sys/fs/cgroup", rel
    return None, None


def outer():
    """Root: make the fixture cgroup, run ourselves in a private mount namespace, clean up."""
    mnt, rel = cgroup_root()
    if mnt is None or rel is None:
        return None
    base = os.path.join(mnt + rel, f"vmp-examples-{os.getpid()}")
    made = []
    try:
        os.mkdir(base)
        made.append(base)
        for g in FIXTURE_CGROUPS:
            os.mkdir(os.path.join(base, g))
            made.append(os.path.join(base, g))
    except OSError as e:
        cleanup(made, mnt + rel)
        print(f"# cannot create memory cgroups below {mnt + rel}: {e}")
        return None
    try:
        env = dict(os.environ, VMP_EXAMPLES_CGROUP=base, VMP_EXAMPLES_MNT=mnt)
        # A network namespace of its own too (loopback only), where `ip`
        # can bring its loopback up: the metrics example's port is then
        # the test's alone.
        net = ["-n"] if shutil.which("ip") else []
        env["VMP_EXAMPLES_NET"] = "1" if net else ""
        r = subprocess.run(["unshare", "-m"] + net + ["--propagation", "private", sys.executable,
                            os.path.abspath(__file__), SRC, BUILD, "--in-namespace"], env=env)
        return r.returncode
    finally:
        cleanup(made, mnt + rel)


def cleanup(made, parent):
    for g in reversed(made):
        try:
            with open(os.path.join(g, "cgroup.procs")) as fh:
                for pid in fh.read().split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
        except OSError:
            pass
        for _ in range(50):
            try:
                os.rmdir(g)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)


def namespace_setup(tmp):
    """Inside the namespace: the mounts the module's docstring lists."""
    base, mnt = os.environ["VMP_EXAMPLES_CGROUP"], os.environ["VMP_EXAMPLES_MNT"]
    vm = os.path.join(tmp, "proc-sys-vm")
    os.mkdir(vm)
    steps = [["ip", "link", "set", "lo", "up"]] if os.environ.get("VMP_EXAMPLES_NET") else []
    for args in steps + [["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", "/run"],
                 ["mount", "--bind", base, mnt],
                 ["mount", "--bind", vm, "/proc/sys/vm"]]:
        r = subprocess.run(args, capture_output=True, text=True)
        if r.returncode != 0:
            return f"{' '.join(args)}: {r.stderr.strip()}"
    return None


def main():
    if ROOT and not IN_NS:
        if shutil.which("unshare"):
            rc = outer()
            if rc is not None:
                sys.exit(rc)
        print("# no private mount namespace here: the examples that need root are skipped")
    examples = readme_blocks(os.path.join(SRC, "README.md"))
    mandir = os.path.join(SRC, "man")
    for f in sorted(os.listdir(mandir)):
        if re.search(r"\.[1-8]$", f):
            examples += man_blocks(os.path.join(mandir, f))
    check(len(examples) >= 8, f"found the examples ({len(examples)} blocks)")
    self_test()
    tmp = tempfile.mkdtemp(prefix="vmp-examples.")
    try:
        if IN_NS:
            err = namespace_setup(tmp)
            if err:
                check(False, f"the private mount namespace: {err}")
                done("examples")
        work = os.path.join(tmp, "work")
        os.mkdir(work)
        for name, target in (("tests", os.path.join(SRC, "tests")),
                             ("scripts", os.path.join(SRC, "scripts")), ("build", BUILD)):
            os.symlink(target, os.path.join(work, name))
        shims = os.path.join(tmp, "bin")
        os.mkdir(shims)
        with open(os.path.join(shims, "sudo"), "w") as fh:
            fh.write('#!/bin/sh\nexec "$@"\n')
        with open(os.path.join(shims, "systemctl"), "w") as fh:
            fh.write(f'#!/bin/sh\necho "$*" >>"{tmp}/systemctl.log"\n')
        for f in ("sudo", "systemctl"):
            os.chmod(os.path.join(shims, f), 0o755)
        path = [shims] if ROOT else []
        path += [BUILD, os.path.join(BUILD, "src", "daemon"), os.environ.get("PATH", "/usr/bin:/bin")]
        env = dict(os.environ, PATH=":".join(path), LC_ALL="C.UTF-8")
        for var in ("VMP_EXAMPLES_CGROUP", "VMP_EXAMPLES_MNT", "VMP_EXAMPLES_NET"):
            env.pop(var, None)
        for where, lines in examples:
            run_block(where, commands(lines), work, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    done("examples")


main()
