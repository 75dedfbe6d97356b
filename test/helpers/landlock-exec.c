/* Test shim: restricts itself with the Landlock ruleset passed as fd 3, then execs argv[1..].
 * Stands in for the spawn engine's child steps 11-12 (no_new_privs, landlock_restrict_self) so
 * that rulesets built by native/landlock.cc can be tested with Node's child_process.
 * Usage: landlock-exec <file> [args...]   (fd 3 = ruleset fd; if fd 3 is closed, no restriction)
 * Exit 126 + message on stderr when a setup step fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: landlock-exec <file> [args...]\n");
    return 126;
  }
  if (fcntl(3, F_GETFD) >= 0) {
    /* landlock_restrict_self(2) requires no_new_privs (or CAP_SYS_ADMIN). */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
      fprintf(stderr, "landlock-exec: prctl(PR_SET_NO_NEW_PRIVS): %s\n", strerror(errno));
      return 126;
    }
    if (syscall(SYS_landlock_restrict_self, 3, 0) < 0) {
      fprintf(stderr, "landlock-exec: landlock_restrict_self: %s\n", strerror(errno));
      return 126;
    }
    close(3);
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "landlock-exec: exec %s: %s\n", argv[1], strerror(errno));
  return 127;
}
