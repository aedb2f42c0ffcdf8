#!/usr/bin/env bash
# `npm run test:v2` (and `npm run bench:v2`): boot a pure cgroup v2 kernel in qemu and run the
# focused integration suite (or the bench's quota scenario) inside it as root, then report the
# guest's results here and exit with their status.
#
#   test/vm/run.sh [test [FILE...] | bench [BENCH ARGS...]]
#
# This host runs cgroup v1 hybrid, so v2 can only be tested in a VM: Debian's generic kernel
# (apt-get download, unpacked with dpkg-deb into $SANDBOX_VM_CACHE, default /var/cache/sandbox-vm),
# booted with cgroup_no_v1=all over the host's root shared read-only by 9p (test/vm/init), with a
# small initramfs of busybox-static and the kernel's modules. KVM when a probe boot works
# (SANDBOX_VM_ACCEL=kvm|tcg forces one), else qemu's software emulation (TCG, several times
# slower). If qemu or the kernel can't be had, it skips with the reason (exit 0), or fails when
# SANDBOX_TEST_MUST_RUN=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
MODE=${1:-test}
[ $# -gt 0 ] && shift
CACHE=${SANDBOX_VM_CACHE:-/var/cache/sandbox-vm}
TIMEOUT_S=${SANDBOX_VM_TIMEOUT_S:-2700}
# The focused set: run and limits, the /proc views, exec, kill/stop/update, confinement, I/O limits,
# what runtimes read (mountinfo, the JVM), a root of its own under the default user namespace
# (ID-mapped layers on Linux 6.1), views taken from a running `sandbox procfs serve`, detached
# sandboxes monitored by their stage (v2 OOM notification through memory.events).
DEFAULT_TESTS="test/integration/run.test.ts test/integration/cgroup.test.ts test/integration/views-fs.test.ts
  test/integration/lifecycle-exec.test.ts test/integration/lifecycle-control.test.ts
  test/integration/confinement.test.ts test/integration/io-limits.test.ts test/integration/runtimes.test.ts
  test/integration/userns-rootfs.test.ts test/integration/views-shared.test.ts test/integration/monitor.test.ts"
# Every test runs under TCG too: the tests assert events (awaited with a generous deadline,
# test/helpers/wait.ts) and kernel-guaranteed bounds, never how fast the machine is.
# bfq (CONFIG_IOSCHED_BFQ=m in Debian's kernel, no module dependencies): its io.bfq.weight is what
# --io-weight writes on a bfq disk; guest.sh selects it on the test disk.
MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk netfs fscache 9pnet 9pnet_virtio 9p overlay fuse
  crc16 mbcache jbd2 crc32c_generic ext4 bfq"

say() { printf 'test:v2: %s\n' "$*" >&2; }
skip() {
  if [ "${SANDBOX_TEST_MUST_RUN:-}" = 1 ]; then
    say "SANDBOX_TEST_MUST_RUN=1 but the v2 tier can't run: $*"
    exit 1
  fi
  say "skipped: $*"
  exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root (the guest's tests run as root; qemu's 9p export of / reads everything)"
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 not installed (Debian package qemu-system-x86; bash native/setup.sh vm)"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1 || skip "no static busybox (Debian package busybox-static)"

# --- The kernel: the newest generic amd64 image apt knows, downloaded once into the cache.
kernel_dir=$CACHE/kernel
if ! ls "$kernel_dir"/boot/vmlinuz-* >/dev/null 2>&1; then
  pick() { apt-cache pkgnames linux-image- 2>/dev/null | grep -E '^linux-image-[0-9.]+-[0-9]+-amd64-unsigned$' | sort -V | tail -1; }
  pkg=${SANDBOX_VM_KERNEL_PKG:-$(pick)}
  if [ -z "$pkg" ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    pkg=$(pick)
  fi
  [ -n "$pkg" ] || skip "apt knows no linux-image-*-amd64-unsigned package"
  mkdir -p "$CACHE/dl"
  say "downloading $pkg into $CACHE/dl"
  (cd "$CACHE/dl" && apt-get download -q "$pkg" >&2) || skip "apt-get download $pkg failed"
  rm -rf "$kernel_dir.tmp"
  dpkg-deb -x "$(ls "$CACHE"/dl/"$pkg"_*.deb | sort -V | tail -1)" "$kernel_dir.tmp" || skip "dpkg-deb -x of $pkg failed"
  mv "$kernel_dir.tmp" "$kernel_dir"
fi
vmlinuz=$(ls "$kernel_dir"/boot/vmlinuz-* | sort -V | tail -1)
kver=${vmlinuz##*/vmlinuz-}

# --- Run directory (the guest's writable /vm-out) and the initramfs.
run=$(mktemp -d /tmp/sandbox-vm.XXXXXX)
trap 'rm -rf "$run/initrd" "$run/initrd.img" "$run/disk.img"' EXIT
mkdir -p "$run/initrd/bin" "$run/initrd/lib/modules" "$run/out"
cp "$busybox" "$run/initrd/bin/busybox"
loaded=()
for m in $MODULES; do
  ko=$(find "$kernel_dir/lib/modules/$kver" \( -name "$m.ko" -o -name "$m.ko.xz" \) | head -1)
  [ -n "$ko" ] || continue # built in
  case $ko in
    *.xz) xz -dc "$ko" > "$run/initrd/lib/modules/$m.ko" ;;
    *) cp "$ko" "$run/initrd/lib/modules/" ;;
  esac
  loaded+=("$m")
done
echo "${loaded[*]}" > "$run/initrd/modules.txt"
cp test/vm/init "$run/initrd/init"
(cd "$run/initrd" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1 > "$run/initrd.img")

qemu_args() { # qemu_args ACCEL MODE: sets qemu=(the qemu command line)
  qemu=(qemu-system-x86_64 -accel "$1")
  [ "$1" = kvm ] && qemu+=(-cpu host)
  qemu+=(-m 2048 -smp 2 -nographic -no-reboot -kernel "$vmlinuz" -initrd "$run/initrd.img"
    -append "console=ttyS0 panic=-1 quiet cgroup_no_v1=all sandbox.repo=$REPO sandbox.mode=$2"
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
    -virtfs "local,path=$run/out,mount_tag=out,security_model=none")
}

# --- KVM when it works: a probe boot that only reaches the initramfs, remembered per host boot.
accel=${SANDBOX_VM_ACCEL:-}
if [ -z "$accel" ]; then
  accel=tcg
  if [ -w /dev/kvm ]; then
    boot_id=$(cat /proc/sys/kernel/random/boot_id)
    probe_file=$CACHE/kvm-probe
    if [ "$(cut -d' ' -f1 "$probe_file" 2>/dev/null)" != "$boot_id" ]; then
      say "probing KVM (a boot to the initramfs, at most 30 s)"
      result=no
      qemu_args kvm probe
      if timeout -k 5 30 "${qemu[@]}" < /dev/null 2>&1 | grep -q 'VM-INIT: probe ok'; then result=ok; fi
      mkdir -p "$CACHE" && echo "$boot_id $result" > "$probe_file"
    fi
    [ "$(cut -d' ' -f2 "$probe_file")" = ok ] && accel=kvm
  fi
fi

# --- The request the guest reads, and the boot.
case $MODE in
  test)
    printf 'MODE=test\nREPO=%q\nTESTS=%q\n' "$REPO" "${*:-$(echo $DEFAULT_TESTS)}" > "$run/out/request.env"
    ;;
  bench) printf 'MODE=bench\nREPO=%q\nBENCH_ARGS=%q\n' "$REPO" "${*:-quota}" > "$run/out/request.env" ;;
  cmd) printf 'MODE=cmd\nREPO=%q\nCMD=%q\n' "$REPO" "$*" > "$run/out/request.env" ;; # a shell command, for debugging
  *) say "usage: test/vm/run.sh [test [FILE...] | bench [ARGS...] | cmd SHELL-COMMAND]"; exit 125 ;;
esac
truncate -s 256M "$run/disk.img"
say "booting $kver ($accel, 2 vCPUs, 2 GiB) for $MODE; logs in $run"
t0=$(date +%s)
set +e
qemu_args "$accel" "$MODE"
timeout -k 10 "$TIMEOUT_S" "${qemu[@]}" -drive "file=$run/disk.img,if=virtio,format=raw,discard=unmap" < /dev/null 2>&1 | tee "$run/console.log"
qemu_status=${PIPESTATUS[0]}
set -e
say "qemu ran $(( $(date +%s) - t0 )) s (exit $qemu_status)"
[ "$qemu_status" = 124 ] && { say "the guest did not finish within ${TIMEOUT_S} s (SANDBOX_VM_TIMEOUT_S)"; exit 1; }
[ -f "$run/out/status" ] || { say "the guest wrote no status: see $run/console.log"; exit 1; }
status=$(cat "$run/out/status")
if [ "$MODE" = test ]; then
  [ -f "$run/out/vitest.json" ] || { say "the guest wrote no vitest.json (status $status)"; exit 1; }
  node test/vm/summary.mjs "$run/out/vitest.json" || status=1
fi
rm -rf "$CACHE/last-$MODE" && mkdir -p "$CACHE" && cp -r "$run/out" "$CACHE/last-$MODE" && cp "$run/console.log" "$CACHE/last-$MODE/"
rm -rf "$run"
say "$MODE in the v2 guest: status $status (results kept in $CACHE/last-$MODE)"
exit "$status"
