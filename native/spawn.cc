// The sandboxed spawn (see spawn.h). The child is created with clone(CLONE_VM|CLONE_VFORK),
// as glibc's posix_spawn does, so its cost does not grow with the host's heap: a plain fork of
// a 500 MB Node process copies page tables for all of it. The price of sharing the parent's
// memory is discipline: between clone and execve the child runs a straight line of raw
// syscalls on a stack the parent gave it, reads only what the parent prepared, and writes
// only to its own stack and the error pipe (libuv src/unix/process.c; glibc posix_spawn).
//
// Child steps, in order, each with the reason for its place:
//   1 signals     reset every disposition to SIG_DFL: a handler of Node's must never run in
//                 the child (the mask stays fully blocked until just before execve)
//   2 setsid      own session and process group: the tree can be signalled as a group and
//                 has no controlling terminal (TIOCSTI against the host's tty is moot)
//   3 pdeathsig   PR_SET_PDEATHSIG(SIGKILL), then check the parent did not die before it
//   4 id maps     with CLONE_NEWUSER: map our uid/gid to themselves (files keep owners)
//   5 mounts      with CLONE_NEWNS: the mount plan (src/mount-plan.ts lists the ops and the
//                 reason for each place), plus the Landlock rules of the file systems it mounts
//                 fresh; must precede Landlock, which forbids mount
//   6 loopback    with CLONE_NEWNET: bring lo up so the sandbox's own 127.0.0.1 works
//   7 cgroup      join the child's cgroup before anything can fork
//   8 stdio       dup2 the planned fds onto 0, 1, 2
//   9 close_range mark every other fd CLOEXEC: nothing of the host survives execve, while
//                 the error pipe and the Landlock ruleset stay usable until then
//  10 chdir       after the mounts, so the cwd resolves in the sandbox's view
//  11 rlimits
//  12 caps        root callers: drop every capability so exec does not regain them
//  13 NNP         PR_SET_NO_NEW_PRIVS: needed by Landlock and unprivileged seccomp; setuid
//                 binaries run without privilege
//  14 landlock    landlock_restrict_self(ruleset) prepared and cached by the parent
//  15 seccomp     last: after it only execve (allowed by every profile) must still pass
//  16 execve      with the caller's signal mask restored
// Any failure writes {step, errno} to the CLOEXEC error pipe and exits 127; EOF on the pipe
// means execve succeeded.
//
// Steps 1-6 depend only on the sandbox; 7-16 on the command. A standby child (spawn.h) runs
// 1-6 ahead of time, then blocks in recvmsg for the command (its address in the shared memory,
// and its stdio and cgroup fds by SCM_RIGHTS) and runs 7-16. When the seccomp filter allows
// every syscall of 7-11 and 16 unconditionally (and capset, for root callers; src/plan.ts
// checks), the standby also runs 12-15 before it waits: none of 7-11 needs a syscall Landlock
// governs or one the filter refuses, and attaching the filter (a BPF JIT, ~0.3 ms here)
// leaves the command's path. A root standby does only the first half of 12 early (securebits,
// bounding and ambient sets) and keeps its permitted set while it waits, so that no
// capability-less uid-0 process can ptrace it (it shares the host's memory); the capset that
// empties it runs right before execve. A standby runs beside the host
// rather than while it is suspended, so every step is a raw syscall (raw_syscall.h: glibc
// would write errno into the host thread's TLS).
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/securebits.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <mutex>

#include "landlock.h"
#include "raw_syscall.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

namespace cordon {

// The errno's symbolic name, as glibc 2.32's strerrorname_np returns it (same list, same order:
// aliases such as EWOULDBLOCK and ENOTSUP give the first name; 0 gives "0"), spelled out here
// because strerrorname_np would make the addon need GLIBC_2.32 (see glibc_compat.cc).
#define CORDON_ERRNO_NAMES(X) \
  X(EPERM) X(ENOENT) X(ESRCH) X(EINTR) X(EIO) X(ENXIO) X(E2BIG) X(ENOEXEC) X(EBADF) X(ECHILD) \
  X(EAGAIN) X(ENOMEM) X(EACCES) X(EFAULT) X(ENOTBLK) X(EBUSY) X(EEXIST) X(EXDEV) X(ENODEV) \
  X(ENOTDIR) X(EISDIR) X(EINVAL) X(ENFILE) X(EMFILE) X(ENOTTY) X(ETXTBSY) X(EFBIG) X(ENOSPC) \
  X(ESPIPE) X(EROFS) X(EMLINK) X(EPIPE) X(EDOM) X(ERANGE) X(EDEADLK) X(ENAMETOOLONG) X(ENOLCK) \
  X(ENOSYS) X(ENOTEMPTY) X(ELOOP) X(ENOMSG) X(EIDRM) X(ECHRNG) X(EL2NSYNC) X(EL3HLT) X(EL3RST) \
  X(ELNRNG) X(EUNATCH) X(ENOCSI) X(EL2HLT) X(EBADE) X(EBADR) X(EXFULL) X(ENOANO) X(EBADRQC) \
  X(EBADSLT) X(EBFONT) X(ENOSTR) X(ENODATA) X(ETIME) X(ENOSR) X(ENONET) X(ENOPKG) X(EREMOTE) \
  X(ENOLINK) X(EADV) X(ESRMNT) X(ECOMM) X(EPROTO) X(EMULTIHOP) X(EDOTDOT) X(EBADMSG) X(EOVERFLOW) \
  X(ENOTUNIQ) X(EBADFD) X(EREMCHG) X(ELIBACC) X(ELIBBAD) X(ELIBSCN) X(ELIBMAX) X(ELIBEXEC) \
  X(EILSEQ) X(ERESTART) X(ESTRPIPE) X(EUSERS) X(ENOTSOCK) X(EDESTADDRREQ) X(EMSGSIZE) \
  X(EPROTOTYPE) X(ENOPROTOOPT) X(EPROTONOSUPPORT) X(ESOCKTNOSUPPORT) X(EOPNOTSUPP) X(EPFNOSUPPORT) \
  X(EAFNOSUPPORT) X(EADDRINUSE) X(EADDRNOTAVAIL) X(ENETDOWN) X(ENETUNREACH) X(ENETRESET) \
  X(ECONNABORTED) X(ECONNRESET) X(ENOBUFS) X(EISCONN) X(ENOTCONN) X(ESHUTDOWN) X(ETOOMANYREFS) \
  X(ETIMEDOUT) X(ECONNREFUSED) X(EHOSTDOWN) X(EHOSTUNREACH) X(EALREADY) X(EINPROGRESS) X(ESTALE) \
  X(EUCLEAN) X(ENOTNAM) X(ENAVAIL) X(EISNAM) X(EREMOTEIO) X(EDQUOT) X(ENOMEDIUM) X(EMEDIUMTYPE) \
  X(ECANCELED) X(ENOKEY) X(EKEYEXPIRED) X(EKEYREVOKED) X(EKEYREJECTED) X(EOWNERDEAD) \
  X(ENOTRECOVERABLE) X(ERFKILL) X(EHWPOISON)

const char* ErrnoName(int err) {
  switch (err) {
    case 0: return "0";
#define CORDON_ERRNO_CASE(name) case name: return #name;
    CORDON_ERRNO_NAMES(CORDON_ERRNO_CASE)
#undef CORDON_ERRNO_CASE
  }
  return "EUNKNOWN";
}

const char* ChildStepName(int32_t step) {
  switch (static_cast<ChildStep>(step)) {
    case ChildStep::kSignals: return "signals";
    case ChildStep::kSetsid: return "setsid";
    case ChildStep::kParentDeathSignal: return "pdeathsig";
    case ChildStep::kParentDied: return "parent-died";
    case ChildStep::kUserNamespaceMaps: return "userns-maps";
    case ChildStep::kMount: return "mount";
    case ChildStep::kLoopback: return "loopback";
    case ChildStep::kListener: return "proxy-listener";
    case ChildStep::kRequest: return "standby-request";
    case ChildStep::kCgroup: return "cgroup";
    case ChildStep::kStdio: return "stdio";
    case ChildStep::kCloseRange: return "close_range";
    case ChildStep::kChdir: return "chdir";
    case ChildStep::kRlimit: return "setrlimit";
    case ChildStep::kCapabilities: return "capabilities";
    case ChildStep::kNoNewPrivs: return "no_new_privs";
    case ChildStep::kLandlock: return "landlock_restrict_self";
    case ChildStep::kSeccomp: return "seccomp";
    case ChildStep::kExecve: return "execve";
    case ChildStep::kJoinNamespace: return "setns";
    case ChildStep::kEntryClone: return "entry-clone";
  }
  return "unknown";
}

namespace {

constexpr int kMaxCgroupFds = 4;  // one per hierarchy: v2, or v1 memory and pids

// The command, as the child sees it. Built by the parent on its stack: a direct child reads it
// before the parent resumes (CLONE_VFORK); a standby receives its address with the fds, and
// the parent waits on the error pipe until the child has exec'd or failed.
struct LaunchRequest {
  const char* file;
  char* const* argv;
  char* const* envp;
  const char* cwd;  // nullptr: inherit
  const ResourceLimit* rlimits;
  size_t rlimitCount;
  int stdio[3];     // fds in the child's table
  int cgroupFds[kMaxCgroupFds];
  int cgroupFdCount;
  int listenerHandoffFd;  // direct child only (see SandboxPlan::listeners)
  uint64_t callerMask;    // the kernel's sigset_t (64 signals)
  // Standby only: set to 1 in the parent's memory right before execve, so that EOF on the
  // error pipe without it means the standby died (was killed) before the command ran.
  volatile int* execing;
};

}  // namespace

// Everything the child reads besides the command. A direct child's lives on the parent's stack;
// a standby's is owned by its Standby.
struct ChildContext {
  const SandboxPlan* sandbox = nullptr;
  const LaunchRequest* request = nullptr;  // direct child; a standby receives it
  int requestSocket = -1;                  // standby: where the command arrives
  bool confinedEarly = false;              // standby: steps 12-15 before the wait
  int errorPipe = -1;
  int parentPidfd = -1;
  char uidMap[32] = {};
  char gidMap[32] = {};
  struct sock_fprog seccomp = {0, nullptr};
  // Entry child (SandboxPlan::sharedNetworkNamespaceFd): the stack the sandbox child gets, and
  // where the entry child leaves its pid for the parent (shared memory).
  char* sandboxStackTop = nullptr;
  volatile pid_t sandboxPid = -1;
  const cpu_set_t* entryAffinity = nullptr;  // set while the entry child is pinned: the mask to undo it with
};

namespace {

// Returns -errno or the result, as the kernel does.
template <typename... Args>
long Sys(long nr, Args... args) {
  return RawSyscall(nr, (long)(args)...);
}

[[noreturn]] void Exit(int status) {
  for (;;) RawSyscall(SYS_exit_group, status);
}

// Marks a standby's failure before it received its command: the parent spawns afresh.
constexpr int32_t kBeforeCommand = 0x100;

[[noreturn]] void Fail(const ChildContext* c, int32_t step, long ret) {
  int32_t message[2] = {step, static_cast<int32_t>(-ret)};
  Sys(SYS_write, c->errorPipe, message, sizeof message);
  Exit(127);
}

[[noreturn]] void Fail(const ChildContext* c, ChildStep step, long ret) {
  int32_t message[2] = {static_cast<int32_t>(step), static_cast<int32_t>(-ret)};
  Sys(SYS_write, c->errorPipe, message, sizeof message);
  Exit(127);
}

long WriteWhole(const char* path, const char* data) {
  long fd = Sys(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fd;
  size_t len = 0;  // not strlen: no library call in the child
  while (data[len] != '\0') len++;
  long written = Sys(SYS_write, fd, data, len);
  Sys(SYS_close, fd);
  if (written < 0) return written;
  return written == static_cast<long>(len) ? 0 : -EIO;
}

// A user namespace's id maps, written by a process inside it: setgroups first (the kernel
// refuses an unprivileged gid_map before it), then one line each mapping the id to itself.
long WriteIdMaps(const char* uidMap, const char* gidMap) {
  long r = WriteWhole("/proc/self/setgroups", "deny");
  if (r == 0) r = WriteWhole("/proc/self/uid_map", uidMap);
  if (r == 0) r = WriteWhole("/proc/self/gid_map", gidMap);
  return r;
}

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

long ApplyMount(const MountOp& op, int* slots) {
  long r = ApplyMountOp(op, slots);
  if (r < 0 && op.optional && (r == -ENOENT || r == -ENOTDIR)) return 0;
  return r;
}

// A root host must not hand root powers to an untrusted tool. Two halves, so that a root
// standby can do the first before it waits and keep a full permitted set (a capability-less
// uid-0 process cannot ptrace a process holding more) until its command arrives.
// First: lock root out of regaining capabilities at execve (SECBIT_NOROOT) or on setuid
// changes, then empty the bounding and ambient sets.
long LockCapabilities(int lastCap) {
  const unsigned long securebits = SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                   SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_NOROOT |
                                   SECBIT_NOROOT_LOCKED;
  if (long r = Sys(SYS_prctl, PR_SET_SECUREBITS, securebits, 0, 0, 0); r < 0) return r;
  for (int cap = 0; cap <= lastCap; cap++) {
    if (long r = Sys(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0); r < 0 && r != -EINVAL) return r;
  }
  if (long r = Sys(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); r < 0 && r != -EINVAL) return r;
  return 0;
}

// Second: empty the effective, permitted and inheritable sets (one capset).
long ClearCapabilitySets() {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  return Sys(SYS_capset, &header, data);
}

// One message carrying fds: the shape of the child's listener handoff and of a standby's
// request.
template <size_t kFds>
struct FdMessage {
  struct iovec iov;
  char control[CMSG_SPACE(sizeof(int) * kFds)];
  struct msghdr msg;
  FdMessage(void* data, size_t size) {
    memset(control, 0, sizeof control);
    iov = {data, size};
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
  // Attaches fds (at most kFds) for sendmsg.
  void Attach(const int* fds, size_t count) {
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * count);
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
  }
  // The fds a recvmsg delivered; returns how many.
  size_t Received(int* fds) const {
    const struct cmsghdr* cmsg = CMSG_FIRSTHDR(const_cast<struct msghdr*>(&msg));
    if (cmsg == nullptr || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) return 0;
    size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    if (count > kFds) count = kFds;
    memcpy(fds, CMSG_DATA(cmsg), sizeof(int) * count);
    return count;
  }
};
constexpr size_t kRequestFds = 3 + kMaxCgroupFds;

// Steps 1-6: everything that depends only on the sandbox.
void SetUpSandbox(const ChildContext* c) {
  const SandboxPlan& plan = *c->sandbox;

  // 1. Signal dispositions (the mask is still fully blocked, inherited from the parent). The
  // kernel's struct sigaction: handler, flags, restorer, mask.
  struct {
    void* handler;
    unsigned long flags;
    void* restorer;
    uint64_t mask;
  } dfl = {nullptr /* SIG_DFL */, 0, nullptr, 0};
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    Sys(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
  }

  // 2. Session / process group.
  if (plan.newSession) {
    if (long r = Sys(SYS_setsid); r < 0) Fail(c, ChildStep::kSetsid, r);
  } else if (long r = Sys(SYS_setpgid, 0, 0); r < 0) {
    Fail(c, ChildStep::kSetsid, r);
  }

  // 3. Die with the host. The parent may have died between clone and the prctl; its pidfd
  // becomes readable when it exits (getppid() cannot tell inside a pid namespace).
  if (plan.dieWithParent) {
    if (long r = Sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); r < 0) Fail(c, ChildStep::kParentDeathSignal, r);
    if (c->parentPidfd >= 0) {
      struct pollfd p = {c->parentPidfd, POLLIN, 0};
      struct timespec zero = {0, 0};
      if (Sys(SYS_ppoll, &p, 1, &zero, nullptr, 8) > 0) Fail(c, ChildStep::kParentDied, -ESRCH);
    }
  }

  // 4. User namespace maps: the sandbox keeps the caller's uid/gid (no fake root).
  if (plan.writeIdMaps) {
    if (long r = WriteIdMaps(c->uidMap, c->gidMap); r < 0) Fail(c, ChildStep::kUserNamespaceMaps, r);
  }

  // 5. Mount plan, in a private copy of the host's mount tree.
  if (plan.namespaceFlags & CLONE_NEWNS) {
    if (long r = Sys(SYS_mount, nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr); r < 0) Fail(c, ChildStep::kMount, r);
    int slots[kMountSlots];
    for (int& slot : slots) slot = -1;
    for (const MountOp& op : plan.mounts) {
      long r = ApplyMount(op, slots);
      if (r == 0 && op.landlockAccess != 0 && plan.landlockRulesetFd >= 0) {
        r = AddFreshMountRule(plan.landlockRulesetFd, op.target.c_str(), op.landlockAccess);
        if (r == -ENOENT && op.optional) r = 0;
      }
      if (r < 0) Fail(c, ChildStep::kMount, r);
    }
    // A plan attaches every copy it detaches; one left over is closed, not carried to execve.
    for (int slot : slots) {
      if (slot >= 0) Sys(SYS_close, slot);
    }
  }

  // 6. Loopback in a fresh network namespace.
  if (plan.loopbackUp) {
    long s = Sys(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) Fail(c, ChildStep::kLoopback, s);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, "lo", 3);
    ifr.ifr_flags = IFF_UP | IFF_RUNNING;
    if (long r = Sys(SYS_ioctl, s, SIOCSIFFLAGS, &ifr); r < 0) Fail(c, ChildStep::kLoopback, r);
    Sys(SYS_close, s);
  }
}

// 6b. The host's doors inside the namespace: loopback listeners handed to the parent in one
// message (the egress proxy's, then one per forwarded host port).
void HandOverListeners(const ChildContext* c, int handoffFd) {
  const std::vector<ListenerSpec>& specs = c->sandbox->listeners;
  int fds[kMaxListeners];
  size_t count = 0;
  char sent[kMaxListeners];  // sent[i]: spec i is among the fds (in order)
  memset(sent, 0, sizeof sent);
  for (size_t i = 0; i < specs.size() && i < kMaxListeners; i++) {
    const ListenerSpec& spec = specs[i];
    long s = Sys(SYS_socket, spec.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 && spec.ipv6) continue;  // no IPv6 in this namespace
    if (s < 0) Fail(c, ChildStep::kListener, s);
    int one = 1;
    Sys(SYS_setsockopt, s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    long r;
    if (spec.ipv6) {
      Sys(SYS_setsockopt, s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      struct sockaddr_in6 addr;
      memset(&addr, 0, sizeof addr);
      addr.sin6_family = AF_INET6;
      addr.sin6_port = htons(spec.port);
      addr.sin6_addr = in6addr_loopback;
      r = Sys(SYS_bind, s, &addr, sizeof addr);
      if (r == -EADDRNOTAVAIL) {  // IPv6 disabled on lo: tools fall back to 127.0.0.1
        Sys(SYS_close, s);
        continue;
      }
    } else {
      struct sockaddr_in addr;
      memset(&addr, 0, sizeof addr);
      addr.sin_family = AF_INET;
      addr.sin_port = htons(spec.port);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      r = Sys(SYS_bind, s, &addr, sizeof addr);
    }
    if (r == 0) r = Sys(SYS_listen, s, 511);
    if (r < 0) Fail(c, ChildStep::kListener, r);
    fds[count++] = static_cast<int>(s);
    sent[i] = 1;
  }
  FdMessage<kMaxListeners> m(sent, sizeof sent);  // on the child's stack
  m.Attach(fds, count);
  long r = Sys(SYS_sendmsg, handoffFd, &m.msg, MSG_NOSIGNAL);
  if (r != static_cast<long>(sizeof sent)) Fail(c, ChildStep::kListener, r < 0 ? r : -EPROTO);
  for (size_t i = 0; i < count; i++) Sys(SYS_close, fds[i]);
}

// Closes every fd but those in keep (-1 entries ignored).
void CloseAllExcept(int* keep, int count) {
  for (int i = 1; i < count; i++) {  // insertion sort: count is tiny
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  }
  unsigned next = 0;
  for (int i = 0; i < count; i++) {
    if (keep[i] < 0) continue;
    if (static_cast<unsigned>(keep[i]) > next) Sys(SYS_close_range, next, keep[i] - 1, 0);
    next = static_cast<unsigned>(keep[i]) + 1;
  }
  Sys(SYS_close_range, next, ~0U, 0);
}

// A standby's wait for its command. The fds arrive CLOEXEC, in LaunchRequest order.
void ReceiveRequest(const ChildContext* c, LaunchRequest* out) {
  const LaunchRequest* request = nullptr;
  FdMessage<kRequestFds> m(&request, sizeof request);
  long n;
  do {
    n = Sys(SYS_recvmsg, c->requestSocket, &m.msg, MSG_CMSG_CLOEXEC);
  } while (n == -EINTR);
  if (n == 0) Exit(0);  // the host discarded us
  if (n != static_cast<long>(sizeof request) || request == nullptr) Fail(c, ChildStep::kRequest, n < 0 ? n : -EPROTO);
  *out = *request;
  int fds[kRequestFds];
  size_t count = m.Received(fds);
  if (count != 3 + static_cast<size_t>(out->cgroupFdCount)) Fail(c, ChildStep::kRequest, -EPROTO);
  for (int i = 0; i < 3; i++) out->stdio[i] = fds[i];
  for (int i = 0; i < out->cgroupFdCount; i++) out->cgroupFds[i] = fds[3 + i];
  Sys(SYS_close, c->requestSocket);
}

// Steps 12-15: the confinement itself. A standby whose sandbox allows what it does afterwards
// (SandboxPlan::confineStandbyEarly) runs them before it waits, off the command's path.
void ConfineSelf(const ChildContext* c, bool beforeCommand) {
  const SandboxPlan& plan = *c->sandbox;
  auto Fail = [c, beforeCommand](ChildStep step, long e) {
    cordon::Fail(c, static_cast<int32_t>(step) | (beforeCommand ? kBeforeCommand : 0), e);
  };
  // 12. Capabilities (root callers). A standby confining itself early keeps its permitted set
  // until the command arrives (EnterSandbox clears it then).
  if (plan.dropCapabilities) {
    if (long e = LockCapabilities(plan.capLastCap); e < 0) Fail(ChildStep::kCapabilities, e);
    if (!beforeCommand) {
      if (long e = ClearCapabilitySets(); e < 0) Fail(ChildStep::kCapabilities, e);
    }
  }

  // 13.
  if (plan.noNewPrivs) {
    if (long e = Sys(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); e < 0) Fail(ChildStep::kNoNewPrivs, e);
  }

  // 14.
  if (plan.landlockRulesetFd >= 0) {
    if (long e = Sys(SYS_landlock_restrict_self, plan.landlockRulesetFd, plan.landlockFlags); e < 0) {
      Fail(ChildStep::kLandlock, e);
    }
  }

  // 15.
  if (c->seccomp.len > 0) {
    if (long e = Sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, plan.seccompFlags, &c->seccomp); e < 0) {
      Fail(ChildStep::kSeccomp, e);
    }
  }
}

// Steps 7-16: the command.
[[noreturn]] void EnterSandbox(const ChildContext* c, const LaunchRequest& r) {

  // 7. Cgroup: "0" moves the writing process itself (cgroups(7)).
  for (int i = 0; i < r.cgroupFdCount; i++) {
    long w = Sys(SYS_write, r.cgroupFds[i], "0", 1);
    if (w != 1) Fail(c, ChildStep::kCgroup, w < 0 ? w : -EIO);
  }

  // 8. stdio. A source fd below 3 could be overwritten by an earlier dup2, so move such
  // sources out of the way first (libuv does the same).
  int source[3];
  for (int i = 0; i < 3; i++) {
    source[i] = r.stdio[i];
    if (source[i] < 3 && source[i] != i) {
      long moved = Sys(SYS_fcntl, source[i], F_DUPFD_CLOEXEC, 3);
      if (moved < 0) Fail(c, ChildStep::kStdio, moved);
      source[i] = static_cast<int>(moved);
    }
  }
  for (int i = 0; i < 3; i++) {
    if (source[i] == i) {
      // dup2(fd, fd) would keep a CLOEXEC flag; clear it explicitly.
      long flags = Sys(SYS_fcntl, i, F_GETFD);
      if (flags < 0) Fail(c, ChildStep::kStdio, flags);
      if (long e = Sys(SYS_fcntl, i, F_SETFD, flags & ~FD_CLOEXEC); e < 0) Fail(c, ChildStep::kStdio, e);
    } else if (long e = Sys(SYS_dup3, source[i], i, 0); e < 0) {
      Fail(c, ChildStep::kStdio, e);
    }
  }

  // 9. Nothing else of the host crosses execve. The fd table is a copy taken at clone, so an
  // fd another host thread opens later never reaches us.
  if (long e = Sys(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC); e < 0) {
    if (e != -ENOSYS && e != -EINVAL) Fail(c, ChildStep::kCloseRange, e);
    for (int fd = 3; fd < 65536; fd++) Sys(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);  // kernels < 5.11
  }

  // 10. cwd.
  if (r.cwd != nullptr) {
    if (long e = Sys(SYS_chdir, r.cwd); e < 0) Fail(c, ChildStep::kChdir, e);
  }

  // 11. rlimits.
  for (size_t i = 0; i < r.rlimitCount; i++) {
    struct rlimit rl = {r.rlimits[i].soft, r.rlimits[i].hard};
    if (long e = Sys(SYS_prlimit64, 0, r.rlimits[i].resource, &rl, nullptr); e < 0) Fail(c, ChildStep::kRlimit, e);
  }

  if (!c->confinedEarly) {
    ConfineSelf(c, false);
  } else if (c->sandbox->dropCapabilities) {
    // 12, second half, under the filter (src/plan.ts checked it allows capset).
    if (long e = ClearCapabilitySets(); e < 0) Fail(c, ChildStep::kCapabilities, e);
  }

  // 16.
  Sys(SYS_rt_sigprocmask, SIG_SETMASK, &r.callerMask, nullptr, sizeof r.callerMask);
  if (r.execing != nullptr) *r.execing = 1;
  long e = Sys(SYS_execve, r.file, r.argv, r.envp);
  Fail(c, ChildStep::kExecve, e);
}

int ChildMain(void* arg) {
  const ChildContext* c = static_cast<const ChildContext*>(arg);
  if (c->requestSocket >= 0) {
    // A standby drops the host's fds first: it is made while a command runs, and a pipe the
    // host closes (a command's stdin) must reach EOF without waiting for this set-up.
    int keep[4] = {c->errorPipe, c->requestSocket, c->sandbox->landlockRulesetFd, c->parentPidfd};
    CloseAllExcept(keep, 4);
  }
  SetUpSandbox(c);
  if (c->requestSocket < 0) {
    const LaunchRequest& r = *c->request;
    if (!c->sandbox->listeners.empty() && r.listenerHandoffFd >= 0) HandOverListeners(c, r.listenerHandoffFd);
    EnterSandbox(c, r);
  }
  // Named for ps and top, where it would otherwise pass for a second copy of the host.
  Sys(SYS_prctl, PR_SET_NAME, "cordon-standby", 0, 0, 0);
  if (c->confinedEarly) ConfineSelf(c, true);
  // A standby may wait for seconds: it must not hold the host's fds meanwhile (a socket the
  // host closes would stay open, a pipe would never reach EOF). Its stdio arrives with the
  // command.
  int keep[3] = {c->errorPipe, c->requestSocket, c->confinedEarly ? -1 : c->sandbox->landlockRulesetFd};
  CloseAllExcept(keep, 3);
  LaunchRequest request;
  ReceiveRequest(c, &request);
  // A signal sent to the standby while it waited (all blocked) would reach the command at
  // execve: drop them. SIGKILL and SIGSTOP were never pending (they act at once).
  uint64_t all = ~0ULL;
  struct timespec zero = {0, 0};
  for (int i = 0; i < 64 && Sys(SYS_rt_sigtimedwait, &all, nullptr, &zero, sizeof all) > 0; i++) {}
  EnterSandbox(c, request);
}

// The entry child: joins the shared namespaces, clones the sandbox child as the host's child
// (CLONE_PARENT: its exit signal, parent and PR_SET_PDEATHSIG are the host's), tells the host
// its pid and exits. For a direct spawn (CLONE_VFORK) it waits for the sandbox child to exec
// or fail first, so the host resumes with the verdict in the pipe, as without it. It runs
// while the host is suspended (it is itself a vfork child), so glibc's clone() writing errno
// into the host thread's TLS on failure harms nobody.
int EntryMain(void* arg) {
  ChildContext* c = static_cast<ChildContext*>(arg);
  const SandboxPlan& plan = *c->sandbox;
  if (plan.sharedUserNamespaceFd >= 0) {
    if (long r = Sys(SYS_setns, plan.sharedUserNamespaceFd, CLONE_NEWUSER); r < 0) Fail(c, ChildStep::kJoinNamespace, r);
  }
  if (long r = Sys(SYS_setns, plan.sharedNetworkNamespaceFd, CLONE_NEWNET); r < 0) Fail(c, ChildStep::kJoinNamespace, r);
  // The sandbox child must not stay pinned to the host's CPU (its commands would inherit it).
  if (c->entryAffinity != nullptr) {
    if (long r = Sys(SYS_sched_setaffinity, 0, sizeof(cpu_set_t), c->entryAffinity); r < 0) Fail(c, ChildStep::kEntryClone, r);
  }
  // CLONE_PARENT_SETTID: the kernel stores the pid in the host's memory before the child runs,
  // so the host knows its child even if this one is killed right after the clone.
  int flags = CLONE_VM | CLONE_PARENT | CLONE_PARENT_SETTID | SIGCHLD | plan.namespaceFlags |
              (c->requestSocket < 0 ? CLONE_VFORK : 0);
  pid_t pid = clone(ChildMain, c->sandboxStackTop, flags, c, const_cast<pid_t*>(&c->sandboxPid));
  if (pid < 0) Fail(c, ChildStep::kEntryClone, -errno);
  Exit(0);
}

// Our own pidfd, opened once: the child polls it to detect a parent that died before
// PR_SET_PDEATHSIG took effect.
int SelfPidfd() {
  static int fd = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  return fd;
}

constexpr size_t kChildStackSize = 256 * 1024;
constexpr size_t kEntryStackSize = 16 * 1024;

// A pidfd for a child cloned through the entry child. It is ours (CLONE_PARENT) and unreaped, so
// its pid cannot have been reused. Without one it could not be watched: it is killed and reaped
// (by pid, which is still safe), and the error returned.
int OpenChildPidfd(pid_t pid, int* pidfd) {
  *pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (*pidfd >= 0) return 0;
  int err = errno;
  kill(pid, SIGKILL);
  siginfo_t info;
  while (waitid(P_PID, pid, &info, WEXITED) != 0 && errno == EINTR) {}
  return err;
}

// Runs EntryMain in a vfork child on a stack of this thread's and reaps it. Returns the sandbox
// child's pid, or -1 when there is none: the entry child failed (its {step, errno} is in the
// error pipe; *cloneErrno 0) or could not be cloned (*cloneErrno set). The caller has blocked
// signals.
pid_t CloneThroughEntry(ChildContext* c, int* cloneErrno) {
  thread_local std::unique_ptr<char[]> entryStack(new char[kEntryStackSize]);
  c->sandboxPid = -1;
  char* top = entryStack.get() + kEntryStackSize;
  top -= reinterpret_cast<uintptr_t>(top) % 16;
  // It shares our fd table and signal handlers too (nothing to copy, nothing to close at its
  // exit): it opens nothing, and every signal is blocked; the sandbox child gets copies of both.
  // (Not CLONE_FS: setns into a user namespace needs an fs_struct of one's own.)
  *cloneErrno = 0;
  // The entry child runs on this thread's CPU (which it would leave idle, suspended): placed
  // elsewhere by fork balancing, it would queue behind whatever runs there. Only a thread free
  // to run on every online CPU is pinned, and it gets a full mask back (the kernel trims that to
  // its cpuset, now and after the cpuset changes), as does the sandbox child; a thread with an
  // affinity of its own is left alone. A failed restore leaves the host pinned: it is retried
  // with the mask read before.
  static const long online = sysconf(_SC_NPROCESSORS_ONLN);
  static cpu_set_t everyCpu = [] {
    cpu_set_t all;
    memset(&all, 0xff, sizeof all);
    return all;
  }();
  cpu_set_t original, one;
  bool pinned = false;
  if (online > 1 && sched_getaffinity(0, sizeof original, &original) == 0 && CPU_COUNT(&original) == online) {
    int cpu = sched_getcpu();
    CPU_ZERO(&one);
    if (cpu >= 0) CPU_SET(cpu, &one);
    pinned = cpu >= 0 && sched_setaffinity(0, sizeof one, &one) == 0;
  }
  c->entryAffinity = pinned ? &everyCpu : nullptr;
  pid_t entry = clone(EntryMain, top, CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_SIGHAND | SIGCHLD, c);
  int err = errno;
  c->entryAffinity = nullptr;
  if (pinned && sched_setaffinity(0, sizeof everyCpu, &everyCpu) != 0) sched_setaffinity(0, sizeof original, &original);
  if (entry < 0) {
    *cloneErrno = err;
    return -1;
  }
  siginfo_t info;
  while (waitid(P_PID, entry, &info, WEXITED) != 0 && errno == EINTR) {}
  return c->sandboxPid;
}

}  // namespace

int ReceiveListeners(int socketFd, int* fds, size_t specs) {
  char sent[kMaxListeners];
  int received[kMaxListeners];
  FdMessage<kMaxListeners> m(sent, sizeof sent);
  if (recvmsg(socketFd, &m.msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != static_cast<ssize_t>(sizeof sent)) return -1;
  size_t count = m.Received(received);
  size_t next = 0;
  for (size_t i = 0; i < kMaxListeners; i++) {
    int fd = sent[i] && next < count ? received[next++] : -1;
    if (i < specs) fds[i] = fd;
    else if (fd >= 0) close(fd);  // more than asked for: cannot happen, never leak one
  }
  for (; next < count; next++) close(received[next]);
  return 0;
}

namespace {

// The command's strings as the pointer arrays execve takes; alive as long as the command.
struct CommandArrays {
  std::vector<char*> argv;
  std::vector<char*> envp;
  explicit CommandArrays(const CommandPlan& command) {
    argv.reserve(command.argv.size() + 1);
    for (const std::string& a : command.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    envp.reserve(command.envp.size() + 1);
    for (const std::string& e : command.envp) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
};

// -E2BIG when the command has more cgroup fds than a request carries.
int BuildRequest(const CommandPlan& command, const CommandArrays& arrays, LaunchRequest* r) {
  if (command.cgroupProcsFds.size() > static_cast<size_t>(kMaxCgroupFds)) return -E2BIG;
  memset(r, 0, sizeof *r);
  r->file = command.file.c_str();
  r->argv = arrays.argv.data();
  r->envp = arrays.envp.data();
  r->cwd = command.cwd.empty() ? nullptr : command.cwd.c_str();
  r->rlimits = command.rlimits.data();
  r->rlimitCount = command.rlimits.size();
  for (int i = 0; i < 3; i++) r->stdio[i] = command.stdio[i];
  r->cgroupFdCount = static_cast<int>(command.cgroupProcsFds.size());
  for (int i = 0; i < r->cgroupFdCount; i++) r->cgroupFds[i] = command.cgroupProcsFds[i];
  r->listenerHandoffFd = command.listenerHandoffFd;
  return 0;
}

void FillContext(const SandboxPlan& sandbox, ChildContext* c) {
  c->sandbox = &sandbox;
  c->parentPidfd = sandbox.dieWithParent ? SelfPidfd() : -1;
  snprintf(c->uidMap, sizeof c->uidMap, "%u %u 1", sandbox.uid, sandbox.uid);
  snprintf(c->gidMap, sizeof c->gidMap, "%u %u 1", sandbox.gid, sandbox.gid);
  c->seccomp.len = static_cast<unsigned short>(sandbox.seccompProgram.size() / sizeof(struct sock_filter));
  c->seccomp.filter = reinterpret_cast<struct sock_filter*>(const_cast<uint8_t*>(sandbox.seccompProgram.data()));
}

// Reads the child's verdict: 0 at EOF (it exec'd), or the {step, errno} it wrote.
int32_t ReadVerdict(int errorPipe, int32_t* childErrno) {
  int32_t message[2] = {0, 0};
  ssize_t n;
  do {
    n = read(errorPipe, message, sizeof message);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof message)) return 0;
  *childErrno = message[1];
  return message[0];
}

// Waits for the child's exit; through its pidfd when there is one (never a recycled pid).
void Reap(pid_t pid, int pidfd) {
  siginfo_t info;
  if (pidfd >= 0) {
    while (syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, nullptr) != 0 && errno == EINTR) {}
    return;
  }
  while (waitid(P_PID, pid, &info, WEXITED) != 0 && errno == EINTR) {}
}

// Blocks every signal so no handler of the host runs on the child's stack before the child
// has reset the dispositions; the child restores the caller's mask right before execve.
struct SignalsBlocked {
  sigset_t caller;
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &caller);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &caller, nullptr); }
  uint64_t KernelMask() const {
    uint64_t mask;
    memcpy(&mask, &caller, sizeof mask);  // the kernel's sigset_t: the first 64 bits of glibc's
    return mask;
  }
};

constexpr size_t kStandbyStackSize = 64 * 1024;
constexpr size_t kGuardSize = 4096;

// Standby stacks are reused: a fresh mapping costs three syscalls, and its first touches page
// faults in the host's memory (costly on a VM), per standby. One is only given back once its
// standby is gone: reaped, or exec'd into another memory.
std::mutex gStackLock;
std::vector<void*> gFreeStacks;
constexpr size_t kKeptStacks = 4;

void* TakeStandbyStack() {
  {
    std::lock_guard<std::mutex> held(gStackLock);
    if (!gFreeStacks.empty()) {
      void* stack = gFreeStacks.back();
      gFreeStacks.pop_back();
      return stack;
    }
  }
  // A guard page below: an overflow faults instead of writing the host's heap.
  void* stack = mmap(nullptr, kStandbyStackSize + kGuardSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return nullptr;
  mprotect(stack, kGuardSize, PROT_NONE);
  return stack;
}

void GiveBackStandbyStack(void* stack) {
  {
    std::lock_guard<std::mutex> held(gStackLock);
    if (gFreeStacks.size() < kKeptStacks) {
      gFreeStacks.push_back(stack);
      return;
    }
  }
  munmap(stack, kStandbyStackSize + kGuardSize);
}
// How long a launch waits for a standby's verdict before it gives up on it (a stopped or
// stuck standby) and spawns afresh. The command has not run then: EOF comes before any of it.
constexpr int kLaunchTimeoutMs = 2000;

}  // namespace

int Spawn(const SandboxPlan& sandbox, const CommandPlan& command, SpawnResult* result) {
  CommandArrays arrays(command);
  LaunchRequest request;
  if (int rc = BuildRequest(command, arrays, &request); rc < 0) return rc;
  ChildContext c;
  FillContext(sandbox, &c);
  c.request = &request;

  int errorPipe[2];
  if (pipe2(errorPipe, O_CLOEXEC) != 0) return -errno;
  c.errorPipe = errorPipe[1];

  // The stack is only in use while this thread is suspended (CLONE_VFORK), so one per thread.
  thread_local std::unique_ptr<char[]> stack(new char[kChildStackSize]);

  // Through the entry child, the pidfd is opened after the child has exec'd: a slot for it is
  // held from here, so a full fd table fails the spawn before the command runs, not after.
  int pidfdSlot = -1;
  if (sandbox.sharedNetworkNamespaceFd >= 0) {
    pidfdSlot = fcntl(errorPipe[0], F_DUPFD_CLOEXEC, 0);
    if (pidfdSlot < 0) {
      int err = errno;
      close(errorPipe[0]);
      close(errorPipe[1]);
      return -err;
    }
  }

  int pidfd = -1;
  pid_t pid;
  int cloneErrno = 0;
  {
    SignalsBlocked blocked;
    request.callerMask = blocked.KernelMask();
    if (sandbox.sharedNetworkNamespaceFd >= 0) {
      c.sandboxStackTop = stack.get() + kChildStackSize;
      pid = CloneThroughEntry(&c, &cloneErrno);
    } else {
      int flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD | sandbox.namespaceFlags;
      pid = clone(ChildMain, stack.get() + kChildStackSize, flags, &c, &pidfd);
      cloneErrno = pid < 0 ? errno : 0;
    }
  }
  close(errorPipe[1]);
  if (pidfdSlot >= 0) close(pidfdSlot);
  if (pid < 0 && cloneErrno != 0) {
    close(errorPipe[0]);
    return -cloneErrno;
  }
  // pid -1 without cloneErrno: the entry child failed; its {step, errno} is in the pipe.
  if (pid > 0 && sandbox.sharedNetworkNamespaceFd >= 0) {
    if (int err = OpenChildPidfd(pid, &pidfd); err != 0) {
      close(errorPipe[0]);
      return -err;
    }
  }

  // CLONE_VFORK: we resume only after the child exec'd or exited, so the pipe already holds
  // the failure or is at EOF.
  int32_t childErrno = 0;
  int32_t step = ReadVerdict(errorPipe[0], &childErrno);
  close(errorPipe[0]);
  if (step == 0 && pid < 0) {
    step = static_cast<int32_t>(ChildStep::kEntryClone);  // the entry child died without a word (killed)
    childErrno = EPROTO;
  }
  if (step != 0) {
    if (pid > 0) Reap(pid, pidfd);
    if (pidfd >= 0) close(pidfd);
    result->pid = -1;
    result->pidfd = -1;
    result->failedStep = step;
    result->childErrno = childErrno;
    return 0;
  }
  result->pid = pid;
  result->pidfd = pidfd;
  return 0;
}

Standby::Standby() = default;

Standby::~Standby() {
  DiscardStandby(this);  // a child still running must not outlive its stack and context
  if (stack != nullptr) GiveBackStandbyStack(stack);
  if (mountNamespaceFd >= 0) close(mountNamespaceFd);
  if (pidfd >= 0) close(pidfd);
  if (requestSocket >= 0) close(requestSocket);
  if (errorPipe >= 0) close(errorPipe);
}

bool StandbySupported() {
  // A standby closes the host's fds with close_range (Linux 5.9); it is an optimisation, so an
  // older kernel simply spawns every child afresh.
  static const bool closeRange = syscall(SYS_close_range, ~0U, ~0U, 0) == 0 || errno != ENOSYS;
  return kRawSyscalls && closeRange;
}

int StartStandby(std::shared_ptr<const SandboxPlan> sandbox, std::unique_ptr<Standby>* out) {
  if (!StandbySupported()) return -ENOTSUP;
  auto s = std::make_unique<Standby>();
  s->sandbox = std::move(sandbox);
  s->context = std::make_unique<ChildContext>();
  FillContext(*s->sandbox, s->context.get());

  int errorPipe[2];
  if (pipe2(errorPipe, O_CLOEXEC) != 0) return -errno;
  int request[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, request) != 0) {
    int err = errno;
    close(errorPipe[0]);
    close(errorPipe[1]);
    return -err;
  }
  s->errorPipe = errorPipe[0];
  s->requestSocket = request[0];
  s->context->errorPipe = errorPipe[1];
  s->context->requestSocket = request[1];
  s->context->confinedEarly = s->sandbox->confineStandbyEarly;
  s->stack = TakeStandbyStack();
  if (s->stack == nullptr) return -ENOMEM;  // ~Standby closes the pipe and socket

  int pidfd = -1;
  pid_t pid;
  int cloneErrno;
  {
    SignalsBlocked blocked;  // the standby keeps every signal blocked until its execve
    char* top = static_cast<char*>(s->stack) + kGuardSize + kStandbyStackSize;
    if (s->sandbox->sharedNetworkNamespaceFd >= 0) {
      s->context->sandboxStackTop = top;
      pid = CloneThroughEntry(s->context.get(), &cloneErrno);
    } else {
      int flags = CLONE_VM | CLONE_PIDFD | SIGCHLD | s->sandbox->namespaceFlags;
      pid = clone(ChildMain, top, flags, s->context.get(), &pidfd);
      cloneErrno = pid < 0 ? errno : 0;
    }
  }
  close(errorPipe[1]);
  close(request[1]);
  if (pid < 0 && cloneErrno != 0) return -cloneErrno;  // ~Standby closes our ends
  if (pid < 0) {
    // The entry child failed before the clone (or was killed): its {step, errno}, or EOF.
    int32_t childErrno = EPROTO;
    ReadVerdict(s->errorPipe, &childErrno);
    return -childErrno;
  }
  if (s->sandbox->sharedNetworkNamespaceFd >= 0) {
    if (int err = OpenChildPidfd(pid, &pidfd); err != 0) return -err;
  }
  s->pid = pid;
  s->pidfd = pidfd;
  if (s->sandbox->namespaceFlags & CLONE_NEWNS) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/mnt", static_cast<int>(pid));
    s->mountNamespaceFd = open(path, O_RDONLY | O_CLOEXEC);
  }
  *out = std::move(s);
  return 0;
}

int LaunchStandby(Standby* s, const CommandPlan& command, SpawnResult* result, void (*whileWaiting)(void*), void* arg) {
  CommandArrays arrays(command);
  LaunchRequest request;
  if (int rc = BuildRequest(command, arrays, &request); rc < 0) {
    DiscardStandby(s);
    return rc;
  }
  request.listenerHandoffFd = -1;
  volatile int execing = 0;
  request.execing = &execing;
  sigset_t caller;
  pthread_sigmask(SIG_SETMASK, nullptr, &caller);
  memcpy(&request.callerMask, &caller, sizeof request.callerMask);
  int fds[kRequestFds];
  for (int i = 0; i < 3; i++) fds[i] = command.stdio[i];
  for (int i = 0; i < request.cgroupFdCount; i++) fds[3 + i] = command.cgroupProcsFds[i];
  const LaunchRequest* address = &request;
  FdMessage<kRequestFds> m(&address, sizeof address);
  m.Attach(fds, 3 + request.cgroupFdCount);
  ssize_t sent;
  do {
    sent = sendmsg(s->requestSocket, &m.msg, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent != static_cast<ssize_t>(sizeof address)) {
    DiscardStandby(s);  // it died (EPIPE, ECONNREFUSED): its set-up failed, or it was killed
    return kStandbyUnusable;
  }
  if (whileWaiting != nullptr) whileWaiting(arg);  // kLaunchTimeoutMs counts from here: a longer bound, never a shorter one
  // `request` stays on our stack until the verdict: the standby reads it before execve.
  struct pollfd verdict = {s->errorPipe, POLLIN, 0};
  int ready;
  do {
    ready = poll(&verdict, 1, kLaunchTimeoutMs);
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) {
    DiscardStandby(s);  // stopped or stuck before its execve
    return kStandbyUnusable;
  }
  int32_t childErrno = 0;
  int32_t step = ReadVerdict(s->errorPipe, &childErrno);
  if (step == 0 && execing == 0) {
    DiscardStandby(s);  // EOF without reaching execve: it was killed
    return kStandbyUnusable;
  }
  if (step != 0) {
    Reap(s->pid, s->pidfd);
    s->pid = -1;
    result->pid = -1;
    result->pidfd = -1;
    if ((step & kBeforeCommand) || step <= static_cast<int32_t>(ChildStep::kRequest)) return kStandbyUnusable;
    // A root standby's late capset refused (a filter that disallows it slipped past the plan's
    // check): the command has not run; a fresh child drops its capabilities before its filter.
    if (s->context->confinedEarly && step == static_cast<int32_t>(ChildStep::kCapabilities)) return kStandbyUnusable;
    result->failedStep = step;
    result->childErrno = childErrno;
    return 0;
  }
  result->pid = s->pid;
  result->pidfd = s->pidfd;
  result->mountNamespaceFd = s->mountNamespaceFd;
  s->pid = -1;
  s->pidfd = -1;
  s->mountNamespaceFd = -1;
  return 0;
}

namespace {

struct SharedNamespaces {
  bool withUser;
  char uidMap[32];
  char gidMap[32];
  int userFd = -1;
  int netFd = -1;
  int err = 0;
};

// A vfork child sharing our fd table (CLONE_FILES): it makes the namespaces, maps its ids,
// and opens them for us; they outlive it through those fds.
int HolderMain(void* arg) {
  SharedNamespaces* n = static_cast<SharedNamespaces*>(arg);
  if (n->withUser) {
    if (long r = WriteIdMaps(n->uidMap, n->gidMap); r < 0) {
      n->err = static_cast<int>(-r);
      Exit(1);
    }
    long fd = Sys(SYS_openat, AT_FDCWD, "/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      n->err = static_cast<int>(-fd);
      Exit(1);
    }
    n->userFd = static_cast<int>(fd);
  }
  long fd = Sys(SYS_openat, AT_FDCWD, "/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    n->err = static_cast<int>(-fd);
    Exit(1);
  }
  n->netFd = static_cast<int>(fd);
  Exit(0);
}

}  // namespace

int OpenSharedNetworkNamespace(bool withUserNamespace, int* userFd, int* netFd) {
  static std::mutex lock;  // process-wide, like the namespaces: worker threads share them
  static SharedNamespaces made{};
  static bool done = false;
  static int madeErr = 0;
  std::lock_guard<std::mutex> held(lock);
  if (!done) {
    made.withUser = withUserNamespace;
    snprintf(made.uidMap, sizeof made.uidMap, "%u %u 1", getuid(), getuid());
    snprintf(made.gidMap, sizeof made.gidMap, "%u %u 1", getgid(), getgid());
    std::unique_ptr<char[]> stack(new char[kEntryStackSize]);
    char* top = stack.get() + kEntryStackSize;
    top -= reinterpret_cast<uintptr_t>(top) % 16;
    int flags = CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD | CLONE_NEWNET | (withUserNamespace ? CLONE_NEWUSER : 0);
    pid_t pid;
    {
      SignalsBlocked blocked;
      pid = clone(HolderMain, top, flags, &made);
    }
    if (pid < 0) {
      madeErr = errno;
    } else {
      siginfo_t info;
      while (waitid(P_PID, pid, &info, WEXITED) != 0 && errno == EINTR) {}
      madeErr = made.err;
      if (madeErr == 0 && (made.netFd < 0 || (withUserNamespace && made.userFd < 0))) madeErr = EPROTO;
      if (madeErr != 0) {
        if (made.userFd >= 0) close(made.userFd);
        if (made.netFd >= 0) close(made.netFd);
        made.userFd = made.netFd = -1;
      }
    }
    done = true;
  }
  if (madeErr != 0) return -madeErr;
  if (made.withUser != withUserNamespace) return -EINVAL;
  *userFd = made.userFd;
  *netFd = made.netFd;
  return 0;
}

void DiscardStandby(Standby* s) {
  if (s->pid >= 0) {
    if (s->requestSocket >= 0) {
      close(s->requestSocket);  // a waiting standby reads EOF and exits
      s->requestSocket = -1;
    }
    syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, nullptr, 0);
    Reap(s->pid, s->pidfd);
    s->pid = -1;
  }
  // Its mount tree goes with this fd: here, on the caller's thread (the threadpool for the
  // binding's discards), not wherever the Standby is deleted.
  if (s->mountNamespaceFd >= 0) {
    close(s->mountNamespaceFd);
    s->mountNamespaceFd = -1;
  }
}

}  // namespace cordon
