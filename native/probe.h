// Kernel capability probe: what this kernel lets the calling user enforce.
// Plain C++, no N-API. Every probe is side-effect free for the caller: trial namespaces
// live in a short-lived child, and nothing is written outside it.
#pragma once
#include <string>
#include <vector>

namespace cordon {

struct CgroupV2Info {
  bool mounted = false;
  std::string mountPoint;     // e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified
  std::string ownCgroup;      // absolute path of this process's v2 cgroup directory
  bool writable = false;      // can this user create a child cgroup there?
  std::string controllers;    // content of cgroup.controllers (space separated)
  bool hasKill = false;       // cgroup.kill present (5.14+)
};

struct CgroupV1Info {
  std::string memoryDir;      // this process's memory cgroup dir, "" if no v1 memory
  bool memoryWritable = false;
  std::string pidsDir;
  bool pidsWritable = false;
};

struct KernelProbe {
  int landlockAbi = 0;        // 0: absent or disabled
  int landlockErrno = 0;      // why 0 (ENOSYS: not built, EOPNOTSUPP: disabled at boot)
  int landlockErrata = 0;
  bool seccompFilter = false; // SECCOMP_SET_MODE_FILTER usable
  bool seccompKillProcess = false;
  bool seccompLog = false;
  bool seccompUserNotif = false;
  bool userNamespaces = false;   // clone(CLONE_NEWUSER) + writing our own id maps works
  int userNamespacesErrno = 0;
  bool mountNamespace = false;   // ... and mounting inside it works (AppArmor may refuse)
  bool pidNamespace = false;     // CLONE_NEWPID + a fresh /proc mount works
  bool networkNamespace = false; // CLONE_NEWNET + bringing lo up works
  bool ipcNamespace = false;
  bool x32Syscalls = false;      // x86_64 only: x32 ABI live
  bool pidfd = false;            // CLONE_PIDFD / pidfd_open
  bool closeRange = false;
  bool isRoot = false;
  std::string arch;              // uname machine
  std::string release;           // uname release
  CgroupV2Info cgroupV2;
  CgroupV1Info cgroupV1;
};

KernelProbe ProbeKernel();

}  // namespace cordon
