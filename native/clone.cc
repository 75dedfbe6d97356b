// Making the sandbox child (clone.h).
#include "clone.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <memory>

#include "id_maps.h"
#include "process_control.h"
#include "signals_blocked.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace cordon {
namespace {

// Our own pidfd, opened once: the child polls it to detect a parent that died before
// PR_SET_PDEATHSIG took effect.
int SelfPidfd() {
  static int fd = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  return fd;
}

constexpr size_t kEntryStackSize = 16 * 1024;

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
  Reap(entry, -1);
  return c->sandboxPid;
}

}  // namespace

Cloned CloneChild(ChildContext* c, char* stackTop, uint64_t* callerMask) {
  Cloned child;
  SignalsBlocked blocked;
  if (callerMask != nullptr) *callerMask = blocked.KernelMask();
  if (c->sandbox->sharedNetworkNamespaceFd >= 0) {
    c->sandboxStackTop = stackTop;
    child.pid = CloneThroughEntry(c, &child.error);
  } else {
    int flags = CLONE_VM | CLONE_PIDFD | SIGCHLD | c->sandbox->namespaceFlags | (c->requestSocket < 0 ? CLONE_VFORK : 0);
    child.pid = clone(ChildMain, stackTop, flags, c, &child.pidfd);
    child.error = child.pid < 0 ? errno : 0;
  }
  return child;
}

// The child is ours (CLONE_PARENT) and unreaped, so its pid cannot have been reused: without a
// pidfd it could not be watched, so it is killed and reaped by pid, which is still safe.
int OpenChildPidfd(pid_t pid, int* pidfd) {
  *pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (*pidfd >= 0) return 0;
  int err = errno;
  KillAndReap(pid, -1, false);
  return err;
}

CommandArrays::CommandArrays(const CommandPlan& command) {
  argv.reserve(command.argv.size() + 1);
  for (const std::string& a : command.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  envp.reserve(command.envp.size() + 1);
  for (const std::string& e : command.envp) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
}

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
  FormatIdMap(sandbox.uid, c->uidMap);
  FormatIdMap(sandbox.gid, c->gidMap);
  c->seccomp.len = static_cast<unsigned short>(sandbox.seccompProgram.size() / sizeof(struct sock_filter));
  c->seccomp.filter = reinterpret_cast<struct sock_filter*>(const_cast<uint8_t*>(sandbox.seccompProgram.data()));
}

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

}  // namespace cordon
