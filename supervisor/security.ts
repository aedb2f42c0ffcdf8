// `sandbox run --cap-add/--cap-drop/--security-opt`: what the sandbox's confinement is loosened (or
// tightened) to, with docker's names and rules (moby oci/caps TweakCapabilities): capability names
// with or without CAP_, any case, and ALL; --cap-add ALL keeps every capability but the dropped ones,
// --cap-drop ALL keeps only the added ones, otherwise the default set minus the dropped plus the
// added. The stage gets the result as a mask (--caps) and applies it with capset(2); seccomp.c also
// lifts the filter's denials tied to an added capability, as docker's profile does.
import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';

/** Capability names by number (include/uapi/linux/capability.h, Linux 6.18: 0 to 40). */
export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** The default set: docker's minus CAP_MKNOD and CAP_SETFCAP (native/stage/caps.c says why). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_RAW',
  'CAP_SYS_CHROOT',
  'CAP_AUDIT_WRITE',
];

/** The sandbox's privileges: its capabilities (sorted by number) and whether the syscall filter is on. */
export interface Security {
  capabilities: string[];
  seccomp: 'default' | 'unconfined';
}

/** The flags as commander collects them (each repeatable). */
export interface SecurityFlags {
  capAdd?: string[];
  capDrop?: string[];
  securityOpt?: string[];
}

/** "sys_admin", "CAP_SYS_ADMIN", "all" -> "CAP_SYS_ADMIN" / "ALL"; UsageError for an unknown name. */
function capabilityName(flag: string, text: string): string {
  const upper = text.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!CAPABILITIES.includes(name))
    throw new UsageError(
      flag,
      `unknown capability "${text}" (a name of capabilities(7) like SYS_ADMIN or CAP_CHOWN, or ALL)`,
    );
  return name;
}

/** --security-opt values we know: seccomp=unconfined, and no-new-privileges (always on here). */
function parseSecurityOpt(text: string): Pick<Security, 'seccomp'> | null {
  // docker accepts "key=value" and the older "key:value".
  const m = /^([a-z-]+)(?:[=:](.*))?$/.exec(text);
  const key = m?.[1];
  const value = m?.[2];
  if (key === 'seccomp' && value === 'unconfined') return { seccomp: 'unconfined' };
  if (key === 'seccomp')
    throw new UsageError('--security-opt', `only seccomp=unconfined is supported (no profile files), got "${text}"`);
  if (key === 'no-new-privileges' && (value === undefined || value === 'true')) return null;
  if (key === 'no-new-privileges')
    throw new UsageError('--security-opt', `no_new_privs is always set in a sandbox, got "${text}"`);
  throw new UsageError('--security-opt', `expected seccomp=unconfined or no-new-privileges, got "${text}"`);
}

/**
 * The capabilities this process holds (the CapPrm line of /proc/self/status, proc(5)): PID 1 can
 * keep no more than the supervisor has (capset(2) refuses to raise the permitted set). Root in a
 * container may lack some, e.g. CAP_SYS_RESOURCE here.
 */
export function heldCapabilities(statusText = readFileSync('/proc/self/status', 'utf8')): string[] {
  const hex = /^CapPrm:\t([0-9a-f]+)$/m.exec(statusText)?.[1];
  if (hex === undefined) throw new Error('/proc/self/status has no CapPrm line');
  const mask = BigInt(`0x${hex}`);
  return CAPABILITIES.filter((_c, bit) => (mask >> BigInt(bit)) & 1n);
}

/**
 * Resolve --cap-add, --cap-drop and --security-opt into the sandbox's privileges (UsageError on a
 * bad value). `held`: what the supervisor itself holds; ALL means all of those, and naming one it
 * lacks is an error rather than a stage that fails at capset. `hostNetwork`: the sandbox shares the
 * host's network namespace (--net host, or joining a sandbox that does), where CAP_NET_RAW would
 * open packet sockets on the host's interfaces and capture its traffic, loopback included (issue
 * 19, finding 7; packet(7)): it leaves the default set then, and only --cap-add NET_RAW (or ALL)
 * gives it back, as podman drops it from its default set altogether.
 */
export function resolveSecurity(
  flags: SecurityFlags,
  held: readonly string[] = CAPABILITIES,
  hostNetwork = false,
): Security {
  const adds = (flags.capAdd ?? []).map((c) => capabilityName('--cap-add', c));
  const drops = (flags.capDrop ?? []).map((c) => capabilityName('--cap-drop', c));
  let seccomp: Security['seccomp'] = 'default';
  for (const opt of flags.securityOpt ?? []) seccomp = parseSecurityOpt(opt)?.seccomp ?? seccomp;
  let kept: Set<string>;
  const missing = adds.find((c) => c !== 'ALL' && !held.includes(c));
  if (missing !== undefined)
    throw new UsageError('--cap-add', `the supervisor itself lacks ${missing}, so the sandbox can't have it`);
  if (adds.includes('ALL')) kept = new Set(held.filter((c) => !drops.includes(c)));
  else if (drops.includes('ALL')) kept = new Set(adds);
  else {
    const defaults = hostNetwork ? DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_NET_RAW') : DEFAULT_CAPABILITIES;
    kept = new Set([...defaults.filter((c) => !drops.includes(c) && held.includes(c)), ...adds]);
  }
  return { capabilities: CAPABILITIES.filter((c) => kept.has(c)), seccomp };
}

/** The stage's --caps value: bit N set for capability N, as "0x" and hex digits. */
export function capabilityMask(capabilities: readonly string[]): string {
  let mask = 0n;
  for (const c of capabilities) {
    const bit = CAPABILITIES.indexOf(c);
    if (bit < 0) throw new Error(`unknown capability ${c}`);
    mask |= 1n << BigInt(bit);
  }
  return `0x${mask.toString(16)}`;
}

/** The stage arguments for a security setting: none for the default (the stage's own default). */
export function securityArgs(security: Security | null | undefined): string[] {
  if (!security) return [];
  const args: string[] = [];
  const mask = capabilityMask(security.capabilities);
  if (mask !== capabilityMask(DEFAULT_CAPABILITIES)) args.push('--caps', mask);
  if (security.seccomp === 'unconfined') args.push('--seccomp', 'unconfined');
  return args;
}
