// The walk-through of docs/walkthrough.md (issue 11), command for command: a web server from a layer, its port
// published on the host, a file changed inside, the writable layer committed, and a second sandbox
// started from the committed layer serving the changed file while the base layer stays as it was.
// busybox httpd stands in for "a small web server"; host sockets bind only to 127.0.0.1.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildBusyboxImage, imageUnavailable } from '../helpers/image.js';
import { cleanUpAfterEach, detached, gone, scratchDir } from '../helpers/lifecycle.js';
import { freePort, httpGet, pastaUnavailable } from '../helpers/net.js';
import { cli, sandboxUnavailable } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';

const skip = requireOrSkip(sandboxUnavailable() ?? imageUnavailable() ?? pastaUnavailable());

describe.skipIf(skip)('walk-through (docs/walkthrough.md): serve, publish, change, commit, serve the new layer', () => {
  cleanUpAfterEach();
  const scratch = scratchDir('/tmp', 'sandbox-walkthrough-');

  it('a second sandbox on the committed layer serves the changed page; the base is untouched', async () => {
    const dir = scratch();
    const image = `${dir}/img`;
    buildBusyboxImage(image);
    mkdirSync(`${image}/www`);
    writeFileSync(`${image}/www/index.html`, 'hello from the base layer\n');

    const port = await freePort();
    const web = await detached([
      '--name',
      `web-${process.pid}`,
      '--rootfs',
      image,
      '-p',
      `127.0.0.1:${port}:80`,
      '--',
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      '/www',
    ]);
    expect(await httpGet(`http://127.0.0.1:${port}/`)).toBe('hello from the base layer\n');

    const change = await cli(['exec', web, '--', 'sh', '-c', 'echo "hello from a committed layer" > /www/index.html']);
    expect(change.code).toBe(0);
    expect(await httpGet(`http://127.0.0.1:${port}/`)).toBe('hello from a committed layer\n');

    const committed = await cli(['commit', web, `${dir}/web-v2`]);
    expect([committed.code, committed.stderr]).toEqual([0, '']);
    expect(readFileSync(`${dir}/web-v2/www/index.html`, 'utf8')).toBe('hello from a committed layer\n');
    expect((await cli(['stop', web])).code).toBe(0);
    expect(await gone(web)).toBe(true);

    const port2 = await freePort();
    const web2 = await detached([
      '--rootfs',
      image,
      '--layer',
      `${dir}/web-v2`,
      '-p',
      `127.0.0.1:${port2}:80`,
      '--',
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      '/www',
    ]);
    expect(await httpGet(`http://127.0.0.1:${port2}/`)).toBe('hello from a committed layer\n');
    expect((await cli(['stop', web2])).code).toBe(0);
    expect(await gone(web2)).toBe(true);
    expect(readFileSync(`${image}/www/index.html`, 'utf8')).toBe('hello from the base layer\n');
  });
});
