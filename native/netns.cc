// The shared network namespace (netns.h), made by a holder child: a vfork child sharing our fd
// table (CLONE_FILES) that is born in the new namespaces, maps its ids, and opens them for us;
// they outlive it through those fds. It runs while this thread is suspended, on raw syscalls.
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include <memory>
#include <mutex>

#include "id_maps.h"
#include "process_control.h"
#include "raw_syscall.h"
#include "signals_blocked.h"

namespace cordon {
namespace {

constexpr size_t kHolderStackSize = 16 * 1024;

struct SharedNamespaces {
  bool withUser;
  char uidMap[kIdMapSize];
  char gidMap[kIdMapSize];
  int userFd = -1;
  int netFd = -1;
  int err = 0;
};

int HolderMain(void* arg) {
  SharedNamespaces* n = static_cast<SharedNamespaces*>(arg);
  if (n->withUser) {
    if (long r = WriteIdMaps(n->uidMap, n->gidMap); r < 0) {
      n->err = static_cast<int>(-r);
      RawExit(1);
    }
    long fd = Sys(SYS_openat, AT_FDCWD, "/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      n->err = static_cast<int>(-fd);
      RawExit(1);
    }
    n->userFd = static_cast<int>(fd);
  }
  long fd = Sys(SYS_openat, AT_FDCWD, "/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    n->err = static_cast<int>(-fd);
    RawExit(1);
  }
  n->netFd = static_cast<int>(fd);
  RawExit(0);
}

}  // namespace

int OpenSharedNetworkNamespace(bool withUserNamespace, int* userFd, int* netFd) {
  static std::mutex lock;  // process-wide, like the namespaces: worker threads share them
  static SharedNamespaces made{};
  static bool done = false;
  static int madeErr = 0;
  std::lock_guard<std::mutex> held(lock);
  if (!done) {
    made.withUser = withUserNamespace;
    FormatIdMap(getuid(), made.uidMap);
    FormatIdMap(getgid(), made.gidMap);
    std::unique_ptr<char[]> stack(new char[kHolderStackSize]);
    char* top = stack.get() + kHolderStackSize;
    top -= reinterpret_cast<uintptr_t>(top) % 16;
    int flags = CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD | CLONE_NEWNET | (withUserNamespace ? CLONE_NEWUSER : 0);
    pid_t pid;
    {
      SignalsBlocked blocked;
      pid = clone(HolderMain, top, flags, &made);
    }
    if (pid < 0) {
      madeErr = errno;
    } else {
      Reap(pid, -1);
      madeErr = made.err;
      if (madeErr == 0 && (made.netFd < 0 || (withUserNamespace && made.userFd < 0))) madeErr = EPROTO;
      if (madeErr != 0) {
        if (made.userFd >= 0) close(made.userFd);
        if (made.netFd >= 0) close(made.netFd);
        made.userFd = made.netFd = -1;
      }
    }
    done = true;
  }
  if (madeErr != 0) return -madeErr;
  if (made.withUser != withUserNamespace) return -EINVAL;
  *userFd = made.userFd;
  *netFd = made.netFd;
  return 0;
}

}  // namespace cordon
