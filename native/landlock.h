// Landlock ruleset construction (landlock(7), docs.kernel.org/userspace-api/landlock.html).
// Plain C++, no N-API. The parent builds one ruleset fd per compiled policy and keeps it; every
// child only calls landlock_restrict_self(fd, 0) between no_new_privs and seccomp (child.cc).
//
// The uapi constants are spelled here rather than taken from <linux/landlock.h>: build hosts
// ship headers older than the running kernel (Debian 12's stops at ABI 2), and the masks must be
// known for every ABI we can downgrade to. Values from include/uapi/linux/landlock.h, Linux 7.1.
#pragma once
#include <stdint.h>

#include <string>
#include <vector>

namespace cordon {
namespace landlock {

// Filesystem rights (handled_access_fs / landlock_path_beneath_attr.allowed_access).
constexpr uint64_t kAccessFsExecute = 1ULL << 0;     // ABI 1 (Linux 5.13)
constexpr uint64_t kAccessFsWriteFile = 1ULL << 1;   // ABI 1
constexpr uint64_t kAccessFsReadFile = 1ULL << 2;    // ABI 1
constexpr uint64_t kAccessFsReadDir = 1ULL << 3;     // ABI 1
constexpr uint64_t kAccessFsRemoveDir = 1ULL << 4;   // ABI 1
constexpr uint64_t kAccessFsRemoveFile = 1ULL << 5;  // ABI 1
constexpr uint64_t kAccessFsMakeChar = 1ULL << 6;    // ABI 1
constexpr uint64_t kAccessFsMakeDir = 1ULL << 7;     // ABI 1
constexpr uint64_t kAccessFsMakeReg = 1ULL << 8;     // ABI 1
constexpr uint64_t kAccessFsMakeSock = 1ULL << 9;    // ABI 1
constexpr uint64_t kAccessFsMakeFifo = 1ULL << 10;   // ABI 1
constexpr uint64_t kAccessFsMakeBlock = 1ULL << 11;  // ABI 1
constexpr uint64_t kAccessFsMakeSym = 1ULL << 12;    // ABI 1
constexpr uint64_t kAccessFsRefer = 1ULL << 13;      // ABI 2 (Linux 5.19)
constexpr uint64_t kAccessFsTruncate = 1ULL << 14;   // ABI 3 (Linux 6.2)
constexpr uint64_t kAccessFsIoctlDev = 1ULL << 15;   // ABI 5 (Linux 6.10)
constexpr uint64_t kAccessFsResolveUnix = 1ULL << 16;  // ABI 9 (Linux 7.1)

// The rights a rule on a non-directory may carry (landlock_add_rule: EINVAL otherwise).
constexpr uint64_t kAccessFsFileRights = kAccessFsExecute | kAccessFsWriteFile | kAccessFsReadFile |
                                         kAccessFsTruncate | kAccessFsIoctlDev | kAccessFsResolveUnix;

// Network rights (handled_access_net / landlock_net_port_attr), ABI 4 (Linux 6.7).
constexpr uint64_t kAccessNetBindTcp = 1ULL << 0;
constexpr uint64_t kAccessNetConnectTcp = 1ULL << 1;

// Scopes (landlock_ruleset_attr.scoped), ABI 6 (Linux 6.12).
constexpr uint64_t kScopeAbstractUnixSocket = 1ULL << 0;
constexpr uint64_t kScopeSignal = 1ULL << 1;

}  // namespace landlock

struct LandlockPathRule {
  std::string path;        // absolute; opened O_PATH|O_NOFOLLOW in the parent
  uint64_t allowedAccess;  // must be a subset of handledAccessFs (directory rights are
                           // dropped automatically when the path is not a directory)
};

struct LandlockNetRule {
  uint64_t port;           // TCP port, 0..65535
  uint64_t allowedAccess;  // kAccessNet*
};

// A flat ruleset description: masks are already reduced to the target ABI by the caller.
struct LandlockRulesetSpec {
  uint64_t handledAccessFs = 0;
  uint64_t handledAccessNet = 0;
  uint64_t scoped = 0;
  std::vector<LandlockPathRule> pathRules;
  std::vector<LandlockNetRule> netRules;
};

// Where BuildLandlockRuleset failed, for an error message that names the rule.
struct LandlockBuildError {
  const char* syscallName = "";  // "landlock_create_ruleset", "open", "landlock_add_rule"
  int ruleIndex = -1;            // index into pathRules (or netRules when isNetRule)
  bool isNetRule = false;
};

// Creates the ruleset (O_CLOEXEC, as landlock_create_ruleset always makes it) and adds every
// rule. Returns the fd, or -errno with *error filled in; no fd leaks on any path.
int BuildLandlockRuleset(const LandlockRulesetSpec& spec, LandlockBuildError* error);

// From the sandbox child, between clone and execve (raw syscalls only): grants `access` beneath
// `path`, a file system the child has just mounted (a private /tmp, a fresh /proc). Its inode did
// not exist when the parent built the ruleset, and Landlock ignores the rules of the directory
// a mount covers (its walk skips hidden mountpoints). Returns 0 or -errno.
long AddFreshMountRule(int rulesetFd, const char* path, uint64_t access);

// Releases a cached ruleset fd (close(2)); returns 0 or -errno.
int CloseLandlockRuleset(int fd);

// The highest Landlock ABI of the running kernel, or -errno (ENOSYS: not built in,
// EOPNOTSUPP: disabled at boot).
int LandlockAbiVersion();

// statvfs(2) f_flag of the mount holding `path`, reduced to the per-mount flags a read-only
// remount must keep (MS_NOSUID|MS_NODEV|MS_NOEXEC|MS_NOATIME|MS_NODIRATIME|MS_RELATIME): a
// bind remount that drops a locked flag fails with EPERM inside a user namespace
// (mount(2), "Locked mount flags"). Returns the flags or -errno.
long MountPreservedFlags(const std::string& path);

}  // namespace cordon
