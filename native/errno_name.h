// Symbolic errno names for the errors the addon reports (Node's `code`, SandboxSetupError's
// errnoName).
#pragma once

namespace cordon {

// "ENOENT" for ENOENT, "0" for 0, "EUNKNOWN" for errnos without a name here.
const char* ErrnoName(int err);

}  // namespace cordon
