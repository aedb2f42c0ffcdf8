// --userns: which host ids root and the other ids inside a user namespace become. Like docker's
// userns-remap with a dedicated user: the first range of at least 65536 ids that /etc/subuid and
// /etc/subgid give the user "sandbox" (subuid(5): lines "NAME_OR_UID:FIRST:COUNT"), or, when there
// is no such entry, the fixed range 100000-165535 (the first range useradd(8) hands out, SUB_UID_MIN),
// refused if it overlaps another user's subordinate range or an id of /etc/passwd or /etc/group.
// Every --userns sandbox gets the same range (as with docker's userns-remap): sandboxes are kept
// apart by their namespaces, the range keeps them apart from the host's users.
import { readFileSync } from 'node:fs';
import { SandboxError, UsageError } from './errors.js';

/** The user whose subordinate ids --userns uses. */
const USERNS_USER = 'sandbox';
/** Ids inside: 0..65535, as a distribution's user database needs (nobody is 65534). */
const USERNS_COUNT = 65536;
/** The range used when /etc/subuid has no entry for USERNS_USER. */
const USERNS_DEFAULT_FIRST = 100000;

/** One mapping: ids 0..count-1 inside are uid.. and gid.. outside. */
export interface UsernsRange {
  uid: number;
  gid: number;
  count: number;
}

/** One line of /etc/subuid or /etc/subgid. */
export interface SubidEntry {
  owner: string;
  first: number;
  count: number;
}

/** Parse subuid(5)/subgid(5) text: "owner:first:count" lines; comments, blanks and malformed lines are skipped. */
export function parseSubids(text: string): SubidEntry[] {
  const entries: SubidEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^([^:#\s][^:]*):(\d+):(\d+)$/.exec(line.trim());
    if (m) entries.push({ owner: m[1] as string, first: Number(m[2]), count: Number(m[3]) });
  }
  return entries;
}

/** Ids (field 3) of passwd(5) or group(5) text. */
export function parseIds(text: string): number[] {
  const ids: number[] = [];
  for (const line of text.split('\n')) {
    const id = line.split(':')[2];
    if (id !== undefined && /^\d+$/.test(id)) ids.push(Number(id));
  }
  return ids;
}

/** What the choice reads: the subordinate id files and the ids of the user database. */
export interface IdDatabase {
  subuid: SubidEntry[];
  subgid: SubidEntry[];
  uids: number[];
  gids: number[];
  /** The uid of USERNS_USER, if the user exists (subuid(5) lines may name the owner by uid). */
  ownerUid: number | null;
}

/** The first range of at least `count` ids from `entries` owned by the user, or else the default after an overlap check. */
function pick(kind: 'uid' | 'gid', entries: SubidEntry[], ownerUid: number | null, ids: number[]): number {
  const file = `/etc/sub${kind}`;
  const owns = (e: SubidEntry) => e.owner === USERNS_USER || (ownerUid !== null && e.owner === String(ownerUid));
  const own = entries.find((e) => owns(e) && e.count >= USERNS_COUNT);
  if (own) {
    if (own.first === 0)
      throw new SandboxError(
        `--userns: ${file} gives ${USERNS_USER} a range starting at 0 (the host's root): fix that line`,
      );
    return own.first;
  }
  const first = USERNS_DEFAULT_FIRST;
  const end = first + USERNS_COUNT;
  const fix = `add a free range for the user "${USERNS_USER}" to /etc/subuid and /etc/subgid, e.g. "${USERNS_USER}:200000:65536"`;
  const clash = entries.find((e) => !owns(e) && e.first < end && first < e.first + e.count);
  if (clash) {
    throw new SandboxError(
      `--userns: the default ${kind} range ${first}-${end - 1} overlaps ${clash.owner}:${clash.first}:${clash.count} in ${file}; ${fix}`,
    );
  }
  const used = ids.find((id) => id >= first && id < end);
  if (used !== undefined) {
    throw new SandboxError(
      `--userns: the default ${kind} range ${first}-${end - 1} holds ${kind} ${used} of /etc/${kind === 'uid' ? 'passwd' : 'group'}; ${fix}`,
    );
  }
  return first;
}

/** The host range of a --userns sandbox (throws SandboxError when no safe range exists). */
export function chooseUsernsRange(db: IdDatabase): UsernsRange {
  return {
    uid: pick('uid', db.subuid, db.ownerUid, db.uids),
    gid: pick('gid', db.subgid, db.ownerUid, db.gids),
    count: USERNS_COUNT,
  };
}

/** Read a file that may be missing (a host without subordinate ids has no /etc/subuid). */
function readOptional(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new SandboxError(`--userns: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Read this host's id database. */
export function readIdDatabase(): IdDatabase {
  const passwd = readOptional('/etc/passwd');
  const owner = passwd.split('\n').find((l) => l.split(':')[0] === USERNS_USER);
  const ownerField = owner?.split(':')[2];
  return {
    subuid: parseSubids(readOptional('/etc/subuid')),
    subgid: parseSubids(readOptional('/etc/subgid')),
    uids: parseIds(passwd),
    gids: parseIds(readOptional('/etc/group')),
    ownerUid: ownerField !== undefined && /^\d+$/.test(ownerField) ? Number(ownerField) : null,
  };
}

/** What --userns asks for: a user namespace of its own (the default, or bare --userns), or the host's (--userns=host). */
export type UsernsMode = 'private' | 'host';

/**
 * --userns as commander hands it over: absent (undefined) or bare (true) is the default, a user
 * namespace; "host" keeps the host's (the workload is host root). Anything else is a UsageError. A
 * word after a bare --userns is taken as its value by commander ("--userns sh"), hence the hint.
 */
export function parseUsernsMode(value: string | boolean | undefined): UsernsMode {
  if (value === undefined || value === true) return 'private';
  if (value === 'host') return 'host';
  throw new UsageError(
    '--userns',
    `invalid value "${String(value)}": expected host (--userns=host), or no value for the default (put "--" before the command)`,
  );
}
