#!/bin/bash
# Reader-routed vs path-routed views through one `sandbox procfs serve` (docs/bench/2026-12-07-reader-routed-views.md):
# readers in one test cgroup (512 MiB, every CPU, no quota; cgroup v1 hosts). ROUNDS alternating rounds; each round: view-reader `lat 1000` per file
# (one process: the daemon's 5 ms pid cache applies) and 1000 `cat` processes per file (a new pid each).
set -euo pipefail
# Run as root, under the shared test lock: flock /tmp/sandbox-tests.lock bash bench/reader-routed.sh
W=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-10}
B=/run/sandbox-procfs/hv-bench; M=$B/mnt
L=sandbox-hvbench
# The leaf under our own cgroup in each hierarchy (one hierarchy per controller, as on this host).
own() { local p; p=$(awk -F: -v c=$1 '$2==c {print $3}' /proc/self/cgroup); echo "/sys/fs/cgroup/$1${p%/}"; }
DIRS=""; for c in cpuset cpu cpuacct memory pids blkio freezer; do DIRS="$DIRS $(own $c)/$L"; done
cleanup() {
  exec 3>&- 4<&- 2>/dev/null || true
  [ -n "${HOLD:-}" ] && kill -9 $HOLD 2>/dev/null || true
  [ -n "${DPID:-}" ] && kill $DPID 2>/dev/null && wait $DPID 2>/dev/null || true
  for d in $DIRS; do rmdir $d 2>/dev/null || true; done
  rm -rf $B
}
trap cleanup EXIT
for d in $DIRS; do mkdir $d; done
cat $(own cpuset)/cpuset.cpus > $(own cpuset)/$L/cpuset.cpus; cat $(own cpuset)/cpuset.mems > $(own cpuset)/$L/cpuset.mems
echo $((512*1024*1024)) > $(own memory)/$L/memory.limit_in_bytes
mkdir -p $B
node $W/dist/supervisor/main.cjs procfs serve --mount $M --socket $B/api.sock 2>$B/log & DPID=$!
until grep -q 'serving views' $B/log 2>/dev/null; do sleep 0.05; done
join() { for d in $DIRS; do echo $1 > $d/cgroup.procs; done; }
sleep 600 & HOLD=$!; join $HOLD
node -e "const n=require('net').connect('$B/api.sock');n.end(JSON.stringify({op:'register',id:'bench',pid:$HOLD,root:'',bind:false})+'\n');n.on('data',d=>process.stdout.write(d))"
cpu() { awk '{print $14+$15}' /proc/$DPID/stat; }
R=$W/dist/native/view-reader
READER=$M/proc/meminfo; PATHED=$M/bench/proc/meminfo
# One view-reader process in the cgroup; `lat 1000` of each file in turn, ROUNDS times, the daemon's
# CPU time (utime + stime, 10 ms ticks) read around each batch and summed per file.
rm -f $B/in $B/out; mkfifo $B/in $B/out
$R < $B/in > $B/out & RP=$!
join $RP; exec 3>$B/in 4<$B/out
declare -A CPU LAT
for r in $(seq $ROUNDS); do
  for f in $READER $PATHED $M/proc/loadavg $M/bench/proc/loadavg /proc/meminfo; do
    c0=$(cpu); echo "lat 1000 $f" >&3; read -r line <&4; c1=$(cpu)
    CPU[$f]=$(( ${CPU[$f]:-0} + c1 - c0 )); LAT[$f]="${LAT[$f]:-} ${line#ok }"
  done
done
echo quit >&3; exec 3>&- 4<&-; wait $RP || true
echo "view-reader, $ROUNDS x 1000 reads per file, interleaved (load $(cut -d' ' -f1 /proc/loadavg)):"
for f in $READER $PATHED $M/proc/loadavg $M/bench/proc/loadavg /proc/meminfo; do
  echo ${LAT[$f]} | tr ' ' '\n' | sort -n | awk -v f="$f" -v c=${CPU[$f]} '{a[NR]=$1} END {printf "  %-40s median %6.1f us  p90 %6.1f us  p99 %7.1f us  server CPU %5.1f us/read\n", f, a[int(NR/2)], a[int(NR*0.9)], a[int(NR*0.99)], c*10000/NR}'
done
# 300 `cat` processes per batch (a new pid each: one /proc/<pid>/cgroup read per reader-routed open), ROUNDS batches per file, interleaved.
declare -A CCPU CWALL
for r in $(seq $ROUNDS); do
  for f in $READER $PATHED /proc/meminfo; do
    rm -f $B/go; mkfifo $B/go
    sh -c "read _ < $B/go; for i in \$(seq 300); do cat $f > /dev/null; done" & P=$!
    join $P
    c0=$(cpu); t0=$(date +%s%N); echo go > $B/go; wait $P; t1=$(date +%s%N); c1=$(cpu)
    CCPU[$f]=$(( ${CCPU[$f]:-0} + c1 - c0 )); CWALL[$f]=$(( ${CWALL[$f]:-0} + (t1 - t0) / 1000 ))
  done
done
echo "cat, $ROUNDS x 300 per file, interleaved (load $(cut -d' ' -f1 /proc/loadavg)):"
for f in $READER $PATHED /proc/meminfo; do
  n=$((ROUNDS * 300))
  printf "  %-40s %6d us per cat (wall), server CPU %5d us/cat\n" $f $(( CWALL[$f] / n )) $(( CCPU[$f] * 10000 / n ))
done
