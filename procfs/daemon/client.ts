// A client of the daemon's socket (procfs/daemon/protocol.ts): one request, one reply.
import { createConnection } from 'node:net';
import type { Reply, Request } from './protocol.js';

/** Send one request and resolve with the reply; rejects with the socket's errno (ENOENT, ECONNREFUSED: no daemon). */
export function ask(socketPath: string, req: Request, timeoutMs = 10_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${socketPath}: no reply to ${req.op} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as Reply);
      } catch {
        reject(new Error(`${socketPath}: a reply that is not JSON: ${buf.slice(0, 80)}`));
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new Error(
          `connect ${socketPath}: ${err.code ?? err.message}${err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? ' (is `sandbox procfs serve` running?)' : ''}`,
        ),
      );
    });
    sock.on('end', () => {
      clearTimeout(timer);
      if (!buf.includes('\n')) reject(new Error(`${socketPath}: connection closed without a reply to ${req.op}`));
    });
  });
}
