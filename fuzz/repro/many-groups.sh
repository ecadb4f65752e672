#!/bin/sh
# Reproducer: a valid trace with N sibling groups (default 100000, 1.5 MB).
# `vmpressure replay` spends seconds in vmp_ctx_free() tearing the tree
# down: destroy_subtree() (src/lib/engine/group.c) rescans the whole lookup
# table from bucket 0 for every group it removes, O(groups x table size).
#
#   sh fuzz/repro/many-groups.sh 100000 >/tmp/many.vmpt
#   time build/vmpressure replay /tmp/many.vmpt
n=${1:-100000}
echo "# vmptrace 1"
echo "group / -"
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "group g%d /\n", i }'
