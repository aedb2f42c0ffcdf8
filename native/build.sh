#!/usr/bin/env bash
# Builds the native stage (native/stage/*.c) into dist/native/sandbox-stage with the system C
# compiler and nothing but glibc. Rebuilds only when a source is newer than the binary, and prints
# nothing when it is up to date. The binary is written under a temporary name and renamed, so a
# sandbox starting concurrently never executes a half-written file.
set -euo pipefail
cd "$(dirname "$0")/.."

src=native/stage
out=dist/native/sandbox-stage

if [ -x "$out" ] && [ -z "$(find "$src" -name '*.[ch]' -newer "$out" -print -quit)" ] \
   && [ native/build.sh -ot "$out" ]; then
  exit 0
fi

mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
${CC:-cc} -O2 -Wall -Wextra -Werror -o "$tmp" "$src"/*.c
mv -f "$tmp" "$out"
trap - EXIT
printf 'build: %s\n' "$out" >&2
