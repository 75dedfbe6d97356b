// Landlock ruleset construction (see landlock.h). References: landlock(7),
// landlock_create_ruleset(2), landlock_add_rule(2), docs.kernel.org/userspace-api/landlock.html.
// Runs in the parent only (it allocates and opens files); the child never sees this code.
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "raw_syscall.h"

namespace cordon {
namespace {

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444  // same number on every architecture (asm-generic)
#define SYS_landlock_add_rule 445
#endif

constexpr uint32_t kCreateRulesetVersion = 1U << 0;  // LANDLOCK_CREATE_RULESET_VERSION
constexpr int kRulePathBeneath = 1;                  // LANDLOCK_RULE_PATH_BENEATH
constexpr int kRuleNetPort = 2;                      // LANDLOCK_RULE_NET_PORT (ABI 4)

// struct landlock_ruleset_attr as of ABI 6. The kernel copies min(size, its own size) and
// requires any bytes it does not know to be zero (copy_min_struct_from_user), so the size passed
// is the smallest that holds every non-zero field: older kernels then accept it unchanged.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;  // ABI 4
  uint64_t scoped;              // ABI 6
};

// Both rule attributes are packed in the uapi header (no trailing padding reaches the kernel).
struct __attribute__((packed)) PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
};

struct __attribute__((packed)) NetPortAttr {
  uint64_t allowed_access;
  uint64_t port;
};

// Closes fd on scope exit, preserving errno (the error paths below return -errno after close).
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) {
      int saved = errno;
      close(fd);
      errno = saved;
    }
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

}  // namespace

int LandlockAbiVersion() {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateRulesetVersion);
  return abi < 0 ? -errno : (int)abi;
}

int BuildLandlockRuleset(const LandlockRulesetSpec& spec, LandlockBuildError* error) {
  RulesetAttr attr = {spec.handledAccessFs, spec.handledAccessNet, spec.scoped};
  size_t size = sizeof(uint64_t);
  if (spec.handledAccessNet != 0) size = 2 * sizeof(uint64_t);
  if (spec.scoped != 0) size = 3 * sizeof(uint64_t);

  error->syscallName = "landlock_create_ruleset";
  // The returned fd is always O_CLOEXEC (landlock_create_ruleset(2)); a child keeps it across
  // clone (CLONE_VM without CLONE_FILES copies the table) and loses it at execve.
  int rulesetFd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (rulesetFd < 0) return -errno;
  FdGuard ruleset{rulesetFd};

  for (size_t i = 0; i < spec.pathRules.size(); ++i) {
    const LandlockPathRule& rule = spec.pathRules[i];
    error->ruleIndex = (int)i;
    error->syscallName = "open";
    // O_PATH: the rule needs an inode reference, not read permission (the parent may be unable
    // to read a directory it grants). O_NOFOLLOW: the planner hands canonical paths, so a final
    // symlink here means the tree changed since; pinning the link inode grants nothing.
    int fd = open(rule.path.c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -errno;
    FdGuard parent{fd};
    struct stat st;
    if (fstat(fd, &st) < 0) return -errno;
    PathBeneathAttr pb;
    // Rules on non-directories may carry only file rights (EINVAL otherwise).
    pb.allowed_access = S_ISDIR(st.st_mode) ? rule.allowedAccess
                                            : (rule.allowedAccess & landlock::kAccessFsFileRights);
    pb.parent_fd = fd;
    if (pb.allowed_access == 0) continue;  // ENOMSG from the kernel; nothing to grant anyway
    error->syscallName = "landlock_add_rule";
    if (syscall(SYS_landlock_add_rule, rulesetFd, kRulePathBeneath, &pb, 0) < 0) return -errno;
  }

  error->isNetRule = true;
  for (size_t i = 0; i < spec.netRules.size(); ++i) {
    error->ruleIndex = (int)i;
    error->syscallName = "landlock_add_rule";
    NetPortAttr np = {spec.netRules[i].allowedAccess, spec.netRules[i].port};
    if (syscall(SYS_landlock_add_rule, rulesetFd, kRuleNetPort, &np, 0) < 0) return -errno;
  }

  *error = LandlockBuildError();
  return ruleset.release();
}

int CloseLandlockRuleset(int fd) {
  // No retry on EINTR: Linux releases the descriptor even then (close(2), "Dealing with error
  // returns"), and retrying could close an fd another thread just got.
  if (close(fd) < 0 && errno != EINTR) return -errno;
  return 0;
}

long MountPreservedFlags(const std::string& path) {
  struct statvfs sv;
  if (statvfs(path.c_str(), &sv) < 0) return -errno;
  // ST_* equal the MS_* bits for these flags (statvfs(3) vs mount(2), both from <linux/fs.h>).
  // ST_RDONLY too: a read-only remount adds it anyway, and the writable re-bind of a root must
  // not clear it where the host mounted the root read-only.
  const unsigned long kKeep =
      ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME | ST_RELATIME;
  return (long)(sv.f_flag & kKeep);
}

long AddFreshMountRule(int rulesetFd, const char* path, uint64_t access) {
  long fd = RawSyscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path), O_PATH | O_CLOEXEC | O_DIRECTORY);
  if (fd < 0) return fd;
  PathBeneathAttr attr = {access, static_cast<int32_t>(fd)};
  long r = RawSyscall(SYS_landlock_add_rule, rulesetFd, kRulePathBeneath, reinterpret_cast<long>(&attr), 0);
  RawSyscall(SYS_close, fd);
  return r;
}

}  // namespace cordon
