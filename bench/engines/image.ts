// An image made without network, for the tests and the bench's engine peers: busybox-static
// (Debian's busybox-static, installed by native/setup.sh) with a link per applet, plus host
// programs (procps top/free, coreutils nproc) copied in with the shared libraries ldd lists for
// them and the dynamic loader; and its tarball for `docker import` / `podman import`.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Where busybox-static puts its binary. */
const BUSYBOX = '/bin/busybox';
/** Host programs copied into the image: they read /proc and /sys the way the host's tools do. */
const HOST_TOOLS = ['/usr/bin/top', '/usr/bin/free', '/usr/bin/nproc'];

/** What the image needs that is missing here (packages native/setup.sh installs), or null. */
export function imageMissing(): string | null {
  if (!existsSync(BUSYBOX)) return `needs ${BUSYBOX} (Debian busybox-static; native/setup.sh installs it)`;
  for (const tool of HOST_TOOLS) if (!existsSync(tool)) return `needs ${tool} (procps, coreutils)`;
  return null;
}

/** Copy a host file to the same path under root, creating directories. */
function copyIn(root: string, path: string): void {
  const to = `${root}${path}`;
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(path, to);
  chmodSync(to, 0o755);
}

/** The shared objects (and loader) a dynamic program needs, from ldd's "=> /path" and "/path" lines. */
function librariesOf(program: string): string[] {
  const out = execFileSync('ldd', [program], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

/** Build the busybox image at root (an empty or missing directory), with extra host programs if given. */
export function buildBusyboxImage(root: string, extraTools: string[] = []): void {
  for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root'])
    mkdirSync(`${root}/${dir}`, { recursive: true });
  copyIn(root, BUSYBOX);
  // One relative symlink to busybox per applet (`busybox --install -s` would link to the host path).
  for (const applet of execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (applet !== '' && applet !== 'busybox' && !existsSync(`${root}/bin/${applet}`))
      symlinkSync('busybox', `${root}/bin/${applet}`);
  }
  for (const tool of [...HOST_TOOLS, ...extraTools]) {
    copyIn(root, tool);
    for (const lib of librariesOf(tool)) copyIn(root, lib);
  }
  // procps top needs a terminfo entry for $TERM even in batch mode (it exits 1 silently without).
  if (existsSync('/lib/terminfo'))
    cpSync('/lib/terminfo', `${root}/lib/terminfo`, { recursive: true, dereference: true });
  writeFileSync(`${root}/etc/passwd`, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(`${root}/etc/group`, 'root:x:0:\nnogroup:x:65534:\n');
  writeFileSync(`${root}/etc/image-marker`, 'busybox test image\n');
}

/** Build the image's root at `${dir}/rootfs` and return the path of its tarball, `${dir}/image.tar`. */
export function buildImageTarball(dir: string, extraTools: string[] = []): string {
  buildBusyboxImage(`${dir}/rootfs`, extraTools);
  execFileSync('tar', ['-C', `${dir}/rootfs`, '-cf', `${dir}/image.tar`, '.']);
  return `${dir}/image.tar`;
}
