// The daemon's request parser and the hook's state parser: every bad field is refused with its value.
import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../../../procfs/daemon/protocol.js';
import { parseOciState } from '../../../../procfs/daemon/oci-hook.js';
import { hostBootMs } from '../../../../procfs/daemon/source.js';

describe('daemon protocol', () => {
  it('parses register, unregister and list', () => {
    expect(parseRequest('{"op":"register","id":"abc","pid":12,"root":"/b/rootfs/"}')).toEqual({
      op: 'register',
      id: 'abc',
      pid: 12,
      root: '/b/rootfs',
      bind: true,
    });
    expect(parseRequest('{"op":"unregister","id":"abc"}')).toEqual({ op: 'unregister', id: 'abc' });
    expect(parseRequest('{"op":"list"}')).toEqual({ op: 'list' });
  });
  it('refuses bad ids, pids, roots and ops with the value', () => {
    expect(parseRequest('{"op":"register","id":"../x","pid":1}')).toMatch(/bad id "..\/x"/);
    expect(parseRequest('{"op":"register","id":"a","pid":0}')).toMatch(/bad pid 0/);
    expect(parseRequest('{"op":"register","id":"a","pid":2,"root":"rel"}')).toMatch(/bad root "rel"/);
    expect(parseRequest('{"op":"nuke","id":"a"}')).toMatch(/unknown op "nuke"/);
    expect(parseRequest('nope')).toMatch(/not JSON/);
  });
});

describe('oci-hook state', () => {
  it('reads id, status, pid and bundle; refuses a relative bundle', () => {
    expect(parseOciState('{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":1,"bundle":"/b"}')).toEqual({
      id: 'c1',
      status: 'creating',
      pid: 1,
      bundle: '/b',
    });
    expect(() => parseOciState('{"id":"c1","status":"creating","bundle":"b"}')).toThrow(/bundle "b"/);
    expect(() => parseOciState('{"id":"c1","status":"creating","pid":-3,"bundle":"/b"}')).toThrow(/pid -3/);
  });
  it('takes the boot time from the exact btime key', () => {
    expect(hostBootMs('cpu  1 2 3\nbtime 1700000000\nbtimex 5\n')).toBe(1_700_000_000_000);
    expect(() => hostBootMs('btimex 5\n')).toThrow(/no btime/);
  });
});
