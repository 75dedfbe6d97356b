// Cheap per-spawn checks that a cached plan still describes the host: the paths it pinned
// (lstat stamps), the process environment it was derived from (a generation number) and the
// host's bound unix sockets (/proc/net/unix, compared in place). An
// exec loop runs both on every spawn, so they are one native call each instead of dozens of
// fs.lstatSync calls or a walk over process.env (each of its reads crosses into C++ anyway).
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

namespace cordon {

// For each path of `joined` (NUL-separated, NUL-terminated entries), appends lstat's
// {st_ino, st_mtim.tv_sec, st_mtim.tv_nsec}, or {-1, 0, 0} when lstat fails.
void LstatStamps(const std::string& joined, std::vector<double>* out);

// A number that changes whenever `environ` differs from the last call's (names, values, order).
// Only meaningful where process.env is the real environment, and only called from Node's main
// thread (src/env.ts): it reads `environ` without the lock Node's own setenv takes.
double EnvironGeneration();

// Reads the whole file (kept open: a seq_file such as /proc/net/unix regenerates on every read
// from offset 0) and gives its content a version, bumped whenever the content changes. Returns
// 1 and fills *text and *version when the version is not `known` (each caller remembers the
// version it parsed: two copies of the JS layer share this addon), 0 when it is, -errno when
// the file cannot be read.
int ReadIfChanged(const std::string& path, double known, double* version, std::string* text);

}  // namespace cordon
