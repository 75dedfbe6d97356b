// User namespace id maps (id_maps.h).
#include "id_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "raw_syscall.h"

namespace cordon {
namespace {

long WriteWhole(const char* path, const char* data) {
  long fd = Sys(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fd;
  size_t len = 0;  // not strlen: no library call in the child
  while (data[len] != '\0') len++;
  long written = Sys(SYS_write, fd, data, len);
  Sys(SYS_close, fd);
  if (written < 0) return written;
  return written == static_cast<long>(len) ? 0 : -EIO;
}

}  // namespace

void FormatIdMap(unsigned id, char (&map)[kIdMapSize]) {
  snprintf(map, sizeof map, "%u %u 1", id, id);
}

long WriteIdMaps(const char* uidMap, const char* gidMap) {
  long r = WriteWhole("/proc/self/setgroups", "deny");
  if (r == 0) r = WriteWhole("/proc/self/uid_map", uidMap);
  if (r == 0) r = WriteWhole("/proc/self/gid_map", gidMap);
  return r;
}

}  // namespace cordon
