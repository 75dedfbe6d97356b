// The sandboxed spawn: clone(CLONE_VM|CLONE_VFORK) a child that applies the sandbox with raw
// syscalls in a fixed order, then execve. Plain C++, no N-API. Everything the child needs is
// in SandboxPlan and CommandPlan, prepared by the parent: the child allocates nothing and calls
// nothing but the kernel (see spawn.cc for the order and the reason for each step).
#pragma once
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace cordon {

// "ENOENT" for ENOENT, "E<number>" for errnos without a name here.
const char* ErrnoName(int err);

// The steps of the child, in order. A failure is reported as {step, errno}.
enum class ChildStep : int32_t {
  kSignals = 1,
  kSetsid,
  kParentDeathSignal,
  kParentDied,
  kUserNamespaceMaps,
  kMount,
  kLoopback,
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
  // The entry child's steps (shared network namespace, see SandboxPlan), numbered after the
  // rest: they come before step 1 of the sandbox child it clones.
  kJoinNamespace,
  kEntryClone,
};
const char* ChildStepName(int32_t step);

struct ResourceLimit {
  int resource;  // RLIMIT_*
  rlim_t soft;
  rlim_t hard;
};

// One mount operation of the mount plan, applied in order inside the child's private mount
// namespace (CLONE_NEWNS), before Landlock (landlocked tasks may not mount).
struct MountOp {
  enum Kind : int32_t {
    kBindReadOnly = 1,  // bind target onto itself, then remount read-only (flags preserved)
    kTmpfsMask = 2,     // empty read-only tmpfs over a directory
    kFileMask = 3,      // bind `source` (an empty 0000 file) read-only over a file
    kProc = 4,          // fresh procfs (needs CLONE_NEWPID)
    kTmpfs = 5,         // writable tmpfs (e.g. a private /dev/shm)
    kReadOnlyTree = 6,  // every mount at and beneath target read-only (mount_setattr, recursive)
    kBindWritable = 7,  // bind target onto itself, set nosuid,nodev, clear read-only unless preservedFlags has MS_RDONLY
    // The ops below build a fresh directory (a private /tmp) that carries a few of the host's
    // paths over: each carried path is first detached as a copy of its mount tree (open_tree,
    // OPEN_TREE_CLONE | AT_RECURSIVE) into a numbered slot, the fresh tmpfs goes on top, the
    // mount targets are made in it, and each copy is attached (move_mount) again.
    kDetach = 8,        // copy the mount tree at target into slot `slot` (an fd the child holds)
    kAttach = 9,        // attach slot `slot` at target (move_mount), and close the slot
    kMakeDir = 10,      // mkdir target (mode `mode`); an existing directory is fine
    kBindSelf = 11,     // bind target onto itself (flags of the mount it is in): a mountpoint
                        // cannot be renamed or removed (EBUSY), so its path stays put
    kReadOnlyNoDevTree = 12,  // as kReadOnlyTree, and nodev: no device node opens anywhere...
    kAllowDevices = 13,       // ...but on the mount at target (the host's /dev), where Landlock
                              // grants device files by name
  };
  Kind kind;
  std::string target;
  std::string source;
  unsigned long preservedFlags = 0;  // MS_NOSUID|MS_NODEV|MS_NOEXEC|... of the source mount
  std::string data;                  // kTmpfs: mount options ("" = mode=1777)
  int slot = -1;                     // kDetach, kAttach: 0 .. kMountSlots-1
  unsigned mode = 0;                 // kMakeDir
  // Landlock rights for the file system this op mounts fresh at target (AddFreshMountRule),
  // added to SandboxPlan::landlockRulesetFd once it is mounted; 0 for none.
  uint64_t landlockAccess = 0;
  // A target that vanished between planning and the clone (ENOENT, ENOTDIR) is skipped rather
  // than failing the spawn: used for masks over host unix sockets, which come and go.
  bool optional = false;
};

// Detached mount copies held at once while the mount plan runs (kDetach .. kAttach).
constexpr int kMountSlots = 32;

// What a sandbox is, independent of the command run in it: prepared once per policy (and
// cwd) by the parent and cached, so an exec loop pays for it once.
// A loopback listener made inside the sandbox's network namespace (SandboxPlan::listeners).
struct ListenerSpec {
  uint16_t port = 0;
  bool ipv6 = false;  // ::1 rather than 127.0.0.1
};
constexpr size_t kMaxListeners = 16;

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

// A standby child: a child cloned ahead of time for one sandbox, which has already made its
// namespaces and applied the mount plan (the expensive steps, about 1 ms here) and now waits
// for a command. Launching it costs only the per-command steps and execve. It shares the
// host's memory (CLONE_VM, no CLONE_VFORK) while it waits, so it runs on raw syscalls only
// (raw_syscall.h) and reads nothing but its own context and the sandbox plan, which it owns.
// Standbys need a sandbox without a proxy listener (its handoff is per command).
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

// Makes the namespaces a host's no-network sandboxes share (once per process; later calls return
// the same fds): a network namespace with nothing but lo (down), owned, when withUserNamespace,
// by a user namespace that maps uid/gid to themselves (unprivileged callers). 0 or -errno; the
// fds are O_CLOEXEC and stay open for the process's life.
int OpenSharedNetworkNamespace(bool withUserNamespace, int* userFd, int* netFd);

// Receives the child's listener handoff queued on socketFd (non-blocking, O_CLOEXEC): fds[i]
// is the listener of spec i, or -1 where the child skipped it. 0, or -1 when nothing was
// queued.
int ReceiveListeners(int socketFd, int* fds, size_t specs);

}  // namespace cordon
