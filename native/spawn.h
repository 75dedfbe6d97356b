// The sandboxed spawn: clone(CLONE_VM|CLONE_VFORK) a child that applies the sandbox with raw
// syscalls in a fixed order, then execve. Plain C++, no N-API. Everything the child needs is
// in SandboxPlan and CommandPlan (plan.h), prepared by the parent: the child allocates nothing
// and calls nothing but the kernel (child.cc lists its steps, in order, with the reason for
// each).
#pragma once
#include <stdint.h>
#include <sys/types.h>

#include "plan.h"

namespace cordon {

// The steps of the child, numbered in the order it performs them (child.cc lists them with
// the reason for each place). A failure is reported as {step, errno}; 0 is no failure. src/
// sees only ChildStepName's names, never the numbers.
enum class ChildStep : int32_t {
  // The entry child (shared network namespace, see SandboxPlan), before the sandbox child.
  kJoinNamespace = 1,
  kEntryClone,
  // The sandbox child: the sandbox's steps...
  kSignals,
  kSetsid,
  kParentDeathSignal,
  kParentDied,
  kUserNamespaceMaps,
  kMount,
  kLoopback,
  // ...then the command's.
  kListener,
  kRequest,
  kCgroup,
  kStdio,
  kCloseRange,
  kChdir,
  kRlimit,
  kCapabilities,
  kNoNewPrivs,
  kLandlock,
  kSeccomp,
  kExecve,
};
// The step's name for errors ("mount", "execve").
const char* ChildStepName(int32_t step);

struct SpawnResult {
  pid_t pid = -1;
  int pidfd = -1;
  // Set when the child failed before execve (the error pipe delivered {step, errno}).
  int32_t failedStep = 0;
  int32_t childErrno = 0;
  // From a standby: its mount namespace, opened when it was made (-1: none). The caller owns it.
  int mountNamespaceFd = -1;
};

// Starts the child. Returns 0 with result->pid/pidfd set (the child has exec'd), or
// -errno when clone itself failed, or 0 with result->failedStep set when the child failed
// before exec (it has been reaped; pid/pidfd are -1). Never leaks fds or zombies.
int Spawn(const SandboxPlan& sandbox, const CommandPlan& command, SpawnResult* result);

}  // namespace cordon
