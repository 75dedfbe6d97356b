// Cheap per-spawn checks that a cached plan still describes the host: the paths it pinned
// (lstat stamps) and the process environment it was derived from (a generation number). An
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
// Only meaningful where process.env is the real environment (Node's main thread).
double EnvironGeneration();

}  // namespace cordon
