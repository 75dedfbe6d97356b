// A small classic-BPF interpreter for seccomp programs, so the generated filters can be run
// against synthetic seccomp_data for any arch (aarch64 included) without installing them.
//
// It accepts only the subset cordon's compiler emits, and checks what the kernel checks at
// install (net/core/filter.c bpf_check_classic, kernel/seccomp.c seccomp_check_filter):
//   ld  [k]      BPF_LD|BPF_W|BPF_ABS, k aligned and inside struct seccomp_data
//   and #k       BPF_ALU|BPF_AND|BPF_K
//   ja  k        BPF_JMP|BPF_JA
//   jeq/jgt/jge/jset #k   BPF_JMP|BPF_J*|BPF_K
//   ret #k       BPF_RET|BPF_K
// Anything else throws: an opcode the interpreter does not model is a test failure, never a
// silent pass.

export const SECCOMP_DATA_SIZE = 64; // int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]
export const BPF_MAXINSNS = 4096;

const OP = {
  LD_W_ABS: 0x20,
  ALU_AND_K: 0x54,
  JA: 0x05,
  JEQ_K: 0x15,
  JGT_K: 0x25,
  JGE_K: 0x35,
  JSET_K: 0x45,
  RET_K: 0x06,
} as const;

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export interface SeccompData {
  nr: number;
  arch: number;
  ip?: bigint;
  /** Up to 6 arguments, 64-bit each (missing ones are 0). */
  args?: readonly bigint[];
}

export interface RunResult {
  /** The full SECCOMP_RET_* value. */
  action: number;
  /** Instructions executed. */
  steps: number;
}

/** Splits struct sock_filter[] bytes (host = little endian) into instructions. */
export function decode(program: Buffer): Insn[] {
  if (program.length % 8 !== 0) throw new Error(`program length ${program.length} is not a multiple of 8`);
  const out: Insn[] = [];
  for (let off = 0; off < program.length; off += 8) {
    out.push({
      code: program.readUInt16LE(off),
      jt: program.readUInt8(off + 2),
      jf: program.readUInt8(off + 3),
      k: program.readUInt32LE(off + 4),
    });
  }
  return out;
}

/** Throws unless the kernel would accept the program (for the subset above). */
export function verify(insns: readonly Insn[]): void {
  if (insns.length === 0 || insns.length > BPF_MAXINSNS) throw new Error(`bad program length ${insns.length}`);
  insns.forEach((ins, pc) => {
    const where = `insn ${pc} (code 0x${ins.code.toString(16)})`;
    const target = (off: number): void => {
      if (pc + 1 + off >= insns.length) throw new Error(`${where}: jump past the end`);
    };
    switch (ins.code) {
      case OP.LD_W_ABS:
        if (ins.k % 4 !== 0 || ins.k >= SECCOMP_DATA_SIZE) throw new Error(`${where}: load outside seccomp_data`);
        break;
      case OP.ALU_AND_K:
      case OP.RET_K:
        break;
      case OP.JA:
        target(ins.k);
        break;
      case OP.JEQ_K:
      case OP.JGT_K:
      case OP.JGE_K:
      case OP.JSET_K:
        target(ins.jt);
        target(ins.jf);
        break;
      default:
        throw new Error(`${where}: opcode not in the seccomp subset this interpreter models`);
    }
    if (ins.code !== OP.JA && ins.code !== OP.JEQ_K && ins.code !== OP.JGT_K && ins.code !== OP.JGE_K &&
        ins.code !== OP.JSET_K && (ins.jt !== 0 || ins.jf !== 0)) {
      throw new Error(`${where}: jt/jf set on a non-jump`);
    }
  });
  // bpf_check_classic: the last instruction must return (forward-only jumps then guarantee
  // that every path ends in a RET).
  if (insns[insns.length - 1]!.code !== OP.RET_K) throw new Error('last instruction is not a RET');
}

/** Serialises seccomp_data the way the kernel lays it out (little endian). */
export function seccompData(d: SeccompData): Buffer {
  const b = Buffer.alloc(SECCOMP_DATA_SIZE);
  b.writeUInt32LE(d.nr >>> 0, 0);
  b.writeUInt32LE(d.arch >>> 0, 4);
  b.writeBigUInt64LE(BigInt.asUintN(64, d.ip ?? 0n), 8);
  (d.args ?? []).forEach((a, i) => {
    if (i > 5) throw new Error('seccomp_data has 6 arguments');
    b.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + 8 * i);
  });
  return b;
}

const verified = new WeakSet<readonly Insn[]>();

/** Runs a program on one syscall (verifying it first, once per decoded array). */
export function run(program: Buffer | readonly Insn[], d: SeccompData): RunResult {
  const insns = Buffer.isBuffer(program) ? decode(program) : program;
  if (!verified.has(insns)) {
    verify(insns);
    verified.add(insns);
  }
  const data = seccompData(d);
  let a = 0;
  let pc = 0;
  let steps = 0;
  for (;;) {
    const ins = insns[pc]!;
    steps++;
    switch (ins.code) {
      case OP.LD_W_ABS:
        a = data.readUInt32LE(ins.k);
        pc++;
        break;
      case OP.ALU_AND_K:
        a = (a & ins.k) >>> 0;
        pc++;
        break;
      case OP.JA:
        pc += 1 + ins.k;
        break;
      case OP.JEQ_K:
        pc += 1 + (a === ins.k ? ins.jt : ins.jf);
        break;
      case OP.JGT_K:
        pc += 1 + (a > ins.k ? ins.jt : ins.jf);
        break;
      case OP.JGE_K:
        pc += 1 + (a >= ins.k ? ins.jt : ins.jf);
        break;
      case OP.JSET_K:
        pc += 1 + ((a & ins.k) !== 0 ? ins.jt : ins.jf);
        break;
      case OP.RET_K:
        return { action: ins.k >>> 0, steps };
      default:
        throw new Error(`unreachable: opcode 0x${ins.code.toString(16)}`);
    }
  }
}

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 13: 'EACCES', 38: 'ENOSYS', 93: 'EPROTONOSUPPORT', 97: 'EAFNOSUPPORT',
};

/** 'ALLOW', 'LOG', 'KILL_PROCESS', 'ERRNO(EPERM)', ... */
export function actionName(action: number): string {
  const data = action & 0xffff;
  switch ((action & 0xffff0000) >>> 0) {
    case 0x80000000: return 'KILL_PROCESS';
    case 0x00000000: return 'KILL_THREAD';
    case 0x00030000: return `TRAP(${data})`;
    case 0x00050000: return `ERRNO(${ERRNO_NAMES[data] ?? data})`;
    case 0x7fc00000: return 'USER_NOTIF';
    case 0x7ff00000: return `TRACE(${data})`;
    case 0x7ffc0000: return 'LOG';
    case 0x7fff0000: return 'ALLOW';
    default: return `UNKNOWN(0x${action.toString(16)})`;
  }
}

/** One line per instruction, for failure messages and debugging. */
export function disassemble(program: Buffer | readonly Insn[]): string {
  const insns = Buffer.isBuffer(program) ? decode(program) : program;
  const names: Record<number, string> = { 0x15: 'jeq', 0x25: 'jgt', 0x35: 'jge', 0x45: 'jset' };
  const field = (k: number): string =>
    k === 0 ? 'nr' : k === 4 ? 'arch' : k >= 16 ? `args[${(k - 16) >> 3}]${k % 8 ? '.hi' : '.lo'}` : `[${k}]`;
  return insns
    .map((ins, pc) => {
      const hex = `0x${ins.k.toString(16)}`;
      let text: string;
      if (ins.code === OP.LD_W_ABS) text = `ld ${field(ins.k)}`;
      else if (ins.code === OP.ALU_AND_K) text = `and #${hex}`;
      else if (ins.code === OP.JA) text = `ja ${pc + 1 + ins.k}`;
      else if (ins.code === OP.RET_K) text = `ret ${actionName(ins.k)}`;
      else if (names[ins.code]) text = `${names[ins.code]} #${hex} ? ${pc + 1 + ins.jt} : ${pc + 1 + ins.jf}`;
      else text = `?? 0x${ins.code.toString(16)}`;
      return `${String(pc).padStart(4)}: ${text}`;
    })
    .join('\n');
}

/** The longest path (instructions executed) over the given syscall numbers, args all 0. */
export function maxPathLength(program: Buffer, arch: number, nrs: Iterable<number>): number {
  const insns = decode(program);
  let max = 0;
  for (const nr of nrs) max = Math.max(max, run(insns, { nr, arch }).steps);
  return max;
}
