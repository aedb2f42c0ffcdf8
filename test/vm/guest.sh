#!/bin/bash
# PID 1 of the pure cgroup v2 guest after switch_root (test/vm/init): mounts the guest's own
# kernel filesystems, builds a host-like cgroup tree, runs what /vm-out/request.env asks (the
# focused integration suite, or the bench's quota scenario) and powers the guest off. Results go
# to /vm-out (a writable 9p share of the host's run directory): status, vitest.json, guest.log.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
OUT=/vm-out
poweroff_now() {
  sync
  umount "$OUT" 2>/dev/null
  echo o > /proc/sysrq-trigger # sysrq-trigger 'o': power off at once (Documentation/admin-guide/sysrq.rst)
  sleep 60
}
fail() {
  echo "VM-GUEST: $*" | tee -a "$OUT/guest.log" > /dev/console
  echo 2 > "$OUT/status"
  poweroff_now
}

# shellcheck disable=SC1091
. "$OUT/request.env" || fail "no $OUT/request.env"
# A checkout under /tmp, /run or /var/tmp (a CI clone often is) would vanish under the guest's own
# mounts below: keep it reachable at its path through a bind made before they cover it.
case "$REPO" in
  /tmp/* | /run/* | /var/tmp/*) mkdir -p /mnt/repo && mount --bind "$REPO" /mnt/repo || fail "bind $REPO" ;;
esac

# The 9p root shows the host's /proc, /sys, /dev, /run and /tmp (multidevs=remap crosses into
# them): cover each with the guest's own, before anything reads them.
mount -t proc proc /proc || fail "mount proc"
mount -t sysfs sysfs /sys || fail "mount sysfs"
mount -t devtmpfs devtmpfs /dev || fail "mount devtmpfs"
mkdir -p /dev/pts /dev/shm
ln -sf /proc/self/fd /dev/fd && ln -sf fd/0 /dev/stdin && ln -sf fd/1 /dev/stdout && ln -sf fd/2 /dev/stderr
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts || fail "mount devpts"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || fail "mount /dev/shm"
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup || fail "mount cgroup2"
mount -t tmpfs -o mode=755 tmpfs /run || fail "mount /run"
mount -t tmpfs -o mode=1777 tmpfs /tmp || fail "mount /tmp"
mount -t tmpfs tmpfs /var/tmp || true
if mountpoint -q /mnt/repo; then
  mkdir -p "$REPO" && mount --move /mnt/repo "$REPO" || fail "move the checkout back to $REPO"
fi
hostname sandbox-v2-guest
exec > >(tee -a "$OUT/guest.log" > /dev/console) 2>&1

[ -r /proc/uptime ] || fail "/proc/uptime is missing after switch_root"
[ -e /dev/fuse ] || fail "/dev/fuse is missing (fuse module not loaded)"
echo "VM-GUEST: $(uname -r), cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers), $(nproc) CPUs, $(sed -n 's/^MemTotal: *//p' /proc/meminfo)"

# A host-like tree: the root delegates the controllers to a slice, the slice to the runner's
# scope, and the scope already holds a process (a login shell's sleep) besides the runner. So the
# supervisor meets cgroup-v2.rst's "no internal processes" rule as on a real host: it must enable
# the controllers in a populated cgroup (supervisor/cgroup/v2/delegate.ts).
CG=/sys/fs/cgroup
CTRL="+cpuset +cpu +io +memory +pids"
echo "$CTRL" > $CG/cgroup.subtree_control || fail "root subtree_control"
mkdir -p $CG/user.slice/session-1.scope
echo "$CTRL" > $CG/user.slice/cgroup.subtree_control || fail "user.slice subtree_control"
sleep infinity &
echo $! > $CG/user.slice/session-1.scope/cgroup.procs || fail "move sleep"
echo $$ > $CG/user.slice/session-1.scope/cgroup.procs || fail "move runner"
echo "VM-GUEST: runner in $(cut -d: -f3 /proc/self/cgroup) with $(wc -l < $CG/user.slice/session-1.scope/cgroup.procs) processes"

# An empty virtio disk, formatted here, for the I/O limit tests (blk-throttle needs a real block device).
# Its scheduler is bfq (the module test/vm/init loaded): bfq registers its cgroup policy on load
# (block/bfq-iosched.c bfq_init -> blkcg_policy_register), which gives every io-enabled cgroup an
# io.bfq.weight, and acts on the weights only on disks it schedules. So io-limits.test.ts finds
# io.bfq.weight (beside iocost's io.weight) and --io-weight is exercised where it takes effect.
if [ -b /dev/vda ]; then
  mkfs.ext4 -q -F /dev/vda && mkdir -p /mnt/disk && mount /dev/vda /mnt/disk && export SANDBOX_TEST_DISK_DIR=/mnt/disk
  echo bfq > /sys/block/vda/queue/scheduler || fail "can't select bfq on vda (schedulers: $(cat /sys/block/vda/queue/scheduler))"
  echo "VM-GUEST: vda scheduler: $(cat /sys/block/vda/queue/scheduler)"
fi

cd "$REPO" || fail "no $REPO"
export SANDBOX_TEST_MUST_RUN=1 CI=1
status=0
T0=$(cut -d' ' -f1 /proc/uptime)
case "$MODE" in
  test)
    # shellcheck disable=SC2086
    node node_modules/vitest/vitest.mjs run --reporter=default --reporter=json --outputFile.json="$OUT/vitest.json" $TESTS || status=$?
    ;;
  bench)
    # shellcheck disable=SC2086
    node dist/bench/main.js $BENCH_ARGS > "$OUT/bench.out" || status=$?
    cat "$OUT/bench.out"
    ;;
  cmd) bash -c "$CMD" || status=$? ;;
  *) fail "unknown mode $MODE" ;;
esac
echo "VM-GUEST: $MODE finished with status $status after $(awk -v t0="$T0" '{ printf "%.1f", $1 - t0 }' /proc/uptime) s"
echo "$status" > "$OUT/status"
poweroff_now
