import { describe, expect, it } from 'vitest';
import { SandboxError } from '../../../supervisor/errors.js';
import {
  chooseUsernsRange,
  parseIds,
  parseSubids,
  parseUsernsMode,
  type IdDatabase,
} from '../../../supervisor/userns.js';

const empty: IdDatabase = { subuid: [], subgid: [], uids: [0, 1, 65534, 1000], gids: [0, 5, 65534], ownerUid: null };

describe('parseSubids', () => {
  it('reads owner:first:count lines and skips comments, blanks and malformed lines', () => {
    const text = '# comment\nalice:100000:65536\n\n1001:165536:65536\nbroken:1:\nbad:x:2\n  bob:231072:65536  \n';
    expect(parseSubids(text)).toEqual([
      { owner: 'alice', first: 100000, count: 65536 },
      { owner: '1001', first: 165536, count: 65536 },
      { owner: 'bob', first: 231072, count: 65536 },
    ]);
  });
});

describe('parseIds', () => {
  it('takes the third field of passwd and group lines', () => {
    expect(parseIds('root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/bin/false\n\nweird\n')).toEqual([
      0, 65534,
    ]);
  });
});

describe('chooseUsernsRange', () => {
  it('uses 100000-165535 when /etc/subuid and /etc/subgid have no entry for "sandbox"', () => {
    expect(chooseUsernsRange(empty)).toEqual({ uid: 100000, gid: 100000, count: 65536 });
  });

  it('uses the first large enough range of "sandbox" (by name or by its uid)', () => {
    const db: IdDatabase = {
      ...empty,
      subuid: [
        { owner: 'sandbox', first: 300000, count: 1000 },
        { owner: 'sandbox', first: 400000, count: 65536 },
      ],
      subgid: [{ owner: '999', first: 500000, count: 70000 }],
      ownerUid: 999,
    };
    expect(chooseUsernsRange(db)).toEqual({ uid: 400000, gid: 500000, count: 65536 });
  });

  it("refuses the default range when it overlaps another user's subordinate ids", () => {
    const db = { ...empty, subuid: [{ owner: 'alice', first: 165535, count: 10 }] };
    expect(() => chooseUsernsRange(db)).toThrow(SandboxError);
    expect(() => chooseUsernsRange(db)).toThrow(
      /uid range 100000-165535 overlaps alice:165535:10 in \/etc\/subuid; add a free range for the user "sandbox"/,
    );
  });

  it('refuses the default range when a user or group of the host has an id in it', () => {
    expect(() => chooseUsernsRange({ ...empty, uids: [0, 120000] })).toThrow(/holds uid 120000 of \/etc\/passwd/);
    expect(() => chooseUsernsRange({ ...empty, gids: [0, 100000] })).toThrow(/holds gid 100000 of \/etc\/group/);
  });

  it('refuses a range of "sandbox" that starts at the host\'s root', () => {
    expect(() => chooseUsernsRange({ ...empty, subuid: [{ owner: 'sandbox', first: 0, count: 65536 }] })).toThrow(
      /starting at 0/,
    );
  });
});

describe('parseUsernsMode', () => {
  it('absent and bare --userns are the default user namespace; host is the opt-out', () => {
    expect(parseUsernsMode(undefined)).toBe('private');
    expect(parseUsernsMode(true)).toBe('private');
    expect(parseUsernsMode('host')).toBe('host');
  });

  it('refuses any other value, naming the flag and the value', () => {
    for (const value of ['', 'HOST', 'private', 'auto', 'sh']) {
      expect(() => parseUsernsMode(value)).toThrow(SandboxError);
      expect(() => parseUsernsMode(value)).toThrow(new RegExp(`^--userns: invalid value "${value}"`));
    }
  });
});
