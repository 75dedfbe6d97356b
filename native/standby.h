// A standby child: a child cloned ahead of time for one sandbox, which has already made its
// namespaces and applied the mount plan (the expensive steps, about 1 ms here) and now waits
// for a command. Launching it costs only the per-command steps and execve. It shares the
// host's memory (CLONE_VM, no CLONE_VFORK) while it waits, so it runs on raw syscalls only
// (raw_syscall.h) and reads nothing but its own context and the sandbox plan, which it owns.
// Standbys need a sandbox without a proxy listener (its handoff is per command).
#pragma once
#include <sys/types.h>

#include <memory>

#include "plan.h"
#include "spawn.h"

namespace cordon {

struct ChildContext;
struct Standby {
  pid_t pid = -1;
  int pidfd = -1;
  int requestSocket = -1;           // SOCK_SEQPACKET: the command's address and fds go over it
  int errorPipe = -1;               // read end: EOF when the command was exec'd
  int mountNamespaceFd = -1;        // /proc/<pid>/ns/mnt, opened off the command's path
  std::shared_ptr<const SandboxPlan> sandbox;
  std::unique_ptr<ChildContext> context;
  void* stack = nullptr;            // mmap'd, with a guard page
  Standby();
  ~Standby();  // kills and reaps a child still there (DiscardStandby), then frees and closes
};

// Whether this build can keep standby children (raw syscalls on this architecture).
bool StandbySupported();

// Clones a standby for `sandbox`. 0 or -errno. A sandbox that cannot be set up is noticed
// at launch (kStandbyUnusable).
int StartStandby(std::shared_ptr<const SandboxPlan> sandbox, std::unique_ptr<Standby>* out);

// Runs `command` in the standby. Same contract as Spawn, or kStandbyUnusable when the standby
// had died or failed its set-up: it has been reaped, and the caller spawns afresh. The standby
// is used up either way.
constexpr int kStandbyUnusable = 1;
// whileWaiting, when given, runs once the command is sent, while the standby runs its steps and
// execve (work the caller would do next anyway overlaps them).
int LaunchStandby(Standby* standby, const CommandPlan& command, SpawnResult* result,
                  void (*whileWaiting)(void*) = nullptr, void* arg = nullptr);

// Kills and reaps an unused standby and releases its mount namespace. Blocks until it is gone
// (a SIGKILLed child that was waiting: well under a millisecond) and may tear a mount tree
// down, so callers on the event loop run it on the threadpool.
void DiscardStandby(Standby* standby);

}  // namespace cordon
