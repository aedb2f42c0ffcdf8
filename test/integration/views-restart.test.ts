// `sandbox procfs serve` restarts its server without failing a read (procfs/daemon/keeper.ts): the
// keeper holds the FUSE connection, so readers wait in the kernel's queue while a SIGHUP hands over
// to a new server, while a SIGUSR2 re-executes the keeper itself, or while a SIGKILLed server is
// replaced (its requests asked again by FUSE_NOTIFY_RESEND, or answered from the request journal:
// run both ways here, the journal's being the only one before Linux 6.9). Eight readers run in a test cgroup of
// 256 MiB (made under this process's own with the project's cgroup manager), each opening the
// reader-routed /proc/meminfo and /proc/uptime and a registered container's meminfo in a loop,
// and re-reading one file it keeps open from offset 0 (as top does): across each restart no read
// may fail and every meminfo must still show the cgroup's limit. The reader-visible pause is
// printed (a figure for docs/views-daemon.md, not asserted). Everything made is removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCgroup } from '../../supervisor/cgroup/index.js';
import type { CgroupManager } from '../../supervisor/cgroup/types.js';
import { ask } from '../../procfs/daemon/client.js';
import { startDaemon, stopDaemon, type Daemon } from '../helpers/oci.js';
import { leftovers, removeLeftoverCgroups, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

const skip = requireOrSkip(sandboxUnavailable());
const MiB = 1024 * 1024;
const LIMIT_LINE = 'MemTotal:         262144 kB';
const READERS = 8;
/**
 * Rounds every reader reads before the restart (the steady window the pause is compared with): 60
 * take 5-9 s in the v2 VM under TCG, where 200 took 16-28 s and left a test near vitest's 60 s.
 */
const STEADY_ROUNDS = 60;

/** FUSE_NOTIFY_RESEND came with Linux 6.9 (protocol 7.40): before it the keeper answers a killed server's requests from its journal. */
function hasResend(): boolean {
  const [major, minor] = release().split('.').map(Number) as [number, number];
  return major > 6 || (major === 6 && minor >= 9);
}

/** The server's /dev/fuse descriptor and request journal (procfs/daemon/keeper.ts CHILD_FD, CHILD_JOURNAL_FD), its worker threads. */
const SERVER_FUSE_FD = 4;
const SERVER_JOURNAL_FD = 5;
const SERVER_WORKERS = 2;
/** A journal slot's size (procfs/fuse/journal.ts). */
const JOURNAL_SLOT = 512;
/** Opcodes a reader waits for (include/uapi/linux/fuse.h): LOOKUP, GETATTR, OPEN, READ. RELEASE is asynchronous for the reader. */
const WAITED_FOR = [1, 3, 14, 15];

/**
 * SIGKILL a server while a worker holds a request a reader waits for, read and not answered, so the
 * kill leaves one on the connection's processing list (a worker killed in read(2) holds none, a
 * RELEASE is waited for by nobody: either would test nothing). Stop the process and look at each
 * thread's /proc/<pid>/task/<tid>/syscall: a worker is a thread once seen inside read(2) of the
 * descriptor ("0 0x4 …"); one stopped in user mode ("-1 …": interrupted, not at a syscall's exit,
 * where a stop after read(2) or write(2) would be ambiguous) is between the read of a request and
 * its reply. Kill then, if every worker's journal slot (the last request each read, through
 * /proc/<pid>/fd) holds a request a reader waits for; else let it run a few ms and try again.
 * Returns how many stops it took.
 */
async function killHoldingARequest(pid: number): Promise<number> {
  const inRead = `0 0x${SERVER_FUSE_FD.toString(16)} `;
  const workers = new Set<string>();
  for (let tries = 0; tries < 2000; tries++) {
    process.kill(pid, 'SIGSTOP');
    const tasks = (): string[] => readdirSync(`/proc/${pid}/task`);
    await waitFor(
      () => tasks().every((t) => /^\d+ \(.*\) [tT] /.test(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8'))),
      'the server to stop',
    );
    const calls = tasks().map((t) => [t, readFileSync(`/proc/${pid}/task/${t}/syscall`, 'utf8')] as const);
    for (const [t, call] of calls) if (call.startsWith(inRead)) workers.add(t);
    const handling = calls.filter(([t, call]) => workers.has(t) && call.startsWith('-1 '));
    const slots = readFileSync(`/proc/${pid}/fd/${SERVER_JOURNAL_FD}`).subarray(0, SERVER_WORKERS * JOURNAL_SLOT);
    const opcodes = [...Array(SERVER_WORKERS).keys()].map((i) => slots.readUInt32LE(i * JOURNAL_SLOT + 4));
    if (handling.length > 0 && opcodes.every((op) => WAITED_FOR.includes(op))) {
      process.kill(pid, 'SIGKILL');
      return tries;
    }
    process.kill(pid, 'SIGCONT');
    await new Promise((r) => setTimeout(r, 2 + (tries % 5)));
  }
  throw new Error(`server ${pid}: never caught with a worker handling a request in 2000 stops`);
}

/** The mount id (mountinfo's first field) of what is mounted at `dir`, or null. */
function mountIdOf(dir: string): string | null {
  const line = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === dir)
    .at(-1);
  return line?.split(' ')[0] ?? null;
}

/**
 * One reader: opens and reads each of argv[1] (comma-separated) in turn, then re-reads argv[2],
 * held open since the start, from offset 0. Counts reads that work, fail (with their errno) and
 * meminfo texts without the limit line argv[3]; each pause over 10 ms between two finished reads
 * (ms, and when it ended). "reading" after its first round, "ok N" every 20 rounds, JSON when argv[4] exists.
 */
const READER = `
import errno, json, os, sys, time
paths, held_path, limit, stop = sys.argv[1].split(','), sys.argv[2], sys.argv[3].encode(), sys.argv[4]
held = os.open(held_path, os.O_RDONLY)
ok = fail = wrong = rounds = 0
errnos = []
last = time.time()
gaps = []
while not os.path.exists(stop):
    for i, p in enumerate(paths + [held_path]):
        try:
            if i == len(paths):
                text = os.pread(held, 65536, 0)
            else:
                fd = os.open(p, os.O_RDONLY)
                try:
                    text = os.read(fd, 65536)
                finally:
                    os.close(fd)
            ok += 1
            if p.endswith('meminfo') and text.split(b'\\n')[0] != limit:
                wrong += 1
        except OSError as e:
            fail += 1
            errnos.append(errno.errorcode.get(e.errno, str(e.errno)))
        now = time.time()
        if now - last > 0.01 and len(gaps) < 200:
            gaps.append([(now - last) * 1000, now * 1000])
        last = now
    rounds += 1
    if rounds == 1:
        print('reading', flush=True)
    if rounds % 20 == 0:
        print('ok', ok, flush=True)
print(json.dumps({'ok': ok, 'fail': fail, 'wrong': wrong, 'errnos': errnos[:20], 'gaps': gaps}), flush=True)
`;

/** A reader process and what it printed. */
interface Reader {
  child: ChildProcess;
  out: string;
  ok(): number;
}

/** What a reader reports at the end. */
interface ReaderResult {
  ok: number;
  fail: number;
  wrong: number;
  errnos: string[];
  /** Pauses over 10 ms: [ms, epoch ms when it ended]. */
  gaps: Array<[number, number]>;
}

/**
 * The suite, for one way of answering a killed server's requests: 'resend' (the keeper's default:
 * FUSE_NOTIFY_RESEND where the kernel has it, else the journal) runs every restart; 'journal' (the
 * keeper started with SANDBOX_PROCFS_RESEND=0: the path of kernels before 6.9, run here too) runs
 * the kill.
 */
function restartSuite(mode: 'resend' | 'journal'): void {
  const BASE = `/run/sandbox-procfs/test-restart-${mode}-${process.pid}`;
  const MNT = `${BASE}/mnt`;
  const SOCKET = `${BASE}/api.sock`;
  const ID = `rst-${mode}-${process.pid}`;
  const journal = mode === 'journal' || !hasResend();

  describe.skipIf(skip)(
    `procfs serve: restarts without failing reads (the keeper holds the connection; ${mode})`,
    () => {
      let daemon: Daemon | null = null;
      let cg: CgroupManager;
      let sleeper: ChildProcess | null = null;
      const started: ChildProcess[] = [];

      /** Start `args` in the test cgroup: a shell joins first (it waits on stdin), then execs them. */
      const startInCgroup = async (args: string[]): Promise<ChildProcess> => {
        const child = spawn('sh', ['-c', 'read _ && exec "$@"', 'sh', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
        started.push(child);
        await cg.addPid(child.pid!);
        child.stdin!.end('go\n');
        return child;
      };

      /** Server pids the keeper logged, in order. */
      const serverPids = (): number[] =>
        [...daemon!.log().matchAll(/server pid (\d+) \(#\d+\) started/g)].map((m) => Number(m[1]));
      const count = (needle: string): number => daemon!.log().split(needle).length - 1;

      /** Start READERS readers in the cgroup; half keep the reader-routed meminfo open, half the registered one's. */
      const startReaders = async (stopFile: string): Promise<Reader[]> => {
        rmSync(stopFile, { force: true });
        const readers: Reader[] = [];
        for (let i = 0; i < READERS; i++) {
          const held = i % 2 === 0 ? `${MNT}/proc/meminfo` : `${MNT}/${ID}/proc/meminfo`;
          const child = await startInCgroup([
            'python3',
            '-c',
            READER,
            `${MNT}/proc/meminfo,${MNT}/proc/uptime,${MNT}/${ID}/proc/meminfo`,
            held,
            LIMIT_LINE,
            stopFile,
          ]);
          const r: Reader = {
            child,
            out: '',
            ok: () => Number(/ok (\d+)\n(?![\s\S]*ok \d+\n)/.exec(r.out)?.[1] ?? 0),
          };
          child.stdout!.on('data', (d: Buffer) => (r.out += d.toString()));
          readers.push(r);
        }
        await waitFor(() => readers.every((r) => r.out.startsWith('reading\n')), 'every reader to read once');
        await waitFor(() => readers.every((r) => r.ok() > 0), 'every reader to read 20 rounds');
        return readers;
      };

      /** Wait until every reader has read 40 more rounds, stop them, and return their results. */
      /** Start the readers and wait until each has read STEADY_ROUNDS rounds; when they started. */
      const startSteadyReaders = async (stopFile: string): Promise<{ readers: Reader[]; steadyAt: number }> => {
        const readers = await startReaders(stopFile);
        const steadyAt = Date.now();
        await waitFor(
          () => readers.every((r) => r.ok() >= STEADY_ROUNDS * 4),
          `every reader to read ${STEADY_ROUNDS} rounds`,
        );
        return { readers, steadyAt };
      };

      const finishReaders = async (readers: Reader[], stopFile: string): Promise<ReaderResult[]> => {
        const base = readers.map((r) => r.ok());
        await waitFor(
          () => readers.every((r, i) => r.ok() >= base[i]! + 40 * 4),
          'every reader to read on after the restart',
        );
        writeFileSync(stopFile, '');
        await Promise.all(readers.map((r) => (r.child.exitCode === null ? once(r.child, 'exit') : null)));
        return readers.map((r) => JSON.parse(r.out.trim().split('\n').at(-1)!) as ReaderResult);
      };

      /** Print the figures: reads, failures, and the longest pause readers saw from the restart on against before it. */
      const report = (what: string, results: ReaderResult[], steadyAt: number, at: number, readyAt: number): void => {
        const longest = (from: number, to: number) =>
          Math.max(
            0,
            ...results.flatMap((r) => r.gaps.filter(([ms, end]) => end - ms < to && end > from).map(([ms]) => ms)),
          );
        const reads = results.reduce((n, r) => n + r.ok, 0);
        console.log(
          `${what}: ${reads} reads by ${results.length} readers, ${results.reduce((n, r) => n + r.fail, 0)} failed; longest pause a reader saw: ` +
            `${longest(at, readyAt + 1000).toFixed(1)} ms from the signal to 1 s after the new server served (${readyAt - at} ms), ${longest(steadyAt, at).toFixed(1)} ms in the ${at - steadyAt} ms before the signal`,
        );
      };

      /** Every reader read every round: no errno, no failed and no wrong read. */
      const expectNoFailedRead = (results: ReaderResult[]): void => {
        expect(results.map((r) => r.errnos)).toEqual(results.map(() => []));
        expect(results.map((r) => [r.fail, r.wrong])).toEqual(results.map(() => [0, 0]));
      };

      beforeAll(async () => {
        cg = await openCgroup({ id: `rst${mode}${process.pid}` });
        await cg.create();
        await cg.apply({
          cpuQuotaUs: null,
          cpuPeriodUs: 100_000,
          cpuBurstUs: null,
          cpuWeight: null,
          cpusetCpus: cpus().map((_, i) => i),
          memoryBytes: 256 * MiB,
          swapBytes: 0,
          pidsMax: null,
        });
        mkdirSync(BASE, { recursive: true });
        if (mode === 'journal') process.env.SANDBOX_PROCFS_RESEND = '0';
        try {
          daemon = await startDaemon(BASE);
        } finally {
          delete process.env.SANDBOX_PROCFS_RESEND;
        }
        // A registered container (path-routed, under its own key): a sleeper in the cgroup, nothing bound.
        sleeper = await startInCgroup(['sleep', '600']);
        await waitFor(
          () => readFileSync(`/proc/${sleeper!.pid}/comm`, 'utf8').trim() === 'sleep',
          'the sleeper to exec',
        );
        expect(await ask(SOCKET, { op: 'register', id: ID, pid: sleeper.pid!, root: '', bind: false })).toMatchObject({
          ok: true,
        });
      });

      afterAll(async () => {
        for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
        const pids = daemon ? [daemon.child.pid!, ...serverPids()] : [];
        await stopDaemon(daemon);
        await cg.destroy();
        rmSync(BASE, { recursive: true, force: true });
        const left = leftovers();
        for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n'))
          if (line.split(' ')[1]?.startsWith(BASE)) left.push(`mount ${line.split(' ')[1]}`);
        for (const pid of pids) if (existsSync(`/proc/${pid}`)) left.push(`process ${pid} (the keeper or a server)`);
        removeLeftoverCgroups();
        expect(left).toEqual([]);
      });

      if (mode === 'resend')
        it('SIGHUP: a new server from the CLI on disk takes over; no read fails, node ids and limits stay', async () => {
          const ino = statSync(`${MNT}/${ID}/proc/meminfo`).ino;
          const stopFile = `${BASE}/stop-hup`;
          const { readers, steadyAt } = await startSteadyReaders(stopFile);
          const before = serverPids();
          const at = Date.now();
          daemon!.child.kill('SIGHUP');
          await waitFor(
            () => count('serving views at') === 2 && count('stopped serving') === 1,
            'the new server to serve and the old one to leave',
            undefined,
            5,
          );
          const readyAt = Date.now();
          const results = await finishReaders(readers, stopFile);
          report('SIGHUP', results, steadyAt, at, readyAt);
          expectNoFailedRead(results);
          const after = serverPids();
          expect(after).toHaveLength(before.length + 1);
          expect(existsSync(`/proc/${before.at(-1)}`)).toBe(false);
          expect(daemon!.log()).toContain(`restored ${ID} pid ${sleeper!.pid} (`);
          // The kernel's cached ids mean the same: the registered container kept its key.
          expect(statSync(`${MNT}/${ID}/proc/meminfo`).ino).toBe(ino);
          expect(await ask(SOCKET, { op: 'list' })).toMatchObject({
            ok: true,
            containers: [{ id: ID, pid: sleeper!.pid }],
          });
        });

      if (mode === 'resend')
        it('SIGUSR2: the keeper re-executes itself (same pid, the connection kept); no read fails', async () => {
          const ino = statSync(`${MNT}/${ID}/proc/meminfo`).ino;
          const keeperPid = daemon!.child.pid!;
          const mountId = mountIdOf(MNT);
          const stopFile = `${BASE}/stop-usr2`;
          const { readers, steadyAt } = await startSteadyReaders(stopFile);
          const before = serverPids();
          const served = count('serving views at');
          const at = Date.now();
          daemon!.child.kill('SIGUSR2');
          await waitFor(
            () => count('re-executed; the connection kept') === 1 && count('serving views at') === served + 1,
            'the re-executed keeper to start a server that serves',
            undefined,
            5,
          );
          const readyAt = Date.now();
          const results = await finishReaders(readers, stopFile);
          report('SIGUSR2 (keeper upgrade)', results, steadyAt, at, readyAt);
          expectNoFailedRead(results);
          // The same process (its pid, systemd's MainPID) and the same mount: never remounted.
          expect(daemon!.child.exitCode).toBe(null);
          expect(readFileSync(`/proc/${keeperPid}/cmdline`, 'utf8')).toContain('procfs\0serve');
          expect(mountIdOf(MNT)).toBe(mountId);
          expect(serverPids()).toHaveLength(before.length + 1);
          expect(existsSync(`/proc/${before.at(-1)}`)).toBe(false);
          expect(statSync(`${MNT}/${ID}/proc/meminfo`).ino).toBe(ino);
          expect(await ask(SOCKET, { op: 'list' })).toMatchObject({
            ok: true,
            containers: [{ id: ID, pid: sleeper!.pid }],
          });
        });

      it(
        journal
          ? 'a SIGKILLed server is replaced at once; from the request journal no read fails'
          : 'a SIGKILLed server is replaced at once; with FUSE_NOTIFY_RESEND no read fails',
        async () => {
          const stopFile = `${BASE}/stop-kill`;
          const { readers, steadyAt } = await startSteadyReaders(stopFile);
          const victim = serverPids().at(-1)!;
          const served = count('serving views at');
          const at = Date.now();
          const tries = await killHoldingARequest(victim);
          await waitFor(() => count('serving views at') === served + 1, 'a new server to serve', undefined, 5);
          const readyAt = Date.now();
          const results = await finishReaders(readers, stopFile);
          report(
            `SIGKILL of the server (${journal ? 'journal' : 'FUSE_NOTIFY_RESEND'})`,
            results,
            steadyAt,
            at,
            readyAt,
          );
          console.log(`killed holding a request at stop ${tries + 1}`);
          // The path taken: the journal's replay, or the kernel's resend (no replay).
          const replayed = /answering (\d+) requests again from the journal/.exec(daemon!.log());
          if (replayed) console.log(`the keeper answered ${replayed[1]} requests again from the journal`);
          expect(replayed !== null).toBe(journal);
          expect(daemon!.log()).toContain(`server pid ${victim} (#`);
          expect(daemon!.log()).toMatch(new RegExp(`server pid ${victim} \\(#\\d+\\) ended \\(SIGKILL\\) unasked`));
          expectNoFailedRead(results);
          const [line] = (
            await new Promise<string>((resolve, reject) => {
              void startInCgroup(['head', '-1', `${MNT}/proc/meminfo`]).then((c) => {
                let out = '';
                c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
                c.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`head exited ${code}`))));
              });
            })
          ).split('\n');
          expect(line).toBe(LIMIT_LINE);
        },
      );

      it('the request journal is an unnamed root-only file that nothing the server starts inherits', () => {
        const server = serverPids().at(-1)!;
        const journalFd = `/proc/${server}/fd/${SERVER_JOURNAL_FD}`;
        const st = statSync(journalFd);
        // O_TMPFILE: no name in any directory (st_nlink 0), mode 0600, owned by root.
        expect([st.nlink, st.mode & 0o777, st.uid]).toEqual([0, 0o600, 0]);
        // Close-on-exec in the server (fdinfo's flags are octal; O_CLOEXEC is 02000000).
        const flags = /^flags:\s+([0-7]+)$/m.exec(
          readFileSync(`/proc/${server}/fdinfo/${SERVER_JOURNAL_FD}`, 'utf8'),
        )?.[1];
        expect(Number.parseInt(flags ?? '0', 8) & 0o2000000).toBe(0o2000000);
      });

      it('SIGTERM stops the keeper and its server and unmounts; nothing is left', async () => {
        const pids = [daemon!.child.pid!, ...serverPids()];
        await stopDaemon(daemon);
        expect(daemon!.log()).toContain('keeper: stopped');
        expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
        expect(
          readFileSync('/proc/self/mounts', 'utf8')
            .split('\n')
            .filter((l) => l.split(' ')[1] === MNT),
        ).toEqual([]);
        expect(existsSync(SOCKET)).toBe(false);
      });
    },
  );
}

restartSuite('resend');
restartSuite('journal');
