// The mount ops (mounts.h), as the child applies them: raw syscalls only.
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statfs.h>

#include "raw_syscall.h"

namespace cordon {
namespace {

// Read-only remount of a bind mount. In a user namespace the kernel refuses a remount that
// would clear a locked nosuid/nodev/noexec/atime flag of the source mount, so keep them
// (bubblewrap does the same; debuerreotype#197).
long RemountReadOnly(const char* target, unsigned long extra) {
  struct statfs st;
  if (long r = Sys(SYS_statfs, target, &st); r < 0) return r;
  unsigned long keep = st.f_flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                                     MS_NODIRATIME | MS_RELATIME);
  return Sys(SYS_mount, nullptr, target, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | keep | extra, nullptr);
}

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442  // same number on every architecture (Linux 5.12)
#endif
// struct mount_attr of <linux/mount.h>, spelled out: glibc < 2.36 headers lack it.
struct MountAttr {
  uint64_t attrSet;
  uint64_t attrClear;
  uint64_t propagation;
  uint64_t usernsFd;
};
constexpr uint64_t kMountAttrReadOnly = 0x1;
constexpr uint64_t kMountAttrNoSuid = 0x2;
constexpr uint64_t kMountAttrNoDev = 0x4;
constexpr unsigned kAtRecursive = 0x8000;

// mount_setattr changes only the attributes named, so unlike a MS_REMOUNT it never trips over
// the locked nosuid/nodev/noexec/atime flags of mounts inherited from the host.
long SetMountAttributes(const char* target, unsigned flags, uint64_t set, uint64_t clear) {
  MountAttr attr = {set, clear, 0, 0};
  return Sys(SYS_mount_setattr, AT_FDCWD, target, flags, &attr, sizeof attr);
}

#ifndef SYS_open_tree
#define SYS_open_tree 428  // same number on every architecture (Linux 5.2)
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
constexpr unsigned kOpenTreeClone = 1;
constexpr unsigned kMoveMountFromEmptyPath = 0x4;

// slots: the detached copies of kDetach, -1 where empty (owned by SetUpSandbox).
long ApplyMountOp(const MountOp& op, int* slots) {
  const char* target = op.target.c_str();
  long r;
  switch (op.kind) {
    case MountOp::kDetach:
      if (op.slot < 0 || op.slot >= kMountSlots || slots[op.slot] >= 0) return -EINVAL;
      r = Sys(SYS_open_tree, AT_FDCWD, target, kOpenTreeClone | O_CLOEXEC | kAtRecursive | AT_SYMLINK_NOFOLLOW);
      if (r < 0) return r;
      slots[op.slot] = static_cast<int>(r);
      return 0;
    case MountOp::kAttach:
      if (op.slot < 0 || op.slot >= kMountSlots || slots[op.slot] < 0) return -EINVAL;
      r = Sys(SYS_move_mount, slots[op.slot], "", AT_FDCWD, target, kMoveMountFromEmptyPath);
      Sys(SYS_close, slots[op.slot]);
      slots[op.slot] = -1;
      return r;
    case MountOp::kMakeDir:
      r = Sys(SYS_mkdirat, AT_FDCWD, target, op.mode);
      return r == -EEXIST ? 0 : r;
    case MountOp::kReadOnlyNoDevTree:
      return SetMountAttributes(target, AT_SYMLINK_NOFOLLOW | kAtRecursive, kMountAttrReadOnly | kMountAttrNoDev, 0);
    case MountOp::kAllowDevices:
      return SetMountAttributes(target, AT_SYMLINK_NOFOLLOW, 0, kMountAttrNoDev);
    case MountOp::kBindSelf:
      return Sys(SYS_mount, target, target, nullptr, MS_BIND | MS_REC, nullptr);
    case MountOp::kBindReadOnly:
      r = Sys(SYS_mount, target, target, nullptr, MS_BIND | MS_REC, nullptr);
      return r < 0 ? r : RemountReadOnly(target, op.preservedFlags);
    case MountOp::kTmpfsMask:
      // Read-only and empty: a mask that the sandbox could write into would be a scratch
      // space that looks like the secret's directory (sandbox-runtime#149).
      return Sys(SYS_mount, "cordon-mask", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 "mode=000,size=4k");
    case MountOp::kFileMask:
      r = Sys(SYS_mount, op.source.c_str(), target, nullptr, MS_BIND, nullptr);
      return r < 0 ? r : RemountReadOnly(target, MS_NOSUID | MS_NODEV | MS_NOEXEC);
    case MountOp::kProc:
      return Sys(SYS_mount, "proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
    case MountOp::kTmpfs:
      return Sys(SYS_mount, "cordon-tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV,
                 op.data.empty() ? "mode=1777" : op.data.c_str());
    case MountOp::kReadOnlyTree:
      return SetMountAttributes(target, AT_SYMLINK_NOFOLLOW | kAtRecursive, kMountAttrReadOnly, 0);
    case MountOp::kBindWritable:
      // Only the root's own mount turns writable: mounts beneath it keep the read-only
      // attribute the tree got. A root the host mounted read-only stays read-only
      // (preservedFlags carries MS_RDONLY): a root caller could otherwise clear it here.
      r = Sys(SYS_mount, target, target, nullptr, MS_BIND | MS_REC, nullptr);
      return r < 0 ? r
                   : SetMountAttributes(target, AT_SYMLINK_NOFOLLOW, kMountAttrNoSuid | kMountAttrNoDev,
                                        (op.preservedFlags & MS_RDONLY) ? 0 : kMountAttrReadOnly);
  }
  return -EINVAL;
}

}  // namespace

long ApplyMount(const MountOp& op, int* slots) {
  long r = ApplyMountOp(op, slots);
  if (r < 0 && op.optional && (r == -ENOENT || r == -ENOTDIR)) return 0;
  return r;
}

}  // namespace cordon
