#!/usr/bin/env bash
# Builds the native programs with the system C compiler and nothing but glibc: the stage
# (native/stage/*.c -> dist/native/sandbox-stage), the layer copier of `sandbox commit`
# (native/commit/*.c -> dist/native/sandbox-commit), the bench's view reader
# (native/bench/*.c -> dist/native/view-reader) and its CPU workloads (native/bench/busy/*.c ->
# dist/native/bench-busy) and the daemon's view binder (native/viewbind/ ->
# dist/native/sandbox-viewbind). Rebuilds one only when a source is newer than its binary, and
# prints nothing when all are up to date. A binary is written under a temporary name and renamed,
# so a sandbox starting concurrently never executes a half-written file.
set -euo pipefail
cd "$(dirname "$0")/.."

# build SRC_DIR OUT: compile every .c of SRC_DIR into OUT if anything changed.
build() {
  local src=$1 out=$2
  if [ -x "$out" ] && [ -z "$(find "$src" -name '*.[ch]' -newer "$out" -print -quit)" ] \
     && [ native/build.sh -ot "$out" ]; then
    return 0
  fi
  mkdir -p "$(dirname "$out")"
  # Not local: the EXIT trap runs after a failed compile has left this function.
  tmp="$out.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  ${CC:-cc} -O2 -Wall -Wextra -Werror -o "$tmp" "$src"/*.c
  mv -f "$tmp" "$out"
  trap - EXIT
  printf 'build: %s\n' "$out" >&2
}

build native/stage dist/native/sandbox-stage
build native/commit dist/native/sandbox-commit
build native/bench dist/native/view-reader
build native/bench/busy dist/native/bench-busy
build native/viewbind dist/native/sandbox-viewbind
