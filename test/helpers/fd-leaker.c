// fd-leaker: a test-only N-API addon whose own thread keeps opening a file WITHOUT O_CLOEXEC
// (what a careless native library does; Node and libuv never do), so a spawn racing with it
// can catch that fd in its fd table. Used by test/escapes/fd-race.test.ts.
//   start(path)            the thread loops: open(path, O_RDONLY), hold it briefly, close
//   stop() -> opens        joins the thread; how many times it opened the file
//   forkExecCapture(argv)  plain fork + execv with stdout to a pipe (no fd hygiene at all):
//                          the control that proves the race is live; returns the child's stdout
// Built by test/helpers/build-helpers.ts (buildAddon) against <node prefix>/include/node.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_t thread;
static atomic_int running;
static atomic_long opens;
static char path[4096];

static void *open_loop(void *unused) {
  (void)unused;
  while (atomic_load(&running)) {
    int fd = open(path, O_RDONLY);  // no O_CLOEXEC: the point of this addon
    if (fd < 0) continue;
    atomic_fetch_add(&opens, 1);
    // Hold the fd for most of each turn so that a racing clone() is likely to copy it.
    for (volatile int i = 0; i < 2000; i++) {
    }
    close(fd);
  }
  return NULL;
}

static napi_value throw_errno(napi_env env, const char *what) {
  napi_throw_error(env, NULL, what);
  return NULL;
}

static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  size_t len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) {
    return throw_errno(env, "start(path): path must be a string");
  }
  if (atomic_load(&running)) return throw_errno(env, "already running");
  atomic_store(&opens, 0);
  atomic_store(&running, 1);
  if (pthread_create(&thread, NULL, open_loop, NULL) != 0) {
    atomic_store(&running, 0);
    return throw_errno(env, "pthread_create failed");
  }
  return NULL;
}

static napi_value stop(napi_env env, napi_callback_info info) {
  (void)info;
  if (atomic_exchange(&running, 0)) pthread_join(thread, NULL);
  napi_value out;
  napi_create_int64(env, atomic_load(&opens), &out);
  return out;
}

static napi_value fork_exec_capture(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arr;
  uint32_t n = 0;
  if (napi_get_cb_info(env, info, &argc, &arr, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_array_length(env, arr, &n) != napi_ok || n == 0 || n > 15) {
    return throw_errno(env, "forkExecCapture(argv): 1..15 strings");
  }
  static char bufs[16][4096];
  char *args[16];
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    size_t len;
    if (napi_get_element(env, arr, i, &v) != napi_ok ||
        napi_get_value_string_utf8(env, v, bufs[i], sizeof bufs[i], &len) != napi_ok) {
      return throw_errno(env, "forkExecCapture(argv): strings only");
    }
    args[i] = bufs[i];
  }
  args[n] = NULL;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return throw_errno(env, "pipe2 failed");
  pid_t pid = fork();
  if (pid < 0) return throw_errno(env, "fork failed");
  if (pid == 0) {
    dup2(fds[1], 1);  // dup2 clears FD_CLOEXEC on the copy
    execv(args[0], args);
    _exit(127);
  }
  close(fds[1]);
  static char out[65536];
  size_t used = 0;
  ssize_t r;
  while ((r = read(fds[0], out + used, sizeof out - 1 - used)) > 0 || (r < 0 && errno == EINTR)) {
    if (r > 0) used += (size_t)r;
  }
  out[used] = 0;
  close(fds[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  napi_value s;
  napi_create_string_utf8(env, out, used, &s);
  return s;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"start", NULL, start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, stop, NULL, NULL, NULL, napi_default, NULL},
      {"forkExecCapture", NULL, fork_exec_capture, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
