// `sandbox events [ID|NAME…]`: print sandbox events (start, oom, exit) as JSON lines as they happen,
// until interrupted. Listens on its own Unix socket (supervisor/events.ts); closing the server
// removes the socket file (libuv unlinks a listening pipe's path on close).
import { createServer, type Server } from 'node:net';
import { unlink } from 'node:fs/promises';
import type { Command } from 'commander';
import { SandboxError } from '../errors.js';
import { MAX_EVENT_LINE, parseEventLine, subscriberSocket } from '../events.js';
import { peerCred, peerIsHostRoot } from '../peer.js';
import { parseSince, readJournal } from '../events-journal.js';
import { requireRoot } from './root.js';

/** How long one supervisor's connection may stay open (its delivery gives up after 250 ms). */
const CONNECTION_MS = 2000;
/** Connections served at once; more are refused by the kernel's backlog, then by libuv. */
const MAX_CONNECTIONS = 64;

/** Register `sandbox events`. */
export function registerEvents(program: Command): void {
  program
    .command('events')
    .description('print sandbox events as JSON lines as they happen: start, oom, exit (with the exit code)')
    .argument('[sandbox...]', 'only events of these ids or names')
    .option(
      '--since <when>',
      'first the stored events since 10m, 1.5h, 2d ago or an ISO time (kept in /run, about 1-2 MiB)',
    )
    .addHelpText(
      'after',
      `
Examples:
  sandbox events
  sandbox events web | jq -c 'select(.type == "oom")'
  sandbox events --since 1h                      # the last hour's events, then new ones

Each line: {"type":"start"|"oom"|"exit","time":ISO-8601,"id":…,"name":…} plus "command" (start),
"oomKills" (oom: the sandbox's OOM-kill count so far) or "exitCode" (exit). Without --since only
events from the moment it starts are shown. Ends on SIGINT or SIGTERM.`,
    )
    .action(followEvents);
}

/** Print the journal since `--since` if asked, then live events until SIGINT or SIGTERM. */
async function followEvents(refs: string[], flags: { since?: string }): Promise<void> {
  const sinceMs = flags.since === undefined ? null : parseSince(flags.since, Date.now());
  requireRoot('events');
  // Only well-formed event lines are printed (parseEventLine); anything else is dropped.
  const wanted = (line: string): boolean => {
    const event = parseEventLine(line);
    return (
      event !== null &&
      (refs.length === 0 || refs.includes(event.id) || (event.name !== null && refs.includes(event.name)))
    );
  };
  // Live lines wait here while the journal is printed: an event published meanwhile is in both,
  // and printed once (the journal append comes before the delivery, events.ts publish).
  let held: string[] | null = sinceMs === null ? null : [];
  const printed = new Set<string>();
  const emit = (line: string): void => {
    if (held !== null) held.push(line);
    else if (!printed.has(line) && wanted(line)) process.stdout.write(line + '\n');
  };
  const path = subscriberSocket(process.pid);
  await unlink(path).catch(() => undefined); // a socket of a dead process that had our pid
  const server = supervisorServer(emit);
  // The handlers go in before the socket is bound: its path appears at bind(2), before the
  // listen callback, and a SIGTERM from someone who saw it must end us cleanly, not by default
  // action. stop() runs once (it removes itself), so the server is closed exactly once: by
  // stop() if it already listens, else right after listen().
  let stopping = false;
  let listening = false;
  let resolveStopped = (): void => undefined;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const stop = (): void => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    stopping = true;
    if (listening) server.close(() => resolveStopped());
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new SandboxError(`events: listen ${path}: ${err.message}`)));
    server.listen({ path }, () => resolve());
  });
  listening = true;
  if (stopping) server.close(() => resolveStopped());
  if (sinceMs !== null) {
    // Listening first, then reading: nothing published in between is missed.
    for (const line of await readJournal(sinceMs)) {
      printed.add(line);
      if (wanted(line)) process.stdout.write(line + '\n');
    }
    const live = held ?? [];
    held = null;
    for (const line of live) emit(line);
    // A line appended before the read may still be on its way (publish appends, then delivers
    // within its 250 ms timeout); after that the set is no longer needed.
    setTimeout(() => printed.clear(), 10_000).unref();
  }
  await stopped;
  await unlink(path).catch(() => undefined);
}

/** The socket's server: one event line per connection, from supervisors only, each line to `emit`. */
function supervisorServer(emit: (line: string) => void): Server {
  // A peer must be a supervisor: root in our own pid namespace, never a process inside a
  // sandbox (peer.ts). Its input is bounded (one connection carries one event line, at most
  // MAX_EVENT_LINE bytes, within CONNECTION_MS) and validated line by line before printing.
  let refusedNoted = false;
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    const cred = peerCred(socket);
    if (!peerIsHostRoot(cred)) {
      if (!refusedNoted)
        process.stderr.write(
          `sandbox: events: refused a connection from pid ${cred?.pid ?? '?'} uid ${cred?.uid ?? '?'}: not a supervisor (root in this pid namespace)\n`,
        );
      refusedNoted = true;
      return void socket.destroy();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => socket.destroy(), CONNECTION_MS);
    socket.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_EVENT_LINE + 1) return void socket.destroy();
      chunks.push(d);
    });
    socket.on('end', () => {
      for (const line of Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean)) emit(line);
    });
    socket.on('close', () => clearTimeout(timer));
  });
  server.maxConnections = MAX_CONNECTIONS;
  return server;
}
