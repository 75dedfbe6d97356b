// Capabilities (capabilities.h), as the child drops them: raw syscalls only.
#include "capabilities.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <string.h>
#include <sys/prctl.h>

#include "raw_syscall.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

namespace cordon {

long LockCapabilities(int lastCap) {
  const unsigned long securebits = SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                   SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_NOROOT |
                                   SECBIT_NOROOT_LOCKED;
  if (long r = Sys(SYS_prctl, PR_SET_SECUREBITS, securebits, 0, 0, 0); r < 0) return r;
  for (int cap = 0; cap <= lastCap; cap++) {
    if (long r = Sys(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0); r < 0 && r != -EINVAL) return r;
  }
  if (long r = Sys(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); r < 0 && r != -EINVAL) return r;
  return 0;
}

long ClearCapabilitySets() {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  return Sys(SYS_capset, &header, data);
}

}  // namespace cordon
