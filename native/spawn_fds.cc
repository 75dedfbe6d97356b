// The fds of one spawn (spawn_fds.h).
#include "spawn_fds.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <initializer_list>

namespace cordon {

SpawnFds::~SpawnFds() {
  CloseChildEnds();
  for (int& fd : parentEnd_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

int SpawnFds::Pipe(int i) {
  int p[2];
  // CLOEXEC on both ends: the child's end becomes fd i through dup2 (which clears the flag on
  // the copy), and neither end leaks into other children.
  if (pipe2(p, O_CLOEXEC) != 0) return -errno;
  parentEnd_[i] = i == 0 ? p[1] : p[0];
  childEnd_[i] = i == 0 ? p[0] : p[1];
  return childEnd_[i];
}

int SpawnFds::Handoff() {
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, handoff_) != 0) return -errno;
  return handoff_[1];
}

void SpawnFds::CloseChildEnds() {
  for (int* fd : {&handoff_[0], &handoff_[1], &childEnd_[0], &childEnd_[1], &childEnd_[2]}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

void SpawnFds::ReleaseParentEnds(int out[3]) {
  for (int i = 0; i < 3; i++) {
    out[i] = parentEnd_[i];
    parentEnd_[i] = -1;
  }
}

int OpenDevNull() {
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  return fd >= 0 ? fd : -errno;
}

}  // namespace cordon
