// Process control of our children (process_control.h).
#include "process_control.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cordon {

int SignalChild(int pidfd, int signal) {
  return syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0) == 0 ? 0 : -errno;
}

void KillChild(pid_t pid, int pidfd, bool group) {
  if (pidfd >= 0) {
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  } else {
    kill(pid, SIGKILL);
  }
  if (group) kill(-pid, SIGKILL);
}

void Reap(pid_t pid, int pidfd) {
  siginfo_t info;
  if (pidfd >= 0) {
    while (syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, nullptr) != 0 && errno == EINTR) {}
    return;
  }
  while (waitid(P_PID, pid, &info, WEXITED) != 0 && errno == EINTR) {}
}

void KillAndReap(pid_t pid, int pidfd, bool group) {
  KillChild(pid, pidfd, group);
  Reap(pid, pidfd);
}

bool TryReap(int pidfd, ChildExit* out) {
  siginfo_t info;
  memset(&info, 0, sizeof info);
  memset(&out->usage, 0, sizeof out->usage);
  long r;
  do {
    r = syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED | WNOHANG, &out->usage);
  } while (r < 0 && errno == EINTR);
  if (r == 0 && info.si_pid == 0) return false;  // not exited yet
  out->exited = r == 0 && info.si_code == CLD_EXITED;
  out->signaled = r == 0 && info.si_code != CLD_EXITED;
  out->status = r == 0 ? info.si_status : 0;
  return true;
}

int OpenMountNamespace(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/mnt", static_cast<int>(pid));
  return open(path, O_RDONLY | O_CLOEXEC);
}

}  // namespace cordon
