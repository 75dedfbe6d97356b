// The parent's side of the listener handoff (fd_message.h).
#include "fd_message.h"

#include <unistd.h>

#include "plan.h"

namespace cordon {

int ReceiveListeners(int socketFd, int* fds, size_t specs) {
  char sent[kMaxListeners];
  int received[kMaxListeners];
  FdMessage<kMaxListeners> m(sent, sizeof sent);
  if (recvmsg(socketFd, &m.msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != static_cast<ssize_t>(sizeof sent)) return -1;
  size_t count = m.Received(received);
  size_t next = 0;
  for (size_t i = 0; i < kMaxListeners; i++) {
    int fd = sent[i] && next < count ? received[next++] : -1;
    if (i < specs) fds[i] = fd;
    else if (fd >= 0) close(fd);  // more than asked for: cannot happen, never leak one
  }
  for (; next < count; next++) close(received[next]);
  return 0;
}

}  // namespace cordon
