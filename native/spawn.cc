// A spawn from scratch (spawn.h): the child is created with clone(CLONE_VM|CLONE_VFORK), as
// glibc's posix_spawn does, so its cost does not grow with the host's heap: a plain fork of a
// 500 MB Node process copies page tables for all of it. This thread is suspended until the
// child has exec'd or failed, and then finds the verdict in the error pipe.
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <memory>

#include "child.h"
#include "clone.h"
#include "process_control.h"

namespace cordon {
namespace {

constexpr size_t kChildStackSize = 256 * 1024;

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

  Cloned child = CloneChild(&c, stack.get() + kChildStackSize, &request.callerMask);
  close(errorPipe[1]);
  if (pidfdSlot >= 0) close(pidfdSlot);
  if (child.pid < 0 && child.error != 0) {
    close(errorPipe[0]);
    return -child.error;
  }
  // No child and no error: the entry child failed; its {step, errno} is in the pipe.
  if (child.pid > 0 && sandbox.sharedNetworkNamespaceFd >= 0) {
    if (int err = OpenChildPidfd(child.pid, &child.pidfd); err != 0) {
      close(errorPipe[0]);
      return -err;
    }
  }

  // CLONE_VFORK: we resume only after the child exec'd or exited, so the pipe already holds
  // the failure or is at EOF.
  int32_t childErrno = 0;
  int32_t step = ReadVerdict(errorPipe[0], &childErrno);
  close(errorPipe[0]);
  if (step == 0 && child.pid < 0) {
    step = static_cast<int32_t>(ChildStep::kEntryClone);  // the entry child died without a word (killed)
    childErrno = EPROTO;
  }
  if (step != 0) {
    if (child.pid > 0) Reap(child.pid, child.pidfd);
    if (child.pidfd >= 0) close(child.pidfd);
    result->pid = -1;
    result->pidfd = -1;
    result->failedStep = step;
    result->childErrno = childErrno;
    return 0;
  }
  result->pid = child.pid;
  result->pidfd = child.pidfd;
  return 0;
}

}  // namespace cordon
