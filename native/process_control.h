// The children we made, after the clone: waiting for their exit.
#pragma once
#include <sys/types.h>

namespace cordon {

// Waits for the child's exit; through its pidfd when there is one (never a recycled pid).
void Reap(pid_t pid, int pidfd);

}  // namespace cordon
