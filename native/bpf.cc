// seccomp-BPF program compiler (see bpf.h for the layout). Plain C++, no N-API, no exceptions.
//
// The program is emitted backwards, from its last instruction to its first. Classic BPF only
// jumps forward, so when an instruction is emitted every instruction it can reach already
// exists and each jump offset is known at once: no fixup pass. Conditional jumps carry 8-bit
// offsets; a target more than 255 instructions away gets a trampoline (a copy of the RET, or a
// BPF_JA with its 32-bit offset) right in front of the jump.
// References: include/uapi/linux/filter.h, kernel/seccomp.c (seccomp_check_filter,
// seccomp_cache_prepare_bitmap), net/core/filter.c (bpf_check_classic), seccomp(2).
#include "bpf.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>

#include <algorithm>
#include <map>

namespace cordon {
namespace {

// arch/x86/include/uapi/asm/unistd.h: x32 syscalls are x86_64 entries with this bit set and
// the same AUDIT_ARCH_X86_64. arch/x86/include/asm/seccomp.h says x32 numbers "always pass
// through the BPF filter", so a per-number rule without this check is bypassable wherever
// CONFIG_X86_X32_ABI is on.
constexpr uint32_t kX32SyscallBit = 0x40000000;

// Both targets are little-endian (AUDIT_ARCH_* carry __AUDIT_ARCH_LE), so the low word of
// seccomp_data.args[i] comes first. seccomp_check_filter only accepts aligned 32-bit loads
// inside struct seccomp_data, which is why 64-bit values are compared one half at a time.
constexpr uint32_t kNrOffset = offsetof(struct seccomp_data, nr);
constexpr uint32_t kArchOffset = offsetof(struct seccomp_data, arch);
uint32_t ArgLowOffset(uint8_t arg) { return offsetof(struct seccomp_data, args) + 8u * arg; }

// Syscalls the child makes after seccomp() returns (child.cc steps 20-21 and its failure
// path): rt_sigprocmask to restore the caller's mask, execve, and write + exit_group to report
// a failed execve. A rule on any of them would make installing the filter break the child, so
// the compiler refuses it. Numbers from src/policy/syscall-table.ts (kernel uapi headers).
bool IsInstallPathSyscall(SeccompArch arch, uint32_t nr) {
  static const uint32_t kX86_64[] = {1 /*write*/, 14 /*rt_sigprocmask*/, 59 /*execve*/,
                                     60 /*exit*/, 231 /*exit_group*/};
  static const uint32_t kAarch64[] = {64 /*write*/, 93 /*exit*/, 94 /*exit_group*/,
                                      135 /*rt_sigprocmask*/, 221 /*execve*/};
  const uint32_t* begin = arch == SeccompArch::kX86_64 ? kX86_64 : kAarch64;
  const uint32_t* end = begin + 5;
  return std::find(begin, end, nr) != end;
}

// Only actions that decide on their own. SECCOMP_RET_TRACE and SECCOMP_RET_USER_NOTIF depend
// on a tracer or listener that cordon does not run (without one the kernel answers ENOSYS), so
// they are refused rather than silently meaning something else.
bool ValidAction(uint32_t action) {
  const uint32_t data = action & SECCOMP_RET_DATA;
  switch (action & SECCOMP_RET_ACTION_FULL) {
    case SECCOMP_RET_KILL_PROCESS:
    case SECCOMP_RET_KILL_THREAD:
    case SECCOMP_RET_LOG:
    case SECCOMP_RET_ALLOW:
      return data == 0;
    case SECCOMP_RET_TRAP:
      return true;
    case SECCOMP_RET_ERRNO:
      // ERRNO(0) would make the syscall "succeed" with 0 without running it: an error path
      // that turns into a fake success. The kernel caps errno at MAX_ERRNO (4095).
      return data >= 1 && data <= 4095;
    default:
      return false;
  }
}

using Label = uint32_t;  // reverse position: 0 is the program's last instruction

class Emitter {
 public:
  // A RET for action, shared while it is within reach (Jump copies it when it is not).
  Label Ret(uint32_t action) {
    auto it = rets_.find(action);
    if (it != rets_.end()) return it->second;
    return rets_[action] = Push(BPF_STMT(BPF_RET | BPF_K, action));
  }

  // A non-jump instruction (ld, and) whose successor is `next`.
  Label Stmt(uint16_t code, uint32_t k, Label next) {
    if (next + 1 != rev_.size()) Trampoline(next);
    return Push(BPF_STMT(code, k));
  }

  Label Jump(uint16_t code, uint32_t k, Label jt, Label jf) {
    // A trampoline for one target moves the other one 1 further away; loop until both fit.
    for (;;) {
      if (Distance(jt) > 255) {
        jt = Trampoline(jt);
      } else if (Distance(jf) > 255) {
        jf = Trampoline(jf);
      } else {
        break;
      }
    }
    return Push(BPF_JUMP(code, k, static_cast<uint8_t>(Distance(jt)),
                         static_cast<uint8_t>(Distance(jf))));
  }

  // When `target` is `ld [offset]` and the accumulator already holds that word unmodified,
  // jump past the load. Saves reloading arg0 in every clause of the socket rule.
  Label SkipReload(Label target, uint32_t offset) const {
    const sock_filter& ins = rev_[target];
    if (ins.code == (BPF_LD | BPF_W | BPF_ABS) && ins.k == offset) return target - 1;
    return target;
  }

  size_t size() const { return rev_.size(); }

  // The program in execution order, without unreachable instructions. SkipReload leaves
  // behind loads that nothing jumps to any more; dropping them only shortens jumps, so every
  // offset still fits and no trampoline is needed.
  std::vector<sock_filter> Program() const {
    const std::vector<sock_filter> all(rev_.rbegin(), rev_.rend());
    const size_t n = all.size();
    std::vector<bool> live(n, false);
    // Jumps only go forward, so one pass in order marks everything reachable from insn 0.
    if (n > 0) live[0] = true;
    for (size_t pc = 0; pc < n; ++pc) {
      if (!live[pc]) continue;
      const sock_filter& ins = all[pc];
      if (BPF_CLASS(ins.code) == BPF_RET) continue;
      if (BPF_CLASS(ins.code) != BPF_JMP) {
        live[pc + 1] = true;
      } else if (BPF_OP(ins.code) == BPF_JA) {
        live[pc + 1 + ins.k] = true;
      } else {
        live[pc + 1 + ins.jt] = true;
        live[pc + 1 + ins.jf] = true;
      }
    }
    std::vector<uint32_t> index(n, 0);
    uint32_t next = 0;
    for (size_t pc = 0; pc < n; ++pc) index[pc] = live[pc] ? next++ : next;
    std::vector<sock_filter> out;
    out.reserve(next);
    for (size_t pc = 0; pc < n; ++pc) {
      if (!live[pc]) continue;
      sock_filter ins = all[pc];
      const uint32_t here = index[pc] + 1;
      if (BPF_CLASS(ins.code) == BPF_JMP) {
        if (BPF_OP(ins.code) == BPF_JA) {
          ins.k = index[pc + 1 + ins.k] - here;
        } else {
          ins.jt = static_cast<uint8_t>(index[pc + 1 + ins.jt] - here);
          ins.jf = static_cast<uint8_t>(index[pc + 1 + ins.jf] - here);
        }
      }
      out.push_back(ins);
    }
    return out;
  }

 private:
  // Offset (instructions skipped) from the next pushed instruction to target.
  uint32_t Distance(Label target) const { return static_cast<uint32_t>(rev_.size()) - target - 1; }

  Label Push(sock_filter ins) {
    rev_.push_back(ins);
    return static_cast<Label>(rev_.size() - 1);
  }

  Label Trampoline(Label target) {
    const sock_filter ins = rev_[target];
    if (BPF_CLASS(ins.code) == BPF_RET) {
      // A RET copy costs the same one instruction as a jump and ends the path sooner.
      Label copy = Push(ins);
      rets_[ins.k] = copy;
      return copy;
    }
    return Push(BPF_STMT(BPF_JMP | BPF_JA, Distance(target)));
  }

  std::vector<sock_filter> rev_;
  std::map<uint32_t, Label> rets_;
};

Label EmitCheck(Emitter& e, const ArgCheck& c, Label pass, Label fail) {
  const uint32_t lo = ArgLowOffset(c.arg);
  const uint32_t hi = lo + 4;
  const uint32_t maskLo = static_cast<uint32_t>(c.mask);
  const uint32_t maskHi = static_cast<uint32_t>(c.mask >> 32);
  const bool both = c.width == ArgWidth::k64;

  if (c.op == ArgOp::kMaskedEq) {
    Label l;
    if (maskLo == 0xffffffffu) {
      // No AND: the accumulator still holds the raw low word on both edges.
      l = e.Jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(c.value),
                 e.SkipReload(pass, lo), e.SkipReload(fail, lo));
    } else {
      l = e.Jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(c.value), pass, fail);
      l = e.Stmt(BPF_ALU | BPF_AND | BPF_K, maskLo, l);
    }
    l = e.Stmt(BPF_LD | BPF_W | BPF_ABS, lo, l);
    if (both) {
      l = e.Jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(c.value >> 32), l, fail);
      if (maskHi != 0xffffffffu) l = e.Stmt(BPF_ALU | BPF_AND | BPF_K, maskHi, l);
      l = e.Stmt(BPF_LD | BPF_W | BPF_ABS, hi, l);
    }
    return l;
  }

  // kAnyBits: a bit of the mask set in either half. JSET leaves the accumulator untouched.
  Label l = fail;
  if (maskLo != 0) {
    l = e.Jump(BPF_JMP | BPF_JSET | BPF_K, maskLo, e.SkipReload(pass, lo), e.SkipReload(l, lo));
    l = e.Stmt(BPF_LD | BPF_W | BPF_ABS, lo, l);
  }
  if (both && maskHi != 0) {
    l = e.Jump(BPF_JMP | BPF_JSET | BPF_K, maskHi, pass, l);
    l = e.Stmt(BPF_LD | BPF_W | BPF_ABS, hi, l);
  }
  return l;
}

// Clauses in order; the first whose checks all hold returns its action, else rule.action.
Label EmitRule(Emitter& e, const SeccompRule& rule) {
  Label next = e.Ret(rule.action);
  for (auto clause = rule.clauses.rbegin(); clause != rule.clauses.rend(); ++clause) {
    Label l = e.Ret(clause->action);
    for (auto check = clause->checks.rbegin(); check != clause->checks.rend(); ++check) {
      l = EmitCheck(e, *check, l, next);
    }
    next = l;
  }
  return next;
}

// What a run of syscall numbers leads to: a plain action, or the argument block of rule `index`.
struct Decision {
  bool block;
  uint32_t value;  // action, or rule index
  bool operator==(const Decision& o) const { return block == o.block && value == o.value; }
};

struct Interval {
  uint32_t first;  // the interval runs up to the next interval's first - 1
  Decision decision;
};

// A balanced tree of `jge first` over the intervals [lo, hi). The path to a leaf already bounds
// nr to that one interval, so a leaf is the decision itself, with no final jeq: ceil(log2(n))
// comparisons per syscall (the kernel evaluates every number at install to build its
// per-arch action cache, seccomp_cache_prepare_bitmap, so short paths make installs cheap too).
Label EmitTree(Emitter& e, const std::vector<Interval>& iv, size_t lo, size_t hi,
               const std::vector<Label>& blocks) {
  if (hi - lo == 1) {
    const Decision& d = iv[lo].decision;
    return d.block ? blocks[d.value] : e.Ret(d.value);
  }
  const size_t mid = lo + (hi - lo) / 2;
  Label right = EmitTree(e, iv, mid, hi, blocks);
  Label left = EmitTree(e, iv, lo, mid, blocks);
  return e.Jump(BPF_JMP | BPF_JGE | BPF_K, iv[mid].first, right, left);
}

int Invalid(std::string* error, const std::string& message) {
  if (error) *error = message;
  return -EINVAL;
}

int Validate(const SeccompSpec& spec, std::string* error) {
  if (!ValidAction(spec.defaultAction)) return Invalid(error, "invalid default action");
  const uint64_t nrLimit = spec.arch == SeccompArch::kX86_64 ? kX32SyscallBit : 1ULL << 32;
  std::vector<uint32_t> seen;
  for (const SeccompRule& r : spec.rules) {
    const std::string who = "rule for syscall " + std::to_string(r.nr) + " (" + r.reason + "): ";
    if (r.nr >= nrLimit) return Invalid(error, who + "number is in the x32 range, which is killed");
    if (IsInstallPathSyscall(spec.arch, r.nr)) {
      return Invalid(error, who + "the child needs this syscall after the filter is installed");
    }
    if (std::find(seen.begin(), seen.end(), r.nr) != seen.end()) {
      return Invalid(error, who + "duplicate rule for this syscall");
    }
    seen.push_back(r.nr);
    if (!ValidAction(r.action)) return Invalid(error, who + "invalid action");
    for (const ArgClause& c : r.clauses) {
      if (!ValidAction(c.action)) return Invalid(error, who + "invalid clause action");
      // A clause without checks always holds and would make every later clause dead code.
      if (c.checks.empty()) return Invalid(error, who + "clause without checks");
      for (const ArgCheck& k : c.checks) {
        if (k.arg > 5) return Invalid(error, who + "argument index above 5");
        if (k.width == ArgWidth::kLow32 && ((k.mask | k.value) >> 32) != 0) {
          return Invalid(error, who + "32-bit check with a 64-bit mask or value");
        }
        if (k.op == ArgOp::kMaskedEq && (k.value & ~k.mask) != 0) {
          return Invalid(error, who + "value has bits outside the mask (never matches)");
        }
        if (k.op == ArgOp::kAnyBits && (k.mask == 0 || k.value != 0)) {
          return Invalid(error, who + "any-bits check needs a non-zero mask and no value");
        }
      }
    }
  }
  return 0;
}

}  // namespace

uint32_t SeccompAuditArch(SeccompArch arch) {
  return arch == SeccompArch::kX86_64 ? AUDIT_ARCH_X86_64 : AUDIT_ARCH_AARCH64;
}

int CompileSeccomp(const SeccompSpec& spec, std::vector<sock_filter>* out, std::string* error) {
  if (int rc = Validate(spec, error); rc != 0) return rc;

  // Partition the reachable numbers into intervals with one decision each, merging neighbours
  // that decide alike (io_uring_* and the new mount API are runs of consecutive numbers).
  std::vector<size_t> order(spec.rules.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return spec.rules[a].nr < spec.rules[b].nr; });
  const Decision fallback{false, spec.defaultAction};
  const uint64_t end = spec.arch == SeccompArch::kX86_64 ? kX32SyscallBit : 1ULL << 32;
  std::vector<Interval> iv;
  auto add = [&iv](uint64_t first, Decision d) {
    if (iv.empty() || !(iv.back().decision == d)) iv.push_back({static_cast<uint32_t>(first), d});
  };
  uint64_t cursor = 0;
  for (size_t i : order) {
    const SeccompRule& r = spec.rules[i];
    if (r.nr > cursor) add(cursor, fallback);
    add(r.nr, r.clauses.empty() ? Decision{false, r.action} : Decision{true, static_cast<uint32_t>(i)});
    cursor = static_cast<uint64_t>(r.nr) + 1;
  }
  if (cursor < end) add(cursor, fallback);

  Emitter e;
  // Argument blocks first (they end up after the tree), so the tree's jumps reach them.
  std::vector<Label> blocks(spec.rules.size(), 0);
  for (size_t i : order) {
    if (!spec.rules[i].clauses.empty()) blocks[i] = EmitRule(e, spec.rules[i]);
  }
  Label body = EmitTree(e, iv, 0, iv.size(), blocks);

  if (spec.arch == SeccompArch::kX86_64) {
    // nr == -1 is not a syscall: a ptracer sets it to skip one, and the kernel then does
    // nothing. Let it through, as libseccomp does, so the tracer's chosen return value stands.
    Label x32 = e.Jump(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffu, e.Ret(SECCOMP_RET_ALLOW),
                       e.Ret(SECCOMP_RET_KILL_PROCESS));
    body = e.Jump(BPF_JMP | BPF_JGE | BPF_K, kX32SyscallBit, x32, body);
  }
  body = e.Stmt(BPF_LD | BPF_W | BPF_ABS, kNrOffset, body);
  // Any other calling convention (i386 via int 0x80, whose socketcall hides socket() arguments
  // behind a pointer; AArch32 compat tasks) has other numbers and is killed outright:
  // KILL_PROCESS (4.14+) because no honest program of the target arch gets here.
  body = e.Jump(BPF_JMP | BPF_JEQ | BPF_K, SeccompAuditArch(spec.arch), body,
                e.Ret(SECCOMP_RET_KILL_PROCESS));
  e.Stmt(BPF_LD | BPF_W | BPF_ABS, kArchOffset, body);

  std::vector<sock_filter> program = e.Program();
  if (program.size() > BPF_MAXINSNS) {
    if (error) *error = "program has " + std::to_string(program.size()) + " instructions (limit 4096)";
    return -E2BIG;
  }
  *out = std::move(program);
  return 0;
}

}  // namespace cordon
