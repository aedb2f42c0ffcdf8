// Events (start, oom, exit) as JSON lines to whoever runs `sandbox events`. There is no daemon:
// each subscriber listens on its own Unix socket /run/sandbox-events.<pid>.sock, and each supervisor
// connects to every such socket to deliver an event. With no subscriber an event costs one readdir
// of /run and one append to the journal (events-journal.ts), which `sandbox events --since` reads. A socket whose listener died (SIGKILL) refuses the connection
// (ECONNREFUSED) and is removed by the first supervisor that finds it.
import { connect } from 'node:net';
import { readdir, unlink } from 'node:fs/promises';
import { appendJournal } from './events-journal.js';

/** Where subscriber sockets live. */
const EVENTS_DIR = '/run';
/** A subscriber's socket path. */
export function subscriberSocket(pid: number): string {
  return `${EVENTS_DIR}/sandbox-events.${pid}.sock`;
}
const SOCKET_NAME = /^sandbox-events\.\d+\.sock$/;
/** How long one delivery may take before the subscriber is skipped. */
const DELIVERY_TIMEOUT_MS = 250;

/** One event line. */
export type SandboxEvent =
  | { type: 'start'; time: string; id: string; name: string | null; command: string[] }
  | { type: 'oom'; time: string; id: string; name: string | null; oomKills: number }
  | { type: 'exit'; time: string; id: string; name: string | null; exitCode: number };

/** The longest event line a subscriber accepts (a start event's command is the only long field). */
export const MAX_EVENT_LINE = 64 * 1024;

const EVENT_TYPES = new Set(['start', 'oom', 'exit']);
const ID_RE = /^[0-9a-z]{1,64}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * An event line as a supervisor writes it (publish: JSON.stringify of a SandboxEvent), or null.
 * Anything else is refused, not repaired: the fields must have their types and the line must be
 * exactly the canonical serialization of what was read (no extra keys, no other order or spacing).
 */
export function parseEventLine(line: string): SandboxEvent | null {
  if (line.length > MAX_EVENT_LINE) return null;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  if (typeof v.type !== 'string' || !EVENT_TYPES.has(v.type)) return null;
  if (typeof v.time !== 'string' || Number.isNaN(Date.parse(v.time))) return null;
  if (typeof v.id !== 'string' || !ID_RE.test(v.id)) return null;
  if (v.name !== null && (typeof v.name !== 'string' || !NAME_RE.test(v.name))) return null;
  const base = { type: v.type, time: v.time, id: v.id, name: v.name as string | null };
  let event: SandboxEvent;
  if (v.type === 'start') {
    if (!Array.isArray(v.command) || !v.command.every((a) => typeof a === 'string')) return null;
    event = { ...base, type: 'start', command: v.command as string[] };
  } else if (v.type === 'oom') {
    if (!Number.isSafeInteger(v.oomKills)) return null;
    event = { ...base, type: 'oom', oomKills: v.oomKills as number };
  } else {
    if (!Number.isSafeInteger(v.exitCode)) return null;
    event = { ...base, type: 'exit', exitCode: v.exitCode as number };
  }
  return JSON.stringify(event) === line ? event : null;
}

/** Send one line to one subscriber; remove its socket if nobody listens on it any more. */
function deliver(path: string, line: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const timer = setTimeout(() => socket.destroy(), DELIVERY_TIMEOUT_MS);
    socket.on('connect', () => socket.end(line));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') void unlink(path).catch(() => undefined);
    });
  });
}

/** Deliver an event to every subscriber (errors are never the sandbox's problem). */
export async function publish(event: SandboxEvent): Promise<void> {
  const names = await readdir(EVENTS_DIR).catch(() => [] as string[]);
  const line = JSON.stringify(event) + '\n';
  await appendJournal(line);
  await Promise.all(names.filter((n) => SOCKET_NAME.test(n)).map((n) => deliver(`${EVENTS_DIR}/${n}`, line)));
}

/** Where a sandbox's OOM changes come from: the kernel's notification, or null when it offers none. */
export type OomChanges = (onChange: () => void) => { close(): Promise<void> } | null;

/** Re-reads after each notification until the counter grows: v1 notifies before the victim dies. */
const RECHECK_MS = [10, 40, 150, 500, 1500];
/** The poll when the kernel refuses the notification (the way every sandbox was watched before). */
const FALLBACK_POLL_MS = 500;

/**
 * Publish an `oom` event when a sandbox's OOM-kill counter (v1 memory.oom_control oom_kill, v2
 * memory.events oom_kill) grows. The counter is read when the kernel notifies (oom-notify.ts), with
 * a few re-reads after each notification, never on a timer: an idle sandbox costs no wake-up. The
 * notification is armed `armAfterMs` after the release (a one-shot timer; the first reading then
 * catches an OOM of the first moments): a short-lived sandbox never pays for it (v1 loads koffi).
 * Where the kernel refuses the notification, the counter is polled every 500 ms as before. stop()
 * takes a last reading, so a kill just before the workload's exit is published before the exit event.
 */
export function watchOom(
  id: string,
  name: string | null,
  readKills: () => Promise<number>,
  changes: OomChanges,
  armAfterMs = 1000,
): { stop(): Promise<void> } {
  let seen = 0;
  let stopped = false;
  const check = async (): Promise<boolean> => {
    const kills = await readKills().catch(() => seen);
    if (kills <= seen) return false;
    seen = kills;
    await publish({ type: 'oom', time: new Date().toISOString(), id, name, oomKills: kills });
    return true;
  };
  // One check at a time, in order; a notification during a check queues one more.
  let running: Promise<unknown> = Promise.resolve();
  const queue = (): Promise<unknown> => (running = running.then(check));
  let rechecks: NodeJS.Timeout | null = null;
  let generation = 0; // a newer notification starts its own re-reads; the older ones end
  const onChange = (): void => {
    if (stopped) return;
    if (rechecks) clearTimeout(rechecks);
    const mine = ++generation;
    const step = (i: number): void => {
      void queue().then((grew) => {
        if (grew !== false || stopped || mine !== generation || i >= RECHECK_MS.length) return;
        rechecks = setTimeout(() => step(i + 1), RECHECK_MS[i]).unref();
      });
    };
    step(0);
  };
  let notifications: { close(): Promise<void> } | null = null;
  let poll: NodeJS.Timeout | null = null;
  const arm = (): void => {
    try {
      notifications = changes(onChange);
    } catch (err) {
      process.stderr.write(
        `sandbox: oom notification: ${(err as Error).message}; polling every ${FALLBACK_POLL_MS} ms\n`,
      );
      poll = setInterval(() => void queue(), FALLBACK_POLL_MS).unref();
    }
    void queue();
  };
  const armTimer = setTimeout(arm, armAfterMs).unref();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(armTimer);
      if (rechecks) clearTimeout(rechecks);
      if (poll) clearInterval(poll);
      await notifications?.close();
      await running;
      await check();
    },
  };
}
