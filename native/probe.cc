// Kernel capability probe (see probe.h). References: landlock(7), seccomp(2),
// user_namespaces(7), cgroups(7). Each check degrades to "absent" on any error: a kernel
// lacking a feature must produce a report, never a crash.
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#ifndef LANDLOCK_CREATE_RULESET_ERRATA
#define LANDLOCK_CREATE_RULESET_ERRATA (1U << 1)  // Linux 6.15
#endif
#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL 2
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace cordon {
namespace {

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

bool SeccompActionAvailable(uint32_t action) {
  return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

// Result of the trial child; written by the child through the shared address space
// (CLONE_VM), read by the parent after the child has exited.
struct NamespaceTrial {
  int stage = 0;   // how far the child got
  int err = 0;
  bool mounted = false;
  bool proc = false;
  bool loopback = false;
  uid_t uid = 0;
  gid_t gid = 0;
  bool wantUserns = true;
};

bool WriteFile(const char* path, const char* data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t len = strlen(data);
  bool ok = write(fd, data, len) == (ssize_t)len;
  close(fd);
  return ok;
}

// Runs in the trial child: new user (non-root only), mount, pid, net and ipc namespaces.
// Only raw syscalls and stack buffers: it shares the parent's memory.
int NamespaceTrialChild(void* arg) {
  NamespaceTrial* t = static_cast<NamespaceTrial*>(arg);
  char buf[64];
  t->stage = 1;
  if (t->wantUserns) {
    if (!WriteFile("/proc/self/setgroups", "deny")) { t->err = errno; _exit(1); }
    snprintf(buf, sizeof buf, "%u %u 1", t->uid, t->uid);
    if (!WriteFile("/proc/self/uid_map", buf)) { t->err = errno; _exit(1); }
    snprintf(buf, sizeof buf, "%u %u 1", t->gid, t->gid);
    if (!WriteFile("/proc/self/gid_map", buf)) { t->err = errno; _exit(1); }
  }
  t->stage = 2;
  // AppArmor's unprivileged_userns profile lets the clone succeed but refuses mounts.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
      mount("cordon-probe", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=4k") == 0) {
    t->mounted = true;
  }
  if (t->mounted && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0) {
    t->proc = true;
  }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s >= 0) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_UP | IFF_RUNNING;
    t->loopback = ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    close(s);
  }
  t->stage = 3;
  _exit(0);
}

#if defined(__x86_64__)
// An x32 getpid: ENOSYS when the x32 ABI is disabled (CONFIG_X86_X32_ABI off or syscall.x32=n).
// Only made where no seccomp filter runs on this thread yet: a host under one that kills x32
// calls (systemd's SystemCallArchitectures=native, some container runtimes) would die of it,
// and a child making it instead would dump core with the host's memory (CLONE_VM) or a copy of
// it. Under a filter, x32 counts as not live: that filter, or the sandbox's own, refuses it.
static bool ProbeX32() {
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0) return false;
  return syscall(0x40000000 | 39) >= 0;
}
#endif

void ProbeNamespaces(KernelProbe& p) {
  NamespaceTrial trial;
  trial.uid = getuid();
  trial.gid = getgid();
  // Root can create every namespace without a user namespace; cordon then skips the userns
  // (it would map root to root anyway), so probe what the spawn will actually do.
  trial.wantUserns = !p.isRoot;
  static const size_t kStackSize = 64 * 1024;
  std::vector<char> stack(kStackSize);
  int flags = CLONE_VM | CLONE_VFORK | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | SIGCHLD;
  if (trial.wantUserns) flags |= CLONE_NEWUSER;
  pid_t pid = clone(NamespaceTrialChild, stack.data() + kStackSize, flags, &trial);
  if (pid < 0) {
    p.userNamespacesErrno = errno;
    // A kernel without CONFIG_*_NS fails the whole combination: try the user namespace alone.
    if (trial.wantUserns) {
      pid = clone(NamespaceTrialChild, stack.data() + kStackSize,
                  CLONE_VM | CLONE_VFORK | CLONE_NEWUSER | SIGCHLD, &trial);
      if (pid > 0) {
        int status;
        while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {}
        p.userNamespaces = trial.stage >= 2;
      }
    }
    return;
  }
  int status = 0;
  while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {}
  if (trial.wantUserns) {
    p.userNamespaces = trial.stage >= 2;
  } else {
    // Root: the spawn needs no user namespace, but report whether one can be made.
    NamespaceTrial userOnly;
    userOnly.uid = trial.uid;
    userOnly.gid = trial.gid;
    pid_t upid = clone(NamespaceTrialChild, stack.data() + kStackSize,
                       CLONE_VM | CLONE_VFORK | CLONE_NEWUSER | SIGCHLD, &userOnly);
    if (upid > 0) {
      int ustatus;
      while (waitpid(upid, &ustatus, __WALL) < 0 && errno == EINTR) {}
      p.userNamespaces = userOnly.stage >= 2;
    }
  }
  if (trial.stage < 2) p.userNamespacesErrno = trial.err;
  p.mountNamespace = trial.mounted;
  p.pidNamespace = trial.proc;
  p.networkNamespace = trial.loopback;
  p.ipcNamespace = trial.stage >= 2;
}

void ProbeCgroups(KernelProbe& p) {
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mounts, line)) {
    // mountinfo: id parent major:minor root mountpoint options ... - fstype source superopts
    std::istringstream fields(line);
    std::string id, parent, dev, root, mountPoint;
    fields >> id >> parent >> dev >> root >> mountPoint;
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype == "cgroup2" && !p.cgroupV2.mounted) {
      p.cgroupV2.mounted = true;
      p.cgroupV2.mountPoint = mountPoint;
    }
  }
  std::ifstream self("/proc/self/cgroup");
  while (std::getline(self, line)) {
    // hierarchy-id:controller-list:cgroup-path
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (line.compare(0, 2, "0:") == 0 && controllers.empty() && p.cgroupV2.mounted) {
      p.cgroupV2.ownCgroup = p.cgroupV2.mountPoint + (path == "/" ? "" : path);
    } else if (controllers == "memory") {
      p.cgroupV1.memoryDir = "/sys/fs/cgroup/memory" + (path == "/" ? "" : path);
    } else if (controllers == "pids") {
      p.cgroupV1.pidsDir = "/sys/fs/cgroup/pids" + (path == "/" ? "" : path);
    }
  }
  if (!p.cgroupV2.ownCgroup.empty()) {
    const std::string& dir = p.cgroupV2.ownCgroup;
    p.cgroupV2.writable = access(dir.c_str(), W_OK) == 0 &&
                          access((dir + "/cgroup.procs").c_str(), W_OK) == 0;
    p.cgroupV2.controllers = ReadFirstLine(dir + "/cgroup.controllers");
    // The root cgroup has no cgroup.kill file; every other cgroup has it from Linux 5.14.
    int major = 0, minor = 0;
    sscanf(p.release.c_str(), "%d.%d", &major, &minor);
    p.cgroupV2.hasKill = access((dir + "/cgroup.kill").c_str(), F_OK) == 0 ||
                         major > 5 || (major == 5 && minor >= 14);
  }
  auto v1Writable = [](const std::string& dir) {
    return !dir.empty() && access(dir.c_str(), W_OK) == 0;
  };
  p.cgroupV1.memoryWritable = v1Writable(p.cgroupV1.memoryDir);
  p.cgroupV1.pidsWritable = v1Writable(p.cgroupV1.pidsDir);
}

}  // namespace

KernelProbe ProbeKernel() {
  KernelProbe p;
  p.isRoot = geteuid() == 0;

  struct utsname u;
  if (uname(&u) == 0) {
    p.arch = u.machine;
    p.release = u.release;
  }

  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi > 0) {
    p.landlockAbi = (int)abi;
    long errata = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_ERRATA);
    p.landlockErrata = errata > 0 ? (int)errata : 0;
  } else {
    p.landlockErrno = errno;
  }

  p.seccompFilter = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 &&
                    SeccompActionAvailable(SECCOMP_RET_ERRNO);
  p.seccompKillProcess = SeccompActionAvailable(SECCOMP_RET_KILL_PROCESS);
  p.seccompLog = SeccompActionAvailable(SECCOMP_RET_LOG);
  p.seccompUserNotif = SeccompActionAvailable(SECCOMP_RET_USER_NOTIF);

#if defined(__x86_64__)
  p.x32Syscalls = ProbeX32();
#endif

  int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (pidfd >= 0) {
    p.pidfd = true;
    close(pidfd);
  }
  p.closeRange = syscall(SYS_close_range, ~0U, ~0U, 0) == 0;

  ProbeNamespaces(p);
  ProbeCgroups(p);
  return p;
}

}  // namespace cordon
