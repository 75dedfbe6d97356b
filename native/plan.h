// What the parent prepares for the child, in plain C++ (no N-API): the sandbox (SandboxPlan,
// read once per policy and cached) and the command (CommandPlan, per spawn). The child reads
// them between clone and execve and allocates nothing: everything it needs is in here.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "mounts.h"

namespace cordon {

struct ResourceLimit {
  int resource;  // RLIMIT_*
  rlim_t soft;
  rlim_t hard;
};

// A loopback listener made inside the sandbox's network namespace (SandboxPlan::listeners).
struct ListenerSpec {
  uint16_t port = 0;
  bool ipv6 = false;  // ::1 rather than 127.0.0.1
};
constexpr size_t kMaxListeners = 16;

// What a sandbox is, independent of the command run in it: prepared once per policy (and
// cwd) by the parent and cached, so an exec loop pays for it once.
struct SandboxPlan {
  bool newSession = true;           // setsid(); false = setpgid(0, 0)
  bool dieWithParent = true;        // PR_SET_PDEATHSIG(SIGKILL) + race check
  bool noNewPrivs = true;
  bool dropCapabilities = false;    // root callers: clear bounding/ambient/effective/permitted/inheritable
  int capLastCap = 40;              // /proc/sys/kernel/cap_last_cap
  int namespaceFlags = 0;           // CLONE_NEW* requested at clone time
  bool writeIdMaps = false;         // with CLONE_NEWUSER: map uid/gid to themselves
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<MountOp> mounts;
  bool loopbackUp = false;          // with CLONE_NEWNET: bring lo up
  // With CLONE_NEWNET: listen on loopback at each of these inside the sandbox's network
  // namespace and send the listening sockets to the parent over
  // CommandPlan::listenerHandoffFd (SCM_RIGHTS, one message). The sockets stay in that
  // namespace, so the host serves the sandbox with no bridge: the first is the egress proxy's
  // door, the others forward one port of the host's loopback each. An IPv6 listener whose ::1
  // the namespace lacks (IPv6 disabled) is skipped; the parent tells the rest apart by address.
  std::vector<ListenerSpec> listeners;
  int landlockRulesetFd = -1;       // landlock_restrict_self(fd, landlockFlags) when >= 0
  uint32_t landlockFlags = 0;
  std::vector<uint8_t> seccompProgram;  // struct sock_filter[]; empty = no filter
  uint32_t seccompFlags = 0;
  // A network namespace shared by this host's no-network sandboxes (and, for unprivileged
  // callers, the user namespace that owns it): OpenSharedNetworkNamespace's fds, or -1. With
  // one, the child is started in two steps, as no unprivileged process can move a child of a
  // fresh user namespace into a sibling's network namespace: an entry child (clone(CLONE_VM|
  // CLONE_VFORK), no namespaces) setns()es into them and clones the sandbox child with
  // CLONE_PARENT, so that it is still the host's child, and exits. namespaceFlags then holds
  // neither CLONE_NEWUSER nor CLONE_NEWNET.
  int sharedUserNamespaceFd = -1;
  int sharedNetworkNamespaceFd = -1;
  // A standby may confine itself (no_new_privs, Landlock, seccomp; root callers: securebits,
  // bounding and ambient sets, the capset waits for the command) before it waits: the parent
  // checked that the filter allows every syscall the standby makes afterwards.
  bool confineStandbyEarly = false;
};

// One command run in a sandbox: what changes from spawn to spawn.
struct CommandPlan {
  std::string file;                 // absolute path, resolved by the parent
  std::vector<std::string> argv;
  std::vector<std::string> envp;    // "KEY=value"
  std::string cwd;                  // "" = inherit
  int stdio[3] = {-1, -1, -1};      // parent fds to install as 0, 1, 2 (must be valid fds)
  std::vector<ResourceLimit> rlimits;
  // Open cgroup.procs files (one per hierarchy: v2, or v1 memory + pids): the child writes
  // "0" to each, joining before anything can fork.
  std::vector<int> cgroupProcsFds;
  int listenerHandoffFd = -1;       // see SandboxPlan::listeners
};

// A sandbox plan that owns its landlockRulesetFd (closed with the plan's last reference: the
// sandbox cache, a standby, a spawn in flight), so that an fd number JS frees and reuses can
// never reach a child through a plan kept here. Until TakeRulesetCopy, it owns none.
std::shared_ptr<SandboxPlan> NewOwningSandboxPlan();

// Replaces plan->landlockRulesetFd, the caller's fd, by a duplicate the plan owns. 0, or -errno
// (the plan then holds none).
int TakeRulesetCopy(SandboxPlan* plan);

}  // namespace cordon
