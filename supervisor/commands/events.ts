// `sandbox events [ID|NAME…]`: print sandbox events (start, oom, exit) as JSON lines as they happen,
// until interrupted. Listens on its own Unix socket (supervisor/events.ts); closing the server
// removes the socket file (libuv unlinks a listening pipe's path on close).
import { createServer } from 'node:net';
import { unlink } from 'node:fs/promises';
import type { Command } from 'commander';
import { SandboxError } from '../errors.js';
import { subscriberSocket } from '../events.js';
import { requireRoot } from './root.js';

/** Register `sandbox events`. */
export function registerEvents(program: Command): void {
  program
    .command('events')
    .description('print sandbox events as JSON lines as they happen: start, oom, exit (with the exit code)')
    .argument('[sandbox...]', 'only events of these ids or names')
    .addHelpText(
      'after',
      `
Examples:
  sandbox events
  sandbox events web | jq -c 'select(.type == "oom")'

Each line: {"type":"start"|"oom"|"exit","time":ISO-8601,"id":…,"name":…} plus "command" (start),
"oomKills" (oom: the sandbox's OOM-kill count so far) or "exitCode" (exit). Only events from the
moment it starts are shown (nothing is stored). Ends on SIGINT or SIGTERM.`,
    )
    .action(async (refs: string[]) => {
      requireRoot('events');
      const path = subscriberSocket(process.pid);
      await unlink(path).catch(() => undefined); // a socket of a dead process that had our pid
      const server = createServer((socket) => {
        let buffered = '';
        socket.on('data', (d: Buffer) => (buffered += d.toString()));
        socket.on('end', () => {
          for (const line of buffered.split('\n').filter(Boolean)) {
            const event = JSON.parse(line) as { id: string; name: string | null };
            if (refs.length === 0 || refs.includes(event.id) || (event.name !== null && refs.includes(event.name))) process.stdout.write(line + '\n');
          }
        });
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(new SandboxError(`events: listen ${path}: ${err.message}`)));
        server.listen({ path }, () => resolve());
      });
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          server.close(() => resolve());
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await unlink(path).catch(() => undefined);
    });
}
