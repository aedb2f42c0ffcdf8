// What an engine writes on the host when it is not confined: the engine tests record which of
// these paths exist before they start and fail if one appeared (they never remove a host path).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';

/** Paths Debian's docker.io, containerd, podman and lxcfs use by default as root. */
const ENGINE_HOST_PATHS = [
  '/etc/docker/key.json',
  '/run/docker',
  '/run/docker.sock',
  '/var/run/docker.pid',
  '/var/lib/docker',
  '/run/containerd',
  '/var/lib/containerd',
  '/var/lib/containers',
  '/run/containers',
  '/run/libpod',
  '/var/tmp/containers-user-0',
  // lxcfs's own (test/helpers/engines/views-source.ts removes them when it made them).
  '/run/lxcfs',
  // The clients' per-user files (docker's config, podman's user configuration and storage).
  `${homedir()}/.docker`,
  `${homedir()}/.config/containers`,
  `${homedir()}/.local/share/containers`,
];

/** The subset of ENGINE_HOST_PATHS that exists now. */
export function existingEnginePaths(): string[] {
  return ENGINE_HOST_PATHS.filter((p) => existsSync(p));
}

/** Paths that exist now and did not before, as leftover lines. */
export function newEnginePaths(before: string[]): string[] {
  return existingEnginePaths()
    .filter((p) => !before.includes(p))
    .map((p) => `host path ${p} (an engine wrote outside the test's directory)`);
}
