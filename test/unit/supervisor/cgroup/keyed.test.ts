import { describe, expect, it } from 'vitest';
import { parseFlatKeyed, parseIntList, parseMaxOrInt, parsePidList } from '../../../../supervisor/cgroup/keyed.js';

describe('flat keyed files', () => {
  it('matches keys exactly: file is not file_mapped, anon is not anon_thp', () => {
    const m = parseFlatKeyed('anon 1\nfile 2\nfile_mapped 3\nanon_thp 4\n');
    expect(m.get('file')).toBe(2);
    expect(m.get('file_mapped')).toBe(3);
    expect(m.get('anon')).toBe(1);
    expect(m.get('fil')).toBeUndefined();
  });
  it('skips lines that are not "key integer"', () => {
    const m = parseFlatKeyed('some avg10=0.00 avg60=0.00\nnr_periods 5\n\nbad x\n');
    expect([...m]).toEqual([['nr_periods', 5]]);
  });
  it('parses "max" or an integer', () => {
    expect(parseMaxOrInt('max\n')).toBeNull();
    expect(parseMaxOrInt('4096\n')).toBe(4096);
    expect(() => parseMaxOrInt('-1')).toThrow();
  });
  it('parses integer and pid lists', () => {
    expect(parseIntList('0 603934958 \n')).toEqual([0, 603934958]);
    expect(parsePidList('12\n34\n')).toEqual([12, 34]);
    expect(parsePidList('')).toEqual([]);
  });
});
