// The mount plan's operations: what each is (MountOp, built by src/mount-plan.ts) and how the
// child applies one. ApplyMount runs in the child between clone and execve: raw syscalls only
// (raw_syscall.h).
#pragma once
#include <stdint.h>

#include <string>

namespace cordon {

// One mount operation of the mount plan, applied in order inside the child's private mount
// namespace (CLONE_NEWNS), before Landlock (landlocked tasks may not mount).
struct MountOp {
  enum Kind : int32_t {
    kBindReadOnly = 1,  // bind target onto itself, then remount read-only (flags preserved)
    kTmpfsMask = 2,     // empty read-only tmpfs over a directory
    kFileMask = 3,      // bind `source` (an empty 0000 file) read-only over a file
    kProc = 4,          // fresh procfs (needs CLONE_NEWPID)
    kTmpfs = 5,         // writable tmpfs (e.g. a private /dev/shm)
    kReadOnlyTree = 6,  // every mount at and beneath target read-only (mount_setattr, recursive)
    kBindWritable = 7,  // bind target onto itself, set nosuid,nodev, clear read-only unless preservedFlags has MS_RDONLY
    // The ops below build a fresh directory (a private /tmp) that carries a few of the host's
    // paths over: each carried path is first detached as a copy of its mount tree (open_tree,
    // OPEN_TREE_CLONE | AT_RECURSIVE) into a numbered slot, the fresh tmpfs goes on top, the
    // mount targets are made in it, and each copy is attached (move_mount) again.
    kDetach = 8,        // copy the mount tree at target into slot `slot` (an fd the child holds)
    kAttach = 9,        // attach slot `slot` at target (move_mount), and close the slot
    kMakeDir = 10,      // mkdir target (mode `mode`); an existing directory is fine
    kBindSelf = 11,     // bind target onto itself (flags of the mount it is in): a mountpoint
                        // cannot be renamed or removed (EBUSY), so its path stays put
    kReadOnlyNoDevTree = 12,  // as kReadOnlyTree, and nodev: no device node opens anywhere...
    kAllowDevices = 13,       // ...but on the mount at target (the host's /dev), where Landlock
                              // grants device files by name
  };
  Kind kind;
  std::string target;
  std::string source;
  unsigned long preservedFlags = 0;  // MS_NOSUID|MS_NODEV|MS_NOEXEC|... of the source mount
  std::string data;                  // kTmpfs: mount options ("" = mode=1777)
  int slot = -1;                     // kDetach, kAttach: 0 .. kMountSlots-1
  unsigned mode = 0;                 // kMakeDir
  // Landlock rights for the file system this op mounts fresh at target (AddFreshMountRule),
  // added to SandboxPlan::landlockRulesetFd once it is mounted; 0 for none.
  uint64_t landlockAccess = 0;
  // A target that vanished between planning and the clone (ENOENT, ENOTDIR) is skipped rather
  // than failing the spawn: used for masks over host unix sockets, which come and go.
  bool optional = false;
};

// Detached mount copies held at once while the mount plan runs (kDetach .. kAttach).
constexpr int kMountSlots = 32;

// Applies op; slots holds the detached copies of kDetach (kMountSlots entries, -1 where empty).
// An optional op whose target vanished (ENOENT, ENOTDIR) counts as done. 0 or -errno.
long ApplyMount(const MountOp& op, int* slots);

}  // namespace cordon
