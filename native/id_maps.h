// A user namespace's id maps: each id mapped to itself, so files keep their owners and the
// sandbox keeps the caller's uid/gid (no fake root).
#pragma once

namespace cordon {

// Room for "<id> <id> 1".
constexpr int kIdMapSize = 32;

// Formats the one-line map of id to itself (parent side: snprintf).
void FormatIdMap(unsigned id, char (&map)[kIdMapSize]);

// Written by a process inside the new user namespace, between clone and execve (raw syscalls
// only): setgroups "deny" first (the kernel refuses an unprivileged gid_map before it), then
// the maps. 0 or -errno.
long WriteIdMaps(const char* uidMap, const char* gidMap);

}  // namespace cordon
