// The sandboxed child, between clone and execve. It is created with clone(CLONE_VM), so it
// shares the host's memory: it runs a straight line of raw syscalls (raw_syscall.h) on a stack
// the parent gave it, reads only what the parent prepared (plan.h, child.h), writes only to its
// own stack, the error pipe and the few words of shared memory named in child.h, allocates
// nothing, takes no lock and throws nothing (libuv src/unix/process.c; glibc posix_spawn).
//
// The steps, in the order the child performs them, numbered as ChildStep (spawn.h) numbers
// them, each with the reason for its place:
//  The entry child, only with a shared network namespace (SandboxPlan::sharedNetworkNamespaceFd):
//   1 setns           join the shared user namespace (if any), then the network namespace
//   2 entry-clone     undo the CPU pinning, clone the sandbox child as the host's child
//                     (CLONE_PARENT), exit
//  The sandbox child, what depends only on the sandbox:
//   3 signals         reset every disposition to SIG_DFL: a handler of Node's must never run in
//                     the child (the mask stays fully blocked until just before execve)
//   4 setsid          own session and process group: the tree can be signalled as a group and
//                     has no controlling terminal (TIOCSTI against the host's tty is moot)
//   5 pdeathsig       PR_SET_PDEATHSIG(SIGKILL), then
//   6 parent-died     check the parent did not die before it
//   7 userns-maps     with CLONE_NEWUSER: map our uid/gid to themselves (files keep owners)
//   8 mount           with CLONE_NEWNS: the mount plan (src/mount-plan.ts lists the ops and the
//                     reason for each place), plus the Landlock rules of the file systems it
//                     mounts fresh; must precede Landlock, which forbids mount
//   9 loopback        with CLONE_NEWNET: bring lo up so the sandbox's own 127.0.0.1 works
//  Then what depends on the command:
//  10 proxy-listener  a direct child with listeners: make them in its network namespace and
//                     send them to the parent (fd_message.h)
//  11 standby-request a standby only: wait for the command (below)
//  12 cgroup          join the child's cgroup before anything can fork
//  13 stdio           dup2 the planned fds onto 0, 1, 2
//  14 close_range     mark every other fd CLOEXEC: nothing of the host survives execve, while
//                     the error pipe and the Landlock ruleset stay usable until then
//  15 chdir           after the mounts, so the cwd resolves in the sandbox's view
//  16 setrlimit
//  17 capabilities    root callers: drop every capability so exec does not regain them
//  18 no_new_privs    needed by Landlock and unprivileged seccomp; setuid binaries run without
//                     privilege
//  19 landlock_restrict_self  the ruleset prepared and cached by the parent
//  20 seccomp         last: after it only execve (allowed by every profile) must still pass
//  21 execve          with the caller's signal mask restored
// Any failure writes {step, errno} to the CLOEXEC error pipe and exits 127; EOF on the pipe
// means execve succeeded.
//
// A standby child (standby.h) runs 3-9 ahead of time, then blocks in recvmsg for the command
// (11: its address in the shared memory, and its stdio and cgroup fds by SCM_RIGHTS) and runs
// 12-21. When the seccomp filter allows every syscall of 12-16 and 21 unconditionally (and
// capset, for root callers; src/plan.ts checks), the standby runs 17-20 before 11: none of
// 12-16 needs a syscall Landlock governs or one the filter refuses, and attaching the filter
// (a BPF JIT, ~0.3 ms here) leaves the command's path. A root standby does only the first half
// of 17 early (securebits, bounding and ambient sets) and keeps its permitted set while it
// waits, so that no capability-less uid-0 process can ptrace it (it shares the host's memory);
// the capset that empties it runs right before execve. A standby runs beside the host rather
// than while it is suspended, so every step is a raw syscall (glibc would write errno into the
// host thread's TLS).
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "capabilities.h"
#include "fd_message.h"
#include "id_maps.h"
#include "landlock.h"
#include "mounts.h"
#include "raw_syscall.h"
#include "spawn.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

namespace cordon {

const char* ChildStepName(int32_t step) {
  switch (static_cast<ChildStep>(step)) {
    case ChildStep::kJoinNamespace: return "setns";
    case ChildStep::kEntryClone: return "entry-clone";
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
  }
  return "unknown";
}

namespace {

// Reports {step, errno} on the error pipe and exits; ret is the failed call's -errno.
[[noreturn]] void Fail(const ChildContext* c, int32_t step, long ret) {
  int32_t message[2] = {step, static_cast<int32_t>(-ret)};
  Sys(SYS_write, c->errorPipe, message, sizeof message);
  RawExit(127);
}

[[noreturn]] void Fail(const ChildContext* c, ChildStep step, long ret) {
  Fail(c, static_cast<int32_t>(step), ret);
}

// Steps 3-9: everything that depends only on the sandbox.
void SetUpSandbox(const ChildContext* c) {
  const SandboxPlan& plan = *c->sandbox;

  // 3. Signal dispositions (the mask is still fully blocked, inherited from the parent). The
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

  // 4. Session / process group.
  if (plan.newSession) {
    if (long r = Sys(SYS_setsid); r < 0) Fail(c, ChildStep::kSetsid, r);
  } else if (long r = Sys(SYS_setpgid, 0, 0); r < 0) {
    Fail(c, ChildStep::kSetsid, r);
  }

  // 5, 6. Die with the host. The parent may have died between clone and the prctl; its pidfd
  // becomes readable when it exits (getppid() cannot tell inside a pid namespace).
  if (plan.dieWithParent) {
    if (long r = Sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); r < 0) Fail(c, ChildStep::kParentDeathSignal, r);
    if (c->parentPidfd >= 0) {
      struct pollfd p = {c->parentPidfd, POLLIN, 0};
      struct timespec zero = {0, 0};
      if (Sys(SYS_ppoll, &p, 1, &zero, nullptr, 8) > 0) Fail(c, ChildStep::kParentDied, -ESRCH);
    }
  }

  // 7. User namespace maps: the sandbox keeps the caller's uid/gid (no fake root).
  if (plan.writeIdMaps) {
    if (long r = WriteIdMaps(c->uidMap, c->gidMap); r < 0) Fail(c, ChildStep::kUserNamespaceMaps, r);
  }

  // 8. Mount plan, in a private copy of the host's mount tree.
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

  // 9. Loopback in a fresh network namespace.
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

// 10. The host's doors inside the namespace: loopback listeners handed to the parent in one
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
  if (n == 0) RawExit(0);  // the host discarded us
  if (n != static_cast<long>(sizeof request) || request == nullptr) Fail(c, ChildStep::kRequest, n < 0 ? n : -EPROTO);
  *out = *request;
  int fds[kRequestFds];
  size_t count = m.Received(fds);
  if (count != 3 + static_cast<size_t>(out->cgroupFdCount)) Fail(c, ChildStep::kRequest, -EPROTO);
  for (int i = 0; i < 3; i++) out->stdio[i] = fds[i];
  for (int i = 0; i < out->cgroupFdCount; i++) out->cgroupFds[i] = fds[3 + i];
  Sys(SYS_close, c->requestSocket);
}

// Steps 17-20: the confinement itself. A standby whose sandbox allows what it does afterwards
// (SandboxPlan::confineStandbyEarly) runs them before it waits, off the command's path.
void ConfineSelf(const ChildContext* c, bool beforeCommand) {
  const SandboxPlan& plan = *c->sandbox;
  auto Fail = [c, beforeCommand](ChildStep step, long e) {
    cordon::Fail(c, static_cast<int32_t>(step) | (beforeCommand ? kBeforeCommand : 0), e);
  };
  // 17. Capabilities (root callers). A standby confining itself early keeps its permitted set
  // until the command arrives (EnterSandbox clears it then).
  if (plan.dropCapabilities) {
    if (long e = LockCapabilities(plan.capLastCap); e < 0) Fail(ChildStep::kCapabilities, e);
    if (!beforeCommand) {
      if (long e = ClearCapabilitySets(); e < 0) Fail(ChildStep::kCapabilities, e);
    }
  }

  // 18.
  if (plan.noNewPrivs) {
    if (long e = Sys(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); e < 0) Fail(ChildStep::kNoNewPrivs, e);
  }

  // 19.
  if (plan.landlockRulesetFd >= 0) {
    if (long e = Sys(SYS_landlock_restrict_self, plan.landlockRulesetFd, plan.landlockFlags); e < 0) {
      Fail(ChildStep::kLandlock, e);
    }
  }

  // 20.
  if (c->seccomp.len > 0) {
    if (long e = Sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, plan.seccompFlags, &c->seccomp); e < 0) {
      Fail(ChildStep::kSeccomp, e);
    }
  }
}

// Steps 12-21: the command.
[[noreturn]] void EnterSandbox(const ChildContext* c, const LaunchRequest& r) {

  // 12. Cgroup: "0" moves the writing process itself (cgroups(7)).
  for (int i = 0; i < r.cgroupFdCount; i++) {
    long w = Sys(SYS_write, r.cgroupFds[i], "0", 1);
    if (w != 1) Fail(c, ChildStep::kCgroup, w < 0 ? w : -EIO);
  }

  // 13. stdio. A source fd below 3 could be overwritten by an earlier dup2, so move such
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

  // 14. Nothing else of the host crosses execve. The fd table is a copy taken at clone, so an
  // fd another host thread opens later never reaches us.
  if (long e = Sys(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC); e < 0) {
    if (e != -ENOSYS && e != -EINVAL) Fail(c, ChildStep::kCloseRange, e);
    for (int fd = 3; fd < 65536; fd++) Sys(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);  // kernels < 5.11
  }

  // 15. cwd.
  if (r.cwd != nullptr) {
    if (long e = Sys(SYS_chdir, r.cwd); e < 0) Fail(c, ChildStep::kChdir, e);
  }

  // 16. rlimits.
  for (size_t i = 0; i < r.rlimitCount; i++) {
    struct rlimit rl = {r.rlimits[i].soft, r.rlimits[i].hard};
    if (long e = Sys(SYS_prlimit64, 0, r.rlimits[i].resource, &rl, nullptr); e < 0) Fail(c, ChildStep::kRlimit, e);
  }

  if (!c->confinedEarly) {
    ConfineSelf(c, false);
  } else if (c->sandbox->dropCapabilities) {
    // 17, second half, under the filter (src/plan.ts checked it allows capset).
    if (long e = ClearCapabilitySets(); e < 0) Fail(c, ChildStep::kCapabilities, e);
  }

  // 21.
  Sys(SYS_rt_sigprocmask, SIG_SETMASK, &r.callerMask, nullptr, sizeof r.callerMask);
  if (r.execing != nullptr) *r.execing = 1;
  long e = Sys(SYS_execve, r.file, r.argv, r.envp);
  Fail(c, ChildStep::kExecve, e);
}

}  // namespace

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
  RawExit(0);
}

}  // namespace cordon
