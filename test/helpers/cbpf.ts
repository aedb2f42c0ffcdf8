// A classic BPF interpreter for seccomp programs (the instructions native/stage/seccomp.c emits),
// so a test can ask what a sandbox's real filter (dumped by seccomp-filter.py) answers to any
// system call, including numbers no kernel has yet. Semantics: Documentation/networking/filter.rst
// and kernel/seccomp.c (seccomp_check_filter lists what a seccomp program may use).

/** One instruction: code, jump-if-true, jump-if-false, constant (struct sock_filter). */
export type Instruction = [code: number, jt: number, jf: number, k: number];

/** struct seccomp_data (include/uapi/linux/seccomp.h): nr, arch, instruction pointer, 6 arguments. */
export interface SeccompData {
  nr: number;
  arch: number;
  args?: readonly bigint[];
}

/** AUDIT_ARCH_X86_64 (include/uapi/linux/audit.h). */
export const AUDIT_ARCH_X86_64 = 0xc000003e;

/** The 32-bit word of seccomp_data at a byte offset (little-endian halves of the 64-bit fields). */
function word(data: SeccompData, offset: number): number {
  if (offset === 0) return data.nr >>> 0;
  if (offset === 4) return data.arch >>> 0;
  if (offset >= 16 && offset < 64 && offset % 4 === 0) {
    const arg = data.args?.[(offset - 16) >> 3] ?? 0n;
    return Number(offset % 8 === 0 ? arg & 0xffffffffn : (arg >> 32n) & 0xffffffffn);
  }
  if (offset === 8 || offset === 12) return 0; // instruction pointer
  throw new Error(`load of seccomp_data offset ${offset}`);
}

/** Run the program on one system call and return its 32-bit result (SECCOMP_RET_* | data). */
export function runFilter(prog: readonly Instruction[], data: SeccompData): number {
  let a = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const [code, jt, jf, k] = prog[pc]!;
    switch (code) {
      case 0x20: // BPF_LD | BPF_W | BPF_ABS
        a = word(data, k);
        break;
      case 0x06: // BPF_RET | BPF_K
        return k >>> 0;
      case 0x15: // BPF_JMP | BPF_JEQ | BPF_K
        pc += a === k >>> 0 ? jt : jf;
        break;
      case 0x25: // BPF_JMP | BPF_JGT | BPF_K
        pc += a > k >>> 0 ? jt : jf;
        break;
      case 0x35: // BPF_JMP | BPF_JGE | BPF_K
        pc += a >= k >>> 0 ? jt : jf;
        break;
      case 0x45: // BPF_JMP | BPF_JSET | BPF_K
        pc += (a & k) !== 0 ? jt : jf;
        break;
      default:
        throw new Error(`instruction ${pc}: code 0x${code.toString(16)} not interpreted`);
    }
  }
  throw new Error('the program fell off its end');
}

/** A filter result in words: "allow", "kill", "errno EPERM" (1), "errno ENOSYS" (38), … */
export function describeResult(ret: number): string {
  const action = (ret & 0xffff0000) >>> 0;
  if (action === 0x7fff0000) return 'allow';
  if (action === 0x80000000 || action === 0x00000000) return 'kill';
  if (action === 0x00050000) return `errno ${ret & 0xffff}`;
  return `action 0x${ret.toString(16)}`;
}
