import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../supervisor/errors.js';
import {
  CAPABILITIES,
  DEFAULT_CAPABILITIES,
  capabilityMask,
  heldCapabilities,
  resolveSecurity,
  securityArgs,
} from '../../../supervisor/security.js';
import { execStageArgs } from '../../../supervisor/commands/exec.js';

describe("resolveSecurity: docker's --cap-add/--cap-drop rules", () => {
  it('is the default set and the filter without flags', () => {
    expect(resolveSecurity({})).toEqual({ capabilities: [...DEFAULT_CAPABILITIES], seccomp: 'default' });
    expect(capabilityMask(DEFAULT_CAPABILITIES)).toBe('0x200425fb'); // as PID 1's /proc/self/status shows it
  });

  it('leaves CAP_NET_RAW out in the host network namespace unless it is added (issue 19, finding 7)', () => {
    const host = resolveSecurity({}, CAPABILITIES, true);
    expect(host.capabilities).toEqual(DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_NET_RAW'));
    expect(capabilityMask(host.capabilities)).toBe('0x200405fb');
    expect(resolveSecurity({ capAdd: ['net_raw'] }, CAPABILITIES, true).capabilities).toEqual([
      ...DEFAULT_CAPABILITIES,
    ]);
    expect(resolveSecurity({ capAdd: ['ALL'] }, CAPABILITIES, true).capabilities).toContain('CAP_NET_RAW');
    expect(resolveSecurity({ capDrop: ['ALL'] }, CAPABILITIES, true).capabilities).toEqual([]);
  });

  it('takes names with or without CAP_, in any case, and keeps the kernel order', () => {
    const s = resolveSecurity({ capAdd: ['sys_admin', 'CAP_NET_ADMIN'], capDrop: ['chown', 'Cap_Kill'] });
    expect(s.capabilities).not.toContain('CAP_CHOWN');
    expect(s.capabilities).not.toContain('CAP_KILL');
    expect(s.capabilities).toContain('CAP_SYS_ADMIN');
    expect(s.capabilities).toEqual(CAPABILITIES.filter((c) => s.capabilities.includes(c)));
  });

  it('--cap-add ALL keeps everything but the dropped; --cap-drop ALL keeps only the added', () => {
    expect(resolveSecurity({ capAdd: ['ALL'], capDrop: ['MKNOD'] }).capabilities).toEqual(
      CAPABILITIES.filter((c) => c !== 'CAP_MKNOD'),
    );
    expect(resolveSecurity({ capDrop: ['all'], capAdd: ['NET_BIND_SERVICE'] }).capabilities).toEqual([
      'CAP_NET_BIND_SERVICE',
    ]);
    expect(capabilityMask(resolveSecurity({ capAdd: ['ALL'] }).capabilities)).toBe('0x1ffffffffff'); // 41 capabilities
  });

  it('gives ALL as what the supervisor holds, and refuses to add one it lacks', () => {
    const held = heldCapabilities('Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\n');
    expect(held).not.toContain('CAP_SYS_RESOURCE');
    expect(held).toHaveLength(40);
    expect(resolveSecurity({ capAdd: ['ALL'] }, held).capabilities).toEqual(held);
    expect(() => resolveSecurity({ capAdd: ['SYS_RESOURCE'] }, held)).toThrow(
      '--cap-add: the supervisor itself lacks CAP_SYS_RESOURCE',
    );
  });

  it("reads seccomp=unconfined (also docker's older seccomp:unconfined) and accepts no-new-privileges", () => {
    expect(resolveSecurity({ securityOpt: ['seccomp=unconfined'] }).seccomp).toBe('unconfined');
    expect(resolveSecurity({ securityOpt: ['seccomp:unconfined'] }).seccomp).toBe('unconfined');
    expect(resolveSecurity({ securityOpt: ['no-new-privileges', 'no-new-privileges=true'] }).seccomp).toBe('default');
  });

  it.each([
    [{ capAdd: ['SYS_ADMINN'] }, '--cap-add'],
    [{ capAdd: [''] }, '--cap-add'],
    [{ capDrop: ['CAP_'] }, '--cap-drop'],
    [{ securityOpt: ['seccomp=/etc/profile.json'] }, '--security-opt'],
    [{ securityOpt: ['apparmor=unconfined'] }, '--security-opt'],
    [{ securityOpt: ['no-new-privileges=false'] }, '--security-opt'],
    [{ securityOpt: [''] }, '--security-opt'],
  ])('refuses %j naming %s', (flags, flag) => {
    expect(() => resolveSecurity(flags)).toThrow(UsageError);
    expect(() => resolveSecurity(flags)).toThrow(flag);
  });
});

describe('securityArgs', () => {
  it('passes nothing for the default, so the stage keeps its own', () => {
    expect(securityArgs(null)).toEqual([]);
    expect(securityArgs(resolveSecurity({}))).toEqual([]);
  });

  it('passes --caps MASK and --seccomp unconfined, to run and to exec alike', () => {
    const s = resolveSecurity({ capAdd: ['SYS_ADMIN'], securityOpt: ['seccomp=unconfined'] });
    expect(securityArgs(s)).toEqual(['--caps', '0x202425fb', '--seccomp', 'unconfined']);
    expect(execStageArgs(1, 2, [], '/', ['true'], null, s)).toEqual([
      '--supervisor-pid',
      '1',
      '--exec-into',
      '2',
      '--caps',
      '0x202425fb',
      '--seccomp',
      'unconfined',
      '--chdir',
      '/',
      '--',
      'true',
    ]);
  });
});
