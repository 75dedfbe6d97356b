// ipc-probe: SysV shared memory and POSIX message queues, for the isolation tests.
//   ipc-probe shm-create <key> <text>   creates a segment holding text (left for the host)
//   ipc-probe shm-read <key>            prints the segment's text, or the errno name
//   ipc-probe shm-remove <key>
//   ipc-probe shm-self                  private segment shared with a forked child: "OK"
//   ipc-probe mq-create </name> <text>  queue holding one message (left for the host)
//   ipc-probe mq-read </name>           prints the message, or the errno name
//   ipc-probe mq-remove </name>
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(void) {
  const char* name = strerrorname_np(errno);
  printf("%s\n", name ? name : "E?");
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* op = argv[1];
  if (!strcmp(op, "shm-create") && argc == 4) {
    int id = shmget((key_t)strtol(argv[2], NULL, 0), 4096, IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0) return fail();
    char* p = shmat(id, NULL, 0);
    if (p == (void*)-1) return fail();
    snprintf(p, 4096, "%s", argv[3]);
    printf("OK\n");
    return 0;
  }
  if (!strcmp(op, "shm-read") && argc == 3) {
    int id = shmget((key_t)strtol(argv[2], NULL, 0), 0, 0);
    if (id < 0) return fail();
    char* p = shmat(id, NULL, SHM_RDONLY);
    if (p == (void*)-1) return fail();
    printf("%.100s\n", p);
    return 0;
  }
  if (!strcmp(op, "shm-remove") && argc == 3) {
    int id = shmget((key_t)strtol(argv[2], NULL, 0), 0, 0);
    if (id < 0 || shmctl(id, IPC_RMID, NULL) != 0) return fail();
    printf("OK\n");
    return 0;
  }
  if (!strcmp(op, "shm-self")) {
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0) return fail();
    char* p = shmat(id, NULL, 0);
    shmctl(id, IPC_RMID, NULL);  // freed when both detach
    if (p == (void*)-1) return fail();
    pid_t pid = fork();
    if (pid < 0) return fail();
    if (pid == 0) {
      strcpy(p, "from-child");
      _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("%s\n", strcmp(p, "from-child") == 0 ? "OK" : "MISMATCH");
    return 0;
  }
  if (!strcmp(op, "mq-create") && argc == 4) {
    struct mq_attr attr = {0};
    attr.mq_maxmsg = 1;
    attr.mq_msgsize = 128;
    mqd_t q = mq_open(argv[2], O_CREAT | O_EXCL | O_WRONLY, 0600, &attr);
    if (q == (mqd_t)-1) return fail();
    if (mq_send(q, argv[3], strlen(argv[3]) + 1, 0) != 0) return fail();
    printf("OK\n");
    return 0;
  }
  if (!strcmp(op, "mq-read") && argc == 3) {
    mqd_t q = mq_open(argv[2], O_RDONLY | O_NONBLOCK);
    if (q == (mqd_t)-1) return fail();
    char buf[128];
    if (mq_receive(q, buf, sizeof buf, NULL) < 0) return fail();
    printf("%s\n", buf);
    return 0;
  }
  if (!strcmp(op, "mq-remove") && argc == 3) {
    if (mq_unlink(argv[2]) != 0) return fail();
    printf("OK\n");
    return 0;
  }
  return 2;
}
