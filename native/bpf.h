// seccomp-BPF program compiler. Plain C++, no N-API, no libseccomp.
//
// A program is data: a list of rules, one per syscall number, each an ordered list of argument
// clauses and an action. CompileSeccomp turns it into classic BPF for
// seccomp(SECCOMP_SET_MODE_FILTER) with this layout:
//
//   ld arch;  jeq AUDIT_ARCH_<target> ? next : KILL_PROCESS   (i386 int 0x80, AArch32 compat)
//   ld nr;    jge 0x40000000 ? (nr == -1 ? ALLOW : KILL_PROCESS) : bst   (x86_64 only: x32 ABI)
//   bst:      binary search over syscall-number intervals -> a RET or an argument block
//   default:  the spec's default action (ALLOW for cordon's blocklist profiles)
//
// The policy (which syscalls, which arguments, which errno) lives in TypeScript
// (src/seccomp/rules.ts); this file only knows classic BPF and seccomp_data.
// References: seccomp(2), Documentation/userspace-api/seccomp_filter.rst,
// kernel/seccomp.c seccomp_check_filter(), include/uapi/linux/filter.h.
#pragma once
#include <linux/filter.h>
#include <stdint.h>

#include <string>
#include <vector>

namespace cordon {

// The ABI a program is compiled for. Its value of seccomp_data.arch is the only one let through.
enum class SeccompArch : uint8_t { kX86_64, kAarch64 };

// How much of a 64-bit syscall argument the kernel actually reads. kLow32 for int / unsigned int
// parameters (ioctl cmd, socket family/type/protocol, personality, mode_t): the kernel truncates
// the register, so comparing the upper half too lets `value | 1UL << 32` slip past a deny rule
// (CVE-2019-10063 flatpak, CVE-2019-7303 snapd). k64 for unsigned long parameters.
enum class ArgWidth : uint8_t { kLow32, k64 };

enum class ArgOp : uint8_t {
  kMaskedEq,  // (arg & mask) == value
  kAnyBits,   // (arg & mask) != 0   (BPF JSET)
};

struct ArgCheck {
  uint8_t arg = 0;  // 0..5: seccomp_data.args[arg]
  ArgWidth width = ArgWidth::kLow32;
  ArgOp op = ArgOp::kMaskedEq;
  uint64_t mask = ~0ULL;
  uint64_t value = 0;
};

// All checks hold (evaluated in order) -> action.
struct ArgClause {
  std::vector<ArgCheck> checks;
  uint32_t action = 0;  // a full SECCOMP_RET_* value, data included
};

struct SeccompRule {
  uint32_t nr = 0;
  std::vector<ArgClause> clauses;  // first clause that holds decides
  uint32_t action = 0;             // when no clause holds (or there are none)
  std::string reason;              // for error messages and debugging
};

struct SeccompSpec {
  SeccompArch arch = SeccompArch::kX86_64;
  std::vector<SeccompRule> rules;  // any order; at most one rule per nr
  uint32_t defaultAction = 0;      // syscalls without a rule (SECCOMP_RET_ALLOW = 0x7fff0000)
};

// Compiles spec into *out. Returns 0, or -EINVAL (bad spec; *error says which rule and why) or
// -E2BIG (more than BPF_MAXINSNS instructions). Never throws.
int CompileSeccomp(const SeccompSpec& spec, std::vector<sock_filter>* out, std::string* error);

// seccomp_data.arch for a target (AUDIT_ARCH_X86_64 / AUDIT_ARCH_AARCH64).
uint32_t SeccompAuditArch(SeccompArch arch);

}  // namespace cordon
