/* Filesystem probe for the enforcement tests: performs each operation named on the command line
 * and prints one line per operation, "OK" or the errno name (EACCES, EXDEV, EROFS, ...), so that a
 * test can assert the exact kernel answer. Operations never stop at the first failure.
 *
 *   read:P       open(P, O_RDONLY) (+ getdents for a directory) and read it
 *   content:P    print "OK:" and the file's first line (to tell an empty mask from the secret)
 *   write:P      open(P, O_WRONLY|O_APPEND) and append one byte
 *   openw:P      open(P, O_WRONLY) without writing (safe on any file)
 *   createrm:P   create P exclusively, then unlink it again
 *   kill0:PID    kill(PID, 0) (Landlock signal scoping)
 *   trunc:P      truncate(P, 0)             otrunc:P  open(P, O_WRONLY|O_TRUNC)
 *   create:P     open(P, O_CREAT|O_EXCL|O_WRONLY, 0644)
 *   mkdir:P  rmdir:P  unlink:P  mkfifo:P  mknod:P (char 1:3)  chmod:P (0777)  setuid:P (04755)
 *   rename:A:B  link:A:B  symlink:TARGET:LINK
 *   exec:P       fork, execve(P), print the exit status as OK(<code>)
 *   uring:P      IORING_OP_OPENAT through io_uring (the open never passes through openat(2))
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>
#include <dirent.h>

static void result(int rc) {
  if (rc < 0) printf("%s\n", strerrorname_np(errno));
  else printf("OK\n");
}

/* io_uring without liburing: one OPENAT submission, one completion (io_uring_setup(2)). */
static int uring_open(const char *path) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int ring = (int)syscall(SYS_io_uring_setup, 4, &p);
  if (ring < 0) return -1;
  size_t sq_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  char *sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
  char *cq = mmap(NULL, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
  struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) return -1;
  unsigned *sq_tail = (unsigned *)(sq + p.sq_off.tail);
  unsigned *sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  unsigned *sq_array = (unsigned *)(sq + p.sq_off.array);
  unsigned idx = *sq_tail & *sq_mask;
  struct io_uring_sqe *sqe = &sqes[idx];
  memset(sqe, 0, sizeof *sqe);
  sqe->opcode = IORING_OP_OPENAT;
  sqe->fd = AT_FDCWD;
  sqe->addr = (unsigned long)path;
  sqe->open_flags = O_RDONLY;
  sq_array[idx] = idx;
  __atomic_store_n(sq_tail, *sq_tail + 1, __ATOMIC_RELEASE);
  if (syscall(SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) return -1;
  unsigned *cq_head = (unsigned *)(cq + p.cq_off.head);
  unsigned *cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  int res = cqes[*cq_head & *cq_mask].res;
  close(ring);
  if (res < 0) {
    errno = -res;
    return -1;
  }
  char buf[64];
  ssize_t n = read(res, buf, sizeof buf);
  close(res);
  return n < 0 ? -1 : 0;
}

static int do_read(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  fstat(fd, &st);
  int rc = 0;
  if (S_ISDIR(st.st_mode)) {
    char buf[4096];
    rc = syscall(SYS_getdents64, fd, buf, sizeof buf) < 0 ? -1 : 0;
  } else {
    char buf[64];
    rc = read(fd, buf, sizeof buf) < 0 ? -1 : 0;
  }
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 1; i < argc; ++i) {
    char *op = strdup(argv[i]);
    char *a = strchr(op, ':');
    if (!a) { printf("BADOP\n"); continue; }
    *a++ = 0;
    char *b = NULL;
    if (!strcmp(op, "rename") || !strcmp(op, "link") || !strcmp(op, "symlink")) {
      b = strchr(a, ':');
      if (!b) { printf("BADOP\n"); continue; }
      *b++ = 0;
    }
    errno = 0;
    if (!strcmp(op, "read")) result(do_read(a));
    else if (!strcmp(op, "content")) {
      char buf[256] = {0};
      int fd = open(a, O_RDONLY | O_CLOEXEC);
      ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
      if (fd >= 0) close(fd);
      if (n < 0) result(-1);
      else {
        buf[strcspn(buf, "\n")] = 0;
        printf("OK:%s\n", buf);
      }
    }
    else if (!strcmp(op, "openw")) {
      int fd = open(a, O_WRONLY | O_CLOEXEC);
      if (fd >= 0) close(fd);
      result(fd < 0 ? -1 : 0);
    } else if (!strcmp(op, "createrm")) {
      int fd = open(a, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
      if (fd >= 0) {
        close(fd);
        unlink(a);
      }
      result(fd < 0 ? -1 : 0);
    } else if (!strcmp(op, "kill0")) result(kill(atoi(a), 0));
    else if (!strcmp(op, "write")) {
      int fd = open(a, O_WRONLY | O_APPEND | O_CLOEXEC);
      int rc = fd < 0 ? -1 : (int)write(fd, "x", 1);
      if (fd >= 0) close(fd);
      result(rc < 0 ? -1 : 0);
    } else if (!strcmp(op, "trunc")) result(truncate(a, 0));
    else if (!strcmp(op, "otrunc")) {
      int fd = open(a, O_WRONLY | O_TRUNC | O_CLOEXEC);
      if (fd >= 0) close(fd);
      result(fd < 0 ? -1 : 0);
    } else if (!strcmp(op, "create")) {
      int fd = open(a, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
      if (fd >= 0) close(fd);
      result(fd < 0 ? -1 : 0);
    } else if (!strcmp(op, "mkdir")) result(mkdir(a, 0755));
    else if (!strcmp(op, "rmdir")) result(rmdir(a));
    else if (!strcmp(op, "unlink")) result(unlink(a));
    else if (!strcmp(op, "mkfifo")) result(mkfifo(a, 0644));
    else if (!strcmp(op, "mknod")) result(mknod(a, S_IFCHR | 0644, makedev(1, 3)));
    else if (!strcmp(op, "chmod")) result(chmod(a, 0777));
    else if (!strcmp(op, "setuid")) result(chmod(a, 04755));
    else if (!strcmp(op, "rename")) result(rename(a, b));
    else if (!strcmp(op, "link")) result(link(a, b));
    else if (!strcmp(op, "symlink")) result(symlink(a, b));
    else if (!strcmp(op, "uring")) result(uring_open(a));
    else if (!strcmp(op, "exec")) {
      pid_t pid = fork();
      if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 1);
        char *args[] = {a, NULL};
        execv(a, args);
        _exit(127);
      }
      int status = 0;
      waitpid(pid, &status, 0);
      printf("OK(%d)\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    } else printf("BADOP\n");
    free(op);
  }
  return 0;
}
