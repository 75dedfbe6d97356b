// Making the sandbox child (internal to spawn.cc and standby.cc): its context and command
// request, the clone itself (straight from this thread, or through the entry child into a
// shared network namespace), and the verdict the child leaves on its error pipe.
#pragma once
#include <stdint.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "child.h"
#include "plan.h"

namespace cordon {

// The command's strings as the pointer arrays execve takes; alive as long as the command.
struct CommandArrays {
  std::vector<char*> argv;
  std::vector<char*> envp;
  explicit CommandArrays(const CommandPlan& command);
};

// Fills *r from command (callerMask and execing left 0). -E2BIG when the command has more
// cgroup fds than a request carries.
int BuildRequest(const CommandPlan& command, const CommandArrays& arrays, LaunchRequest* r);

// The sandbox part of the child's context: plan, parent pidfd, id maps, seccomp program.
void FillContext(const SandboxPlan& sandbox, ChildContext* c);

// Runs EntryMain in a vfork child on a stack of this thread's and reaps it. Returns the sandbox
// child's pid, or -1 when there is none: the entry child failed (its {step, errno} is in the
// error pipe; *cloneErrno 0) or could not be cloned (*cloneErrno set). The caller has blocked
// signals.
pid_t CloneThroughEntry(ChildContext* c, int* cloneErrno);

// A pidfd for a child cloned through the entry child. 0, or the errno of pidfd_open (the child
// has then been killed and reaped).
int OpenChildPidfd(pid_t pid, int* pidfd);

// Reads the child's verdict: 0 at EOF (it exec'd), or the {step, errno} it wrote.
int32_t ReadVerdict(int errorPipe, int32_t* childErrno);

}  // namespace cordon
