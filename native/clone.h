// Making the sandbox child (internal to spawn.cc and standby.cc): its context and command
// request, the clone itself (straight from this thread, or through the entry child into a
// shared network namespace), and the verdict the child leaves on its error pipe.
#pragma once
#include <stdint.h>
#include <sys/types.h>

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

// What CloneChild made.
struct Cloned {
  pid_t pid = -1;  // the sandbox child; -1: none
  int pidfd = -1;  // from CLONE_PIDFD; -1 through the entry child (OpenChildPidfd, once the caller is ready)
  // clone's errno when there is no child; 0 without one: the entry child failed, and its
  // {step, errno} is in the error pipe (or it was killed: EOF).
  int error = 0;
};

// Clones ChildMain(c) on stackTop, with every signal blocked: straight from this thread, or
// through the entry child when the sandbox shares a network namespace. A direct spawn
// (c->requestSocket -1) is a vfork child: this thread resumes once it has exec'd or failed. A
// standby runs beside it. callerMask, when given, receives the signal mask the child restores
// before execve.
Cloned CloneChild(ChildContext* c, char* stackTop, uint64_t* callerMask);

// A pidfd for a child cloned through the entry child. 0, or the errno of pidfd_open (the child
// has then been killed and reaped).
int OpenChildPidfd(pid_t pid, int* pidfd);

// Reads the child's verdict: 0 at EOF (it exec'd), or the {step, errno} it wrote.
int32_t ReadVerdict(int errorPipe, int32_t* childErrno);

}  // namespace cordon
