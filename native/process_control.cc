// Process control of our children (process_control.h).
#include "process_control.h"

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cordon {

void Reap(pid_t pid, int pidfd) {
  siginfo_t info;
  if (pidfd >= 0) {
    while (syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, nullptr) != 0 && errno == EINTR) {}
    return;
  }
  while (waitid(P_PID, pid, &info, WEXITED) != 0 && errno == EINTR) {}
}

}  // namespace cordon
