// The floor under any spawn benchmark on a machine: posix_spawn + waitpid of /bin/true from a
// tiny C process (vfork-style, no sandbox, no event loop). A spawnSandboxed ratio can only be
// read against child_process.spawn once this is known: on a VM where exec and exit alone cost
// 2 ms, no spawn of /bin/true gets under that.
//   cc -O2 bench/exec-floor.c -o /tmp/exec-floor && /tmp/exec-floor [N] [PROGRAM]
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char** environ;

static double NowMs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int Compare(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  const char* program = argc > 2 ? argv[2] : "/bin/true";
  if (n < 20) n = 20;
  char* args[] = {(char*)program, NULL};
  double* samples = malloc(sizeof(double) * n);
  for (int i = -50; i < n; i++) {  // 50 warm-up rounds
    double t0 = NowMs();
    pid_t pid;
    if (posix_spawn(&pid, program, NULL, NULL, args, environ) != 0) {
      perror("posix_spawn");
      return 1;
    }
    int status;
    waitpid(pid, &status, 0);
    if (i >= 0) samples[i] = NowMs() - t0;
  }
  qsort(samples, n, sizeof(double), Compare);
  printf("posix_spawn+waitpid %s (N=%d): median %.3f ms, p95 %.3f ms\n", program, n, samples[n / 2], samples[n * 95 / 100]);
  return 0;
}
