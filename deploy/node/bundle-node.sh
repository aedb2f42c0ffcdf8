#!/bin/sh
# bundle-node.sh NODE ROOT: copy the node binary NODE into ROOT/bin/node, and the shared libraries
# it links plus its dynamic loader into ROOT/lib (the loader as ROOT/lib/ld-linux.so), so that
# ROOT/bin/sandbox runs node without the libraries of the machine it lands on (ld.so(8): an
# explicitly invoked loader with --library-path searches those directories first). Used by
# deploy/Containerfile; test/deploy/node-bundle.test.ts runs it on this machine's node.
set -eu
node=$1
root=$2
mkdir -p "$root/bin" "$root/lib"
cp -L "$node" "$root/bin/node"
# ldd(1) prints "name => /path (addr)" for each library and "/path/ld-linux… (addr)" for the
# loader (the ELF PT_INTERP); the vDSO has no path and is skipped.
ldd "$node" | while read -r first second third _; do
  if [ "$second" = "=>" ]; then
    case "$third" in /*) cp -L "$third" "$root/lib/" ;; esac
  else
    case "$first" in /*) cp -L "$first" "$root/lib/ld-linux.so" ;; esac
  fi
done
[ -x "$root/lib/ld-linux.so" ] || { echo "bundle-node: no dynamic loader found in ldd $node" >&2; exit 1; }
