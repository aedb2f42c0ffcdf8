// Events (start, oom, exit) as JSON lines to whoever runs `sandbox events`. There is no daemon:
// each subscriber listens on its own Unix socket /run/sandbox-events.<pid>.sock, and each supervisor
// connects to every such socket to deliver an event. With no subscriber an event costs one readdir
// of /run and one append to the journal (events-journal.ts), which `sandbox events --since` reads. A socket whose listener died (SIGKILL) refuses the connection
// (ECONNREFUSED) and is removed by the first supervisor that finds it.
import { connect } from 'node:net';
import { readdir, unlink } from 'node:fs/promises';
import { appendJournal } from './events-journal.js';

/** Where subscriber sockets live. */
export const EVENTS_DIR = '/run';
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
