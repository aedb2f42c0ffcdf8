import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../supervisor/errors.js';
import { MEMORY_FLOOR_BYTES, parseCpu, parseDuration, parseSize, resolveLimits } from '../../../supervisor/limits.js';

const host = { onlineCpus: [0, 1], memTotalBytes: 24 * 1024 ** 3 };
const MiB = 1024 ** 2;

describe('parseCpu', () => {
  it.each([
    ['20%', 0.2],
    ['150%', 1.5],
    ['0.5', 0.5],
    ['2', 2],
    ['200%', 2],
    [' 20% ', 0.2],
  ])('%s -> %f CPUs', (text, cpus) => expect(parseCpu(text, 2)).toBeCloseTo(cpus, 10));

  it.each([
    ['0', /must be more than 0/],
    ['0%', /must be more than 0/],
    ['-20%', /expected a share/],
    ['abc', /expected a share/],
    ['20', /more than this host's 2 CPUs/],
    ['201%', /more than this host's 2 CPUs \(200%\)/],
    ['20 %', /expected a share/],
    ['1e3', /expected a share/],
    ['', /expected a share/],
  ])('rejects %j', (text, message) => {
    expect(() => parseCpu(text, 2)).toThrow(UsageError);
    expect(() => parseCpu(text, 2)).toThrow(message);
  });
});

describe('parseSize', () => {
  it.each([
    ['256M', 256 * MiB],
    ['256MiB', 256 * MiB],
    ['256MB', 256 * MiB],
    ['256m', 256 * MiB],
    ['1.5G', 1.5 * 1024 * MiB],
    ['512k', 512 * 1024],
    ['1048576', 1048576],
    ['1T', 1024 ** 4],
    ['25%', 6 * 1024 ** 3],
  ])('%s -> %d bytes', (text, bytes) => expect(parseSize('--mem', text, host.memTotalBytes)).toBe(bytes));

  it('names the flag and the value in its error', () => {
    expect(() => parseSize('--mem', '256X', host.memTotalBytes)).toThrow(
      '--mem: expected a size like 256M, 1.5G or 25%, got "256X"',
    );
  });

  it.each(['256X', '-1M', 'M', '1.5.5G', '256 M B', '0x10M', ''])('rejects %j', (text) =>
    expect(() => parseSize('--mem', text, host.memTotalBytes)).toThrow(UsageError),
  );

  it('takes no percentage where there is no base (swap)', () =>
    expect(() => parseSize('--swap', '25%')).toThrow(/--swap: expected a size like 256M or 1.5G/));
  it.each(['0%', '101%'])('rejects a share of %s', (text) =>
    expect(() => parseSize('--mem', text, host.memTotalBytes)).toThrow(/\(0%, 100%\]/),
  );
});

describe('parseDuration', () => {
  it.each([
    ['100ms', 100_000],
    ['0.1s', 100_000],
    ['500us', 500],
    ['1s', 1_000_000],
  ])('%s -> %d us', (text, us) => expect(parseDuration('--cpu-period', text)).toBe(us));
  it.each(['100', 'fast', '10m', '-5ms'])('rejects %j', (text) =>
    expect(() => parseDuration('--cpu-period', text)).toThrow(/expected a duration like 100ms/),
  );
});

describe('resolveLimits', () => {
  it('turns 20% / 256M into kernel values with the defaults', () => {
    expect(resolveLimits({ cpu: '20%', mem: '256M' }, host)).toEqual({
      cpus: 0.2,
      cpuQuotaUs: 20_000,
      cpuPeriodUs: 100_000,
      cpuBurstUs: null,
      cpuWeight: null,
      cpusetCpus: null,
      memoryBytes: 256 * MiB,
      swapBytes: 0,
      pidsMax: 4096,
    });
  });

  it('scales the quota with --cpu-period and keeps every other flag', () => {
    const l = resolveLimits(
      {
        cpu: '150%',
        cpuPeriod: '50ms',
        cpuBurst: '10ms',
        cpusetCpus: '0-1',
        cpuWeight: '200',
        mem: '1.5G',
        swap: '512M',
        pids: 'max',
      },
      host,
    );
    expect(l).toMatchObject({
      cpuQuotaUs: 75_000,
      cpuPeriodUs: 50_000,
      cpuBurstUs: 10_000,
      cpusetCpus: [0, 1],
      cpuWeight: 200,
      swapBytes: 512 * MiB,
      pidsMax: null,
    });
  });

  it.each([
    [{ mem: '1M' }, /--mem: "1M" is too low: a sandbox needs at least 6 MiB to start/],
    [{ mem: '256' }, /--mem: "256" is too low/],
    [{ pids: '0' }, /--pids: must be from 1/],
    [{ pids: '-1' }, /--pids: expected a whole number/],
    [{ pids: '10.5' }, /--pids: expected a whole number/],
    [{ cpuPeriod: '2s' }, /--cpu-period: must be from 1ms to 1s/],
    [{ cpuPeriod: '500us' }, /--cpu-period: must be from 1ms to 1s/],
    [{ cpu: '0.5%' }, /--cpu: "0.5%" gives a quota below the kernel's minimum of 1ms/],
    [{ cpuBurst: '10ms' }, /--cpu-burst: needs --cpu/],
    [{ cpu: '20%', cpuBurst: '30ms' }, /--cpu-burst: "30ms" is more than the quota of 20ms/],
    [{ cpusetCpus: '5' }, /--cpuset-cpus: CPU 5 is not online on this host \(online: 0-1\)/],
    [{ cpusetCpus: 'a-b' }, /--cpuset-cpus: expected a CPU list/],
    [{ cpuWeight: '0' }, /--cpu-weight: must be from 1 to 10000/],
    [{ cpuWeight: '10001' }, /--cpu-weight: must be from 1 to 10000/],
    [{ swap: '1G' }, /--swap: needs --mem/],
  ])('rejects %j', (flags, message) => {
    expect(() => resolveLimits(flags, host)).toThrow(UsageError);
    expect(() => resolveLimits(flags, host)).toThrow(message);
  });

  it('accepts exactly the memory floor', () => {
    expect(resolveLimits({ mem: `${MEMORY_FLOOR_BYTES}` }, host).memoryBytes).toBe(MEMORY_FLOOR_BYTES);
  });
});
