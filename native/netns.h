// The network namespace a host's no-network sandboxes share (SandboxPlan::
// sharedNetworkNamespaceFd), and the user namespace that owns it for unprivileged callers.
#pragma once

namespace cordon {

// Makes the namespaces (once per process; later calls return the same fds): a network
// namespace with nothing but lo (down), owned, when withUserNamespace, by a user namespace that
// maps uid/gid to themselves (unprivileged callers). 0 or -errno; the fds are O_CLOEXEC and
// stay open for the process's life.
int OpenSharedNetworkNamespace(bool withUserNamespace, int* userFd, int* netFd);

}  // namespace cordon
