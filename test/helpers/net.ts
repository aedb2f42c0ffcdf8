// Host-side network helpers for the tests: a free port, and an HTTP GET that waits for a server
// inside a sandbox to start. Host sockets bind only to 127.0.0.1 / ::1.
import { get } from 'node:http';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { needsSetup, type Missing } from './skip.js';

/** Where Debian's passt package puts pasta (supervisor/net/pasta.ts runs it for --net private). */
const PASTA = '/usr/bin/pasta';

/** What --net private needs that is missing (pasta), or null. */
export function pastaUnavailable(): Missing | null {
  return existsSync(PASTA) ? null : needsSetup(`needs ${PASTA} (Debian package passt; native/setup.sh installs it)`);
}
import { EVENT_DEADLINE_MS } from './wait.js';

/** A TCP port on `host` that is free now. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** GET a URL from the host, retrying while the server inside starts (up to EVENT_DEADLINE_MS); the body. */
export async function httpGet(url: string, timeoutMs = EVENT_DEADLINE_MS): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const req = get(url, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.setTimeout(2000, () => req.destroy(new Error('timeout')));
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
