// Every signal blocked around a clone(CLONE_VM): no handler of the host may run on the child's
// stack before the child has reset the dispositions; the child restores the caller's mask
// right before execve.
#pragma once
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

namespace cordon {

struct SignalsBlocked {
  sigset_t caller;
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &caller);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &caller, nullptr); }
  uint64_t KernelMask() const {
    uint64_t mask;
    memcpy(&mask, &caller, sizeof mask);  // the kernel's sigset_t: the first 64 bits of glibc's
    return mask;
  }
};

}  // namespace cordon
