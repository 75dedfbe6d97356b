// Dropping a root caller's capabilities in the child, so that an untrusted tool gets no root
// powers (between clone and execve: raw syscalls only). Two halves, so that a root standby can
// do the first before it waits and keep a full permitted set (a capability-less uid-0 process
// cannot ptrace a process holding more) until its command arrives.
#pragma once

namespace cordon {

// First: lock root out of regaining capabilities at execve (SECBIT_NOROOT) or on setuid
// changes, then empty the bounding and ambient sets (capabilities 0..lastCap). 0 or -errno.
long LockCapabilities(int lastCap);

// Second: empty the effective, permitted and inheritable sets (one capset). 0 or -errno.
long ClearCapabilitySets();

}  // namespace cordon
