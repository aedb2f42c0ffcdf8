// A detached sandbox with its views from a running `sandbox procfs serve` is handed over to its
// stage's outer process (native/stage/monitor.c, supervisor/run/monitor.ts): the Node supervisor
// exits once the workload runs; the stage records the exit code, enforces --timeout, and runs the
// teardown (`sandbox monitor-exit`), which publishes the OOM kills and the exit code. The stage's
// death ends the sandbox and `sandbox gc` removes it; the view server's death does not.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, stopDaemonSuite, type Daemon } from '../helpers/oci.js';
import { cli, leftovers, removeLeftoverCgroups, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';
import { gone, present } from '../helpers/lifecycle.js';

const skip = requireOrSkip(sandboxUnavailable());
/** Under /var/tmp, as views-shared.test.ts: a sandbox on the host root sees it (its /run is hidden). */
const BASE = mkdtempSync('/var/tmp/sandbox-monitor-');
const SOCKET = `${BASE}/api.sock`;
const MOUNT = `${BASE}/mnt`;
const ENV = { ...process.env, SANDBOX_PROCFS_SOCKET: SOCKET };
/** A workdir with a FIFO the workload waits on: it exits when the test writes a line. */
const WORK = mkdtempSync('/var/tmp/sandbox-monitor-work-');

/** What a sandbox's state.json says about who supervises it. */
function stateOf(id: string): { supervisorPid: number; monitorPid?: number; viewSocket?: string } {
  return JSON.parse(readFileSync(`/run/sandbox/${id}/state.json`, 'utf8'));
}

/** True while process `pid` exists (signal 0). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Children of `pid` (proc(5) task/TID/children). */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** What `pid`'s open descriptors that are namespaces point at ("mnt:[4026531841]", …). */
function namespaceFds(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`)
    .map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return ''; // closed meanwhile
      }
    })
    .filter((link) => /^(mnt|net|pid|uts|ipc|time|user|cgroup):\[/.test(link));
}

/** The events the journal holds for sandbox `id` (`sandbox events --since`, which reads it). */
function journal(id: string): Array<Record<string, unknown>> {
  let text = '';
  try {
    text = readFileSync('/run/sandbox-events.log', 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.includes(`"id":"${id}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** `sandbox run -d ARGS…` with the shared views; the id, once handed over (the supervisor gone). */
async function startMonitored(args: string[]): Promise<{ id: string; monitor: number }> {
  const r = await cli(['run', '-d', ...args], { env: ENV });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const id = r.stdout.trim();
  expect(id).toMatch(/^[0-9a-f]{12}$/);
  const state = stateOf(id);
  expect(state.monitorPid, 'the stage took the sandbox over').toBeDefined();
  expect(state.viewSocket).toBe(SOCKET);
  await waitFor(() => !alive(state.supervisorPid), 'the Node supervisor of run -d to exit');
  return { id, monitor: state.monitorPid! };
}

/**
 * `sandbox run -d ARGS…` that may end soon after its start (--timeout): the handover is seen in the
 * view server's log, which outlives the sandbox (its state may be gone by the time we look).
 */
async function startHandedOver(args: string[], log: () => string): Promise<string> {
  const r = await cli(['run', '-d', ...args], { env: ENV });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const id = r.stdout.trim();
  await waitFor(() => log().includes(`retie sandbox ${id} to pid `), 'the handover to the stage');
  return id;
}

describe.skipIf(skip)('a detached sandbox monitored by its stage', () => {
  let daemon: Daemon | null = null;

  beforeAll(async () => {
    daemon = await startDaemon(BASE);
  });

  afterAll(async () => {
    expect(await stopDaemonSuite(daemon, MOUNT, [BASE, WORK])).toEqual([]);
  });

  afterEach(() => {
    const left = leftovers();
    removeLeftoverCgroups();
    expect(left).toEqual([]);
  });

  it('runs with no Node supervisor, serves its views, and records the exit code after a clean teardown', async () => {
    chmodSync(WORK, 0o755);
    execFileSync('mkfifo', ['-m', '0666', `${WORK}/go`]);
    const { id, monitor } = await startMonitored(['--mem', '64M', '-w', WORK, '--', 'sh', '-c', 'read x < go; exit 7']);
    expect(readFileSync(`/proc/${monitor}/comm`, 'utf8')).toBe('sandbox-stage\n');
    expect(daemon!.log()).toContain(`retie sandbox ${id} to pid ${monitor}\n`);
    // The monitor keeps the host's namespaces open for its teardown; nothing inside holds one
    // (PID 1 closes them first: a setns(2) into the host's mount namespace would be an escape).
    expect(namespaceFds(monitor)).toContain(readlinkSync('/proc/self/ns/mnt'));
    const init = childrenOf(monitor)[0]!;
    const workload = childrenOf(init)[0]!;
    expect(workload, 'the workload, a child of PID 1').toBeDefined();
    expect([...namespaceFds(init), ...namespaceFds(workload)]).toEqual([]);
    // The views still come from the daemon: MemTotal is the limit.
    const r = await cli(['exec', id, 'head', '-1', '/proc/meminfo']);
    expect(r.stdout).toMatch(/^MemTotal:\s+65536 kB$/m);
    expect((await cli(['ps'])).stdout).toContain(id);
    writeFileSync(`${WORK}/go`, 'go\n'); // the workload is blocked on the FIFO's other end
    expect(await gone(id)).toBe(true);
    await waitFor(() => journal(id).some((e) => e.type === 'exit'), 'the exit event in the journal');
    expect(journal(id).map((e) => [e.type, e.exitCode])).toEqual([
      ['start', undefined],
      ['exit', 7],
    ]);
    await waitFor(() => daemon!.log().includes(`unregister sandbox ${id}\n`), 'the registration to go');
    await waitFor(() => !alive(monitor), 'the monitor (its teardown) to end');
  });

  it('--timeout: the stage TERMs the workload and records 124', async () => {
    const id = await startHandedOver(['--timeout', '2s', '--', 'sleep', '60'], () => daemon!.log());
    expect(await gone(id)).toBe(true);
    await waitFor(() => journal(id).some((e) => e.type === 'exit'), 'the exit event in the journal');
    expect(journal(id).find((e) => e.type === 'exit')).toMatchObject({ exitCode: 124 });
  });

  it('--timeout: a workload that ignores TERM is KILLed after the grace, still 124', async () => {
    const id = await startHandedOver(['--timeout', '1s', '--', 'sh', '-c', "trap '' TERM; sleep 60"], () =>
      daemon!.log(),
    );
    expect(await gone(id)).toBe(true);
    await waitFor(() => journal(id).some((e) => e.type === 'exit'), 'the exit event in the journal');
    expect(journal(id).find((e) => e.type === 'exit')).toMatchObject({ exitCode: 124 });
  });

  it('an OOM-killed workload: the OOM kill and 137 are recorded', async () => {
    chmodSync(WORK, 0o755);
    execFileSync('mkfifo', ['-m', '0666', `${WORK}/go-oom`]);
    const eat = 'read x < go-oom; exec python3 -c \'x = b"a" * (256 << 20)\'';
    const { id } = await startMonitored(['--mem', '32M', '-w', WORK, '--', 'sh', '-c', eat]);
    writeFileSync(`${WORK}/go-oom`, 'go\n'); // handed over: now the workload eats
    expect(await gone(id)).toBe(true);
    await waitFor(() => journal(id).some((e) => e.type === 'exit'), 'the exit event in the journal');
    expect(journal(id).map((e) => [e.type, e.oomKills ?? e.exitCode])).toEqual([
      ['start', undefined],
      ['oom', 1],
      ['exit', 137],
    ]);
  });

  it('OOM kills while it runs are published while it runs, each one (the kernel notifies the stage)', async () => {
    const { id } = await startMonitored(['--mem', '32M', '--', 'sleep', '300']);
    const eat = ['exec', id, 'python3', '-c', 'x = b"a" * (256 << 20)'];
    expect((await cli(eat)).code).toBe(137);
    await waitFor(() => journal(id).some((e) => e.type === 'oom' && e.oomKills === 1), 'the first OOM event');
    expect((await cli(eat)).code).toBe(137);
    await waitFor(() => journal(id).some((e) => e.type === 'oom' && e.oomKills === 2), 'the second OOM event');
    expect(present(id)).toBe(true);
    expect((await cli(['kill', id])).code).toBe(0);
    expect(await gone(id)).toBe(true);
    await waitFor(() => journal(id).some((e) => e.type === 'exit'), 'the exit event in the journal');
    expect(journal(id).map((e) => [e.type, e.oomKills ?? e.exitCode])).toEqual([
      ['start', undefined],
      ['oom', 1],
      ['oom', 2],
      ['exit', 137],
    ]);
  });

  it('sandbox stop: TERM through the monitor, returns once the teardown is done, 143 recorded', async () => {
    const { id } = await startMonitored(['--name', 'mon-stop', '--', 'sleep', '300']);
    const r = await cli(['stop', 'mon-stop']);
    expect(r.code).toBe(0);
    expect(present(id)).toBe(false);
    await waitFor(() => journal(id).some((e) => e.type === 'exit'), 'the exit event in the journal');
    expect(journal(id).find((e) => e.type === 'exit')).toMatchObject({ exitCode: 143, name: 'mon-stop' });
  });

  it('SIGKILL of the monitor ends the sandbox, and gc removes what it left', async () => {
    const { id, monitor } = await startMonitored(['--', 'sleep', '300']);
    const pid1 = Number(readFileSync(`/proc/${monitor}/task/${monitor}/children`, 'utf8').trim());
    expect(alive(pid1)).toBe(true);
    process.kill(monitor, 'SIGKILL');
    // PID 1 dies with it (PR_SET_PDEATHSIG, pid1.c), and the workload with its pid namespace.
    await waitFor(() => !alive(pid1), "the sandbox's PID 1 to die with its monitor");
    expect(present(id)).toBe(true);
    expect((await cli(['ps'])).stdout).not.toContain(id);
    const r = await cli(['gc']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`removed ${id}\n`);
    expect(present(id)).toBe(false);
    // By gc, or already by the server's sweep once the monitor was gone (a slower machine).
    await waitFor(() => daemon!.log().includes(`unregister sandbox ${id}`), 'the registration to go');
  });

  it('SIGKILL of the view server: the keeper restarts it, the sandbox lives on and its exit code is kept', async () => {
    chmodSync(WORK, 0o755);
    execFileSync('mkfifo', ['-m', '0666', `${WORK}/go-restart`]);
    const { id } = await startMonitored(['-w', WORK, '--', 'sh', '-c', 'read x < go-restart; exit 3']);
    const servers = [...daemon!.log().matchAll(/keeper: server pid (\d+) \(#(\d+)\) started/g)];
    const last = servers.at(-1)!;
    process.kill(Number(last[1]), 'SIGKILL');
    const next = `(#${Number(last[2]) + 1}) started`;
    await waitFor(() => daemon!.log().includes(next), 'the keeper to start the next server');
    expect(present(id)).toBe(true);
    expect((await cli(['exec', id, 'true'])).code).toBe(0);
    writeFileSync(`${WORK}/go-restart`, 'go\n');
    expect(await gone(id)).toBe(true);
    await waitFor(() => journal(id).some((e) => e.type === 'exit'), 'the exit event in the journal');
    expect(journal(id).find((e) => e.type === 'exit')).toMatchObject({ exitCode: 3 });
    // By the teardown's request, or, if that came while the next server was not listening yet, by
    // its sweep once the monitor is gone ("unregister sandbox ID (supervisor pid N is gone)").
    await waitFor(() => daemon!.log().includes(`unregister sandbox ${id}`), 'the registration to go');
  });

  it('without a view server (or with --net private) the Node supervisor stays, as before', async () => {
    const r = await cli(['run', '-d', '--', 'sleep', '300'], { env: { ...process.env, SANDBOX_PROCFS_SOCKET: '' } });
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    const state = stateOf(id);
    expect(state.monitorPid).toBeUndefined();
    expect(alive(state.supervisorPid)).toBe(true);
    expect((await cli(['kill', id])).code).toBe(0);
    expect(await gone(id)).toBe(true);
  });
});
