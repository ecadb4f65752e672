#!/usr/bin/env python3
"""The tree's shape: who may include whom, and every folder's opening.

    test_layout.py SOURCE_ROOT

Includes: every `#include "..."` of src/ is resolved (the including file's
folder, then src/lib, include, the daemon's folders, src/cli: the include
paths meson gives) to a file of the tree, and both ends are named by their
part. The rules (DEVELOPERS.md, "Where things are"):
  - the engine (src/lib/engine) includes only itself, the public header and
    src/lib/*.h: nothing from sources, estimator, trace, consumers or any
    other part of the library, the daemon or the CLI;
  - the consumers (debounced state, actions) and the forecast, which work on
    events and counters, include only themselves, the public header and
    src/lib/*.h: none of the engine's internals;
  - the library (src/lib) includes nothing from the daemon or the CLI;
  - the daemon (src/daemon) nothing from the CLI, the CLI nothing from the
    daemon, and neither anything of the library but the public header;
  - src/lib/util (the helpers all three share, util.h) may be included by
    every part, and includes nothing but itself.
Openings: every folder under src/ has a README.md, or a main file (the
folder's name .c/.h, or main.c) whose top comment says what the folder
is and what it may depend on (it must say "depend"). The other folders the
README maps (tests/*, bench, fuzz, docs, man, scripts, systemd, debian)
have a README.md.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tap import check, done  # noqa: E402

root = os.path.abspath(sys.argv[1])
src = os.path.join(root, "src")
search = ["src/lib", "include", "src/daemon", "src/daemon/metrics", "src/daemon/mpwatch", "src/cli", "src/lib/util"]


def part(rel):
    """The part a file belongs to: engine, sources, ..., lib-common, public, daemon, cli."""
    if rel.startswith("include/"):
        return "public"
    if rel.startswith("src/lib/"):
        rest = rel[len("src/lib/"):]
        return rest.split("/")[0] if "/" in rest else "lib-common"
    if rel.startswith("src/daemon/"):
        return "daemon"
    if rel.startswith("src/cli/"):
        return "cli"
    return "other"


LIB = {"engine", "sources", "estimator", "trace", "consumers", "forecast", "lib-common"}


def allowed(a, b, rel, target):
    """None if part a may include part b, else the rule it breaks."""
    if a == "util" and b != "util":
        return "src/lib/util includes nothing but itself (libc only)"
    if a == b or b == "public" or b == "util":
        return None
    a_lib = a in LIB or rel.startswith("src/lib/")
    b_lib = b in LIB or target.startswith("src/lib/")
    if a == "engine" and b != "lib-common":
        return "the engine includes only itself, the public header and src/lib/*.h"
    if a in ("consumers", "forecast") and b != "lib-common":
        return f"{a} includes only itself, the public header and src/lib/*.h (no engine internals)"
    if a_lib and b in ("daemon", "cli"):
        return "the library includes nothing from the daemon or the CLI"
    if a == "daemon" and b == "cli":
        return "the daemon includes nothing from the CLI"
    if a == "cli" and b == "daemon":
        return "the CLI includes nothing from the daemon"
    if a in ("daemon", "cli") and b_lib:
        return "the programs use the library through its public header only"
    return None


inc_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
sources = []
for dirpath, dirs, files in os.walk(src):
    dirs.sort()
    for f in sorted(files):
        if f.endswith((".c", ".h")):
            sources.append(os.path.relpath(os.path.join(dirpath, f), root))
check(len(sources) > 20, f"found the sources under src/ ({len(sources)} files)")

edges = 0
bad = []
for rel in sources:
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    for name in inc_re.findall(text):
        target = None
        for d in [os.path.dirname(rel)] + search:
            cand = os.path.normpath(os.path.join(d, name))
            if os.path.isfile(os.path.join(root, cand)):
                target = cand
                break
        if target is None:
            bad.append(f'{rel}: #include "{name}" names no file of the tree')
            continue
        edges += 1
        why = allowed(part(rel), part(target), rel, target)
        if why:
            bad.append(f'{rel}: #include "{name}" ({target}): {why}')
check(edges > 50, f"resolved {edges} includes")
# The rule itself must be able to fail: an engine file including a source.
check(allowed("engine", "sources", "src/lib/engine/x.c", "src/lib/sources/source.h") is not None
      and allowed("cli", "daemon", "src/cli/x.c", "src/daemon/daemon.h") is not None
      and allowed("consumers", "engine", "src/lib/consumers/x.c", "src/lib/engine/engine.h") is not None
      and allowed("trace", "engine", "src/lib/trace/x.c", "src/lib/engine/observe.h") is None
      and allowed("util", "engine", "src/lib/util/x.c", "src/lib/engine/engine.h") is not None
      and allowed("cli", "util", "src/cli/x.c", "src/lib/util/util.h") is None,
      "the rules tell an allowed include from a forbidden one")
for b in bad:
    print("# " + b)
check(not bad, f"every include goes the allowed way ({len(bad)} do not)")


def top_comment(path):
    """The first block comment of a file, SPDX lines left out."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read(16000)
    text = re.sub(r"^/\*\s*SPDX-License-Identifier:[^*]*\*/\s*", "", text)
    m = re.match(r"\s*/\*(.*?)\*/", text, re.S)
    return m.group(1) if m else ""


def opening(d):
    """Where folder d says what it is, or None."""
    readme = os.path.join(d, "README.md")
    if os.path.isfile(readme):
        with open(readme, encoding="utf-8") as fh:
            body = fh.read()
        return "README.md" if re.search(r"depend", body, re.I) else None
    name = os.path.basename(d)
    for f in (name + ".c", name + ".h", "main.c"):
        p = os.path.join(d, f)
        if os.path.isfile(p) and re.search(r"depend", top_comment(p), re.I):
            return f
    return None


for dirpath, dirs, files in os.walk(src):
    dirs.sort()
    if not any(f.endswith((".c", ".h")) for f in files) and dirpath != src and not dirs:
        continue
    if dirpath == src:
        continue
    rel = os.path.relpath(dirpath, root)
    where = opening(dirpath)
    check(where is not None,
          f"{rel}/ opens with what it is and what it may depend on"
          + (f" ({where})" if where else " (no README.md, and no top comment of "
             f"{os.path.basename(dirpath)}.c/.h or main.c that says what it may depend on)"))

others = ["bench", "fuzz", "docs", "man", "scripts", "systemd", "debian", "tests"]
others += sorted("tests/" + d for d in os.listdir(os.path.join(root, "tests"))
                 if os.path.isdir(os.path.join(root, "tests", d)))
for d in others:
    check(os.path.isfile(os.path.join(root, d, "README.md")), f"{d}/ has a README.md")
done("layout")
