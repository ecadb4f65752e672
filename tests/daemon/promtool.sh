#!/bin/sh
# Run promtool with these arguments: $PROMTOOL, else a promtool on PATH,
# else the one scripts/deps.sh extracts from Debian's prometheus package
# into .deps/ (installing the package would also start a Prometheus
# server). Exit 127, saying so, if there is none.
root=$(cd "$(dirname "$0")/../.." && pwd)
for p in "${PROMTOOL:-}" "$(command -v promtool 2>/dev/null)" "$root/.deps/prometheus/usr/bin/promtool"; do
	[ -n "$p" ] && [ -x "$p" ] && exec "$p" "$@"
done
echo "promtool.sh: no promtool (scripts/deps.sh test extracts it from Debian's prometheus package)" >&2
exit 127
