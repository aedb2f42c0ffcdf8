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

/**
 * Poll a sandbox's OOM-kill counter (v1 memory.oom_control oom_kill, v2 memory.events oom_kill)
 * and publish an `oom` event when it grows. stop() takes a last reading, so a kill just before the
 * workload's exit is published before the exit event.
 */
export function watchOom(id: string, name: string | null, readKills: () => Promise<number>, intervalMs = 500): { stop(): Promise<void> } {
  let seen = 0;
  const check = async (): Promise<void> => {
    const kills = await readKills().catch(() => seen);
    if (kills > seen) {
      seen = kills;
      await publish({ type: 'oom', time: new Date().toISOString(), id, name, oomKills: kills });
    }
  };
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => (running = running.then(check)), intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
      await check();
    },
  };
}
