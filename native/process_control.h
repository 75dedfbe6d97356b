// The children we made, after the clone: signalling them, killing them, reaping them, and
// holding their mount namespace. Plain C++ for the binding and the spawn files; a pidfd is used
// wherever there is one, so a recycled pid is never hit.
#pragma once
#include <sys/resource.h>
#include <sys/types.h>

namespace cordon {

// Sends signal to the child through its pidfd. 0 or -errno.
int SignalChild(int pidfd, int signal);

// SIGKILL to the child (through its pidfd when there is one, else by pid: it is ours and
// unreaped, so the pid is still its own) and, with group, to its process group: what the
// command started (the child leads a group of its own, setsid or setpgid).
void KillChild(pid_t pid, int pidfd, bool group);

// Waits for the child's exit.
void Reap(pid_t pid, int pidfd);

// KillChild, then Reap: how every child that cannot be kept goes.
void KillAndReap(pid_t pid, int pidfd, bool group);

// How a child ended, from TryReap.
struct ChildExit {
  bool exited = false;    // status is its exit code
  bool signaled = false;  // status is the signal that ended it
  int status = 0;
  struct rusage usage = {};  // zero when waitid failed
};

// Reaps the child if it has exited (never blocks): false while it still runs; true with *out
// filled once it is reaped, or when waitid failed (neither exited nor signaled then).
bool TryReap(int pidfd, ChildExit* out);

// The child's mount namespace (/proc/<pid>/ns/mnt, O_CLOEXEC), or -1. Holding it keeps the
// namespace's teardown off the child's exit.
int OpenMountNamespace(pid_t pid);

}  // namespace cordon
