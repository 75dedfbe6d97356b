// Syscalls that never touch errno, for the spawn child.
//
// A child made with clone(CLONE_VM) shares the host's memory, and without CLONE_SETTLS it also
// runs on the TLS of the host thread that cloned it. glibc's wrappers write errno there. Under
// CLONE_VFORK that is harmless, because the host thread is suspended. A standby child, though,
// runs while the host runs (standby.h), and an errno written under the host's feet can turn a
// host EAGAIN into a fatal error. So the child calls the kernel directly, and RawSyscall returns
// -errno as the kernel does.
#pragma once
#include <sys/syscall.h>

namespace cordon {

#if defined(__x86_64__)
constexpr bool kRawSyscalls = true;
inline long RawSyscall(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
constexpr bool kRawSyscalls = true;
inline long RawSyscall(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory", "cc");
  return x0;
}
#else
// Other architectures: glibc's syscall(), which writes errno. Only the CLONE_VFORK child may
// use it (its host thread is suspended), so standby children are disabled (kRawSyscalls).
}  // namespace cordon
#include <errno.h>
#include <unistd.h>
namespace cordon {
constexpr bool kRawSyscalls = false;
inline long RawSyscall(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  long r = syscall(nr, a, b, c, d, e, f);
  return r < 0 ? -errno : r;
}
#endif

// RawSyscall for arguments of any type (pointers, ints): -errno or the result, as the kernel
// returns them.
template <typename... Args>
long Sys(long nr, Args... args) {
  return RawSyscall(nr, (long)(args)...);
}

// exit_group(status): no atexit handler, no errno.
[[noreturn]] inline void RawExit(int status) {
  for (;;) RawSyscall(SYS_exit_group, status);
}

}  // namespace cordon
