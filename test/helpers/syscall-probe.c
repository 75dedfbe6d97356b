// syscall-probe: attempts one operation and prints "OK" or the errno name (EPERM, ENOSYS...).
// A seccomp KILL shows up as death by SIGSYS instead. Used by test/seccomp: run unsandboxed as
// the control, and inside cordon's sandbox for the denial.
//   syscall-probe [--filter <prog.bpf>] <op> [args...]
// Ops with arguments (socket, connect, create, read, kill, pidfd-*, key-*) say what they take
// where they are handled; test/escapes uses them for the escape classes of issues #8 and #9.
// --filter installs a struct sock_filter[] file first (no_new_privs, then
// seccomp(SECCOMP_SET_MODE_FILTER)), so the seccomp tests can run a compiled program in the
// real kernel without the spawn engine. A refused install prints FILTER-<errno>, exit 3.
// Built by test/helpers/build-helpers.ts with `cc -O2 -no-pie`: int 0x80 truncates pointers to
// 32 bits, so the i386 socketcall argument block lives in MAP_32BIT memory.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/perf_event.h>
#include <linux/seccomp.h>
#include <linux/sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef KEYCTL_GET_KEYRING_ID
#define KEYCTL_GET_KEYRING_ID 0
#endif
#define KEY_SPEC_SESSION_KEYRING (-3)
#define KEY_SPEC_USER_KEYRING (-4)
#define KEYCTL_SET_TIMEOUT 15
#define KEYCTL_READ 11
#define KEYCTL_SEARCH 10
#define KEYCTL_INVALIDATE 21

static int report(long rc) {
  if (rc < 0) {
    const char *name = strerrorname_np(errno);
    printf("%s\n", name ? name : "EUNKNOWN");
  } else {
    printf("OK\n");
  }
  return 0;
}

// 0 when the child exited 0; -1 with errno otherwise.
static long reap(long pid) {
  if (pid < 0) return -1;
  if (pid == 0) _exit(0);
  int status = 0;
  if (waitpid((pid_t)pid, &status, __WALL) < 0) return -1;
  return 0;
}

static int tiocsti(unsigned long cmd) {
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) return report(-1);
  int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  if (slave < 0) return report(-1);
  char c = 'x';
  // Raw syscall: glibc passes the request through, but be explicit that the upper bits reach
  // the kernel (which truncates cmd to unsigned int).
  return report(syscall(SYS_ioctl, slave, cmd, &c));
}

#if defined(__x86_64__)
static long int80(long nr, long a, long b, long c) {
  long ret;
  // The ia32 entry zeroes r8-r11 on return to 64-bit code (arch/x86/entry/entry_64_compat.S),
  // so they are clobbers too.
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory", "r8", "r9", "r10", "r11");
  if (ret < 0 && ret > -4096) {
    errno = (int)-ret;
    return -1;
  }
  return ret;
}
#endif

// Creates `file` with `mode` through one syscall: how = open, openat, creat, mknod, mknodat,
// openat2, tmpfile (O_TMPFILE in the file's directory, then linked in by name).
static int create_with_mode(const char *how, const char *file, mode_t mode) {
  long fd = -1;
  if (!strcmp(how, "openat")) {
    fd = syscall(SYS_openat, AT_FDCWD, file, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
#ifdef SYS_open
  } else if (!strcmp(how, "open")) {
    fd = syscall(SYS_open, file, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
#endif
#ifdef SYS_creat
  } else if (!strcmp(how, "creat")) {
    fd = syscall(SYS_creat, file, mode);
#endif
#ifdef SYS_mknod
  } else if (!strcmp(how, "mknod")) {
    return report(syscall(SYS_mknod, file, S_IFREG | mode, 0));
#endif
  } else if (!strcmp(how, "mknodat")) {
    return report(syscall(SYS_mknodat, AT_FDCWD, file, S_IFREG | mode, 0));
  } else if (!strcmp(how, "openat2")) {
    struct { uint64_t flags, mode, resolve; } open_how = {O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode, 0};
    fd = syscall(SYS_openat2, AT_FDCWD, file, &open_how, sizeof open_how);
  } else if (!strcmp(how, "tmpfile")) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", file);
    char *slash = strrchr(dir, '/');
    if (!slash) return report((errno = EINVAL, -1));
    *slash = 0;
    fd = syscall(SYS_openat, AT_FDCWD, dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    if (fd >= 0) {
      char proc[64];
      snprintf(proc, sizeof proc, "/proc/self/fd/%ld", fd);
      if (linkat(AT_FDCWD, proc, AT_FDCWD, file, AT_SYMLINK_FOLLOW) != 0) return report(-1);
    }
  } else {
    fprintf(stderr, "syscall-probe: unknown create method %s\n", how);
    exit(2);
  }
  if (fd >= 0) close((int)fd);
  return report(fd);
}

// Lists this process's open fds (the directory stream's own fd excluded) as "fd:target ...".
static int list_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return report(-1);
  struct dirent *e;
  char path[300], target[4096];
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n < 0 ? 0 : n] = 0;
    printf("%s:%s ", e->d_name, target);
  }
  closedir(d);
  printf("\n");
  return 0;
}

static int install_filter(const char *path) {
  static struct sock_filter insns[4096];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, insns, sizeof insns);
  close(fd);
  if (n <= 0 || n % (ssize_t)sizeof insns[0]) {
    errno = EINVAL;
    return -1;
  }
  struct sock_fprog prog = {.len = (unsigned short)(n / sizeof insns[0]), .filter = insns};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "--filter")) {
    if (install_filter(argv[2]) != 0) {
      const char *name = strerrorname_np(errno);
      printf("FILTER-%s\n", name ? name : "EUNKNOWN");
      return 3;
    }
    argv += 2;
    argc -= 2;
  }
  if (argc < 2) {
    fprintf(stderr, "usage: syscall-probe <op> [file]\n");
    return 2;
  }
  const char *op = argv[1];
  const char *file = argc > 2 ? argv[2] : NULL;
  setvbuf(stdout, NULL, _IONBF, 0);

  if (!strcmp(op, "ptrace-attach-parent")) {
    // SEIZE does not stop the tracee, and our exit detaches: safe to aim at the test runner.
    return report(ptrace(PTRACE_SEIZE, getppid(), 0, 0));
  }
  if (!strcmp(op, "mount-tmpfs")) {
    char dir[] = "/tmp/cordon-probe-XXXXXX";
    if (!mkdtemp(dir)) return report(-1);
    long rc = mount("cordon-probe", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k");
    int saved = errno;
    if (rc == 0) umount2(dir, MNT_DETACH);
    rmdir(dir);
    errno = saved;
    return report(rc);
  }
  if (!strcmp(op, "unshare-user")) return report(unshare(CLONE_NEWUSER));
  if (!strcmp(op, "clone-newuser")) {
    return report(reap(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)));
  }
  if (!strcmp(op, "clone3-newuser")) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUSER;
    args.exit_signal = SIGCHLD;
    return report(reap(syscall(SYS_clone3, &args, sizeof args)));
  }
  if (!strcmp(op, "fork")) return report(reap(fork()));
  // exec <path> [args...]: run a real program under the filter (node, python, sh).
  if (!strcmp(op, "exec") && file) {
    execv(file, argv + 2);
    return report(-1);
  }
  if (!strcmp(op, "bpf")) {
    // BPF_MAP_CREATE (0) of a 1-entry array map: the cheapest bpf() that does something.
    uint32_t attr[16];
    memset(attr, 0, sizeof attr);
    attr[0] = 2; /* BPF_MAP_TYPE_ARRAY */
    attr[1] = 4; /* key_size */
    attr[2] = 4; /* value_size */
    attr[3] = 1; /* max_entries */
    return report(syscall(SYS_bpf, 0, attr, sizeof attr));
  }
  if (!strcmp(op, "perf-event-open")) {
    struct perf_event_attr pe;
    memset(&pe, 0, sizeof pe);
    pe.type = PERF_TYPE_SOFTWARE;
    pe.size = sizeof pe;
    pe.config = PERF_COUNT_SW_TASK_CLOCK;
    pe.disabled = 1;
    pe.exclude_kernel = 1;
    pe.exclude_hv = 1;
    return report(syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
  }
  if (!strcmp(op, "keyctl")) return report(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
  if (!strcmp(op, "userfaultfd")) return report(syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
  if (!strcmp(op, "tiocsti")) return tiocsti(TIOCSTI);
  if (!strcmp(op, "tiocsti-high")) return tiocsti(TIOCSTI | (1UL << 32));
  if (!strcmp(op, "socket-inet")) return report(socket(AF_INET, SOCK_STREAM, 0));
  if (!strcmp(op, "socket-inet6")) return report(socket(AF_INET6, SOCK_STREAM, 0));
  if (!strcmp(op, "socket-udp")) return report(socket(AF_INET, SOCK_DGRAM, 0));
  if (!strcmp(op, "socket-unix")) return report(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!strcmp(op, "socket-netlink-route")) return report(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!strcmp(op, "socketpair-unix")) {
    int sv[2];
    return report(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  }
  if (!strcmp(op, "socket-mptcp")) return report(socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP));
  if (!strcmp(op, "socket-sctp")) return report(socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP));
  if (!strcmp(op, "socket-packet")) return report(socket(AF_PACKET, SOCK_RAW, 0));
  if (!strcmp(op, "io-uring-setup")) {
    char params[120]; /* struct io_uring_params */
    memset(params, 0, sizeof params);
    return report(syscall(SYS_io_uring_setup, 1, params));
  }
  if (!strcmp(op, "personality-query")) return report(personality(0xffffffff));
  if (!strcmp(op, "personality-read-implies-exec")) return report(personality(READ_IMPLIES_EXEC));
  if (!strcmp(op, "prctl-set-name")) return report(prctl(PR_SET_NAME, "probe", 0, 0, 0));
#if defined(__x86_64__)
  if (!strcmp(op, "x32-getpid")) return report(syscall(0x40000000 | SYS_getpid));
  if (!strcmp(op, "int80-getpid")) {
    long pid = int80(20 /* i386 __NR_getpid */, 0, 0, 0);
    if (pid >= 0 && pid != getpid()) {
      printf("WRONG %ld\n", pid);
      return 0;
    }
    return report(pid);
  }
  if (!strcmp(op, "int80-socketcall")) {
    // i386 socketcall(SYS_SOCKET, {AF_INET, SOCK_STREAM, 0}): the array must sit below 4 GiB.
    uint32_t *args = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (args == MAP_FAILED) return report(-1);
    args[0] = AF_INET;
    args[1] = SOCK_STREAM;
    args[2] = 0;
    return report(int80(102 /* i386 __NR_socketcall */, 1 /* SYS_SOCKET */, (long)(uintptr_t)args, 0));
  }
#endif
  // socket <family> <type> <protocol>, numbers as the kernel takes them (type with its flags).
  if (!strcmp(op, "socket") && argc == 5) {
    return report(socket((int)strtol(argv[2], NULL, 0), (int)strtol(argv[3], NULL, 0), (int)strtol(argv[4], NULL, 0)));
  }
  // connect <protocol> <ipv4> <port>: a stream socket of that protocol (6 TCP, 262 MPTCP), connected.
  if (!strcmp(op, "connect") && argc == 5) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, atoi(argv[2]));
    if (fd < 0) return report(-1);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[4]))};
    if (inet_pton(AF_INET, argv[3], &sa.sin_addr) != 1) return report((errno = EINVAL, -1));
    return report(connect(fd, (struct sockaddr *)&sa, sizeof sa));
  }
  // create <how> <file> <octal mode>
  if (!strcmp(op, "create") && argc == 5) return create_with_mode(argv[2], argv[3], (mode_t)strtoul(argv[4], NULL, 8));
  if (!strcmp(op, "list-fds")) return list_fds();
  // read <path>: "OK <bytes>" or the errno of open/read.
  if (!strcmp(op, "read") && file) {
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return report(-1);
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 0) return report(-1);
    printf("OK %zd\n", n);
    return 0;
  }
  // pidfd-kill <pid> <signal>: pidfd_open + pidfd_send_signal (no pid reuse race, same checks).
  if (!strcmp(op, "pidfd-kill") && argc == 4) {
    long pidfd = syscall(SYS_pidfd_open, atoi(argv[2]), 0);
    if (pidfd < 0) return report(-1);
    return report(syscall(SYS_pidfd_send_signal, (int)pidfd, atoi(argv[3]), NULL, 0));
  }
  // pidfd-getfd <pid> <fd>: a duplicate of another process's fd, then read from it.
  if (!strcmp(op, "pidfd-getfd") && argc == 4) {
    long pidfd = syscall(SYS_pidfd_open, atoi(argv[2]), 0);
    if (pidfd < 0) return report(-1);
    long fd = syscall(SYS_pidfd_getfd, (int)pidfd, atoi(argv[3]), 0);
    if (fd < 0) return report(-1);
    char buf[4096];
    ssize_t n = pread((int)fd, buf, sizeof buf, 0);
    if (n < 0) return report(-1);
    printf("OK %zd\n", n);
    return 0;
  }
  // kill <pid> <signal number>
  if (!strcmp(op, "kill") && argc == 4) return report(kill((pid_t)atoi(argv[2]), atoi(argv[3])));
  // Kernel keyrings through the raw syscalls (no keyutils). key-add <session|user> <description>
  // <payload> prints "OK <id>" (the key expires after 120 s whatever happens to the test);
  // key-read <id> prints "OK <payload>"; key-search <session|user> <description> prints
  // "OK <id>"; key-invalidate <id>.
  if (!strcmp(op, "key-add") && argc == 5) {
    int ring = !strcmp(argv[2], "user") ? KEY_SPEC_USER_KEYRING : KEY_SPEC_SESSION_KEYRING;
    long id = syscall(SYS_add_key, "user", argv[3], argv[4], strlen(argv[4]), ring);
    if (id < 0) return report(-1);
    syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, id, 120);
    printf("OK %ld\n", id);
    return 0;
  }
  if (!strcmp(op, "key-read") && file) {
    char buf[256];
    long n = syscall(SYS_keyctl, KEYCTL_READ, atol(file), buf, sizeof buf - 1);
    if (n < 0) return report(-1);
    buf[n < (long)sizeof buf - 1 ? n : (long)sizeof buf - 1] = 0;
    printf("OK %s\n", buf);
    return 0;
  }
  if (!strcmp(op, "key-search") && argc == 4) {
    int ring = !strcmp(argv[2], "user") ? KEY_SPEC_USER_KEYRING : KEY_SPEC_SESSION_KEYRING;
    long id = syscall(SYS_keyctl, KEYCTL_SEARCH, ring, "user", argv[3], 0);
    if (id < 0) return report(-1);
    printf("OK %ld\n", id);
    return 0;
  }
  if (!strcmp(op, "key-invalidate") && file) return report(syscall(SYS_keyctl, KEYCTL_INVALIDATE, atol(file)));
  if (!strcmp(op, "chmod-setuid") && file) return report(chmod(file, 04755));
  if (!strcmp(op, "chmod-plusx") && file) return report(chmod(file, 0755));
  if (!strcmp(op, "sysv-shmget")) {
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id >= 0) shmctl(id, IPC_RMID, NULL);
    return report(id);
  }
  fprintf(stderr, "syscall-probe: unknown op %s\n", op);
  return 2;
}
