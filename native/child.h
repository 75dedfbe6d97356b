// What the child reads between clone and execve, besides the plans (plan.h), and its entry
// points. Internal to the spawn files (clone.cc, spawn.cc, standby.cc); the steps themselves
// are in child.cc.
#pragma once
#include <linux/filter.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "id_maps.h"
#include "plan.h"

namespace cordon {

constexpr int kMaxCgroupFds = 4;  // one per hierarchy: v2, or v1 memory and pids

// The command, as the child sees it. Built by the parent on its stack: a direct child reads it
// before the parent resumes (CLONE_VFORK); a standby receives its address with the fds, and
// the parent waits on the error pipe until the child has exec'd or failed.
struct LaunchRequest {
  const char* file;
  char* const* argv;
  char* const* envp;
  const char* cwd;  // nullptr: inherit
  const ResourceLimit* rlimits;
  size_t rlimitCount;
  int stdio[3];     // fds in the child's table
  int cgroupFds[kMaxCgroupFds];
  int cgroupFdCount;
  int listenerHandoffFd;  // direct child only (see SandboxPlan::listeners)
  uint64_t callerMask;    // the kernel's sigset_t (64 signals)
  // Standby only: set to 1 in the parent's memory right before execve, so that EOF on the
  // error pipe without it means the standby died (was killed) before the command ran.
  volatile int* execing;
};

// Everything the child reads besides the command. A direct child's lives on the parent's stack;
// a standby's is owned by its Standby.
struct ChildContext {
  const SandboxPlan* sandbox = nullptr;
  const LaunchRequest* request = nullptr;  // direct child; a standby receives it
  int requestSocket = -1;                  // standby: where the command arrives
  bool confinedEarly = false;              // standby: steps 17-20 before the wait (child.cc)
  int errorPipe = -1;
  int parentPidfd = -1;
  char uidMap[kIdMapSize] = {};
  char gidMap[kIdMapSize] = {};
  struct sock_fprog seccomp = {0, nullptr};
  // Entry child (SandboxPlan::sharedNetworkNamespaceFd): the stack the sandbox child gets, and
  // where the entry child leaves its pid for the parent (shared memory).
  char* sandboxStackTop = nullptr;
  volatile pid_t sandboxPid = -1;
  const cpu_set_t* entryAffinity = nullptr;  // set while the entry child is pinned: the mask to undo it with
};

// Marks a standby's failure before it received its command: the parent spawns afresh.
constexpr int32_t kBeforeCommand = 0x100;

// The fds of a standby's request: stdio, then the cgroup.procs files.
constexpr size_t kRequestFds = 3 + kMaxCgroupFds;

// The sandbox child: clone's entry point, with a ChildContext. Never returns: execve or exit.
int ChildMain(void* context);

// The entry child (SandboxPlan::sharedNetworkNamespaceFd): joins the shared namespaces and
// clones ChildMain as the host's child (CLONE_PARENT). Exits.
int EntryMain(void* context);

}  // namespace cordon
