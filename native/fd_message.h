// Fds passed over a unix socket (SCM_RIGHTS, one message): the child's listener handoff (the
// loopback listeners it made in its network namespace) and a standby's request (the command's
// stdio and cgroup fds). FdMessage lays a message out on the caller's stack (no allocation: the
// child uses it between clone and execve).
#pragma once
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

namespace cordon {

// One message: `size` bytes of data in one iovec, and up to kFds fds in one SCM_RIGHTS cmsg.
template <size_t kFds>
struct FdMessage {
  struct iovec iov;
  char control[CMSG_SPACE(sizeof(int) * kFds)];
  struct msghdr msg;
  FdMessage(void* data, size_t size) {
    memset(control, 0, sizeof control);
    iov = {data, size};
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
  // Attaches fds (at most kFds) for sendmsg.
  void Attach(const int* fds, size_t count) {
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * count);
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
  }
  // The fds a recvmsg delivered; returns how many.
  size_t Received(int* fds) const {
    const struct cmsghdr* cmsg = CMSG_FIRSTHDR(const_cast<struct msghdr*>(&msg));
    if (cmsg == nullptr || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) return 0;
    size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    if (count > kFds) count = kFds;
    memcpy(fds, CMSG_DATA(cmsg), sizeof(int) * count);
    return count;
  }
};

// Receives the child's listener handoff queued on socketFd (non-blocking, O_CLOEXEC): fds[i]
// is the listener of spec i, or -1 where the child skipped it. 0, or -1 when nothing was
// queued. The message: one byte per spec (kMaxListeners of them, 1 where the listener is among
// the fds) and the listeners, in spec order.
int ReceiveListeners(int socketFd, int* fds, size_t specs);

}  // namespace cordon
