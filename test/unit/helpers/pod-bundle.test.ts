// The pod-to-bundle translation the Kubernetes recipe test relies on: quantities as the kubelet
// reads them, hostPath volumes as CRI bind mounts.
import { describe, expect, test } from 'vitest';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { cpuQuota, hostPathMounts, memoryBytes } from '../../helpers/engines/pod-bundle.js';

describe('pod-bundle', () => {
  test('memory quantities in bytes, binary and decimal suffixes', () => {
    expect(memoryBytes('256Mi')).toBe(268435456);
    expect(memoryBytes('1Gi')).toBe(1073741824);
    expect(memoryBytes('512M')).toBe(512e6);
    expect(memoryBytes('1024')).toBe(1024);
    expect(() => memoryBytes('256MB')).toThrow(/memory quantity "256MB"/);
  });

  test('cpu quantities as a quota per 100 ms (kubelet milliCPUToQuota)', () => {
    expect(cpuQuota('1')).toBe(100000);
    expect(cpuQuota('500m')).toBe(50000);
    expect(cpuQuota('1.5')).toBe(150000);
    expect(() => cpuQuota('one')).toThrow(/cpu quantity "one"/);
  });

  test('hostPath volumes become rbind mounts with the propagation and ro, the prefix moved', () => {
    const pod: IPod = {
      apiVersion: 'v1',
      kind: 'Pod',
      spec: {
        containers: [
          {
            name: 'c',
            volumeMounts: [
              { name: 'a', mountPath: '/proc/meminfo', readOnly: true },
              { name: 'b', mountPath: '/x', mountPropagation: 'HostToContainer' },
            ],
          },
        ],
        volumes: [
          { name: 'a', hostPath: { path: '/srv/v/proc/meminfo' } },
          { name: 'b', hostPath: { path: '/srv/v/x' } },
        ],
      },
    };
    expect(hostPathMounts(pod, '/srv/v', '/tmp/t')).toEqual([
      {
        destination: '/proc/meminfo',
        type: 'bind',
        source: '/tmp/t/proc/meminfo',
        options: ['rbind', 'rprivate', 'ro'],
      },
      { destination: '/x', type: 'bind', source: '/tmp/t/x', options: ['rbind', 'rslave'] },
    ]);
    expect(() => hostPathMounts(pod, '/elsewhere', '/tmp/t')).toThrow(/not under \/elsewhere/);
  });
});
