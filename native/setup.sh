#!/usr/bin/env bash
# Sets up whatever is missing on this machine, and nothing else: Debian packages (mount for the
# views' FUSE mount, gcc and libc headers for the native stage, procps for the demo, the engines and
# lxcfs for the engine tests), npm packages (npm ci), the TypeScript build and the native stage. Idempotent, and
# quick when everything is already there. Run as root on a fresh machine by `npm start`/`npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

# --- Debian packages: install only what is missing; `apt-get update` only when we must install
# (a fresh machine has no apt lists, so install would find nothing without it).
missing=()
command -v mount >/dev/null 2>&1 && command -v umount >/dev/null 2>&1 || missing+=(mount) # procfs/fuse/mount.ts
command -v cc >/dev/null 2>&1 || missing+=(gcc)
[ -e /usr/include/stdio.h ] && [ -e /usr/include/linux/mount.h ] || missing+=(libc6-dev linux-libc-dev)
command -v top >/dev/null 2>&1 && command -v ps >/dev/null 2>&1 || missing+=(procps)
command -v getconf >/dev/null 2>&1 || missing+=(libc-bin)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v python3 >/dev/null 2>&1 || missing+=(python3) # the suite runs python3 inside sandboxes
[ -x /bin/busybox ] || missing+=(busybox-static) # the test image of test/integration/rootfs.test.ts
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd) # test/deploy/systemd.test.ts verifies the unit
command -v runc >/dev/null 2>&1 || missing+=(runc) # test/integration/oci-hook.test.ts: the OCI hook with a real runtime
command -v crun >/dev/null 2>&1 || missing+=(crun) # the same with crun where the host's cgroups allow it
command -v pasta >/dev/null 2>&1 || missing+=(passt) # --net private / -p (supervisor/net/pasta.ts)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless) # test/integration/runtimes.test.ts: a real JVM inside
command -v slirp4netns >/dev/null 2>&1 || missing+=(slirp4netns) # measured against pasta: bench/net-helpers.py
command -v lxcfs >/dev/null 2>&1 || missing+=(lxcfs) # the peer the engine tests compare with (test/integration/engines-*.test.ts), bench/
# The real engines of test/integration/engines-*.test.ts, each started by the test with state of
# its own. By path: another `docker` client (e.g. /usr/local/bin/docker) may come first on PATH.
[ -x /usr/bin/docker ] && [ -x /usr/sbin/dockerd ] || missing+=(docker.io) # engines-docker: dockerd, containerd, containerd-shim-runc-v2, runc
[ -x /usr/bin/podman ] && [ -x /usr/bin/conmon ] || missing+=(podman)      # engines-podman: podman 4.3 (its Depends bring conmon)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)              # the engines run in mount namespaces of their own
# `setup.sh vm` (npm run test:v2): qemu boots the pure cgroup v2 guest of test/vm/run.sh. Not
# needed by anything else, so not installed otherwise.
if [ "${1:-}" = vm ]; then
  command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
  command -v dpkg-deb >/dev/null 2>&1 || missing+=(dpkg)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages: ${missing[*]}; run as root or: apt-get install ${missing[*]}"
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Installing must start no daemon (docker.io's and lxcfs's maintainer scripts would start
  # dockerd, containerd and lxcfs on the host through invoke-rc.d): without a policy-rc.d, one that
  # denies every start (exit 101, invoke-rc.d(8)) stands for the install and goes after it.
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# sandbox native/setup.sh: no service starts during its install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
    trap 'rm -f "$policy"' EXIT
  fi
  daemons() { command -v pgrep >/dev/null 2>&1 || return 0; for n in dockerd containerd lxcfs; do pgrep -x "$n" || true; done | sort; }
  before=$(daemons)
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$own_policy" ]; then rm -f "$policy"; trap - EXIT; fi
  # A policy-rc.d that allows starts (a host's own) may have let one through: say so, touch nothing.
  started=$(comm -13 <(printf '%s\n' "$before") <(daemons) | tr '\n' ' ')
  [ -z "${started// /}" ] || say "warning: the install started host daemons (pids $started): the tests start their own; stop these if unwanted"
fi

# --- npm packages: `npm ci` when node_modules is absent or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# --- TypeScript: compiled and bundled only when a source is newer than the last build.
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find supervisor procfs native bench tsconfig.json package.json -newer "$stamp" \( -name '*.ts' -o -name '*.json' -o -name compile-ts.sh \) -print -quit)" ]; then
  say "tsc + bundle"
  bash native/compile-ts.sh
  touch "$stamp"
fi

# --- The native stage (rebuilds only when a source is newer than the binary).
bash native/build.sh
