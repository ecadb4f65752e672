#!/bin/sh
# vmpressure estimate: record fixture cgroup v2 and /proc trees whose
# counters change (limit reclaim, a medium step, an OOM kill; global
# reclaim), then run the estimator again over the recordings' samples.
# With the default settings it must give the recording's own counts and
# engine calls, line for line; other settings must change the counts the
# way they should (larger windows: no more notifications; smaller: no
# fewer; without the OOM stand-in: no critical notification for the OOM
# kill). Then malformed sample lines (line and byte named, exit 2), files
# without samples, and the options.
# usage: test_estimate.sh VMPRESSURE DATADIR
set -u
V=$1
D=$2
. "$(dirname "$0")/../lib/tap.sh"
tap_scratch
count_of() { awk -v id="$2" '$1 == id {print $2}' "$1"; }
# the records and sample lines, without the header comments
body() { grep -v '^# \(vmptrace\|recorded\|estimated\) ' "$1"; }

# ---- fixture trees (tests/cli/fixture.sh) -----------------------------
. "$(dirname "$0")/fixture.sh"
# The fixture machine's kernel, where the live source looks for it (its
# MGLRU switch in the sys tree beside the proc tree): both sources record
# them.
mkdir -p "$PR/sys/kernel" "$T/sys/kernel/mm/lru_gen"
echo 6.12.95+deb12-amd64 >"$PR/sys/kernel/osrelease"
echo 0x0007 >"$T/sys/kernel/mm/lru_gen/enabled"

dur=10
# shellcheck disable=SC2086
"$V" record a $R --duration $dur -o "$T/v2.vmpt" 2>"$T/r2.err" &
pids="$pids $!"
# shellcheck disable=SC2086
"$V" record / --source machine $R --duration $dur -o "$T/m.vmpt" 2>"$T/rm.err" &
pids="$pids $!"
sleep 1.5
cgset 2048 1024 10 0 0     # 50 % freed: low windows
vmstat 4096 3900 0
sleep 2.6
cgset 6144 1624 26 0 0     # 4096 scanned, 600 freed by 16 calls: medium
vmstat 8192 4700 0
sleep 2.6
cgset 6400 1724 28 1 1     # 2 calls that freed 50 pages each, then the OOM kill
vmstat 10240 6600 0
wait
pids=""

for k in v2 m; do
	case $k in v2) what="cgroup v2" ;; *) what="machine" ;; esac
	f=$T/$k.vmpt
	check "$what: the recording has the samples header" grep -qx '# samples 1' "$f"
	check "$what: ... and sample lines" [ "$(grep -c '^# sample [0-9]' "$f")" -ge 3 ]
	"$V" replay --check "$f" >"$T/$k.replay" 2>"$T/$k.rerr"
	check "$what: replay --check still accepts the recording" [ $? -eq 0 ]
	"$V" estimate --check "$f" >"$T/$k.est" 2>"$T/$k.eerr"
	check "$what: estimate --check (the default settings) exits 0" [ $? -eq 0 ]
	check "$what: estimate prints what replay prints" cmp -s "$T/$k.est" "$T/$k.replay"
	check "$what: something happened ($(count_of "$T/$k.est" 0) notifications)" \
		[ "$(count_of "$T/$k.est" 0)" -ge 3 ]
	"$V" estimate "$f" -o "$T/$k.re.vmpt" >/dev/null 2>"$T/$k.oerr"
	check "$what: estimate -o exits 0" [ $? -eq 0 ]
	body "$f" >"$T/$k.body"
	body "$T/$k.re.vmpt" >"$T/$k.re.body"
	check "$what: the re-estimated recording is the recording, line for line" cmp -s "$T/$k.body" "$T/$k.re.body"
	"$V" estimate --check "$T/$k.re.vmpt" >"$T/$k.est2" 2>>"$T/$k.oerr"
	check "$what: ... and estimates to the same counts" cmp -s "$T/$k.est2" "$T/$k.est"
done
check "v2: the samples are a's" grep -q '^# sample-cg a pgscan=' "$T/v2.vmpt"
check "machine: the samples are the machine's" grep -q '^# sample [0-9.]* 0 machine pgscan_kswapd=' "$T/m.vmpt"
check "v2: the samples carry a's LRU lists and swap, in pages (memory.stat active_file + inactive_file, active_anon + inactive_anon, memory.swap.current)" \
	grep -q '^# sample-cg a .* file_lru=2000 anon_lru=200 swap=10 some=' "$T/v2.vmpt"

# ---- DEPTH: memory.high calls below priority 4, from the file LRU ---------
# 10 calls of 80 pages each at a memory.high, a file LRU of 300 pages:
# every call goes to priority 3 (300 < 8 * 64) and its injection meets its
# pages (medium); then the list shrinks to 200 and the later calls go to
# priority 2 as well (critical).
cat >"$T/high.vmpt" <<'EOF2'
# vmptrace 1
group / -
group hr /
listen 0 hr low
# samples 1
# sample 0.000046262 1 -
# sample-cg hr pgscan=0 pgsteal=0 high=0 max=0 oom=0 oom_kill=0 local_high=0 local_max=0 local_oom=0 file_lru=300 swap=1000 some=-/0 full=-/0
# sample 0.100000000 1 -
# sample-cg hr pgscan=800 pgsteal=800 high=10 max=0 oom=0 oom_kill=0 local_high=10 local_max=0 local_oom=0 file_lru=300 swap=1010 some=-/0 full=-/0
# sample 0.200000000 1 -
# sample-cg hr pgscan=1600 pgsteal=1600 high=20 max=0 oom=0 oom_kill=0 local_high=20 local_max=0 local_oom=0 file_lru=200 swap=1020 some=-/0 full=-/0
EOF2
"$V" estimate "$T/high.vmpt" --prio -high >"$T/high0.est" 2>"$T/high0.err"
check "memory.high calls without DEPTH: low windows only" grep -q '2 low, 0 medium, 0 critical' "$T/high0.err"
"$V" estimate "$T/high.vmpt" >"$T/high.est" 2>"$T/high.err"
check "memory.high calls with a small file LRU (the default, high): exit 0" [ $? -eq 0 ]
check "... one medium window per call, and critical ones as the list shrinks" \
	grep -q '26 notifications: 0 low, 20 medium, 6 critical' "$T/high.err"
check "... the set is named" grep -q 'prio=deficit,oom,learn,onset,grace,high,depth-max,sweep,ownstall,killseen,crowd ' "$T/high.err"
"$V" estimate "$T/high.vmpt" --lru-gen 1 >/dev/null 2>"$T/highm.err"
check "... not with MGLRU (no shares per priority)" grep -q '2 low, 0 medium, 0 critical' "$T/highm.err"
sed 's/ file_lru=[0-9]*//' "$T/high.vmpt" >"$T/highn.vmpt"
"$V" estimate "$T/highn.vmpt" >/dev/null 2>"$T/highn.err"
check "... nor without the file LRU in the samples (older recordings)" grep -q '2 low, 0 medium, 0 critical' "$T/highn.err"

# ---- other settings --------------------------------------------------------
F=$T/v2.vmpt
base=$(count_of "$T/v2.est" 0)
check "the recording says how the estimator was set up: the machine's kernel and MGLRU" \
	grep -qx '# estimator kernel=6.12 lru_gen=1 fail_passes=1 mglru_silent_root=0' "$F"
"$V" estimate "$F" --kernel 6.1.0-57-amd64 --lru-gen 0 -o "$T/k61.vmpt" >"$T/k61.est" 2>"$T/k61.err"
check "--kernel 6.1... --lru-gen 0: exit 0" [ $? -eq 0 ]
check "... and the re-estimated recording says so" \
	grep -qx '# estimator kernel=6.1 lru_gen=0 fail_passes=1 mglru_silent_root=0' "$T/k61.vmpt"
"$V" estimate "$T/k61.vmpt" -o "$T/k61b.vmpt" >/dev/null 2>&1
check "... which a second re-estimation keeps (read from the recording)" \
	grep -qx '# estimator kernel=6.1 lru_gen=0 fail_passes=1 mglru_silent_root=0' "$T/k61b.vmpt"
check "the machine source records them too" \
	grep -qx '# estimator kernel=6.12 lru_gen=1 fail_passes=1 mglru_silent_root=0' "$T/m.vmpt"
"$V" estimate "$F" --fail-passes 2 --check --quiet >"$T/fp2.est" 2>"$T/fp2.err"
check "--fail-passes 2: the fixture's OOM gives more windows than recorded (exit 1)" [ $? -eq 1 ]
for bad in "--kernel linux" "--kernel 6" "--lru-gen 2" "--fail-passes 0" "--fail-passes 9"; do
	"$V" estimate "$F" $bad >/dev/null 2>"$T/bad-opt.err"
	check "$bad: exit 2" [ $? -eq 2 ]
	check "$bad: names the option" grep -q -- "${bad%% *}" "$T/bad-opt.err"
done
for w in 256 1024 4096; do
	"$V" estimate "$F" --window-pages $w -o "$T/w$w.vmpt" >"$T/w$w.est" 2>"$T/w$w.err"
	check "--window-pages $w: exit 0" [ $? -eq 0 ]
	"$V" replay --check "$T/w$w.vmpt" >"$T/w$w.replay"
	check "--window-pages $w: its re-estimated recording replays to its counts" \
		sh -c "[ $? -eq 0 ] && cmp -s '$T/w$w.replay' '$T/w$w.est'"
	check "--window-pages $w: says so" grep -q "window_pages=$w" "$T/w$w.err"
done
c256=$(count_of "$T/w256.est" 0)
c1024=$(count_of "$T/w1024.est" 0)
c4096=$(count_of "$T/w4096.est" 0)
check "larger windows, no more notifications ($c4096 <= $c1024 <= $base <= $c256)" \
	[ "$c4096" -le "$c1024" ] && [ "$c1024" -le "$base" ] && [ "$base" -le "$c256" ]
check "window_pages changes the count ($c256 at 256, $base at 512)" [ "$c256" -gt "$base" ]

# the OOM kill: critical notifications only through the OOM stand-in
"$V" estimate "$F" --listen a:critical >"$T/o.est" 2>"$T/o.err"
check "--listen: exit 0" [ $? -eq 0 ]
crit=$(count_of "$T/o.est" 1)
check "--listen a:critical is listener 1, after the recording's" [ -n "$crit" ]
check "the OOM kill gave critical notifications ($crit)" [ "${crit:-0}" -ge 4 ]
check "... the recorded listener's count unchanged by the extra one" [ "$(count_of "$T/o.est" 0)" = "$base" ]
"$V" estimate "$F" --listen a:critical --prio -oom >"$T/no.est" 2>"$T/no.err"
check "--prio -oom: exit 0" [ $? -eq 0 ]
# (A sample taken between the fixture's two writes of a step can show the
# OOM step's calls without their pages, which the deficit bound takes for
# one failed call: so -oom may keep a few criticals, never all of them.)
check "--prio -oom: fewer critical notifications ($(count_of "$T/no.est" 1) < $crit)" \
	[ "$(count_of "$T/no.est" 1)" -lt "${crit:-0}" ]
check "--prio -oom: the recorded listener hears less ($(count_of "$T/no.est" 0) < $base)" \
	[ "$(count_of "$T/no.est" 0)" -lt "$base" ]
"$V" estimate "$F" --listen a:critical --prio oom >"$T/oo.est" 2>/dev/null
check "--prio oom alone: the OOM kill's critical notifications ($(count_of "$T/oo.est" 1))" \
	[ "$(count_of "$T/oo.est" 1)" -ge 4 ]
"$V" estimate "$F" --listen a:critical --prio none >"$T/nn.est" 2>/dev/null
check "--prio none: no critical notification at all ($(count_of "$T/nn.est" 1))" [ "$(count_of "$T/nn.est" 1)" = 0 ]
check "--prio -oom: names the set" grep -q 'prio=deficit,learn,onset,grace,high,depth-max,sweep,ownstall,killseen,crowd ' "$T/no.err"
"$V" estimate "$F" --listen a:critical --prio deficit,learn,onset >"$T/no2.est" 2>/dev/null
check "--prio deficit,learn,onset is --prio -oom" cmp -s "$T/no2.est" "$T/no.est"
"$V" estimate "$F" --prio default,+psi-full >/dev/null 2>"$T/p.err"
check "--prio default,+psi-full: exit 0" [ $? -eq 0 ]
"$V" estimate "$F" --prio none --listen a:medium >"$T/none.est" 2>/dev/null
check "--prio none: exit 0, no more than the default" \
	sh -c "[ $? -eq 0 ] && [ $(count_of "$T/none.est" 0) -le $base ]"
"$V" estimate --check "$F" --window-pages 1024 >"$T/mm.out" 2>/dev/null
st=$?
if [ "$c1024" != "$base" ]; then
	check "--check with other settings: a mismatch, exit 1" \
		sh -c "[ $st -eq 1 ] && grep -q '^mismatch 0 got $c1024 expected $base' '$T/mm.out'"
fi

# ---- malformed sample lines: line and byte, exit 2, nothing on stdout -----
bad() { # description, sed script, expected message part[, the line named]
	sed "$2" "$F" >"$T/bad.vmpt"
	line=${4:-$(diff "$F" "$T/bad.vmpt" | sed -n 's/^\([0-9]*\)[acd,].*/\1/p' | head -1)}
	"$V" estimate "$T/bad.vmpt" >"$T/bad.out" 2>"$T/bad.err"
	st=$?
	check "$1: exit 2" [ $st -eq 2 ]
	check "$1: names line ${line:-?} and a byte" grep -q "bad.vmpt:${line:-x}: .*byte [0-9]" "$T/bad.err"
	check "$1: says what ($3)" grep -q "$3" "$T/bad.err"
	check "$1: nothing on stdout" [ ! -s "$T/bad.out" ]
}
first_cg=$(grep -n '^# sample-cg a pgscan=' "$F" | tail -1 | cut -d: -f1)
bad "a letter in a counter" "${first_cg}s/ pgsteal=\([0-9]*\)/ pgsteal=1x/" "pgsteal"
bad "a field out of order" "${first_cg}s/ high=0 max=/ max=/" "expected 'high="
bad "a trailing space" "${first_cg}s/\$/ /" "empty field"
bad "an avg10 with 3 decimals" "${first_cg}s/some=[-0-9.]*/some=1.500/" "avg10"
bad "a time without 9 decimals" "$(grep -n '^# sample [0-9]' "$F" | sed -n 2p | cut -d: -f1)s/^# sample \([0-9]*\)\.\([0-9]*\)/# sample \1.5/" "time"
bad "a time that goes back" "$(grep -n '^# sample [0-9]' "$F" | sed -n 2p | cut -d: -f1)s/^# sample [0-9.]*/# sample 0.000000000/" "previous sample"
bad "a root cgroup line" "${first_cg}s/^# sample-cg a /# sample-cg \/ /" "root"
bad "a cgroup path with '..'" "${first_cg}s/^# sample-cg a /# sample-cg a\/.. /" "path"
bad "a cgroup line that is not one" "${first_cg}s/^# sample-cg /# sample-cgroup /" "expected cgroup line 1 of 1"
bad "an unknown sample record" "$((first_cg - 1))s/^# sample /# sample-step /" "unknown sample record"
bad "a version 2 header" "s/^# samples 1\$/# samples 2/" "version"
bad "a cgroup line missing" "${first_cg}d" "cgroup line"
bad "a second header" "${first_cg}s/^\(.*\)\$/# samples 1/" "cgroup line"
bad "a sample before the header" "s/^# samples 1\$/# (no header)/" "before the .# samples 1. header" \
	"$(grep -n '^# sample ' "$F" | head -1 | cut -d: -f1)"
printf '# samples 1\n# sample 1.000000000 1 -\n' >"$T/eof.vmpt"
"$V" estimate "$T/eof.vmpt" >/dev/null 2>"$T/err"
check "a step cut short by the end of the file: exit 2, line 2" \
	sh -c "[ $? -eq 2 ] && grep -q 'eof.vmpt:2: .*ends after 0' '$T/err'"

bad "a scheduler reading of 0 CPUs" "$((first_cg - 1))s/ sched=[0-9]*\// sched=0\//" "cpus 1 to 1048576"

# ---- CROWD: an OOM with tasks waiting for the CPUs -------------------------
# 35 failed calls (18 + 17: the charger was the victim), 140 injections; over
# the OOM's 100 ms the two CPUs ran and waited 600 ms: 3 runnable per CPU,
# 2 waiting. From 6.6 the job runs after a quarter of the injections.
cat >"$T/crowd.vmpt" <<'EOF2'
# vmptrace 1
group / -
group a /
listen 0 a low,hierarchy
# samples 1
# sample 0.000000000 1 - sched=2/1000000000
# sample-cg a pgscan=0 pgsteal=0 high=0 max=0 oom=0 oom_kill=0 local_high=0 local_max=0 local_oom=0 some=-/0 full=-/0
# sample 0.100000000 1 - sched=2/1600000000
# sample-cg a pgscan=0 pgsteal=0 high=0 max=35 oom=1 oom_kill=1 local_high=0 local_max=35 local_oom=1 some=-/0 full=-/0
EOF2
for k in "6.12.95+deb12-amd64:36" "6.1.0-28-amd64:140"; do
	"$V" estimate --kernel "${k%%:*}" "$T/crowd.vmpt" >"$T/out" 2>"$T/err"
	check "crowd: kernel ${k%%:*}: ${k#*:} critical windows for the OOM's 140 injections" \
		[ "$(count_of "$T/out" 0)" = "${k#*:}" ]
	check "... all critical" grep -q ": ${k#*:} notifications: 0 low, 0 medium, ${k#*:} critical" "$T/err"
done
"$V" estimate --kernel 6.12.95+deb12-amd64 --prio -crowd "$T/crowd.vmpt" >"$T/out" 2>/dev/null
check "crowd: --prio -crowd on 6.12: 140" [ "$(count_of "$T/out" 0)" = 140 ]
sed 's/ sched=[0-9/]*//' "$T/crowd.vmpt" >"$T/nosched.vmpt"
"$V" estimate --kernel 6.12.95+deb12-amd64 "$T/nosched.vmpt" >"$T/out" 2>/dev/null
check "crowd: samples without the scheduler's readings on 6.12: 140" [ "$(count_of "$T/out" 0)" = 140 ]
"$V" estimate --kernel 6.12.95+deb12-amd64 "$T/crowd.vmpt" -o "$T/crowd.out" >/dev/null 2>&1
"$V" replay --check "$T/crowd.out" >/dev/null 2>&1
check "crowd: the re-estimated recording replays to its counts" [ $? -eq 0 ]

# ---- files without samples --------------------------------------------------
"$V" estimate "$D/anon1.vmpt" >"$T/out" 2>"$T/err"
check "a kernel trace (no samples): exit 2" [ $? -eq 2 ]
check "... says it has no sample lines" grep -q 'no sample lines' "$T/err"
check "... nothing on stdout" [ ! -s "$T/out" ]
printf 'group / -\nlisten 0 / low\n' | "$V" estimate - >/dev/null 2>"$T/err"
check "a trace without samples on stdin: exit 2, said" sh -c "[ $? -eq 2 ] && grep -q 'no sample lines' '$T/err'"
printf 'group / -\nbogus 1\n# samples 1\n' >"$T/x.vmpt"
"$V" estimate "$T/x.vmpt" >/dev/null 2>"$T/err"
check "a malformed trace record: exit 2, the line named as replay names it" \
	sh -c "[ $? -eq 2 ] && grep -q 'x.vmpt:2: unknown record kind' '$T/err'"

# ---- options --------------------------------------------------------------
"$V" estimate "$F" --prio deficit,bogus >/dev/null 2>"$T/err"
check "--prio with an unknown name: exit 2, the byte named" \
	sh -c "[ $? -eq 2 ] && grep -q \"'bogus' at byte 9\" '$T/err'"
"$V" estimate "$F" --window-pages 0 >/dev/null 2>"$T/err"
check "--window-pages 0: exit 2" [ $? -eq 2 ]
"$V" estimate "$F" --window-pages 12x >/dev/null 2>"$T/err"
check "--window-pages 12x: exit 2" [ $? -eq 2 ]
"$V" estimate "$F" --listen a >/dev/null 2>"$T/err"
check "--listen without ARGS: exit 2" [ $? -eq 2 ]
"$V" estimate "$F" --listen a:huge >/dev/null 2>"$T/err"
check "--listen with bad args: exit 2, said" sh -c "[ $? -eq 2 ] && grep -q 'not level\[,mode\]' '$T/err'"
"$V" estimate "$F" --listen ../x:low >/dev/null 2>"$T/err"
check "--listen outside the tree: exit 2" [ $? -eq 2 ]
"$V" estimate >/dev/null 2>&1
check "no FILE: exit 64" [ $? -eq 64 ]
"$V" estimate "$F" --bogus >/dev/null 2>&1
check "unknown option: exit 64" [ $? -eq 64 ]
"$V" estimate "$F" "$F" >/dev/null 2>&1
check "two files: exit 64" [ $? -eq 64 ]
"$V" estimate "$T/missing.vmpt" >/dev/null 2>"$T/err"
check "a missing file: exit 74" [ $? -eq 74 ]
"$V" estimate "$F" -o "$T/no/such/dir/x.vmpt" >/dev/null 2>"$T/err"
check "an unwritable -o: exit 74, named" sh -c "[ $? -eq 74 ] && grep -q 'no/such/dir/x.vmpt' '$T/err'"
"$V" estimate "$F" -o - 2>/dev/null | "$V" replay --check - >"$T/out"
check "-o - writes the recording to stdout (and replays)" sh -c "[ $? -eq 0 ] && cmp -s '$T/out' '$T/v2.replay'"
"$V" estimate --help >"$T/out"
check "estimate --help describes --prio, --window-pages and --listen" \
	sh -c "grep -q -- '--prio' '$T/out' && grep -q -- '--window-pages' '$T/out' && grep -q -- '--listen' '$T/out'"
"$V" help | grep -q estimate
check "vmpressure help lists estimate" [ $? -eq 0 ]

check "no sanitizer report in any run" sh -c "! grep -rq 'runtime error\|Sanitizer' '$T'"

tap_done estimate
