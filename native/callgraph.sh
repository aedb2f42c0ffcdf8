#!/usr/bin/env bash
# Prints the file-level call graph of a C program's sources, one line per edge:
#   CALLER -> CALLEE: symbol symbol ...
# CALLER uses symbols that CALLEE defines (functions or data), read from the object files'
# symbol tables (nm), so macros and static functions don't count and every cross-file use does.
# Usage: native/callgraph.sh [DIR]   (default native/stage). docs/native.md draws the result;
# test/unit/native/callgraph.test.ts checks it has no cycle.
set -euo pipefail
export LC_ALL=C # one collation for sort and join
cd "$(dirname "$0")/.."
src=${1:-native/stage}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for c in "$src"/*.c; do
  ${CC:-cc} -O0 -c -o "$tmp/$(basename "${c%.c}").o" "$c"
done
for o in "$tmp"/*.o; do
  file=$(basename "${o%.o}")
  nm -g --defined-only "$o" | awk -v f="$file" '{ print $3, f }'
done | sort >"$tmp/defs"
for o in "$tmp"/*.o; do
  file=$(basename "${o%.o}")
  nm -u "$o" | awk -v f="$file" '{ print $2, f }'
done | sort >"$tmp/uses"
# symbol user definer, for symbols defined in one of the files; grouped per pair of files.
join "$tmp/uses" "$tmp/defs" \
  | awk '$2 != $3 { print $2, $3, $1 }' \
  | sort \
  | awk '{ key = $1 " -> " $2; if (key != last) { if (last != "") print line; line = key ":"; last = key } line = line " " $3 }
         END { if (last != "") print line }'
