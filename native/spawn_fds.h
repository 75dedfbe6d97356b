// The fds one spawn makes for its child, and their owner: pipes for its stdio and the socketpair
// its listeners come back over. Whatever is still held when it goes is closed.
#pragma once

namespace cordon {

class SpawnFds {
 public:
  SpawnFds() = default;
  SpawnFds(const SpawnFds&) = delete;
  SpawnFds& operator=(const SpawnFds&) = delete;
  ~SpawnFds();

  // A pipe for the child's fd i (0: the child reads it; 1, 2: it writes). Returns the child's
  // end, or -errno.
  int Pipe(int i);
  // The socketpair of the child's listener handoff. Returns the child's end, or -errno.
  int Handoff();
  int handoffReceiveEnd() const { return handoff_[0]; }

  // Once the child is spawned (or failed): closes its ends and the handoff.
  void CloseChildEnds();
  // Hands our pipe ends over (-1 where none): they are no longer closed here.
  void ReleaseParentEnds(int out[3]);

 private:
  int parentEnd_[3] = {-1, -1, -1};
  int childEnd_[3] = {-1, -1, -1};
  int handoff_[2] = {-1, -1};
};

// /dev/null for 'ignore' stdio (O_RDWR, O_CLOEXEC): the fd, or -errno.
int OpenDevNull();

}  // namespace cordon
