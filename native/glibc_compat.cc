// glibc compatibility shims: keep cordon.node loadable on glibc 2.28 (RHEL 8, Debian 10,
// Ubuntu 20.04) although it is built on a newer glibc (Debian 12: 2.36).
//
// Why this is needed. The linker binds every libc reference to the newest version of the symbol
// in the build machine's libc.so.6, and the dynamic loader refuses to load a library that asks
// for a version the running libc lacks ("version `GLIBC_2.33' not found"). On glibc 2.36 these
// references come out newer than 2.28 (checked by test/install/prebuilds.test.ts):
//   fstat64, lstat64 (and fstat, lstat)  GLIBC_2.33  our code and libstdc++.a (basic_file.o)
//   pthread_once                         GLIBC_2.34  libstdc++.a (locale init)
//   pthread_sigmask                      GLIBC_2.32  signals_blocked.h, standby.cc
//   __libc_single_threaded               GLIBC_2.32  libstdc++ headers and libstdc++.a
// (strerrorname_np, GLIBC_2.32, is not used at all: see errno_name.cc.)
//
// How. Each name below is defined here with hidden visibility (the whole addon is built with
// -fvisibility=hidden and -Wl,--exclude-libs,ALL), so the static linker binds every reference in
// our objects and in the static libstdc++ to these definitions and emits no dynamic reference
// to the new version. Each definition does exactly what glibc's function does:
//   - the stat family calls the same kernel syscall glibc calls, into the same struct (on x86_64
//     and aarch64 glibc's struct stat IS the kernel's; asserted below and in revalidate.cc);
//   - pthread_once and pthread_sigmask forward to the OLD version of the same glibc function
//     (.symver). When glibc 2.32/2.34 moved libpthread into libc it gave these functions a new
//     version and kept the old one as an alias of the same code, so behaviour is identical; on
//     glibc < 2.34 the old version is found in libpthread.so.0, which Node links.
//   - __libc_single_threaded is a variable libstdc++ reads to skip atomic reference counts when
//     the process has one thread. Ours is always 0 ("maybe threaded"): atomics always, which is
//     correct in every process (Node always has threads anyway).
//
// Only glibc on x86_64 and aarch64 (the prebuilt targets) get the shims; elsewhere, and on musl,
// a source build uses the local libc as is. (<features.h> defines __GLIBC__; musl has one too.)
#include <features.h>
#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__))

#include <asm/stat.h>  // the kernel's struct stat (glibc's <sys/stat.h> would clash with the names below)
#include <linux/fcntl.h>  // AT_FDCWD, AT_SYMLINK_NOFOLLOW (glibc's <fcntl.h> brings its own struct stat)
#include <sys/syscall.h>

// The kernel's struct stat is the layout glibc's fstat/lstat fill on these architectures;
// revalidate.cc asserts the same sizes for glibc's struct stat.
#if defined(__x86_64__)
static_assert(sizeof(struct stat) == 144, "x86_64 kernel struct stat");
#define CORDON_GLIBC_BASE "GLIBC_2.2.5"  // the first version of every symbol on x86_64
#else
static_assert(sizeof(struct stat) == 128, "aarch64 (asm-generic) kernel struct stat");
#define CORDON_GLIBC_BASE "GLIBC_2.17"   // the first glibc with aarch64
#endif

#define CORDON_HIDDEN __attribute__((visibility("hidden")))

extern "C" {

// glibc's syscall(): GLIBC_2.2.5 / 2.17, sets errno and returns -1 on failure, as fstat does.
long syscall(long number, ...);

CORDON_HIDDEN int fstat64(int fd, struct stat* st) { return (int)syscall(SYS_fstat, fd, st); }
CORDON_HIDDEN int fstat(int fd, struct stat* st) { return (int)syscall(SYS_fstat, fd, st); }
// glibc 2.33+ implements lstat as fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW) as well.
CORDON_HIDDEN int lstat64(const char* path, struct stat* st) {
  return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}
CORDON_HIDDEN int lstat(const char* path, struct stat* st) {
  return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

// pthread_once_t is an int and sigset_t 128 bytes on Linux; the prototypes are spelled out
// without <pthread.h>/<signal.h> so they cannot clash with the headers' declarations.
int cordon_glibc_pthread_once(int* once, void (*init)(void));
int cordon_glibc_pthread_sigmask(int how, const void* set, void* old);
__asm__(".symver cordon_glibc_pthread_once, pthread_once@" CORDON_GLIBC_BASE);
__asm__(".symver cordon_glibc_pthread_sigmask, pthread_sigmask@" CORDON_GLIBC_BASE);

CORDON_HIDDEN int pthread_once(int* once, void (*init)(void)) {
  return cordon_glibc_pthread_once(once, init);
}
CORDON_HIDDEN int pthread_sigmask(int how, const void* set, void* old) {
  return cordon_glibc_pthread_sigmask(how, set, old);
}

CORDON_HIDDEN char __libc_single_threaded = 0;

}  // extern "C"

#endif
