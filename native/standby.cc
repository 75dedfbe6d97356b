// Standby children (standby.h): started ahead of time, launched with a command, or discarded;
// and the pool of their stacks.
#include "standby.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mutex>
#include <vector>

#include "child.h"
#include "clone.h"
#include "fd_message.h"
#include "process_control.h"
#include "raw_syscall.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

namespace cordon {
namespace {

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

  // The standby keeps every signal blocked until its execve.
  Cloned child = CloneChild(s->context.get(), static_cast<char*>(s->stack) + kGuardSize + kStandbyStackSize, nullptr);
  close(errorPipe[1]);
  close(request[1]);
  if (child.pid < 0 && child.error != 0) return -child.error;  // ~Standby closes our ends
  if (child.pid < 0) {
    // The entry child failed before the clone (or was killed): its {step, errno}, or EOF.
    int32_t childErrno = EPROTO;
    ReadVerdict(s->errorPipe, &childErrno);
    return -childErrno;
  }
  if (s->sandbox->sharedNetworkNamespaceFd >= 0) {
    if (int err = OpenChildPidfd(child.pid, &child.pidfd); err != 0) return -err;
  }
  s->pid = child.pid;
  s->pidfd = child.pidfd;
  if (s->sandbox->namespaceFlags & CLONE_NEWNS) s->mountNamespaceFd = OpenMountNamespace(child.pid);
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
    // Its own set-up failed, or the wait for the command (steps up to kRequest, or marked).
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

void DiscardStandby(Standby* s) {
  if (s->pid >= 0) {
    if (s->requestSocket >= 0) {
      close(s->requestSocket);  // a waiting standby reads EOF and exits
      s->requestSocket = -1;
    }
    KillAndReap(s->pid, s->pidfd, false);
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
