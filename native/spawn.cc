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
//   5 mounts      with CLONE_NEWNS: the mount plan (protected dirs read-only, masks); must
//                 precede Landlock, which forbids mount
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
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

namespace cordon {

const char* ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : "EUNKNOWN";
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
  }
  return "unknown";
}

namespace {

// Everything the child reads. Built on the parent's stack before clone; the child sees it
// through the shared address space.
struct ChildContext {
  const SpawnPlan* plan;
  const char* file;
  char* const* argv;
  char* const* envp;
  int errorPipe;
  int parentPidfd;
  sigset_t callerMask;
  char uidMap[32];
  char gidMap[32];
  struct sock_fprog seccomp;
};

[[noreturn]] void Fail(const ChildContext* c, ChildStep step, int err) {
  int32_t message[2] = {static_cast<int32_t>(step), err};
  ssize_t unused = write(c->errorPipe, message, sizeof message);
  (void)unused;
  _exit(127);
}

bool WriteWhole(const char* path, const char* data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t len = strlen(data);
  bool ok = write(fd, data, len) == static_cast<ssize_t>(len);
  int saved = errno;
  close(fd);
  errno = saved;
  return ok;
}

// Read-only remount of a bind mount. In a user namespace the kernel refuses a remount that
// would clear a locked nosuid/nodev/noexec/atime flag of the source mount, so keep them
// (bubblewrap does the same; debuerreotype#197).
bool RemountReadOnly(const char* target, unsigned long extra) {
  struct statfs st;
  if (statfs(target, &st) != 0) return false;
  unsigned long keep = st.f_flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                                     MS_NODIRATIME | MS_RELATIME);
  return mount(nullptr, target, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | keep | extra,
               nullptr) == 0;
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
bool SetMountAttributes(const char* target, unsigned flags, uint64_t set, uint64_t clear) {
  MountAttr attr = {set, clear, 0, 0};
  return syscall(SYS_mount_setattr, AT_FDCWD, target, flags, &attr, sizeof attr) == 0;
}

bool ApplyMountOp(const MountOp& op) {
  const char* target = op.target.c_str();
  switch (op.kind) {
    case MountOp::kBindReadOnly:
      return mount(target, target, nullptr, MS_BIND | MS_REC, nullptr) == 0 &&
             RemountReadOnly(target, op.preservedFlags);
    case MountOp::kTmpfsMask:
      // Read-only and empty: a mask that the sandbox could write into would be a scratch
      // space that looks like the secret's directory (sandbox-runtime#149).
      return mount("cordon-mask", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   "mode=000,size=4k") == 0;
    case MountOp::kFileMask:
      return mount(op.source.c_str(), target, nullptr, MS_BIND, nullptr) == 0 &&
             RemountReadOnly(target, MS_NOSUID | MS_NODEV | MS_NOEXEC);
    case MountOp::kProc:
      return mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0;
    case MountOp::kTmpfs:
      return mount("cordon-tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") == 0;
    case MountOp::kReadOnlyTree:
      return SetMountAttributes(target, AT_SYMLINK_NOFOLLOW | kAtRecursive, kMountAttrReadOnly, 0);
    case MountOp::kBindWritable:
      // Only the root's own mount turns writable: mounts beneath it keep the read-only
      // attribute the tree got. A root the host mounted read-only stays read-only
      // (preservedFlags carries MS_RDONLY): a root caller could otherwise clear it here.
      return mount(target, target, nullptr, MS_BIND | MS_REC, nullptr) == 0 &&
             SetMountAttributes(target, AT_SYMLINK_NOFOLLOW, kMountAttrNoSuid | kMountAttrNoDev,
                                (op.preservedFlags & MS_RDONLY) ? 0 : kMountAttrReadOnly);
  }
  errno = EINVAL;
  return false;
}

bool ApplyMount(const MountOp& op) {
  if (ApplyMountOp(op)) return true;
  return op.optional && (errno == ENOENT || errno == ENOTDIR);
}

bool DropCapabilities(int lastCap) {
  // Lock root out of regaining capabilities at execve (SECBIT_NOROOT) or on setuid changes,
  // then empty the bounding, ambient, effective, permitted and inheritable sets.
  const unsigned long securebits = SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                   SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_NOROOT |
                                   SECBIT_NOROOT_LOCKED;
  if (prctl(PR_SET_SECUREBITS, securebits, 0, 0, 0) != 0) return false;
  for (int cap = 0; cap <= lastCap; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return false;
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return false;
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  return syscall(SYS_capset, &header, data) == 0;
}

// One message carrying one fd: the shape the child's listener handoff sends and the parent
// receives.
struct FdMessage {
  char byte = 'L';
  struct iovec iov;
  char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg;
  FdMessage() {
    memset(control, 0, sizeof control);
    iov = {&byte, 1};
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
};

int ChildMain(void* arg) {
  const ChildContext* c = static_cast<const ChildContext*>(arg);
  const SpawnPlan& plan = *c->plan;

  // 1. Signal dispositions (the mask is still fully blocked, inherited from the parent).
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &dfl, nullptr);  // EINVAL for glibc-reserved signals: harmless
  }

  // 2. Session / process group.
  if (plan.newSession) {
    if (setsid() < 0) Fail(c, ChildStep::kSetsid, errno);
  } else if (setpgid(0, 0) != 0) {
    Fail(c, ChildStep::kSetsid, errno);
  }

  // 3. Die with the host. The parent may have died between clone and the prctl; its pidfd
  // becomes readable when it exits (getppid() cannot tell inside a pid namespace).
  if (plan.dieWithParent) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) Fail(c, ChildStep::kParentDeathSignal, errno);
    if (c->parentPidfd >= 0) {
      struct pollfd p = {c->parentPidfd, POLLIN, 0};
      if (poll(&p, 1, 0) > 0) Fail(c, ChildStep::kParentDied, ESRCH);
    }
  }

  // 4. User namespace maps: the sandbox keeps the caller's uid/gid (no fake root).
  if (plan.writeIdMaps) {
    if (!WriteWhole("/proc/self/setgroups", "deny") || !WriteWhole("/proc/self/uid_map", c->uidMap) ||
        !WriteWhole("/proc/self/gid_map", c->gidMap)) {
      Fail(c, ChildStep::kUserNamespaceMaps, errno);
    }
  }

  // 5. Mount plan, in a private copy of the host's mount tree.
  if (plan.namespaceFlags & CLONE_NEWNS) {
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) Fail(c, ChildStep::kMount, errno);
    for (const MountOp& op : plan.mounts) {
      if (!ApplyMount(op)) Fail(c, ChildStep::kMount, errno);
    }
  }

  // 6. Loopback in a fresh network namespace.
  if (plan.loopbackUp) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) Fail(c, ChildStep::kLoopback, errno);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, "lo", 3);
    ifr.ifr_flags = IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) Fail(c, ChildStep::kLoopback, errno);
    close(s);
  }

  // 6b. The proxy's door inside the namespace: a listener handed to the parent.
  if (plan.listenerPort != 0 && plan.listenerHandoffFd >= 0) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) Fail(c, ChildStep::kListener, errno);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(plan.listenerPort);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0 || listen(s, 511) != 0) {
      Fail(c, ChildStep::kListener, errno);
    }
    FdMessage m;  // on the child's stack
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&m.msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &s, sizeof(int));
    if (sendmsg(plan.listenerHandoffFd, &m.msg, MSG_NOSIGNAL) != 1) Fail(c, ChildStep::kListener, errno);
    close(s);
  }

  // 7. Cgroup: "0" moves the writing process itself (cgroups(7)).
  for (int fd : plan.cgroupProcsFds) {
    if (write(fd, "0", 1) != 1) Fail(c, ChildStep::kCgroup, errno);
  }

  // 8. stdio. A source fd below 3 could be overwritten by an earlier dup2, so move such
  // sources out of the way first (libuv does the same).
  int source[3];
  for (int i = 0; i < 3; i++) {
    source[i] = plan.stdio[i];
    if (source[i] < 3 && source[i] != i) {
      source[i] = fcntl(source[i], F_DUPFD_CLOEXEC, 3);
      if (source[i] < 0) Fail(c, ChildStep::kStdio, errno);
    }
  }
  for (int i = 0; i < 3; i++) {
    if (source[i] == i) {
      // dup2(fd, fd) would keep a CLOEXEC flag; clear it explicitly.
      int flags = fcntl(i, F_GETFD);
      if (flags < 0 || fcntl(i, F_SETFD, flags & ~FD_CLOEXEC) != 0) Fail(c, ChildStep::kStdio, errno);
    } else if (dup2(source[i], i) < 0) {
      Fail(c, ChildStep::kStdio, errno);
    }
  }

  // 9. Nothing else of the host crosses execve. The fd table is a copy taken at clone, so an
  // fd another host thread opens later never reaches us.
  if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    if (errno != ENOSYS && errno != EINVAL) Fail(c, ChildStep::kCloseRange, errno);
    for (int fd = 3; fd < 65536; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);  // kernels < 5.11
  }

  // 10. cwd.
  if (!plan.cwd.empty() && chdir(plan.cwd.c_str()) != 0) Fail(c, ChildStep::kChdir, errno);

  // 11. rlimits.
  for (const ResourceLimit& limit : plan.rlimits) {
    struct rlimit rl = {limit.soft, limit.hard};
    if (setrlimit(limit.resource, &rl) != 0) Fail(c, ChildStep::kRlimit, errno);
  }

  // 12. A root host must not hand root powers to an untrusted tool.
  if (plan.dropCapabilities && !DropCapabilities(plan.capLastCap)) Fail(c, ChildStep::kCapabilities, errno);

  // 13.
  if (plan.noNewPrivs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Fail(c, ChildStep::kNoNewPrivs, errno);

  // 14.
  if (plan.landlockRulesetFd >= 0 &&
      syscall(SYS_landlock_restrict_self, plan.landlockRulesetFd, plan.landlockFlags) != 0) {
    Fail(c, ChildStep::kLandlock, errno);
  }

  // 15.
  if (c->seccomp.len > 0 &&
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, plan.seccompFlags, &c->seccomp) != 0) {
    Fail(c, ChildStep::kSeccomp, errno);
  }

  // 16.
  sigprocmask(SIG_SETMASK, &c->callerMask, nullptr);
  execve(c->file, c->argv, c->envp);
  Fail(c, ChildStep::kExecve, errno);
}

// Our own pidfd, opened once: the child polls it to detect a parent that died before
// PR_SET_PDEATHSIG took effect.
int SelfPidfd() {
  static int fd = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  return fd;
}

constexpr size_t kChildStackSize = 256 * 1024;

}  // namespace

int ReceiveFd(int socketFd) {
  FdMessage m;
  if (recvmsg(socketFd, &m.msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1) return -1;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&m.msg);
  if (cmsg == nullptr || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
  return fd;
}

int Spawn(const SpawnPlan& plan, SpawnResult* result) {
  std::vector<char*> argv;
  argv.reserve(plan.argv.size() + 1);
  for (const std::string& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(plan.envp.size() + 1);
  for (const std::string& e : plan.envp) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  ChildContext c;
  memset(&c, 0, sizeof c);
  c.plan = &plan;
  c.file = plan.file.c_str();
  c.argv = argv.data();
  c.envp = envp.data();
  c.parentPidfd = plan.dieWithParent ? SelfPidfd() : -1;
  snprintf(c.uidMap, sizeof c.uidMap, "%u %u 1", plan.uid, plan.uid);
  snprintf(c.gidMap, sizeof c.gidMap, "%u %u 1", plan.gid, plan.gid);
  c.seccomp.len = static_cast<unsigned short>(plan.seccompProgram.size() / sizeof(struct sock_filter));
  c.seccomp.filter = reinterpret_cast<struct sock_filter*>(const_cast<uint8_t*>(plan.seccompProgram.data()));

  int errorPipe[2];
  if (pipe2(errorPipe, O_CLOEXEC) != 0) return -errno;
  c.errorPipe = errorPipe[1];

  // The stack is only in use while this thread is suspended (CLONE_VFORK), so one per thread.
  thread_local std::unique_ptr<char[]> stack(new char[kChildStackSize]);

  // Block every signal so no handler of the host runs on the child's stack before the child
  // has reset the dispositions; the child restores this mask right before execve.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &c.callerMask);

  int pidfd = -1;
  int flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD | plan.namespaceFlags;
  pid_t pid = clone(ChildMain, stack.get() + kChildStackSize, flags, &c, &pidfd);
  int cloneErrno = errno;

  pthread_sigmask(SIG_SETMASK, &c.callerMask, nullptr);
  close(errorPipe[1]);

  if (pid < 0) {
    close(errorPipe[0]);
    return -cloneErrno;
  }

  // CLONE_VFORK: we resume only after the child exec'd or exited, so the pipe already holds
  // the failure or is at EOF.
  int32_t message[2] = {0, 0};
  ssize_t n;
  do {
    n = read(errorPipe[0], message, sizeof message);
  } while (n < 0 && errno == EINTR);
  close(errorPipe[0]);

  if (n == static_cast<ssize_t>(sizeof message)) {
    siginfo_t info;
    while (waitid(P_PID, pid, &info, WEXITED) != 0 && errno == EINTR) {}
    if (pidfd >= 0) close(pidfd);
    result->pid = -1;
    result->pidfd = -1;
    result->failedStep = message[0];
    result->childErrno = message[1];
    return 0;
  }
  result->pid = pid;
  result->pidfd = pidfd;
  return 0;
}

}  // namespace cordon
